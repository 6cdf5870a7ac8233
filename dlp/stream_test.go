package dlp

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/wardenhq/warden/dlp/corpus"
)

// streamAll feeds text in chunks drawn from r and checks the Safe contract
// after every write.
func streamAll(t testing.TB, s *Scanner, text []byte, r *rand.Rand, maxChunk int) []Finding {
	st := s.NewStream()
	var out []Finding
	var lastSafe int64
	check := func(fs []Finding) {
		safe := st.Safe()
		if safe < lastSafe || safe > st.Total() {
			t.Fatalf("Safe went from %d to %d (total %d)", lastSafe, safe, st.Total())
		}
		for _, f := range fs {
			if int64(f.End) > safe && safe != st.Total() {
				t.Fatalf("finding %+v ends after Safe %d", f, safe)
			}
			if int64(f.Start) < lastSafe {
				t.Fatalf("finding %+v starts before an earlier Safe %d", f, lastSafe)
			}
		}
		if st.Total()-safe > holdRun+maxPEM+holdShort+rescanEvery {
			t.Fatalf("hold-back %d exceeds its bound", st.Total()-safe)
		}
		lastSafe = safe
		out = append(out, fs...)
	}
	for len(text) > 0 {
		n := 1 + r.IntN(maxChunk)
		if n > len(text) {
			n = len(text)
		}
		check(st.Write(text[:n]))
		text = text[n:]
	}
	check(st.Close())
	return out
}

func TestStreamMatchesScan(t *testing.T) {
	s := mustScanner(t)
	r := rand.New(rand.NewPCG(7, 7))
	docs := corpus.Generate(11, 400, corpus.Options{Filler: 2})
	for i, d := range docs {
		want := s.ScanString(d.Text)
		maxChunk := []int{1, 7, 64, 512, 4096}[i%5]
		got := streamAll(t, s, []byte(d.Text), r, maxChunk)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s (chunks ≤ %d):\nstream %v\n  scan %v", d.ID, maxChunk, got, want)
		}
	}
}

func TestStreamLongInput(t *testing.T) {
	// Many documents back to back: the window slides far from offset 0.
	s := mustScanner(t)
	var b strings.Builder
	for _, d := range corpus.Generate(12, 300, corpus.Options{Filler: 1}) {
		b.WriteString(d.Text)
		b.WriteString("\n")
	}
	text := []byte(b.String())
	want := s.Scan(text)
	got := streamAll(t, s, text, rand.New(rand.NewPCG(1, 2)), 300)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("long stream differs: %d vs %d findings", len(got), len(want))
	}
	if len(want) < 500 {
		t.Fatalf("expected many findings, got %d", len(want))
	}
}

func TestStreamHoldBackIsSmallForProse(t *testing.T) {
	s := mustScanner(t)
	st := s.NewStream()
	for i := 0; i < 200; i++ {
		st.WriteString("The quick brown fox jumps over the lazy dog while the agent writes. ")
	}
	if lag := st.Total() - st.Safe(); lag > holdShort+rescanEvery+16 {
		t.Fatalf("prose hold-back %d bytes, want ≤ %d", lag, holdShort+rescanEvery+16)
	}
	if p := st.Pending(); int64(len(p)) != st.Total()-st.Safe() {
		t.Fatalf("Pending length %d != Total-Safe %d", len(p), st.Total()-st.Safe())
	}
	// An unterminated private key holds everything from its BEGIN line.
	begin := st.Total()
	st.WriteString("-----BEGIN OPENSSH PRIVATE KEY-----\n")
	for i := 0; i < 20; i++ {
		st.WriteString(strings.Repeat("b3BlbnNzaC1rZXktdjEAAAAA", 2) + "\n")
	}
	if st.Safe() > begin {
		t.Fatalf("Safe %d passed an open PEM block starting at %d", st.Safe(), begin)
	}
	fs := st.WriteString("-----END OPENSSH PRIVATE KEY-----\n" + strings.Repeat("more words here. ", 40))
	if len(fs) != 1 || fs[0].Type != TypePrivateKey || int64(fs[0].Start) != begin {
		t.Fatalf("closing the block: got %v", fs)
	}
	if st.Close() != nil && st.Write([]byte("x")) != nil {
		t.Fatal("write after close returned findings")
	}
}

func checkFindings(t *testing.T, data []byte, fs []Finding) {
	prevEnd := 0
	for _, f := range fs {
		if f.Start < 0 || f.End > len(data) || f.Start >= f.End {
			t.Fatalf("finding %+v outside input of %d bytes", f, len(data))
		}
		if f.Start < prevEnd {
			t.Fatalf("findings overlap or are unsorted: %v", fs)
		}
		if _, ok := typeID(f.Type); !ok || f.Confidence < Low || f.Confidence > High {
			t.Fatalf("bad finding %+v", f)
		}
		prevEnd = f.End
	}
}

func fuzzSeeds(f *testing.F) {
	for _, d := range corpus.Generate(5, 30, corpus.Options{MinItems: 1, MaxItems: 2}) {
		f.Add([]byte(d.Text), uint64(len(d.Text)))
	}
	for _, s := range []string{"", "@", "-----BEGIN ", "eyJ", "sk-", "://", "password=", "+1", "(", "4111 1111 1111 111", "DE89 3704",
		"-----BEGIN RSA PRIVATE KEY-----\\n" + strings.Repeat("A", 70) + "\\n-----END RSA PRIVATE KEY-----"} {
		f.Add([]byte(s), uint64(3))
	}
}

func FuzzScan(f *testing.F) {
	fuzzSeeds(f)
	s, _ := New()
	f.Fuzz(func(t *testing.T, data []byte, _ uint64) {
		fs := s.Scan(data)
		checkFindings(t, data, fs)
		if !bytes.Contains(data, []byte(phPrefix)) {
			r := NewRedactor()
			if back := r.Restore(r.Redact(data, fs)); !bytes.Equal(back, data) {
				t.Fatalf("redact/restore roundtrip changed the input")
			}
		}
	})
}

func FuzzStream(f *testing.F) {
	fuzzSeeds(f)
	s, _ := New()
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		if len(data) > 8192 {
			return // keep executions fast; the window logic is exercised at this size
		}
		want := s.Scan(data)
		got := streamAll(t, s, data, rand.New(rand.NewPCG(seed, seed>>7)), 1+int(seed%97))
		checkFindings(t, data, got)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("stream %v != scan %v", got, want)
		}
	})
}
