package gateway

import (
	"bytes"
	"sort"

	json "github.com/goccy/go-json"
)

// A redacted request used to be re-encoded whole from its decoded document
// (~0.1–0.2 ms and two more 100 KB buffers for a 100 KB prompt, paid before
// the first byte leaves). Redaction only replaces whole string values, so
// the original body can instead be copied with those string literals
// swapped. Where that cannot be done with certainty the caller re-encodes
// the document as before.

// textEdit replaces one string value old by new.
type textEdit struct{ old, new string }

// spliceBody returns body with every string value equal to an edit's old
// replaced by its new, and, if addStreamOptions, the Chat Completions
// `"stream_options":{"include_usage":true}` member added to the top-level
// object. ok is false when an edit's value is not found in the body in the
// encoding this package produces (the client escaped it differently), when
// two edits disagree about one value, or when the top-level object is
// empty: the caller then re-encodes the whole document.
//
// A match counts only where it is a string value: its opening quote is not
// escaped (an even number of backslashes precede it) and it is not an
// object key (no ':' follows). The same text scanned in two places is
// replaced in both (the redactor gives one value one placeholder).
//
// Two checks make sure nothing the document holds escapes redaction: the
// body has exactly as many string tokens as the document has keys and
// string values (a duplicate key, whose earlier value the decoder dropped
// and never scanned but a provider might read, always adds one), and every
// string value of the document equal to an edit's old was found and
// replaced (none is left in another escaping).
func spliceBody(body []byte, doc map[string]any, edits []textEdit, addStreamOptions bool) ([]byte, bool) {
	// doc is the document after redaction (and with stream_options added
	// when addStreamOptions: two more keys than the body has).
	want := countDocStrings(doc)
	if addStreamOptions {
		want -= 2
	}
	if countStringTokens(body) != want {
		return nil, false
	}
	type repl struct {
		at, n int
		lit   []byte
	}
	var rs []repl
	seen := map[string]string{}
	for _, e := range edits {
		if prev, dup := seen[e.old]; dup {
			if prev != e.new {
				return nil, false
			}
			continue
		}
		seen[e.old] = e.new
		oldLit, err1 := json.MarshalWithOption(e.old, json.DisableHTMLEscape())
		newLit, err2 := json.MarshalWithOption(e.new, json.DisableHTMLEscape())
		if err1 != nil || err2 != nil {
			return nil, false
		}
		found := 0
		for from := 0; ; {
			i := bytes.Index(body[from:], oldLit)
			if i < 0 {
				break
			}
			at := from + i
			from = at + len(oldLit)
			if escaped(body, at) || isKey(body, from) {
				continue
			}
			rs = append(rs, repl{at, len(oldLit), newLit})
			found++
		}
		// doc is already redacted: the scanned places now hold new. A
		// place never scanned that still holds old would be changed by the
		// splice but not by re-encoding, so that case re-encodes.
		if found == 0 || countValue(doc, e.old) != 0 || found != countValue(doc, e.new) {
			return nil, false
		}
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].at < rs[j].at })
	size := len(body)
	for _, r := range rs {
		size += len(r.lit) - r.n
	}
	const member = `"stream_options":{"include_usage":true},`
	open := -1
	if addStreamOptions {
		open = skipSpace(body, 0)
		if open >= len(body) || body[open] != '{' {
			return nil, false
		}
		if next := skipSpace(body, open+1); next >= len(body) || body[next] == '}' {
			return nil, false
		}
		size += len(member)
	}
	out := make([]byte, 0, size)
	last := 0
	if open >= 0 {
		out = append(out, body[:open+1]...)
		out = append(out, member...)
		last = open + 1
	}
	for _, r := range rs {
		out = append(out, body[last:r.at]...)
		out = append(out, r.lit...)
		last = r.at + r.n
	}
	return append(out, body[last:]...), true
}

// escaped reports whether body[at] is preceded by an odd number of
// backslashes, i.e. is an escaped character inside a string.
func escaped(body []byte, at int) bool {
	n := 0
	for i := at - 1; i >= 0 && body[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// isKey reports whether the next non-space byte from i is ':'.
func isKey(body []byte, i int) bool {
	i = skipSpace(body, i)
	return i < len(body) && body[i] == ':'
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// countStringTokens counts the string tokens (keys and values) of a JSON
// text: its unescaped quotes, halved.
func countStringTokens(b []byte) int {
	n := 0
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return n / 2
		}
		i += j
		if !escaped(b, i) {
			n++
		}
		i++
	}
}

// countDocStrings counts the keys and string values of a decoded document.
func countDocStrings(v any) int {
	switch x := v.(type) {
	case string:
		return 1
	case map[string]any:
		n := len(x)
		for _, e := range x {
			n += countDocStrings(e)
		}
		return n
	case []any:
		n := 0
		for _, e := range x {
			n += countDocStrings(e)
		}
		return n
	}
	return 0
}

// countValue counts the string values of v equal to s.
func countValue(v any, s string) int {
	switch x := v.(type) {
	case string:
		if x == s {
			return 1
		}
	case map[string]any:
		n := 0
		for _, e := range x {
			n += countValue(e, s)
		}
		return n
	case []any:
		n := 0
		for _, e := range x {
			n += countValue(e, s)
		}
		return n
	}
	return 0
}
