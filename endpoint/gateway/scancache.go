package gateway

import (
	"hash/maphash"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Agents resend the whole conversation on every turn, so most of a
// request's text (history, earlier tool results) was already scanned on an
// earlier call. scanCache remembers the findings of large texts by a keyed
// 128-bit hash (two maphash seeds, random per process, so collisions
// cannot be crafted); only new text is scanned. It holds findings (types
// and offsets), never text.
type scanCache struct {
	s1, s2 maphash.Seed
	c      *lru.Cache[scanKey, []Finding]
}

type scanKey struct {
	h1, h2 uint64
	n      int
}

// minCached: shorter texts are cheaper to scan than to hash and look up.
const minCached = 1024

func newScanCache(n int) *scanCache {
	c, _ := lru.New[scanKey, []Finding](n)
	return &scanCache{s1: maphash.MakeSeed(), s2: maphash.MakeSeed(), c: c}
}

func (g *Gateway) scan(s string) []Finding {
	if len(s) < minCached || g.scans == nil {
		return g.o.Detector.Scan(s)
	}
	k := scanKey{maphash.String(g.scans.s1, s), maphash.String(g.scans.s2, s), len(s)}
	if fs, ok := g.scans.c.Get(k); ok {
		return fs
	}
	fs := g.o.Detector.Scan(s)
	g.scans.c.Add(k, fs)
	return fs
}
