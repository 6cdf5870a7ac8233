package corpus_test

import (
	"testing"

	"github.com/wardenhq/warden/dlp"
	"github.com/wardenhq/warden/dlp/corpus"
)

// testCorpus is the labelled corpus every quality test uses: fixed seeds,
// varied payload kinds, every type well represented.
func testCorpus() []corpus.Doc {
	var docs []corpus.Doc
	docs = append(docs, corpus.Generate(1, 1500, corpus.Options{Filler: 0})...)
	docs = append(docs, corpus.Generate(2, 1500, corpus.Options{Filler: 3})...)
	docs = append(docs, corpus.Generate(3, 300, corpus.Options{Filler: 20})...)
	return docs
}

func checkScores(t *testing.T, sc *corpus.Scorer) {
	t.Helper()
	t.Logf("\n%s", sc.Table())
	for _, typ := range corpus.Types {
		s := sc.ByType[typ]
		if s.TP+s.FN < 50 {
			t.Errorf("%s: only %d positives in the corpus; want ≥ 50", typ, s.TP+s.FN)
		}
		if s.Precision() < 0.95 || s.Recall() < 0.95 {
			t.Errorf("%s: precision %.4f recall %.4f, want both ≥ 0.95", typ, s.Precision(), s.Recall())
		}
	}
	if t.Failed() {
		for i, m := range sc.Misses {
			if i >= 60 {
				break
			}
			t.Logf("%s %s %s %s", m.Kind, m.Span.Type, m.DocID, m.Text)
		}
	}
}

func TestCorpusPrecisionRecall(t *testing.T) {
	s, err := dlp.New()
	if err != nil {
		t.Fatal(err)
	}
	sc := corpus.NewScorer()
	for _, d := range testCorpus() {
		var pred []corpus.Span
		for _, f := range s.ScanString(d.Text) {
			pred = append(pred, corpus.Span{Type: f.Type, Start: f.Start, End: f.End})
		}
		sc.Add(d.ID, d.Text, d.Labels, pred)
	}
	checkScores(t, sc)
}

func TestCorpusHasHardNegatives(t *testing.T) {
	pos, neg := 0, 0
	for _, d := range testCorpus() {
		pos += len(d.Labels)
		neg += d.Negatives
	}
	if neg < pos {
		t.Fatalf("corpus has %d hard negatives for %d positives; want at least as many", neg, pos)
	}
	t.Logf("%d positives, %d hard negatives", pos, neg)
}

func TestCorpusDeterministic(t *testing.T) {
	a := corpus.Generate(42, 50, corpus.Options{Filler: 2})
	b := corpus.Generate(42, 50, corpus.Options{Filler: 2})
	for i := range a {
		if a[i].Text != b[i].Text || len(a[i].Labels) != len(b[i].Labels) {
			t.Fatalf("doc %d differs between two runs with the same seed", i)
		}
	}
	c := corpus.Generate(43, 50, corpus.Options{Filler: 2})
	if a[0].Text == c[0].Text {
		t.Fatal("different seeds gave the same document")
	}
}

func TestLabelsAreInBounds(t *testing.T) {
	for _, d := range testCorpus() {
		for _, l := range d.Labels {
			if l.Start < 0 || l.End > len(d.Text) || l.Start >= l.End {
				t.Fatalf("%s: label %+v out of bounds (len %d)", d.ID, l, len(d.Text))
			}
		}
	}
}
