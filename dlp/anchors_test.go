package dlp

import (
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	ac "github.com/petar-dambovaliev/aho-corasick"

	"github.com/wardenhq/warden/dlp/corpus"
)

// automatonMatches is the reference: the Aho-Corasick automaton's
// overlapping search over text[from:limit], matches starting before
// keepBefore, in the order it reports them.
var automaton = sync.OnceValue(func() ac.AhoCorasick {
	pats := make([]string, len(anchors))
	for i, a := range anchors {
		pats[i] = a.lit
	}
	b := ac.NewAhoCorasickBuilder(ac.Opts{AsciiCaseInsensitive: true, MatchKind: ac.StandardMatch, DFA: true})
	return b.Build(pats)
})

func automatonMatches(text []byte, from, limit, keepBefore int) []anchorMatch {
	aut := automaton()
	var out []anchorMatch
	it := aut.IterOverlappingByte(text[from:limit])
	for m := it.Next(); m != nil; m = it.Next() {
		if s := from + m.Start(); s < keepBefore {
			out = append(out, anchorMatch{start: s, end: from + m.End(), pat: uint8(m.Pattern())})
		}
	}
	return out
}

func sameMatches(t *testing.T, what string, got, want []anchorMatch) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d matches, automaton %d\n got %v\nwant %v", what, len(got), len(want), got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: match %d is %v, automaton %v", what, i, got[i], want[i])
		}
	}
}

// TestAnchorsMatchAutomaton: findAnchors reports exactly the automaton's
// matches in the automaton's order, on the corpus, on text built from the
// anchors themselves (overlapping, nested, mixed case, at the edges of the
// searched range), and on sub-ranges as the parallel scan uses them.
func TestAnchorsMatchAutomaton(t *testing.T) {
	var texts []string
	for _, d := range corpus.Generate(7, 400, corpus.Options{}) {
		texts = append(texts, d.Text)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		var b strings.Builder
		for b.Len() < 400 {
			switch r.IntN(4) {
			case 0:
				lit := anchors[r.IntN(len(anchors))].lit
				if r.IntN(2) == 0 {
					lit = strings.ToUpper(lit)
				}
				b.WriteString(lit)
			case 1:
				lit := anchors[r.IntN(len(anchors))].lit
				b.WriteString(lit[:r.IntN(len(lit))]) // a prefix
			case 2:
				b.WriteString("_- :/.")
			default:
				b.WriteByte(byte('a' + r.IntN(26)))
			}
		}
		texts = append(texts, b.String())
	}
	texts = append(texts, "", "a", "sk", "sk-", "SK-", "aws_secret_key", "secret_access_keysecret", "-----BEGIN -----begin ")
	for _, s := range texts {
		text := []byte(s)
		sameMatches(t, "whole text", findAnchors(text, 0, len(text), len(text), nil), automatonMatches(text, 0, len(text), len(text)))
		if len(text) < 20 {
			continue
		}
		for range 5 {
			from := r.IntN(len(text) - 10)
			limit := from + r.IntN(len(text)-from)
			keep := from + r.IntN(limit-from+1)
			sameMatches(t, "sub-range", findAnchors(text, from, limit, keep, nil), automatonMatches(text, from, limit, keep))
		}
	}
}
