package dlp

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
)

// Redactor replaces findings with typed placeholders such as
// "[REDACTED_EMAIL_1]". Within one Redactor the same value always gets the
// same placeholder, so a model still sees that two mentions are the same
// thing, and Restore can put the values back into the model's answer.
//
// Use one Redactor per request. The value mapping lives in memory only and
// is dropped by Reset (or with the Redactor); it is never serialised.
type Redactor struct {
	mu      sync.Mutex
	byValue map[string]string // type + "\x00" + value -> placeholder
	byPH    map[string]string // placeholder -> value
	next    map[string]int    // type -> last number used
	counts  map[string]int    // type -> findings redacted
}

// NewRedactor returns an empty Redactor.
func NewRedactor() *Redactor {
	return &Redactor{byValue: map[string]string{}, byPH: map[string]string{}, next: map[string]int{}, counts: map[string]int{}}
}

const phPrefix = "[REDACTED_"

// Placeholder renders the placeholder for the n-th distinct value of typ.
func Placeholder(typ string, n int) string {
	return phPrefix + strings.ToUpper(typ) + "_" + strconv.Itoa(n) + "]"
}

// Redact returns a copy of text with every finding replaced by its
// placeholder. Findings must refer to text (as returned by Scan); ones
// that overlap an earlier finding or fall outside text are skipped.
func (r *Redactor) Redact(text []byte, findings []Finding) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	fs := findings
	if !sortedFindings(fs) {
		fs = append([]Finding(nil), findings...)
		sortFindings(fs)
	}
	out := make([]byte, 0, len(text))
	pos := 0
	for _, f := range fs {
		if f.Start < pos || f.End > len(text) || f.Start >= f.End {
			continue
		}
		out = append(out, text[pos:f.Start]...)
		out = append(out, r.placeholder(f.Type, text[f.Start:f.End])...)
		r.counts[f.Type]++
		pos = f.End
	}
	return append(out, text[pos:]...)
}

// RedactString is Redact for strings.
func (r *Redactor) RedactString(text string, findings []Finding) string {
	return string(r.Redact(unsafeBytes(text), findings))
}

func (r *Redactor) placeholder(typ string, v []byte) string {
	key := typ + "\x00" + string(v)
	if ph, ok := r.byValue[key]; ok {
		return ph
	}
	r.next[typ]++
	ph := Placeholder(typ, r.next[typ])
	r.byValue[key] = ph
	r.byPH[ph] = string(v)
	return ph
}

// Restore replaces placeholders this Redactor issued with the original
// values. Unknown placeholders are left as they are.
func (r *Redactor) Restore(text []byte) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.byPH) == 0 || bytes.Index(text, []byte(phPrefix)) < 0 {
		return append([]byte(nil), text...)
	}
	out := make([]byte, 0, len(text))
	for {
		i := bytes.Index(text, []byte(phPrefix))
		if i < 0 {
			break
		}
		j := bytes.IndexByte(text[i:min(len(text), i+64)], ']')
		if j < 0 {
			out = append(out, text[:i+len(phPrefix)]...)
			text = text[i+len(phPrefix):]
			continue
		}
		if v, ok := r.byPH[string(text[i:i+j+1])]; ok {
			out = append(out, text[:i]...)
			out = append(out, v...)
		} else {
			out = append(out, text[:i+j+1]...)
		}
		text = text[i+j+1:]
	}
	return append(out, text...)
}

// RestoreString is Restore for strings.
func (r *Redactor) RestoreString(text string) string { return string(r.Restore(unsafeBytes(text))) }

// Counts returns how many findings of each type this Redactor replaced.
func (r *Redactor) Counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := make(map[string]int, len(r.counts))
	for k, v := range r.counts {
		m[k] = v
	}
	return m
}

// Distinct returns how many distinct values of each type were replaced.
func (r *Redactor) Distinct() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := make(map[string]int, len(r.next))
	for k, v := range r.next {
		m[k] = v
	}
	return m
}

// Reset forgets every mapping and count.
func (r *Redactor) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.byValue)
	clear(r.byPH)
	clear(r.next)
	clear(r.counts)
}

func sortedFindings(fs []Finding) bool {
	for i := 1; i < len(fs); i++ {
		if fs[i].Start < fs[i-1].Start {
			return false
		}
	}
	return true
}
