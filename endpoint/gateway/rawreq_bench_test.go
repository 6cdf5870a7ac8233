package gateway

import (
	"encoding/json"
	"strings"
	"testing"
)

// benchBody is a Chat Completions request with a 100 KB prompt of prose
// with line breaks (escapes every ~80 bytes), like the gateway benchmark's.
func benchBody() []byte {
	w := strings.Fields("the quarterly report shows revenue growth in the north region while costs in logistics rose because of fuel prices")
	var b strings.Builder
	for i := 0; b.Len() < 100<<10; i++ {
		b.WriteString(w[i%len(w)])
		if i%12 == 0 {
			b.WriteString(".\n")
		} else {
			b.WriteByte(' ')
		}
	}
	out, _ := json.Marshal(map[string]any{"model": "gpt-5.1", "max_tokens": 256,
		"messages": []any{map[string]any{"role": "user", "content": b.String()}}})
	return out
}

// BenchmarkParseRequest100KB: the request-side JSON work before the scan.
func BenchmarkParseRequest100KB(b *testing.B) {
	body := benchBody()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseRequest(apiChat, "", false, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeDoc100KB: decoding the same body into a document, as
// requests were before.
func BenchmarkDecodeDoc100KB(b *testing.B) {
	body := benchBody()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeDoc(body); err != nil {
			b.Fatal(err)
		}
	}
}
