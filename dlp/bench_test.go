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

// prose100KB is plain English with sentence breaks and one SSN, like the
// gateway benchmark's prompt (few anchors, few digits).
func prose100KB() []byte {
	w := strings.Fields(`the quarterly report shows revenue growth in the north region while
costs in logistics rose because of fuel prices and the team proposes a new routing plan with
weekly reviews of supplier contracts please summarise the main risks and list next steps for
engineering finance and operations including deadlines owners and open questions`)
	var b strings.Builder
	for i := 0; b.Len() < 100<<10; i++ {
		b.WriteString(w[(i*7)%len(w)])
		if i%12 == 0 {
			b.WriteString(".\n")
		} else {
			b.WriteByte(' ')
		}
		if i == 8000 {
			b.WriteString("Employee SSN 536-22-8817 on file. ")
		}
	}
	return []byte(b.String())
}

func BenchmarkScan100KBProse(b *testing.B) { benchScan(b, prose100KB()) }

// BenchmarkAnchorPass100KBProse: the automaton pass alone, on one goroutine.
func BenchmarkAnchorPass100KBProse(b *testing.B) {
	p := prose100KB()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		st := getState()
		anchorPass(st, p, 0, len(p), len(p))
		putState(st)
	}
}

// BenchmarkScanBytes100KBProse: the digit/'@' pass alone.
func BenchmarkScanBytes100KBProse(b *testing.B) {
	p := prose100KB()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		st := getState()
		scanBytes(st, p)
		putState(st)
	}
}
