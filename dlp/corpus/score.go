package corpus

import (
	"fmt"
	"sort"
	"strings"
)

// Span is a predicted finding for scoring.
type Span struct {
	Type       string
	Start, End int
}

// Score holds per-type counts.
type Score struct {
	TP, FP, FN int
}

func (s Score) Precision() float64 {
	if s.TP+s.FP == 0 {
		return 1
	}
	return float64(s.TP) / float64(s.TP+s.FP)
}

func (s Score) Recall() float64 {
	if s.TP+s.FN == 0 {
		return 1
	}
	return float64(s.TP) / float64(s.TP+s.FN)
}

func (s Score) F1() float64 {
	p, r := s.Precision(), s.Recall()
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// Miss is one false positive or false negative, for diagnostics.
type Miss struct {
	DocID string
	Kind  string // "FP" or "FN"
	Span  Span
	Text  string
}

// Scorer accumulates exact-span matches (same type, same start and end).
type Scorer struct {
	ByType map[string]*Score
	Misses []Miss
}

func NewScorer() *Scorer {
	s := &Scorer{ByType: map[string]*Score{}}
	for _, t := range Types {
		s.ByType[t] = &Score{}
	}
	return s
}

func (sc *Scorer) get(t string) *Score {
	s, ok := sc.ByType[t]
	if !ok {
		s = &Score{}
		sc.ByType[t] = s
	}
	return s
}

// Add scores one document's predictions against its labels. text is used
// for diagnostics only.
func (sc *Scorer) Add(id string, text string, labels []Label, pred []Span) {
	want := map[Span]bool{}
	for _, l := range labels {
		want[Span{l.Type, l.Start, l.End}] = true
	}
	got := map[Span]bool{}
	for _, p := range pred {
		got[p] = true
		if want[p] {
			sc.get(p.Type).TP++
		} else {
			sc.get(p.Type).FP++
			sc.miss(id, "FP", p, text)
		}
	}
	for w := range want {
		if !got[w] {
			sc.get(w.Type).FN++
			sc.miss(id, "FN", w, text)
		}
	}
}

func (sc *Scorer) miss(id, kind string, s Span, text string) {
	if len(sc.Misses) >= 200 {
		return
	}
	a, b := max(0, s.Start-40), min(len(text), s.End+20)
	if s.End > len(text) || s.Start < 0 || s.Start > s.End {
		sc.Misses = append(sc.Misses, Miss{id, kind, s, "<out of range>"})
		return
	}
	sc.Misses = append(sc.Misses, Miss{id, kind, s, fmt.Sprintf("%q [[%q]] %q", text[a:s.Start], text[s.Start:s.End], text[s.End:b])})
}

// Total sums all types.
func (sc *Scorer) Total() Score {
	var t Score
	for _, s := range sc.ByType {
		t.TP += s.TP
		t.FP += s.FP
		t.FN += s.FN
	}
	return t
}

// Table renders a per-type precision/recall table.
func (sc *Scorer) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-24s %6s %6s %6s %9s %7s %6s\n", "type", "TP", "FP", "FN", "precision", "recall", "F1")
	names := make([]string, 0, len(sc.ByType))
	for n := range sc.ByType {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := sc.ByType[n]
		fmt.Fprintf(&b, "%-24s %6d %6d %6d %9.4f %7.4f %6.4f\n", n, s.TP, s.FP, s.FN, s.Precision(), s.Recall(), s.F1())
	}
	t := sc.Total()
	fmt.Fprintf(&b, "%-24s %6d %6d %6d %9.4f %7.4f %6.4f\n", "ALL", t.TP, t.FP, t.FN, t.Precision(), t.Recall(), t.F1())
	return b.String()
}
