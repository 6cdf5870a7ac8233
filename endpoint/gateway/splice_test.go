package gateway

import (
	"reflect"
	"testing"

	json "github.com/goccy/go-json"
)

// TestSpliceBody: the spliced body decodes to exactly the redacted
// document, and every case where splicing could leave an unscanned or
// unredacted copy falls back to re-encoding.
func TestSpliceBody(t *testing.T) {
	const sec = "SSN 536-22-8817"
	cases := []struct {
		name   string
		body   string
		scan   []string // top-level keys whose string value is redacted
		stream bool
		ok     bool
	}{
		{"plain", `{"model":"m","messages":"` + sec + `","n":12345678}`, []string{"messages"}, false, true},
		{"escaped quote before a look-alike", `{"a":"x \"` + sec + `","messages":"` + sec + `"}`, []string{"messages"}, false, true},
		{"key equal to the value", `{"` + sec + `":1,"messages":"` + sec + `"}`, []string{"messages"}, false, true},
		{"unscanned copy re-encodes", `{"messages":"` + sec + `","meta":"` + sec + `"}`, []string{"messages"}, false, false},
		{"same text scanned twice", `{"messages":"` + sec + `","tool":"` + sec + `"}`, []string{"messages", "tool"}, false, true},
		{"escapes and unicode", `{"messages":"a\n\t\"q\" \\ <&> é ` + sec + `"}`, []string{"messages"}, false, true},
		{"stream options added", `{"model":"m","stream":true,"messages":"` + sec + `"}`, []string{"messages"}, true, true},
		{"whitespace", " \n{ \"messages\" : \"" + sec + "\" }\n", []string{"messages"}, true, true},
		{"duplicate key smuggles an unscanned value", `{"messages":"` + sec + `","messages":"` + sec + `"}`, []string{"messages"}, false, false},
		{"value escaped differently", `{"messages":"SSN \u003536-22-8817"}`, []string{"messages"}, false, false},
		{"one copy canonical, one not", `{"messages":"` + sec + `","tool":"SSN \u003536-22-8817"}`, []string{"messages", "tool"}, false, false},
		{"html escaped by the client", `{"messages":"\u003cb\u003e ` + sec + `"}`, []string{"messages"}, false, false},
		{"empty object gets no member", `{}`, nil, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc, err := decodeDoc([]byte(c.body))
			if err != nil {
				t.Fatal(err)
			}
			var edits []textEdit
			for _, k := range c.scan {
				old := doc[k].(string)
				nw := old
				if i := len(old) - len("536-22-8817"); i >= 0 && old[i:] == "536-22-8817" {
					nw = old[:i] + "[REDACTED_US_SSN_1]"
				}
				doc[k] = nw
				edits = append(edits, textEdit{old, nw})
			}
			if c.stream {
				doc["stream_options"] = map[string]any{"include_usage": true}
			}
			out, ok := spliceBody([]byte(c.body), doc, edits, c.stream)
			if ok != c.ok {
				t.Fatalf("ok = %v, want %v (out %s)", ok, c.ok, out)
			}
			if !ok {
				return
			}
			var got map[string]any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("spliced body is not JSON: %v: %s", err, out)
			}
			if !reflect.DeepEqual(got, doc) {
				t.Fatalf("spliced body %s\ndecodes to %v\nwant        %v", out, got, doc)
			}
		})
	}
}
