package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/go-json-experiment/json/jsontext"
	json "github.com/goccy/go-json"
)

// Requests are inspected on their raw bytes, not on a decoded document.
//
// Why: a prompt is mostly one or a few large strings, and everything the
// gateway does before forwarding is paid in latency. Decoding a 100 KB body
// into maps, then re-encoding all of it to replace one SSN, cost more than
// the DLP scan itself. Instead one pass of a validating tokenizer
// (jsontext) records where each content string sits in the body. A string
// without escapes is its own text, so it is scanned in place and a finding's
// offsets are body offsets: a redaction is spliced into the original bytes
// and everything else reaches the provider byte for byte as the agent sent
// it. Only strings with escapes are decoded, and re-quoted when redacted.
// The few top-level fields policy and budgets need (model, stream, output
// caps) are read on the way.
//
// The tokenizer rejects what a provider might read differently from us:
// duplicate object names (which of two "model"s would it use?), trailing
// data, malformed JSON. Invalid UTF-8 is let through as before (agents that
// truncate text can split a surrogate pair), and scanned as raw bytes.

// reqText is one content string of a request body.
type reqText struct {
	text       string // the string's value as sent (aliases the body when !escaped)
	part, role string
	start, end int  // the string literal in the body, quotes included
	escaped    bool // the literal has escapes: text offsets are not body offsets
	// subs are the placeholders put into text (offsets in text, sorted),
	// or redacted is the whole new value of an escaped string. The
	// redacted text is only built for the event, after forwarding.
	subs     []sub
	redacted *string
}

type sub struct {
	start, end int
	ph         string
}

// final is the text as forwarded (redactions applied).
func (t *reqText) final() string {
	if t.redacted != nil {
		return *t.redacted
	}
	if len(t.subs) == 0 {
		return t.text
	}
	n := len(t.text)
	for _, s := range t.subs {
		n += len(s.ph) - (s.end - s.start)
	}
	var b strings.Builder
	b.Grow(n)
	pos := 0
	for _, s := range t.subs {
		b.WriteString(t.text[pos:s.start])
		b.WriteString(s.ph)
		pos = s.end
	}
	b.WriteString(t.text[pos:])
	return b.String()
}

// edit replaces body[start:end] with repl.
type edit struct {
	start, end int
	repl       []byte
}

// parsedRequest is an inspected request body.
type parsedRequest struct {
	body   []byte // never modified: texts alias it
	model  string
	stream bool
	maxOut int64
	texts  []reqText
	// stream_options as sent (Chat Completions), for include_usage.
	streamOpts     []byte
	soStart, soEnd int
	objStart       int // offset just past the top-level '{'
	edits          []edit
	// bufs are pooled buffers that texts alias (decoded strings with
	// escapes); see textBufs.
	bufs []*[]byte
}

var decoders = sync.Pool{New: func() any { return jsontext.NewDecoder(new(bytes.Buffer)) }}

var decodeOpts = []jsontext.Options{jsontext.AllowInvalidUTF8(true)}

func parseRequest(api *apiKind, pathModel string, pathStream bool, body []byte) (*parsedRequest, error) {
	p := &parsedRequest{body: body, model: pathModel, stream: pathStream}
	d := decoders.Get().(*jsontext.Decoder)
	// A bytes.Buffer is parsed in place, without a copy.
	d.Reset(bytes.NewBuffer(body), decodeOpts...)
	defer func() {
		d.Reset(bytes.NewBuffer(nil))
		decoders.Put(d)
	}()
	w := &walker{d: d, body: body}
	if err := w.top(api, p); err != nil {
		var se *jsontext.SyntacticError
		if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("request body is not a JSON object: %v", err)
		}
		return nil, err
	}
	w.resolve(p)
	p.bufs = w.bufs
	if api.base() != apiGemini && p.model == "" {
		return nil, fmt.Errorf("request field \"model\" is missing")
	}
	return p, nil
}

// incoming is the context a value is read in: the enclosing object (a
// node index, -1 at a content root) and the message part a key forces
// (functionCall → tool_input, ...), empty to take the object's own.
type incoming struct {
	parent int
	part   string
}

// node is one object inside the content roots. Its part and role depend on
// its own "role" and "type" fields, which may come after its content, so
// they are resolved after the pass (parents precede children).
type node struct {
	in           incoming
	roleV, typeV string
	hasRole      bool
	part, role   string
}

type pendingText struct {
	in      incoming
	rootStr bool // a content root that is itself a string: role = part
	t       reqText
}

type walker struct {
	d     *jsontext.Decoder
	body  []byte
	nodes []node
	texts []pendingText
	roots map[string]string // root key -> part
	bufs  []*[]byte
}

// str reads the next string value and returns its span and value.
func (w *walker) str() (s string, start, end int, escaped bool, err error) {
	raw, err := w.d.ReadValue()
	if err != nil {
		return "", 0, 0, false, err
	}
	end = int(w.d.InputOffset())
	start = end - len(raw)
	lit := w.body[start:end]
	if bytes.IndexByte(lit, '\\') < 0 {
		if len(lit) == 2 {
			return "", start, end, false, nil
		}
		// The literal's content is the value; the body is never modified.
		return unsafe.String(&lit[1], len(lit)-2), start, end, false, nil
	}
	if len(lit) < minPooled {
		return unquote(lit), start, end, true, nil
	}
	b := getTextBuf(len(lit))
	s, ok := unquoteTo(*b, lit)
	if ok {
		w.bufs = append(w.bufs, b)
	} else {
		putTextBuf(b)
	}
	return s, start, end, true, nil
}

// name reads an object member name; it aliases the body unless escaped.
func (w *walker) name() (string, error) {
	s, _, _, _, err := w.str()
	return s, err
}

func (w *walker) top(api *apiKind, p *parsedRequest) error {
	if k := w.d.PeekKind(); k != '{' {
		if _, err := w.d.ReadToken(); err != nil {
			return err
		}
		return errors.New("request body is not a JSON object")
	}
	if _, err := w.d.ReadToken(); err != nil {
		return err
	}
	p.objStart = int(w.d.InputOffset())
	var caps [3]int64 // max_tokens, max_output_tokens, max_completion_tokens
	var genCfg []byte
	for w.d.PeekKind() != '}' {
		key, err := w.name()
		if err != nil {
			return err
		}
		if part, ok := rootPart(api, key); ok {
			if w.d.PeekKind() == '"' {
				s, st, en, esc, err := w.str()
				if err != nil {
					return err
				}
				w.texts = append(w.texts, pendingText{in: incoming{parent: -1, part: part}, rootStr: true,
					t: reqText{text: s, start: st, end: en, escaped: esc}})
				continue
			}
			if err := w.value(incoming{parent: -1, part: part}); err != nil {
				return err
			}
			continue
		}
		switch key {
		case "model", "stream", "max_tokens", "max_output_tokens", "max_completion_tokens", "generationConfig", "stream_options":
		default:
			if err := w.d.SkipValue(); err != nil {
				return err
			}
			continue
		}
		raw, err := w.d.ReadValue()
		if err != nil {
			return err
		}
		end := int(w.d.InputOffset())
		lit := w.body[end-len(raw) : end]
		switch key {
		case "model":
			if api.base() != apiGemini && lit[0] == '"' {
				b, _ := jsontext.AppendUnquote(nil, lit)
				p.model = string(b)
			}
		case "stream":
			if api.base() != apiGemini {
				p.stream = string(lit) == "true"
			}
		case "max_tokens":
			caps[0] = posInt(lit)
		case "max_output_tokens":
			caps[1] = posInt(lit)
		case "max_completion_tokens":
			caps[2] = posInt(lit)
		case "generationConfig":
			genCfg = lit
		case "stream_options":
			p.streamOpts, p.soStart, p.soEnd = lit, end-len(raw), end
		}
	}
	if _, err := w.d.ReadToken(); err != nil { // '}'
		return err
	}
	if _, err := w.d.ReadToken(); err != io.EOF {
		if err == nil {
			err = errors.New("data after the top-level object")
		}
		return err
	}
	for _, c := range caps {
		if c > 0 {
			p.maxOut = c
			break
		}
	}
	if len(genCfg) > 0 && genCfg[0] == '{' {
		var gc map[string]any
		dec := json.NewDecoder(bytes.NewReader(genCfg))
		dec.UseNumber()
		if dec.Decode(&gc) == nil {
			p.maxOut = numberField(gc, "maxOutputTokens")
		}
	}
	return nil
}

// posInt is a JSON number's value when it is positive, else 0 (as
// numberField reads a decoded one).
func posInt(lit []byte) int64 {
	if len(lit) == 0 || (lit[0] != '-' && (lit[0] < '0' || lit[0] > '9')) {
		return 0
	}
	if v, err := strconv.ParseInt(string(lit), 10, 64); err == nil {
		return max(v, 0)
	}
	if f, err := strconv.ParseFloat(string(lit), 64); err == nil && f > 0 {
		return int64(f)
	}
	return 0
}

func rootPart(api *apiKind, key string) (string, bool) {
	for _, r := range api.roots {
		if r == key {
			if r == "system" || r == "instructions" || r == "systemInstruction" {
				return "system", true
			}
			return "prompt", true
		}
	}
	return "", false
}

// value reads one value inside the content roots, recording its content
// strings (walkText's rules, in document order).
func (w *walker) value(in incoming) error {
	switch w.d.PeekKind() {
	case '"':
		s, st, en, esc, err := w.str()
		if err != nil {
			return err
		}
		if s != "" {
			w.texts = append(w.texts, pendingText{in: in, t: reqText{text: s, start: st, end: en, escaped: esc}})
		}
		return nil
	case '{':
		if _, err := w.d.ReadToken(); err != nil {
			return err
		}
		idx := len(w.nodes)
		w.nodes = append(w.nodes, node{in: in})
		for w.d.PeekKind() != '}' {
			key, err := w.name()
			if err != nil {
				return err
			}
			if key == "role" || key == "type" {
				if w.d.PeekKind() != '"' {
					if err := w.d.SkipValue(); err != nil {
						return err
					}
					continue
				}
				v, _, _, _, err := w.str()
				if err != nil {
					return err
				}
				if key == "role" {
					w.nodes[idx].roleV, w.nodes[idx].hasRole = v, true
				} else {
					w.nodes[idx].typeV = v
				}
				continue
			}
			if skipKeys[key] {
				if err := w.d.SkipValue(); err != nil {
					return err
				}
				continue
			}
			c := incoming{parent: idx}
			switch key {
			case "functionCall", "tool_calls", "function_call":
				c.part = "tool_input"
			case "functionResponse":
				c.part = "tool_output"
			}
			if err := w.value(c); err != nil {
				return err
			}
		}
		_, err := w.d.ReadToken()
		return err
	case '[':
		if _, err := w.d.ReadToken(); err != nil {
			return err
		}
		for w.d.PeekKind() != ']' {
			if err := w.value(in); err != nil {
				return err
			}
		}
		_, err := w.d.ReadToken()
		return err
	default:
		return w.d.SkipValue()
	}
}

func (w *walker) partRole(in incoming) (string, string) {
	if in.parent < 0 {
		return in.part, ""
	}
	n := &w.nodes[in.parent]
	if in.part != "" {
		return in.part, n.role
	}
	return n.part, n.role
}

// resolve classifies the objects top-down and gives every text its part
// and role.
func (w *walker) resolve(p *parsedRequest) {
	for i := range w.nodes {
		n := &w.nodes[i]
		part, role := w.partRole(n.in)
		if n.hasRole {
			role = n.roleV
			switch n.roleV {
			case "system", "developer":
				part = "system"
			case "tool", "function":
				part = "tool_output"
			case "assistant", "model":
				part = "response"
			case "user":
				part = "prompt"
			}
		}
		switch n.typeV {
		case "tool_result", "function_call_output", "custom_tool_call_output", "mcp_call_output":
			part = "tool_output"
		case "tool_use", "function_call", "custom_tool_call", "server_tool_use":
			part = "tool_input"
		}
		n.part, n.role = part, role
	}
	p.texts = make([]reqText, len(w.texts))
	for i, pt := range w.texts {
		t := pt.t
		t.part, t.role = w.partRole(pt.in)
		if pt.rootStr {
			t.role = t.part
		}
		p.texts[i] = t
	}
}

// redact replaces fs in text i with the redactor's placeholders and
// records the change as edits of the body; it returns how many values were
// replaced.
func (p *parsedRequest) redact(i int, red Redactor, fs []Finding) int {
	t := &p.texts[i]
	if t.escaped {
		if n, ok := p.redactEscaped(t, red, fs); ok {
			return n
		}
		// Offsets that do not map to the literal: re-quote the whole string.
		cur := t.final()
		out, n := red.Redact(cur, fs)
		if n > 0 {
			q, _ := jsontext.AppendQuote(make([]byte, 0, len(out)+len(out)/16+2), out)
			p.edits = append(p.edits, edit{t.start, t.end, q})
			t.redacted = &out
		}
		return n
	}
	// The literal's content is the text: splice each placeholder in place.
	fs = slices.Clone(fs)
	slices.SortStableFunc(fs, func(a, b Finding) int { return a.Start - b.Start })
	pos, total := 0, 0
	for _, f := range fs {
		if f.Start < pos || f.End > len(t.text) || f.Start >= f.End {
			continue // overlapping or out of range, as Redact skips them
		}
		ph, n := red.Redact(t.text[f.Start:f.End], []Finding{{Type: f.Type, Start: 0, End: f.End - f.Start, Confidence: f.Confidence}})
		if n == 0 {
			continue
		}
		q, _ := jsontext.AppendQuote(nil, ph)
		p.edits = append(p.edits, edit{t.start + 1 + f.Start, t.start + 1 + f.End, q[1 : len(q)-1]})
		t.subs = append(t.subs, sub{f.Start, f.End, ph})
		pos = f.End
		total += n
	}
	return total
}

// redactEscaped splices placeholders into a string with escapes: the
// findings' offsets in the decoded text are mapped to the literal, so the
// rest of it is kept as sent. ok is false when they do not map (an offset
// inside an escape's expansion, invalid UTF-8).
func (p *parsedRequest) redactEscaped(t *reqText, red Redactor, fs []Finding) (int, bool) {
	fs = slices.Clone(fs)
	slices.SortStableFunc(fs, func(a, b Finding) int { return a.Start - b.Start })
	keep := fs[:0]
	pos := 0
	for _, f := range fs {
		if f.Start < pos || f.End > len(t.text) || f.Start >= f.End {
			continue // overlapping or out of range, as Redact skips them
		}
		keep = append(keep, f)
		pos = f.End
	}
	offs := make([]int, 0, 2*len(keep))
	for _, f := range keep {
		offs = append(offs, f.Start, f.End)
	}
	lit := p.body[t.start:t.end]
	raw, ok := rawOffsets(lit, offs)
	if !ok {
		return 0, false
	}
	total := 0
	for i, f := range keep {
		ph, n := red.Redact(t.text[f.Start:f.End], []Finding{{Type: f.Type, Start: 0, End: f.End - f.Start, Confidence: f.Confidence}})
		if n == 0 {
			continue
		}
		q, _ := jsontext.AppendQuote(nil, ph)
		p.edits = append(p.edits, edit{t.start + 1 + raw[2*i], t.start + 1 + raw[2*i+1], q[1 : len(q)-1]})
		t.subs = append(t.subs, sub{f.Start, f.End, ph})
		total += n
	}
	return total, true
}

// includeUsage makes a Chat Completions stream report usage
// (stream_options.include_usage), which it does only when asked.
func (p *parsedRequest) includeUsage() error {
	if p.streamOpts == nil {
		p.edits = append(p.edits, edit{p.objStart, p.objStart, []byte(`"stream_options":{"include_usage":true},`)})
		return nil
	}
	so := map[string]any{}
	if p.streamOpts[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(p.streamOpts))
		dec.UseNumber()
		if err := dec.Decode(&so); err != nil {
			return err
		}
	}
	if v, _ := so["include_usage"].(bool); v {
		return nil
	}
	so["include_usage"] = true
	b, err := json.MarshalNoEscape(so)
	if err != nil {
		return err
	}
	p.edits = append(p.edits, edit{p.soStart, p.soEnd, b})
	return nil
}

// output is the body to forward: the client's bytes with the edits
// spliced in.
func (p *parsedRequest) output() []byte {
	if len(p.edits) == 0 {
		return p.body
	}
	slices.SortStableFunc(p.edits, func(a, b edit) int { return a.start - b.start })
	n := len(p.body)
	for _, e := range p.edits {
		n += len(e.repl) - (e.end - e.start)
	}
	out := make([]byte, 0, n)
	pos := 0
	for _, e := range p.edits {
		out = append(out, p.body[pos:e.start]...)
		out = append(out, e.repl...)
		pos = e.end
	}
	return append(out, p.body[pos:]...)
}

// A string with escapes is decoded in runs: the bytes between escapes are
// copied as they are (valid UTF-8 decodes to itself), each escape is
// decoded on its own. jsontext.AppendUnquote does the same one byte at a
// time (~60 µs per 100 KB of text with newlines); this is ~4× faster, and
// anything unusual (invalid UTF-8, a lone surrogate) is left to jsontext.

// escape decodes the escape at lit[i] (a backslash): the bytes it stands
// for in r and its length in lit; ok is false for what fastUnquote leaves
// to jsontext.
func escape(lit []byte, i int) (r rune, n int, ok bool) {
	if i+1 >= len(lit) {
		return 0, 0, false
	}
	switch lit[i+1] {
	case '"', '\\', '/':
		return rune(lit[i+1]), 2, true
	case 'b':
		return '\b', 2, true
	case 'f':
		return '\f', 2, true
	case 'n':
		return '\n', 2, true
	case 'r':
		return '\r', 2, true
	case 't':
		return '\t', 2, true
	case 'u':
		r1, ok := hex4(lit, i+2)
		if !ok {
			return 0, 0, false
		}
		if !utf16.IsSurrogate(r1) {
			return r1, 6, true
		}
		if i+12 > len(lit) || lit[i+6] != '\\' || lit[i+7] != 'u' {
			return 0, 0, false // lone surrogate
		}
		r2, ok := hex4(lit, i+8)
		if !ok {
			return 0, 0, false
		}
		r := utf16.DecodeRune(r1, r2)
		if r == utf8.RuneError {
			return 0, 0, false
		}
		return r, 12, true
	}
	return 0, 0, false
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// unquote decodes a string literal (quotes included) that the tokenizer
// has validated.
func unquote(lit []byte) string {
	s, _ := unquoteTo(make([]byte, 0, len(lit)), lit)
	return s
}

// unquoteTo is unquote into out (cap(out) >= len(lit)); ok tells whether
// the result is in out's memory (else it is a new string).
func unquoteTo(out, lit []byte) (_ string, ok bool) {
	body := lit[1 : len(lit)-1]
	// Escapes are ASCII, so the literal is valid UTF-8 iff every run
	// between them is: one check for all of them.
	if !utf8.Valid(body) {
		b, _ := jsontext.AppendUnquote(nil, lit) // invalid UTF-8 becomes U+FFFD, as a decoder would
		return string(b), false
	}
	out = out[:0]
	for i := 0; i < len(body); {
		j := bytes.IndexByte(body[i:], '\\')
		if j < 0 {
			j = len(body) - i
		}
		out = append(out, body[i:i+j]...)
		i += j
		if i == len(body) {
			break
		}
		r, n, ok := escape(body, i)
		if !ok {
			b, _ := jsontext.AppendUnquote(nil, lit)
			return string(b), false
		}
		out = utf8.AppendRune(out, r)
		i += n
	}
	// A decoded text is never longer than its literal, so out was not
	// reallocated.
	return unsafe.String(unsafe.SliceData(out), len(out)), true
}

// textBufs recycles the buffers of large decoded texts (a prompt with line
// breaks is one: ~100 KB per call of a 100 KB prompt) and of the redacted
// texts built for the event. A text aliases its buffer until the event's
// sink is done with it: the gateway returns them when it has no sink,
// OTLPSink after sealing, any other sink never (the GC takes them). They
// are wiped when returned, as the sealer wipes its plaintext.
var textBufs sync.Pool // *[]byte

const (
	minPooled = 4 << 10
	maxPooled = 4 << 20 // larger buffers are left to the GC
)

func getTextBuf(n int) *[]byte {
	if b, ok := textBufs.Get().(*[]byte); ok && cap(*b) >= n {
		*b = (*b)[:0]
		return b
	}
	b := make([]byte, 0, max(n, 128<<10))
	return &b
}

func putTextBuf(b *[]byte) {
	if cap(*b) > maxPooled {
		return
	}
	clear((*b)[:cap(*b)])
	*b = (*b)[:0]
	textBufs.Put(b)
}

// finalText is text i as forwarded (reqText.final); a large redacted text
// is built in a pooled buffer, which is added to bufs.
func (p *parsedRequest) finalText(i int, bufs *[]*[]byte) string {
	t := &p.texts[i]
	if t.redacted != nil || len(t.subs) == 0 || len(t.text) < minPooled {
		return t.final()
	}
	n := len(t.text)
	for _, s := range t.subs {
		n += len(s.ph) - (s.end - s.start)
	}
	b := getTextBuf(n)
	out := *b
	pos := 0
	for _, s := range t.subs {
		out = append(out, t.text[pos:s.start]...)
		out = append(out, s.ph...)
		pos = s.end
	}
	out = append(out, t.text[pos:]...)
	*b = out
	*bufs = append(*bufs, b)
	return unsafe.String(unsafe.SliceData(out), len(out))
}

// rawOffsets maps offsets in the decoded text of lit (sorted pairs, as
// findings' starts and ends) to offsets in lit's content (after the
// opening quote). ok is false if an offset falls inside an escape's
// expansion or lit has what unquote leaves to jsontext.
func rawOffsets(lit []byte, offs []int) (raw []int, ok bool) {
	body := lit[1 : len(lit)-1]
	if !utf8.Valid(body) {
		return nil, false
	}
	raw = make([]int, 0, len(offs))
	i, dec := 0, 0 // position in body, in the decoded text
	for _, d := range offs {
		for {
			j := bytes.IndexByte(body[i:], '\\')
			if j < 0 {
				j = len(body) - i
			}
			if dec+j >= d {
				// d lies in this run of unescaped bytes (or at its end),
				// and must not split a character.
				i, dec = i+(d-dec), d
				if i < len(body) && !utf8.RuneStart(body[i]) {
					return nil, false
				}
				break
			}
			i, dec = i+j, dec+j
			r, n, ok := escape(body, i)
			if !ok {
				return nil, false
			}
			if dec+utf8.RuneLen(r) > d {
				return nil, false // d splits the bytes one escape stands for
			}
			i, dec = i+n, dec+utf8.RuneLen(r)
		}
		raw = append(raw, i)
	}
	return raw, true
}
