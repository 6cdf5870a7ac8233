package policy

import (
	"sort"
	"strconv"
	"strings"

	"github.com/wardenhq/warden/dlp"
)

// redactor replaces findings with typed placeholders; one instance per
// record, so the same value gets the same placeholder across its messages.
type redactor interface {
	Redact(text string, fs []dlp.Finding) string
}

// newRedactor is dlp's redactor once it lands (dlp.NewRedactor); until then
// a minimal typed, consistent placeholder redactor with the same contract.
var newRedactor = func() redactor { return &typedRedactor{seen: map[string]string{}, next: map[string]int{}} }

type typedRedactor struct {
	seen map[string]string // type+value -> placeholder (memory only)
	next map[string]int
}

func (r *typedRedactor) Redact(text string, fs []dlp.Finding) string {
	fs = append([]dlp.Finding(nil), fs...)
	sort.Slice(fs, func(i, j int) bool { return fs[i].Start < fs[j].Start })
	var b strings.Builder
	b.Grow(len(text))
	last := 0
	for _, f := range fs {
		if f.Start < last || f.End > len(text) || f.Start >= f.End {
			continue // overlapping or out of range: the covering one wins
		}
		b.WriteString(text[last:f.Start])
		k := f.Type + "\x00" + text[f.Start:f.End]
		ph, ok := r.seen[k]
		if !ok {
			r.next[f.Type]++
			ph = "[REDACTED:" + f.Type + ":" + strconv.Itoa(r.next[f.Type]) + "]"
			r.seen[k] = ph
		}
		b.WriteString(ph)
		last = f.End
	}
	b.WriteString(text[last:])
	return b.String()
}
