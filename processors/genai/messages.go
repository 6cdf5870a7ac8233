package genai

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/wardenhq/warden/schema"
)

// appendMessage adds one {role, part, text} message, cutting text longer
// than max_message_bytes (recorded as a problem). An exact repeat of the
// previous message (Claude Code sends the prompt as both `prompt` and
// `prompt_text`) is not added twice.
func (n *Normalizer) appendMessage(msgs pcommon.Slice, role, part, text string, p *problems) {
	if len(text) > n.maxMsg {
		cut := n.maxMsg
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		p.add(schema.AttrMessages, "message cut to max_message_bytes")
		text = text[:cut]
	}
	if l := msgs.Len(); l > 0 {
		prev := msgs.At(l - 1).Map()
		if t, ok := prev.Get("text"); ok && t.Str() == text {
			if pp, ok := prev.Get("part"); ok && pp.Str() == part {
				return
			}
		}
	}
	m := msgs.AppendEmpty().SetEmptyMap()
	m.EnsureCapacity(3)
	m.PutStr("role", role)
	m.PutStr("part", part)
	m.PutStr("text", text)
}

// pending is one piece of content taken off a record, waiting to be
// written as message(s).
type pending struct {
	role, part string
	split      splitMode
	text       string
}

// takeContent removes every content attribute of attrs, in attribute order,
// and appends it to out. eventName disambiguates the generic `body` key
// (Claude Code's api_request_body / api_response_body).
func takeContent(attrs pcommon.Map, out []pending, eventName string) []pending {
	attrs.RemoveIf(func(k string, val pcommon.Value) bool {
		c := codeOf(k)
		if !isContent(c) {
			return false
		}
		if c == kRequestBody && strings.HasSuffix(eventName, "response_body") {
			c = kResponseBody
		}
		spec := specOf(c)
		out = append(out, pending{spec.role, spec.part, spec.split, contentText(val)})
		return true
	})
	return out
}

// putMessages writes the pending content as warden.messages (last, so no
// later Put invalidates the slice being filled).
func (n *Normalizer) putMessages(attrs pcommon.Map, pend []pending, p *problems) {
	if len(pend) == 0 {
		return
	}
	ms := attrs.PutEmptySlice(schema.AttrMessages)
	ms.EnsureCapacity(len(pend))
	for _, m := range pend {
		if m.split != splitNone && n.splitMessages(ms, m.text, contentSpec{m.role, m.part, m.split}, p) {
			continue
		}
		n.appendMessage(ms, m.role, m.part, m.text, p)
	}
}

func contentText(val pcommon.Value) string {
	switch val.Type() {
	case pcommon.ValueTypeStr:
		return val.Str()
	case pcommon.ValueTypeSlice:
		// A list of strings (e.g. argv) reads as space-joined text.
		s := val.Slice()
		var b strings.Builder
		for i := 0; i < s.Len(); i++ {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(s.At(i).AsString())
		}
		return b.String()
	}
	return val.AsString()
}

// jsonMessage covers the message shapes seen in the wild: OTel GenAI
// ({role, parts:[{type, content}]}), Gemini ({role, parts:[{text} |
// {functionCall} | {functionResponse}]}) and plain ({role, content}).
type jsonMessage struct {
	Role    string            `json:"role"`
	Parts   []json.RawMessage `json:"parts"`
	Content json.RawMessage   `json:"content"`
}

type jsonPart struct {
	Type    string          `json:"type"`
	Text    *string         `json:"text"`
	Content json.RawMessage `json:"content"`
}

// splitMessages turns a JSON list of messages into one message each. It
// returns false when text is not such a list (the caller then keeps it as
// one message).
func (n *Normalizer) splitMessages(msgs pcommon.Slice, text string, spec contentSpec, p *problems) bool {
	t := strings.TrimSpace(text)
	if len(t) == 0 || (t[0] != '[' && t[0] != '{') {
		return false
	}
	var list []jsonMessage
	if t[0] == '[' {
		if err := json.Unmarshal([]byte(t), &list); err != nil {
			return false
		}
	} else {
		var one jsonMessage
		if err := json.Unmarshal([]byte(t), &one); err != nil {
			return false
		}
		list = []jsonMessage{one}
	}
	if len(list) == 0 {
		return false
	}
	for _, m := range list {
		if m.Role == "" && len(m.Parts) == 0 && len(m.Content) == 0 {
			return false // not a message list: keep the text whole
		}
	}
	for _, m := range list {
		role, part := spec.role, spec.part
		if spec.split != splitOutput {
			role, part = normRole(m.Role, spec)
		}
		var b strings.Builder
		for _, raw := range m.Parts {
			var jp jsonPart
			if err := json.Unmarshal(raw, &jp); err == nil && jp.Text != nil {
				appendText(&b, *jp.Text)
			} else if err == nil && len(jp.Content) > 0 && (jp.Type == "" || jp.Type == "text") {
				appendText(&b, rawText(jp.Content))
			} else {
				appendText(&b, string(raw))
			}
		}
		if len(m.Content) > 0 {
			appendText(&b, rawText(m.Content))
		}
		n.appendMessage(msgs, role, part, b.String(), p)
	}
	return true
}

func appendText(b *strings.Builder, s string) {
	if b.Len() > 0 {
		b.WriteByte('\n')
	}
	b.WriteString(s)
}

// rawText is a JSON string's value, or the raw JSON of anything else.
func rawText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

func normRole(role string, spec contentSpec) (string, string) {
	switch strings.ToLower(role) {
	case "user", "human":
		return roleUser, schema.PartPrompt
	case "assistant", "model", "ai":
		return roleAssistant, schema.PartResponse
	case "system", "developer":
		return roleSystem, schema.PartSystem
	case "tool", "function":
		return roleTool, schema.PartToolOutput
	}
	return spec.role, spec.part
}

// ---- event ids ----

// eventID builds a 16-byte, UUIDv7-shaped id: 48 bits of milliseconds since
// the epoch and 12 bits of sub-millisecond time (so ids sort by time), then
// 62 bits of a hash of the source record, so the same record always gets
// the same id (retries deduplicate) and different records do not collide.
func eventID(tsNanos, h uint64) [16]byte {
	var id [16]byte
	ms := tsNanos / 1e6
	sub := (tsNanos % 1e6) * 4096 / 1e6
	id[0], id[1], id[2] = byte(ms>>40), byte(ms>>32), byte(ms>>24)
	id[3], id[4], id[5] = byte(ms>>16), byte(ms>>8), byte(ms)
	id[6] = 0x70 | byte(sub>>8)
	id[7] = byte(sub)
	binary.BigEndian.PutUint64(id[8:], h)
	id[8] = 0x80 | (id[8] & 0x3f)
	return id
}

func writeUint(d *xxhash.Digest, u uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], u)
	d.Write(b[:])
}

// hashValue feeds a value into d with its type, without allocating for
// scalars.
func hashValue(d *xxhash.Digest, v pcommon.Value) {
	d.Write([]byte{byte(v.Type())})
	switch v.Type() {
	case pcommon.ValueTypeStr:
		writeUint(d, uint64(len(v.Str())))
		d.WriteString(v.Str())
	case pcommon.ValueTypeInt:
		writeUint(d, uint64(v.Int()))
	case pcommon.ValueTypeDouble:
		writeUint(d, math.Float64bits(v.Double()))
	case pcommon.ValueTypeBool:
		if v.Bool() {
			d.Write([]byte{1})
		} else {
			d.Write([]byte{0})
		}
	case pcommon.ValueTypeBytes:
		b := v.Bytes().AsRaw()
		writeUint(d, uint64(len(b)))
		d.Write(b)
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		writeUint(d, uint64(s.Len()))
		for i := 0; i < s.Len(); i++ {
			hashValue(d, s.At(i))
		}
	case pcommon.ValueTypeMap:
		hashMap(d, v.Map())
	}
}

func hashMap(d *xxhash.Digest, m pcommon.Map) {
	writeUint(d, uint64(m.Len()))
	m.Range(func(k string, v pcommon.Value) bool {
		writeUint(d, uint64(len(k)))
		d.WriteString(k)
		hashValue(d, v)
		return true
	})
}
