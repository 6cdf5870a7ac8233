// Package inspect adapts the dlp library to the gateway's Detector
// interface, including the incremental stream scanner.
package inspect

import (
	"strings"

	"github.com/wardenhq/warden/dlp"
	"github.com/wardenhq/warden/endpoint/gateway"
)

// ---- dlp ----

// DLPDetector adapts the dlp library.
type DLPDetector struct{ s *dlp.Scanner }

// NewDLPDetector builds the detector with every dlp detector enabled.
func NewDLPDetector(opts ...dlp.Option) (*DLPDetector, error) {
	s, err := dlp.New(opts...)
	if err != nil {
		return nil, err
	}
	return &DLPDetector{s: s}, nil
}

func conv(fs []dlp.Finding) []gateway.Finding {
	if len(fs) == 0 {
		return nil
	}
	out := make([]gateway.Finding, len(fs))
	for i, f := range fs {
		out[i] = gateway.Finding{Type: f.Type, Start: f.Start, End: f.End, Confidence: f.Confidence.String()}
	}
	return out
}

// Scan implements Detector.
func (d *DLPDetector) Scan(text string) []gateway.Finding { return conv(d.s.ScanString(text)) }

// NewStream implements Detector.
func (d *DLPDetector) NewStream(blockTypes []string) gateway.StreamScanner {
	w := &windowStream{s: d.s, block: map[string]bool{}}
	for _, t := range blockTypes {
		w.block[t] = true
		if t == dlp.TypePrivateKey {
			w.pem = true
		} else {
			// Token-like values are recognised only once whole: hold a
			// tail long enough for any of them.
			w.hold = streamHold
		}
	}
	return w
}

// IsSecret implements Detector.
func (d *DLPDetector) IsSecret(t string) bool { return dlp.IsSecret(t) }

// windowStream scans a stream by rescanning a sliding window: the text
// since the last safe offset plus a margin. Only what could still become a
// blocking finding is held back: for private keys (which dlp recognises
// only as a whole PEM block) everything from an unterminated "-----BEGIN "
// (or a partial one at the very end), for other blocking types a tail of
// `hold` bytes. Everything else is forwarded at once, so the first token
// is not delayed when nothing suspicious is streaming.
type windowStream struct {
	s        *dlp.Scanner
	block    map[string]bool
	pem      bool
	hold     int64
	buf      []byte // text from base on
	base     int64
	safe     int64
	reported map[int64]bool
}

const (
	streamHold   = 96
	streamMargin = 256
	pemMax       = 16384 // dlp's maximum PEM block
)

func (w *windowStream) Write(text string) ([]gateway.Finding, int64) {
	w.buf = append(w.buf, text...)
	return w.scan(false), w.safe
}

func (w *windowStream) Close() []gateway.Finding { return w.scan(true) }

func (w *windowStream) scan(final bool) []gateway.Finding {
	end := w.base + int64(len(w.buf))
	from := max(w.safe-streamMargin, w.base)
	win := w.buf[from-w.base:]
	var out []gateway.Finding
	newSafe := end
	if !final {
		newSafe = max(end-w.hold, w.safe)
	}
	for _, f := range w.s.Scan(win) {
		abs := from + int64(f.Start)
		if !final && from+int64(f.End) >= end-4 {
			// Touches the tail: it may still grow. Report it later; hold
			// it back only if it could be a blocking type.
			if w.block[f.Type] {
				newSafe = min(newSafe, abs)
			}
			continue
		}
		if w.reported[abs] {
			continue
		}
		if w.reported == nil {
			w.reported = map[int64]bool{}
		}
		w.reported[abs] = true
		out = append(out, gateway.Finding{Type: f.Type, Start: int(abs), End: int(from + int64(f.End)), Confidence: f.Confidence.String()})
	}
	if !final && w.pem {
		// An open PEM header holds everything from it until its END line
		// arrives (or the block would exceed dlp's maximum).
		if i := lastIndex(w.buf, "-----BEGIN "); i >= 0 {
			abs := w.base + int64(i)
			rest := string(w.buf[i:])
			k := strings.Index(rest, "-----END ")
			closed := k >= 0 && strings.Contains(rest[k+len("-----END "):], "-----")
			if !closed && end-abs < pemMax {
				newSafe = min(newSafe, abs)
			}
		}
		// A partial "-----BEGIN" at the very end.
		for k := 1; k < len("-----BEGIN ") && k <= len(w.buf); k++ {
			if strings.HasPrefix("-----BEGIN ", string(w.buf[len(w.buf)-k:])) {
				newSafe = min(newSafe, end-int64(k))
			}
		}
	}
	if newSafe > w.safe {
		w.safe = newSafe
	}
	// Keep only what a later scan can still look at.
	if keep := w.safe - streamMargin - pemMax; keep > w.base {
		w.buf = append(w.buf[:0], w.buf[keep-w.base:]...)
		w.base = keep
	}
	return out
}

func lastIndex(b []byte, s string) int { return strings.LastIndex(string(b), s) }
