// Command dlpbench generates the DLP benchmark corpora, measures Warden's
// scanner throughput on them, and scores gitleaks' JSON report against the
// corpus labels. bench/dlp/run.sh drives it; results go to BENCHMARKS.md.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/wardenhq/warden/dlp"
	"github.com/wardenhq/warden/dlp/corpus"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: dlpbench gen|labelled|scan|score ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "labelled":
		err = labelled(os.Args[2:])
	case "scan":
		err = scan(os.Args[2:])
	case "score":
		err = score(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dlpbench:", err)
		os.Exit(1)
	}
}

// gen writes about -mb megabytes of payloads as ~1 MB files.
func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	out := fs.String("out", "", "output directory")
	mb := fs.Int("mb", 100, "megabytes to write")
	filler := fs.Int("filler", 0, "filler lines between items (0 = dense)")
	seed := fs.Uint64("seed", 1, "seed")
	fs.Parse(args)
	if *out == "" {
		return fmt.Errorf("gen: -out is required")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	total, labels, part := 0, 0, 0
	target := *mb << 20
	for s := *seed; total < target; s++ {
		var b strings.Builder
		for _, d := range corpus.Generate(s, 2000, corpus.Options{Filler: *filler}) {
			b.WriteString(d.Text)
			b.WriteString("\n")
			labels += len(d.Labels)
			if b.Len() >= 1<<20 {
				break
			}
		}
		name := filepath.Join(*out, fmt.Sprintf("part-%04d.txt", part))
		if err := os.WriteFile(name, []byte(b.String()), 0o644); err != nil {
			return err
		}
		total += b.Len()
		part++
	}
	fmt.Printf("wrote %d files, %.1f MB, %d labelled findings, one per %.0f bytes\n", part, float64(total)/(1<<20), labels, float64(total)/float64(labels))
	return nil
}

type fileLabel struct {
	File  string `json:"file"`
	Type  string `json:"type"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}

// labelled writes n documents as separate files plus labels.jsonl.
func labelled(args []string) error {
	fs := flag.NewFlagSet("labelled", flag.ExitOnError)
	out := fs.String("out", "", "output directory")
	n := fs.Int("n", 2000, "documents")
	fs.Parse(args)
	docsDir := filepath.Join(*out, "docs")
	if err := os.MkdirAll(docsDir, 0o755); err != nil {
		return err
	}
	lf, err := os.Create(filepath.Join(*out, "labels.jsonl"))
	if err != nil {
		return err
	}
	defer lf.Close()
	enc := json.NewEncoder(lf)
	docs := corpus.Generate(9001, *n/2, corpus.Options{})
	docs = append(docs, corpus.Generate(9002, *n-*n/2, corpus.Options{Filler: 4})...)
	for _, d := range docs {
		name := d.ID + ".txt"
		if err := os.WriteFile(filepath.Join(docsDir, name), []byte(d.Text), 0o644); err != nil {
			return err
		}
		for _, l := range d.Labels {
			enc.Encode(fileLabel{File: name, Type: l.Type, Start: l.Start, End: l.End})
		}
	}
	return nil
}

func loadDir(dir string) (names []string, data [][]byte, total int, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, 0, err
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, nil, 0, err
		}
		names = append(names, e.Name())
		data = append(data, b)
		total += len(b)
	}
	return names, data, total, nil
}

// scan measures single-goroutine throughput over every file in -dir.
func scan(args []string) error {
	fs := flag.NewFlagSet("scan", flag.ExitOnError)
	dir := fs.String("dir", "", "corpus directory")
	reps := fs.Int("reps", 5, "repetitions (median reported)")
	chunk := fs.Int("chunk", 0, "if > 0, scan each file as payloads of this many bytes (e.g. 102400 for 100 KB prompts) and report per-payload latency")
	fs.Parse(args)
	_, data, total, err := loadDir(*dir)
	if err != nil {
		return err
	}
	s, err := dlp.New()
	if err != nil {
		return err
	}
	var payloads [][]byte
	for _, d := range data {
		if *chunk <= 0 {
			payloads = append(payloads, d)
			continue
		}
		for len(d) > 0 {
			n := min(*chunk, len(d))
			payloads = append(payloads, d[:n])
			d = d[n:]
		}
	}
	var rates, cpuRates, lat, cpuLat []float64
	findings := 0
	for r := 0; r < *reps; r++ {
		runtime.GC()
		findings = 0
		c0 := cpuTime()
		start := time.Now()
		for _, p := range payloads {
			findings += len(s.Scan(p))
		}
		el := time.Since(start)
		cpu := cpuTime() - c0
		rates = append(rates, float64(total)/(1<<20)/el.Seconds())
		cpuRates = append(cpuRates, float64(total)/(1<<20)/cpu.Seconds())
		lat = append(lat, float64(el.Microseconds())/float64(len(payloads)))
		cpuLat = append(cpuLat, float64(cpu.Microseconds())/float64(len(payloads)))
	}
	// Wall-clock rates suffer when other processes share the core; CPU-time
	// rates (user+sys of this process) are what one core sustains.
	fmt.Printf("warden-dlp dir=%s MB=%.1f payloads=%d findings=%d GOMAXPROCS=%d reps=%d wall_MBps_median=%.1f (min %.1f max %.1f) cpu_MBps_median=%.1f wall_us_per_payload=%.1f cpu_us_per_payload=%.1f\n",
		*dir, float64(total)/(1<<20), len(payloads), findings, runtime.GOMAXPROCS(0), *reps, median(rates), minf(rates), maxf(rates), median(cpuRates), median(lat), median(cpuLat))
	return nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}
func minf(v []float64) float64 { s := append([]float64(nil), v...); sort.Float64s(s); return s[0] }
func maxf(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)-1]
}

type glFinding struct {
	RuleID string `json:"RuleID"`
	File   string `json:"File"`
	Secret string `json:"Secret"`
}

// score compares gitleaks' findings (and Warden's, the same way) with the
// labels of the labelled set. Matching is type-agnostic and lenient: a
// finding is a true positive if its secret text overlaps a labelled span.
func score(args []string) error {
	fs := flag.NewFlagSet("score", flag.ExitOnError)
	dir := fs.String("dir", "", "labelled set directory (with docs/ and labels.jsonl)")
	report := fs.String("gitleaks", "", "gitleaks JSON report")
	fs.Parse(args)
	labels := map[string][]fileLabel{}
	lf, err := os.Open(filepath.Join(*dir, "labels.jsonl"))
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(lf)
	for sc.Scan() {
		var l fileLabel
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return err
		}
		labels[l.File] = append(labels[l.File], l)
	}
	lf.Close()
	names, data, _, err := loadDir(filepath.Join(*dir, "docs"))
	if err != nil {
		return err
	}
	text := map[string][]byte{}
	for i, n := range names {
		text[n] = data[i]
	}
	rb, err := os.ReadFile(*report)
	if err != nil {
		return err
	}
	var gl []glFinding
	if len(strings.TrimSpace(string(rb))) > 0 {
		if err := json.Unmarshal(rb, &gl); err != nil {
			return fmt.Errorf("gitleaks report: %w", err)
		}
	}
	type span struct {
		file       string
		start, end int
		typ        string // "" for gitleaks (it has its own rule ids)
	}
	var glSpans []span
	for _, f := range gl {
		name := filepath.Base(f.File)
		t := string(text[name])
		if f.Secret == "" {
			continue
		}
		// Every occurrence of the reported secret in the file.
		found := false
		for off := 0; ; {
			i := strings.Index(t[off:], f.Secret)
			if i < 0 {
				break
			}
			glSpans = append(glSpans, span{name, off + i, off + i + len(f.Secret), ""})
			found = true
			off += i + len(f.Secret)
			break
		}
		if !found {
			glSpans = append(glSpans, span{name, -1, -1, ""})
		}
	}
	s, _ := dlp.New()
	var ours []span
	for i, n := range names {
		for _, f := range s.Scan(data[i]) {
			ours = append(ours, span{n, f.Start, f.End, f.Type})
		}
	}
	eval := func(name string, pred []span, secretsOnly bool) {
		covered := map[[3]int]bool{}
		tp, fp := 0, 0
		for _, p := range pred {
			if secretsOnly && p.typ != "" && !dlp.IsSecret(p.typ) {
				continue // our PII findings are not claims about secrets
			}
			hit := false
			for li, l := range labels[p.file] {
				if secretsOnly && !dlp.IsSecret(l.Type) {
					continue
				}
				if p.start < l.End && l.Start < p.end {
					hit = true
					covered[[3]int{fileIndex(names, p.file), li, 0}] = true
				}
			}
			if hit {
				tp++
			} else {
				fp++
			}
		}
		nl := 0
		for _, ls := range labels {
			for _, l := range ls {
				if !secretsOnly || dlp.IsSecret(l.Type) {
					nl++
				}
			}
		}
		p := float64(tp) / float64(max(1, tp+fp))
		r := float64(len(covered)) / float64(max(1, nl))
		f1 := 0.0
		if p+r > 0 {
			f1 = 2 * p * r / (p + r)
		}
		scope := "all 18 types"
		if secretsOnly {
			scope = "secret types only"
		}
		fmt.Printf("%-10s %-18s findings=%d TP=%d FP=%d labels=%d precision=%.3f recall=%.3f F1=%.3f\n", name, scope, len(pred), tp, fp, nl, p, r, f1)
	}
	eval("gitleaks", glSpans, false)
	eval("gitleaks", glSpans, true)
	eval("warden", ours, false)
	eval("warden", ours, true)
	return nil
}

func fileIndex(names []string, n string) int {
	i := sort.SearchStrings(names, n)
	return i
}
