package dlpcli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wardenhq/warden/dlp/corpus"
)

func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = Main(args, strings.NewReader(stdin), &o, &e)
	return code, o.String(), e.String()
}

// TestJSONLCorpusPrecisionRecall runs `warden dlp scan --jsonl` (the same
// function the binary calls) over the labelled corpus and scores its
// code-point output against the labels.
func TestJSONLCorpusPrecisionRecall(t *testing.T) {
	var docs []corpus.Doc
	docs = append(docs, corpus.Generate(101, 1200, corpus.Options{})...)
	docs = append(docs, corpus.Generate(102, 600, corpus.Options{Filler: 4})...)
	var in bytes.Buffer
	enc := json.NewEncoder(&in)
	byID := map[string]corpus.Doc{}
	for _, d := range docs {
		byID[d.ID] = d
		if err := enc.Encode(map[string]string{"id": d.ID, "text": d.Text}); err != nil {
			t.Fatal(err)
		}
	}
	code, out, stderr := run(t, in.String(), "scan", "--jsonl")
	if code != ExitFindings {
		t.Fatalf("exit %d, want %d; stderr: %s", code, ExitFindings, stderr)
	}
	pred := map[string][]corpus.Span{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r struct {
			ID         string
			Start, End int
			Type       string
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("output line %q: %v", sc.Text(), err)
		}
		pred[r.ID] = append(pred[r.ID], corpus.Span{Type: r.Type, Start: r.Start, End: r.End})
	}
	score := corpus.NewScorer()
	for _, d := range docs {
		labels := make([]corpus.Label, len(d.Labels))
		for i, l := range d.Labels {
			// Labels are byte offsets; the CLI speaks code points.
			labels[i] = corpus.Label{Type: l.Type, Start: utf8.RuneCountInString(d.Text[:l.Start]), End: utf8.RuneCountInString(d.Text[:l.End])}
		}
		score.Add(d.ID, d.Text, labels, pred[d.ID])
	}
	t.Logf("\n%s", score.Table())
	for _, typ := range corpus.Types {
		s := score.ByType[typ]
		if s.TP+s.FN < 30 || s.Precision() < 0.95 || s.Recall() < 0.95 {
			t.Errorf("%s: %d positives, precision %.4f recall %.4f; want ≥ 30 and both ≥ 0.95", typ, s.TP+s.FN, s.Precision(), s.Recall())
		}
	}
}

func TestJSONLCodePoints(t *testing.T) {
	code, out, _ := run(t, `{"id":"u","text":"naïve 🙂 — mail jane@corp.io"}`+"\n", "scan", "--jsonl")
	if code != ExitFindings || strings.TrimSpace(out) != `{"id":"u","start":15,"end":27,"type":"email"}` {
		t.Fatalf("exit %d out %s", code, out)
	}
}

func TestJSONLBadLinesContinue(t *testing.T) {
	in := "{\"id\":\"a\",\"text\":\"x\"}\n{oops\n\n{\"text\":\"y\"}\n{\"id\":\"b\",\"text\":\"ssn 123-45-6789\"}\n{\"id\":7,\"text\":\"z\"}"
	code, out, stderr := run(t, in, "scan", "--jsonl")
	if code != ExitError {
		t.Fatalf("exit %d, want %d", code, ExitError)
	}
	if !strings.Contains(out, `{"id":"b","start":4,"end":15,"type":"us_ssn"}`) {
		t.Fatalf("record after bad lines not processed: %q", out)
	}
	for _, want := range []string{"line 2: not a JSON record", `line 4: missing string field "id"`, "line 6: not a JSON record"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestExitCodesAndFiles(t *testing.T) {
	dir := t.TempDir()
	clean := filepath.Join(dir, "clean.txt")
	dirty := filepath.Join(dir, "dirty.env")
	os.WriteFile(clean, []byte("nothing to see, version 1.2.3\n"), 0o600)
	os.WriteFile(dirty, []byte("A=1\nDB_PASSWORD=Sup3r-S3cret!\nmail jane@corp.io\n"), 0o600)
	if code, _, _ := run(t, "", "scan", clean); code != ExitClean {
		t.Fatalf("clean file: exit %d", code)
	}
	code, out, _ := run(t, "", "scan", dirty)
	if code != ExitFindings || out != dirty+":2:13: generic_password (medium)\n"+dirty+":3:6: email (high)\n" {
		t.Fatalf("dirty: exit %d out %q", code, out)
	}
	if strings.Contains(out, "Sup3r") {
		t.Fatal("output contains the secret")
	}
	code, out, _ = run(t, "", "scan", "--redact", dirty)
	if code != ExitFindings || out != "A=1\nDB_PASSWORD=[REDACTED_GENERIC_PASSWORD_1]\nmail [REDACTED_EMAIL_1]\n" {
		t.Fatalf("redact: exit %d out %q", code, out)
	}
	code, out, _ = run(t, "", "scan", "--json", "--types", "email", dirty)
	if code != ExitFindings || !strings.Contains(out, `"type":"email"`) || strings.Contains(out, "generic_password") {
		t.Fatalf("json/types: exit %d out %q", code, out)
	}
	if code, _, e := run(t, "", "scan", "--types", "bogus", dirty); code != ExitError || !strings.Contains(e, `"bogus"`) {
		t.Fatalf("bad type: exit %d stderr %q", code, e)
	}
	if code, _, e := run(t, "", "scan", filepath.Join(dir, "missing")); code != ExitError || !strings.Contains(e, "missing") {
		t.Fatalf("missing file: exit %d stderr %q", code, e)
	}
	if code, _, _ := run(t, "ssn 123-45-6789", "scan"); code != ExitFindings {
		t.Fatalf("stdin: exit %d", code)
	}
	if code, _, _ := run(t, "", "bogus"); code != ExitError {
		t.Fatalf("unknown subcommand: exit %d", code)
	}
}
