package gateway

import (
	"sort"
	"strconv"
	"strings"
)

// redactor replaces findings with typed placeholders ([REDACTED_US_SSN_1])
// and remembers, for this one request and only in memory, which value each
// placeholder stands for, so a response that echoes a placeholder can be
// restored for the user. The same value gets the same placeholder within a
// request, so the model can still tell values apart.
type redactor struct {
	byValue map[string]string
	byPH    map[string]string
	n       map[string]int
}

func newRedactor() *redactor { return &redactor{} }

const phPrefix = "[REDACTED_"

func (r *redactor) placeholder(typ, val string) string {
	if r.byValue == nil {
		r.byValue, r.byPH, r.n = map[string]string{}, map[string]string{}, map[string]int{}
	}
	if ph, ok := r.byValue[typ+"\x00"+val]; ok {
		return ph
	}
	r.n[typ]++
	ph := phPrefix + strings.ToUpper(typ) + "_" + strconv.Itoa(r.n[typ]) + "]"
	r.byValue[typ+"\x00"+val] = ph
	r.byPH[ph] = val
	return ph
}

// redact replaces the findings in s (all of them, or only the types in
// only when it is non-empty) and returns the new text and how many values
// were replaced. Overlapping findings are merged into the first.
func (r *redactor) redact(s string, fs []Finding, only map[string]bool) (string, int) {
	fs = append([]Finding(nil), fs...)
	sort.Slice(fs, func(i, j int) bool { return fs[i].Start < fs[j].Start })
	var b strings.Builder
	last, n := 0, 0
	for _, f := range fs {
		if len(only) > 0 && !only[f.Type] {
			continue
		}
		if f.Start < last || f.End > len(s) || f.Start >= f.End {
			continue
		}
		b.WriteString(s[last:f.Start])
		b.WriteString(r.placeholder(f.Type, s[f.Start:f.End]))
		last = f.End
		n++
	}
	if n == 0 {
		return s, 0
	}
	b.WriteString(s[last:])
	return b.String(), n
}

// restore puts the original values back for placeholders of this request.
func (r *redactor) restore(s string) (string, int) {
	if len(r.byPH) == 0 || !strings.Contains(s, phPrefix) {
		return s, 0
	}
	var b strings.Builder
	n := 0
	for {
		i := strings.Index(s, phPrefix)
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], ']')
		if j < 0 {
			break
		}
		ph := s[i : i+j+1]
		b.WriteString(s[:i])
		if v, ok := r.byPH[ph]; ok {
			b.WriteString(v)
			n++
		} else {
			b.WriteString(ph)
		}
		s = s[i+j+1:]
	}
	b.WriteString(s)
	return b.String(), n
}
