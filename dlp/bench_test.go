package dlp

import (
	"strings"
	"testing"

	"github.com/wardenhq/warden/dlp/corpus"
)

// payload100KB concatenates generated documents up to 100 KB.
func payload100KB(filler int) []byte {
	var b strings.Builder
	for _, d := range corpus.Generate(77, 4000, corpus.Options{Filler: filler}) {
		if b.Len()+len(d.Text) > 100<<10 {
			break
		}
		b.WriteString(d.Text)
	}
	return []byte(b.String())
}

// The gateway's budget is 2 ms for a 100 KB prompt; these report ns/op per
// 100 KB payload (dense: about one finding per 200 bytes).
func BenchmarkScan100KBDense(b *testing.B)   { benchScan(b, payload100KB(0)) }
func BenchmarkScan100KBTypical(b *testing.B) { benchScan(b, payload100KB(40)) }

func benchScan(b *testing.B, p []byte) {
	s, _ := New()
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		s.Scan(p)
	}
}

// BenchmarkStream100KBTypical feeds the payload in 64-byte chunks, as an
// SSE response arrives.
func BenchmarkStream100KBTypical(b *testing.B) {
	p := payload100KB(40)
	s, _ := New()
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		st := s.NewStream()
		for i := 0; i < len(p); i += 64 {
			st.Write(p[i:min(len(p), i+64)])
		}
		st.Close()
	}
}
