package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// refTexts is the request walk on a decoded document (the rules the raw
// parser follows: content roots, skipped keys, parts from role/type and
// from functionCall-like keys), as (part, role, text) triples sorted.
func refTexts(t *testing.T, api *apiKind, body string) []string {
	t.Helper()
	doc, err := decodeDoc([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	var refs []textRef
	for _, root := range api.roots {
		part, _ := rootPart(api, root)
		v, ok := doc[root]
		if !ok {
			continue
		}
		if _, ok := v.(string); ok {
			refs = append(refs, textRef{m: doc, key: root, part: part, role: part})
			continue
		}
		refs = walkText(v, part, "", refs)
	}
	var out []string
	for _, r := range refs {
		out = append(out, r.part+"|"+r.role+"|"+r.get())
	}
	slices.Sort(out)
	return out
}

func rawTexts(p *parsedRequest) []string {
	var out []string
	for _, t := range p.texts {
		out = append(out, t.part+"|"+t.role+"|"+t.final())
	}
	slices.Sort(out)
	return out
}

var rawBodies = []struct {
	api  *apiKind
	body string
}{
	{apiAnthropic, `{"model":"claude-opus-5-5","max_tokens":1000,"stream":true,"system":[{"type":"text","text":"be brief","cache_control":{"type":"ephemeral"}}],
	 "messages":[{"content":[{"type":"text","text":"hello \"quoted\"\n\u00e9 \ud83d\ude00"}],"role":"user"},
	 {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Bash","input":{"command":"cat /etc/x","n":3}}]},
	 {"role":"user","content":[{"content":[{"type":"text","text":"tool out"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}],"type":"tool_result","tool_use_id":"t1"}]}]}`},
	{apiChat, `{"model":"gpt-5.1","messages":[{"role":"system","content":"sys"},{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:x"}}]},
	 {"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},{"content":"result text","role":"tool","tool_call_id":"c1"}],"stream":false}`},
	{apiResponses, `{"model":"gpt-5.1","instructions":"you are codex","input":[{"type":"message","role":"developer","content":[{"type":"input_text","text":"dev"}]},
	 {"type":"function_call","name":"shell","arguments":"{\"cmd\":[\"ls\"]}","call_id":"x"},{"call_id":"x","output":"file1\nfile2","type":"function_call_output"}],"max_output_tokens":77}`},
	{apiGemini, `{"contents":[{"role":"user","parts":[{"text":"q"}]},{"role":"model","parts":[{"functionCall":{"name":"read","args":{"path":"/a"}}}]},
	 {"role":"user","parts":[{"functionResponse":{"name":"read","response":{"output":"secret-ish"}}}]}],"systemInstruction":{"parts":[{"text":"sys"}]},"generationConfig":{"maxOutputTokens":64}}`},
	{apiGeminiCount, `{"generateContentRequest":{"model":"models/g","contents":[{"role":"user","parts":[{"text":"count me"}]}]}}`},
	{apiAnthropic, `{"model":"m","system":"plain system","messages":[{"role":"user","content":"plain"}],"max_tokens":12345678901234567891}`},
}

// TestRawParseMatchesDecodedWalk: the raw parser finds the same texts with
// the same parts and roles as walking the decoded document, and reads the
// top-level fields.
func TestRawParseMatchesDecodedWalk(t *testing.T) {
	for i, c := range rawBodies {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			p, err := parseRequest(c.api, "g", false, []byte(c.body))
			if err != nil {
				t.Fatal(err)
			}
			want, got := refTexts(t, c.api, c.body), rawTexts(p)
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("texts differ\nwant %q\n got %q", want, got)
			}
			for _, tx := range p.texts {
				lit := c.body[tx.start:tx.end]
				var v string
				if err := json.Unmarshal([]byte(lit), &v); err != nil || v != tx.text {
					t.Fatalf("span %d:%d is %q, text %q", tx.start, tx.end, lit, tx.text)
				}
				if tx.escaped != strings.Contains(lit, `\`) {
					t.Fatalf("escaped=%v for %q", tx.escaped, lit)
				}
			}
		})
	}
	p, _ := parseRequest(apiAnthropic, "", false, []byte(rawBodies[0].body))
	if p.model != "claude-opus-5-5" || !p.stream || p.maxOut != 1000 {
		t.Fatalf("top-level fields: %+v", p)
	}
	p, _ = parseRequest(apiResponses, "", false, []byte(rawBodies[2].body))
	if p.maxOut != 77 || p.stream {
		t.Fatalf("responses fields: %+v", p)
	}
	p, _ = parseRequest(apiGemini, "gemini-3", true, []byte(rawBodies[3].body))
	if p.model != "gemini-3" || !p.stream || p.maxOut != 64 {
		t.Fatalf("gemini fields: %+v", p)
	}
}

// TestRawParseRejects: what a provider might read differently is refused
// with a message naming the problem.
func TestRawParseRejects(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`{"model":"a","model":"b","messages":[]}`, "duplicate"},
		{`{"model":"a","messages":[{"role":"user","content":"x","content":"y"}]}`, "duplicate"},
		{`{"model":"a","messages":[]} {"x":1}`, "after the top-level"},
		{`{"model":"a","messages":[}`, "not a JSON object"},
		{`["model"]`, "not a JSON object"},
		{`{"messages":[]}`, `"model" is missing`},
		{`{"model":"a","messages":[{"content":"x\u0001` + "\x01" + `"}]}`, "not a JSON object"},
	} {
		_, err := parseRequest(apiChat, "", false, []byte(c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want it to mention %q", c.body, err, c.want)
		}
	}
}

// fakeRedactor numbers values per type, like dlp's.
type fakeRedactor struct{ seen map[string]string }

func (r *fakeRedactor) Redact(text string, fs []Finding) (string, int) {
	var b strings.Builder
	pos, n := 0, 0
	for _, f := range fs {
		if f.Start < pos {
			continue
		}
		v := text[f.Start:f.End]
		ph, ok := r.seen[f.Type+v]
		if !ok {
			ph = fmt.Sprintf("[REDACTED_%s_%d]", strings.ToUpper(f.Type), len(r.seen)+1)
			r.seen[f.Type+v] = ph
		}
		b.WriteString(text[pos:f.Start])
		b.WriteString(ph)
		pos, n = f.End, n+1
	}
	b.WriteString(text[pos:])
	return b.String(), n
}

func (r *fakeRedactor) Restore(s string) (string, bool) { return s, false }

func (r *fakeRedactor) PartialPlaceholder(string) int { return 0 }

// TestRawRedactSplices: redactions are spliced into the client's bytes; the
// result decodes to the original document with the values replaced, and
// every byte outside the replaced values is the client's.
func TestRawRedactSplices(t *testing.T) {
	const ssn = "536-22-8817"
	body := `{"model":"gpt-5.1", "seed":12345678901234567891,"temperature":0.70,` +
		`"messages":[{"role":"user","content":"plain SSN ` + ssn + ` twice ` + ssn + ` end"},` +
		`{"role":"user","content":"escaped\n\"q\" SSN ` + ssn + ` <b>&amp;</b> \u00e9"}]}`
	p, err := parseRequest(apiChat, "", false, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	red := &fakeRedactor{seen: map[string]string{}}
	total := 0
	for i, tx := range p.texts {
		var fs []Finding
		for off := 0; ; {
			j := strings.Index(tx.text[off:], ssn)
			if j < 0 {
				break
			}
			// Given out of order, as a detector may.
			fs = append([]Finding{{Type: "us_ssn", Start: off + j, End: off + j + len(ssn)}}, fs...)
			off += j + len(ssn)
		}
		total += p.redact(i, red, fs)
	}
	if total != 3 {
		t.Fatalf("redacted %d values, want 3", total)
	}
	out := p.output()
	if bytes.Contains(out, []byte(ssn)) {
		t.Fatalf("SSN left: %s", out)
	}
	want := strings.ReplaceAll(body, ssn, "[REDACTED_US_SSN_1]")
	var a, b any
	dec := func(s []byte, v *any) {
		d := json.NewDecoder(bytes.NewReader(s))
		d.UseNumber()
		if err := d.Decode(v); err != nil {
			t.Fatalf("%v: %s", err, s)
		}
	}
	dec(out, &a)
	dec([]byte(want), &b)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("meaning differs:\n got %s\nwant %s", out, want)
	}
	// Both strings were spliced: every byte but the replaced values is the
	// client's.
	if string(out) != want {
		t.Fatalf("not spliced:\n got %s\nwant %s", out, want)
	}
	if got := p.texts[0].final(); got != "plain SSN [REDACTED_US_SSN_1] twice [REDACTED_US_SSN_1] end" {
		t.Fatalf("text 0 now %q", got)
	}
	if got := p.texts[1].final(); got != "escaped\n\"q\" SSN [REDACTED_US_SSN_1] <b>&amp;</b> \u00e9" {
		t.Fatalf("text 1 now %q", got)
	}
	if string(p.body) != body {
		t.Fatal("the client's body was modified in place")
	}
}

// TestRawUnchangedBodyForwardedAsIs: nothing redacted, nothing added → the
// very bytes the client sent.
func TestRawUnchangedBodyForwardedAsIs(t *testing.T) {
	body := []byte(rawBodies[1].body)
	p, err := parseRequest(apiChat, "", false, body)
	if err != nil {
		t.Fatal(err)
	}
	if out := p.output(); &out[0] != &body[0] || len(out) != len(body) {
		t.Fatal("an unchanged body was copied or altered")
	}
}

// TestRawIncludeUsage: a Chat Completions stream asks for usage whatever
// stream_options the client sent, keeping the rest of them.
func TestRawIncludeUsage(t *testing.T) {
	for _, c := range []struct{ so, want string }{
		{``, `{"include_usage":true}`},
		{`,"stream_options":null`, `{"include_usage":true}`},
		{`,"stream_options":{"include_usage":false,"x":12345678901234567891}`, `{"include_usage":true,"x":12345678901234567891}`},
		{`,"stream_options":{"include_usage":true}`, `{"include_usage":true}`},
	} {
		body := `{"model":"gpt-5.1","stream":true,"messages":[{"role":"user","content":"hi"}]` + c.so + `}`
		p, err := parseRequest(apiChat, "", false, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.includeUsage(); err != nil {
			t.Fatal(err)
		}
		out := p.output()
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		var got, want any
		d := json.NewDecoder(bytes.NewReader(doc["stream_options"]))
		d.UseNumber()
		_ = d.Decode(&got)
		d = json.NewDecoder(strings.NewReader(c.want))
		d.UseNumber()
		_ = d.Decode(&want)
		if !reflect.DeepEqual(got, want) || string(doc["model"]) != `"gpt-5.1"` {
			t.Fatalf("%s → %s", body, out)
		}
	}
}

// FuzzRawParse: any input either fails cleanly or yields spans that are
// string literals of the body decoding to the recorded texts.
func FuzzRawParse(f *testing.F) {
	for _, c := range rawBodies {
		f.Add(c.body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		p, err := parseRequest(apiAnthropic, "", false, []byte(body))
		if err != nil {
			return
		}
		for _, tx := range p.texts {
			if tx.start < 0 || tx.end > len(body) || body[tx.start] != '"' || body[tx.end-1] != '"' {
				t.Fatalf("bad span %d:%d", tx.start, tx.end)
			}
		}
		red := &fakeRedactor{seen: map[string]string{}}
		for i, tx := range p.texts {
			if len(tx.text) > 2 {
				p.redact(i, red, []Finding{{Type: "x", Start: 1, End: 2}})
			}
		}
		if !json.Valid(p.output()) && json.Valid([]byte(body)) {
			t.Fatalf("redacted body is not JSON: %s", p.output())
		}
	})
}

// TestRawRedactEscapedFallback: a finding whose edge falls inside an
// escape's expansion (half of a \u00e9) cannot be spliced; the string is
// re-quoted whole, with the same meaning.
func TestRawRedactEscapedFallback(t *testing.T) {
	body := `{"model":"m","messages":[{"role":"user","content":"x \u00e9SECRET\n y"}]}`
	p, err := parseRequest(apiChat, "", false, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	tx := p.texts[0]
	s := strings.Index(tx.text, "SECRET") - 1 // the second byte of é
	if n := p.redact(0, &fakeRedactor{seen: map[string]string{}}, []Finding{{Type: "k", Start: s, End: s + 7}}); n != 1 {
		t.Fatalf("redacted %d", n)
	}
	var got struct {
		Messages []struct{ Content string }
	}
	if err := json.Unmarshal(p.output(), &got); err != nil {
		t.Fatal(err)
	}
	// The half character left behind is invalid UTF-8, which the encoder
	// writes as U+FFFD (as re-encoding the whole body did).
	want := tx.text[:s] + "[REDACTED_K_1]" + tx.text[s+7:]
	if got.Messages[0].Content != strings.ToValidUTF8(want, "\uFFFD") || p.texts[0].final() != want {
		t.Fatalf("got %q, want %q", got.Messages[0].Content, want)
	}
}

// FuzzUnquote: the run-wise decoder equals jsontext's, and every offset
// rawOffsets maps splits the literal where the decoded text splits.
func FuzzUnquote(f *testing.F) {
	for _, s := range []string{`plain`, `a\nb`, `q\"\\/\u00e9\ud83d\ude00 \ud800 x`, `\u12`, "\xff", `tab\tend`} {
		f.Add(s, uint16(3))
	}
	f.Fuzz(func(t *testing.T, s string, off uint16) {
		lit := []byte(`"` + s + `"`)
		if !jsontext.Value(lit).IsValid(jsontext.AllowInvalidUTF8(true)) {
			return
		}
		want, _ := jsontext.AppendUnquote(nil, lit)
		got := unquote(lit)
		if got != string(want) {
			t.Fatalf("unquote(%q) = %q, jsontext %q", lit, got, want)
		}
		d := int(off) % (len(got) + 1)
		raw, ok := rawOffsets(lit, []int{d, len(got)})
		if !ok {
			return
		}
		pre, _ := jsontext.AppendUnquote(nil, append(append([]byte(`"`), lit[1:1+raw[0]]...), '"'))
		if string(pre) != got[:d] || raw[1] != len(lit)-2 {
			t.Fatalf("offset %d -> %d in %q: prefix decodes to %q, want %q", d, raw[0], lit, pre, got[:d])
		}
	})
}
