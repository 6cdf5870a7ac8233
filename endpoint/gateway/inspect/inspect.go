// Package inspect adapts the dlp library (scanner, streaming scanner,
// redactor) to the gateway's Detector interface.
package inspect

import (
	"bytes"
	"strings"

	"github.com/wardenhq/warden/dlp"
	"github.com/wardenhq/warden/endpoint/gateway"
)

// DLPDetector adapts the dlp library.
type DLPDetector struct{ s *dlp.Scanner }

// NewDLPDetector builds the detector with every dlp detector enabled
// unless opts say otherwise.
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

// Scan implements gateway.Detector.
func (d *DLPDetector) Scan(text string) []gateway.Finding { return conv(d.s.ScanString(text)) }

// IsSecret implements gateway.Detector.
func (d *DLPDetector) IsSecret(t string) bool { return dlp.IsSecret(t) }

// NewRedactor implements gateway.Detector.
func (d *DLPDetector) NewRedactor() gateway.Redactor { return redactor{dlp.NewRedactor()} }

type redactor struct{ r *dlp.Redactor }

func (r redactor) Redact(text string, fs []gateway.Finding) (string, int) {
	dfs := make([]dlp.Finding, len(fs))
	for i, f := range fs {
		dfs[i] = dlp.Finding{Type: f.Type, Start: f.Start, End: f.End}
	}
	out := r.r.RedactString(text, dfs)
	if out == text {
		return text, 0
	}
	return out, strings.Count(out, "[REDACTED_") - strings.Count(text, "[REDACTED_")
}

func (r redactor) Restore(text string) (string, bool) {
	if !strings.Contains(text, "[REDACTED_") {
		return text, false
	}
	out := r.r.RestoreString(text)
	return out, out != text
}

// maxPlaceholder bounds a placeholder's length ("[REDACTED_" + type +
// "_" + number + "]").
const maxPlaceholder = 64

// PartialPlaceholder implements gateway.Redactor: a trailing "[", "[RED",
// "[REDACTED_US_SS" and the like (upper case, digits and underscores
// after the prefix, no closing bracket yet).
func (r redactor) PartialPlaceholder(text string) int {
	i := strings.LastIndexByte(text, '[')
	if i < 0 || len(text)-i >= maxPlaceholder {
		return 0
	}
	tail := text[i:]
	const prefix = "[REDACTED_"
	if len(tail) <= len(prefix) {
		if strings.HasPrefix(prefix, tail) {
			return len(tail)
		}
		return 0
	}
	if !strings.HasPrefix(tail, prefix) {
		return 0
	}
	for _, c := range tail[len(prefix):] {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return 0
		}
	}
	return len(tail)
}

// NewStream implements gateway.Detector on dlp's streaming scanner, whose
// findings equal a Scan of the whole text. dlp's own safe offset holds
// back a tail for every detector; the gateway only has to withhold what
// could still become a *blocking* finding. With private keys as the only
// blocking type, that is everything from an unfinished "-----BEGIN " (or a
// partial one at the very end) until dlp has finalised the text past it;
// the rest goes out at once, so the first token is not delayed. With other
// blocking types, dlp's safe offset is used as it is.
func (d *DLPDetector) NewStream(blockTypes []string) gateway.StreamScanner {
	st := &stream{st: d.s.NewStream(), onlyPEM: true, none: len(blockTypes) == 0}
	for _, t := range blockTypes {
		if t != dlp.TypePrivateKey {
			st.onlyPEM = false
		}
	}
	return st
}

type stream struct {
	st      *dlp.Stream
	onlyPEM bool
	none    bool
}

var pemBegin = []byte("-----BEGIN ")

func (s *stream) Write(text string) ([]gateway.Finding, int64) {
	fs := conv(s.st.WriteString(text))
	switch {
	case s.none:
		return fs, s.st.Total()
	case !s.onlyPEM:
		return fs, s.st.Safe()
	}
	p := s.st.Pending()
	hold := len(p)
	if i := bytes.Index(p, pemBegin); i >= 0 {
		hold = i
	} else {
		for k := min(len(p), len(pemBegin)-1); k >= 1; k-- {
			if bytes.HasPrefix(pemBegin, p[len(p)-k:]) {
				hold = len(p) - k
				break
			}
		}
	}
	return fs, s.st.Safe() + int64(hold)
}

func (s *stream) Close() []gateway.Finding { return conv(s.st.Close()) }
