package dlp

import "slices"

// The anchor pass finds every occurrence of every anchor literal (ASCII
// case-insensitive, overlapping) and hands them to the detectors in the
// order an Aho-Corasick overlapping search reports them: by end offset,
// and at one end offset the longer literal first.
//
// Why not the automaton library for this: its overlapping iterator costs
// ~3 ns per byte (an interface call and a match-list walk per byte), which
// made the anchor pass ~300 µs of a 100 KB prompt, paid before the call is
// forwarded. Every anchor is at least 3 bytes long, so a rolling 3-byte key
// tested against a small bitmap (8 KB, in L1) rejects almost every position
// in a few instructions; the rare hits are checked against the few anchors
// with that prefix. TestAnchorsMatchAutomaton checks the result against the
// automaton, match for match and in order.

// asciiLower folds A-Z only, as the automaton's AsciiCaseInsensitive does.
var asciiLower = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if i >= 'A' && i <= 'Z' {
			t[i] = byte(i) + 'a' - 'A'
		}
	}
	return t
}()

const keyBits = 16

type anchorIndex struct {
	bits  [1 << keyBits / 64]uint64
	byKey map[uint32][]uint8 // 3-byte lowercase prefix -> anchor indexes
}

func keyHash(k uint32) uint32 { return (k * 0x9E3779B1) >> (32 - keyBits) }

var anchorIdx = func() *anchorIndex {
	ix := &anchorIndex{byKey: map[uint32][]uint8{}}
	for i, a := range anchors {
		if len(a.lit) < 3 || len(anchors) > 255 {
			panic("dlp: anchors must be at least 3 bytes, at most 255 of them")
		}
		for j := 0; j < len(a.lit); j++ {
			if asciiLower[a.lit[j]] != a.lit[j] {
				panic("dlp: anchor literals must be lower case: " + a.lit)
			}
		}
		k := uint32(a.lit[0])<<16 | uint32(a.lit[1])<<8 | uint32(a.lit[2])
		h := keyHash(k)
		ix.bits[h>>6] |= 1 << (h & 63)
		ix.byKey[k] = append(ix.byKey[k], uint8(i))
	}
	return ix
}()

// anchorMatch is one occurrence: text[start:end] is anchors[pat].
type anchorMatch struct {
	start, end int
	pat        uint8
}

// findAnchors appends the anchors lying wholly in text[from:limit] that
// start before keepBefore, in automaton order.
func findAnchors(text []byte, from, limit, keepBefore int, out []anchorMatch) []anchorMatch {
	if limit-from < 3 {
		return out
	}
	n0 := len(out)
	ix := anchorIdx
	last := min(limit-3, keepBefore-1) // last start position to test
	k := uint32(asciiLower[text[from]])<<8 | uint32(asciiLower[text[from+1]])
	for i := from; i <= last; i++ {
		k = (k<<8 | uint32(asciiLower[text[i+2]])) & 0xFFFFFF
		h := keyHash(k)
		if ix.bits[h>>6]&(1<<(h&63)) == 0 {
			continue
		}
		for _, p := range ix.byKey[k] {
			lit := anchors[p].lit
			e := i + len(lit)
			if e > limit {
				continue
			}
			ok := true
			for j := 3; j < len(lit); j++ {
				if asciiLower[text[i+j]] != lit[j] {
					ok = false
					break
				}
			}
			if ok {
				out = append(out, anchorMatch{start: i, end: e, pat: p})
			}
		}
	}
	ms := out[n0:]
	if !slices.IsSortedFunc(ms, cmpAutomatonOrder) {
		slices.SortFunc(ms, cmpAutomatonOrder)
	}
	return out
}

func cmpAutomatonOrder(a, b anchorMatch) int {
	if a.end != b.end {
		return a.end - b.end
	}
	return a.start - b.start
}
