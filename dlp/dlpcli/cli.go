// Package dlpcli implements `warden dlp scan`. It lives beside the library
// so the corpus tests drive exactly the code path the CLI runs.
package dlpcli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/wardenhq/warden/dlp"
)

// Exit codes, for CI jobs.
const (
	ExitClean    = 0 // no findings
	ExitFindings = 1 // at least one finding
	ExitError    = 2 // usage error, unreadable input or malformed record (takes precedence)
)

const usage = `usage: warden dlp scan [flags] [FILE ...]

Scans files (or stdin when no FILE or FILE is "-") for secrets and personal
data. Findings never include the matched text.

  default output: one line per finding, "FILE:LINE:COL: TYPE (CONFIDENCE)"
  --json          one JSON object per finding: {"file","start","end","line","col","type","confidence"}
                  (start/end are byte offsets, end exclusive)
  --jsonl         input is JSON Lines, one record {"id": "...", "text": "..."} per line;
                  output is one {"id": "...", "start": N, "end": N, "type": "..."} per finding,
                  offsets in Unicode code points of text, end exclusive. A malformed line is
                  reported on stderr with its line number and skipped; the rest is processed.
  --redact        print the input with findings replaced by typed placeholders instead
  --types LIST    comma-separated finding types to look for (default: all)
  --min-confidence low|medium|high  drop findings below this confidence (default: low)

exit status: 0 no findings, 1 findings, 2 usage or input error (also when findings were found)

finding types: ` + "%s\n"

// Main runs `warden dlp ARGS...`.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "scan" {
		fmt.Fprintf(stderr, usage, strings.Join(dlp.Types(), ", "))
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return ExitClean
		}
		return ExitError
	}
	return Scan(args[1:], stdin, stdout, stderr)
}

// Scan runs `warden dlp scan ARGS...`.
func Scan(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("warden dlp scan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintf(stderr, usage, strings.Join(dlp.Types(), ", ")) }
	jsonl := fs.Bool("jsonl", false, "")
	jsonOut := fs.Bool("json", false, "")
	redact := fs.Bool("redact", false, "")
	types := fs.String("types", "", "")
	minConf := fs.String("min-confidence", "low", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitClean
		}
		return ExitError
	}
	var opts []dlp.Option
	if *types != "" {
		var ts []string
		for _, t := range strings.Split(*types, ",") {
			if t = strings.TrimSpace(t); t != "" {
				ts = append(ts, t)
			}
		}
		opts = append(opts, dlp.WithTypes(ts...))
	}
	var c dlp.Confidence
	if err := c.UnmarshalText([]byte(*minConf)); err != nil {
		fmt.Fprintf(stderr, "warden dlp scan: --min-confidence: %v\n", err)
		return ExitError
	}
	opts = append(opts, dlp.WithMinConfidence(c))
	sc, err := dlp.New(opts...)
	if err != nil {
		fmt.Fprintf(stderr, "warden dlp scan: --types: %v\n", err)
		return ExitError
	}
	if *jsonl && *redact {
		fmt.Fprintln(stderr, "warden dlp scan: --jsonl and --redact cannot be combined")
		return ExitError
	}
	out := bufio.NewWriterSize(stdout, 64<<10)
	defer out.Flush()
	files := fs.Args()
	if len(files) == 0 {
		files = []string{"-"}
	}
	found, failed := false, false
	for _, name := range files {
		var r io.Reader
		if name == "-" {
			r = stdin
		} else {
			f, err := os.Open(name)
			if err != nil {
				fmt.Fprintf(stderr, "warden dlp scan: %v\n", err)
				failed = true
				continue
			}
			defer f.Close()
			r = f
		}
		var fnd, bad bool
		switch {
		case *jsonl:
			fnd, bad = scanJSONL(sc, name, r, out, stderr)
		default:
			fnd, bad = scanFile(sc, name, r, out, stderr, *jsonOut, *redact)
		}
		found = found || fnd
		failed = failed || bad
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintf(stderr, "warden dlp scan: writing output: %v\n", err)
		return ExitError
	}
	switch {
	case failed:
		return ExitError
	case found:
		return ExitFindings
	}
	return ExitClean
}

type record struct {
	ID   *string `json:"id"`
	Text *string `json:"text"`
}

type outRecord struct {
	ID    string `json:"id"`
	Start int    `json:"start"`
	End   int    `json:"end"`
	Type  string `json:"type"`
}

func scanJSONL(sc *dlp.Scanner, name string, r io.Reader, out io.Writer, stderr io.Writer) (found, failed bool) {
	br := bufio.NewReaderSize(r, 1<<20)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	var offs []int
	for line := 1; ; line++ {
		raw, err := br.ReadBytes('\n')
		if len(raw) == 0 && err != nil {
			if err != io.EOF {
				fmt.Fprintf(stderr, "warden dlp scan: %s: line %d: read: %v\n", name, line, err)
				failed = true
			}
			return
		}
		raw = bytes.TrimSpace(raw)
		if len(raw) > 0 {
			var rec record
			switch derr := json.Unmarshal(raw, &rec); {
			case derr != nil:
				fmt.Fprintf(stderr, "warden dlp scan: %s: line %d: not a JSON record: %v\n", name, line, derr)
				failed = true
			case rec.ID == nil:
				fmt.Fprintf(stderr, "warden dlp scan: %s: line %d: missing string field \"id\"\n", name, line)
				failed = true
			case rec.Text == nil:
				fmt.Fprintf(stderr, "warden dlp scan: %s: line %d: missing string field \"text\"\n", name, line)
				failed = true
			default:
				text := *rec.Text
				fs := sc.ScanString(text)
				if len(fs) > 0 {
					found = true
				}
				offs = CodePointOffsets(text, fs, offs[:0])
				for i, f := range fs {
					if err := enc.Encode(outRecord{ID: *rec.ID, Start: offs[2*i], End: offs[2*i+1], Type: f.Type}); err != nil {
						fmt.Fprintf(stderr, "warden dlp scan: writing output: %v\n", err)
						return found, true
					}
				}
			}
		}
		if err != nil {
			if err != io.EOF {
				fmt.Fprintf(stderr, "warden dlp scan: %s: line %d: read: %v\n", name, line, err)
				failed = true
			}
			return
		}
	}
}

// CodePointOffsets converts the findings' byte offsets in text to Unicode
// code point offsets, appending start,end pairs to dst. Findings must be
// sorted by Start (as Scan returns them).
func CodePointOffsets(text string, fs []dlp.Finding, dst []int) []int {
	// Walk the text once; all offsets are on rune boundaries because
	// detectors only anchor on ASCII.
	pos, cp := 0, 0
	advance := func(to int) int {
		for pos < to {
			_, sz := utf8.DecodeRuneInString(text[pos:])
			pos += sz
			cp++
		}
		return cp
	}
	for _, f := range fs {
		s := advance(f.Start)
		// End may lie beyond the next finding's start only if findings
		// overlapped, which Scan rules out.
		e := advance(f.End)
		dst = append(dst, s, e)
	}
	return dst
}

type jsonFinding struct {
	File       string         `json:"file"`
	Start      int            `json:"start"`
	End        int            `json:"end"`
	Line       int            `json:"line"`
	Col        int            `json:"col"`
	Type       string         `json:"type"`
	Confidence dlp.Confidence `json:"confidence"`
}

func scanFile(sc *dlp.Scanner, name string, r io.Reader, out io.Writer, stderr io.Writer, asJSON, redact bool) (found, failed bool) {
	data, err := io.ReadAll(r)
	if err != nil {
		fmt.Fprintf(stderr, "warden dlp scan: %s: %v\n", name, err)
		return false, true
	}
	fs := sc.Scan(data)
	if redact {
		if _, err := out.Write(dlp.NewRedactor().Redact(data, fs)); err != nil {
			fmt.Fprintf(stderr, "warden dlp scan: writing output: %v\n", err)
			return len(fs) > 0, true
		}
		return len(fs) > 0, false
	}
	enc := json.NewEncoder(out)
	line, lineStart, pos := 1, 0, 0
	for _, f := range fs {
		for ; pos < f.Start; pos++ {
			if data[pos] == '\n' {
				line++
				lineStart = pos + 1
			}
		}
		col := utf8.RuneCount(data[lineStart:f.Start]) + 1
		if asJSON {
			err = enc.Encode(jsonFinding{File: name, Start: f.Start, End: f.End, Line: line, Col: col, Type: f.Type, Confidence: f.Confidence})
		} else {
			_, err = fmt.Fprintf(out, "%s:%d:%d: %s (%s)\n", name, line, col, f.Type, f.Confidence)
		}
		if err != nil {
			fmt.Fprintf(stderr, "warden dlp scan: writing output: %v\n", err)
			return true, true
		}
	}
	return len(fs) > 0, false
}
