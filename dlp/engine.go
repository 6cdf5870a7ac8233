package dlp

import (
	"slices"
	"sync"
)

// cand is a detector's candidate before overlap resolution.
type cand struct {
	typ        uint8
	conf       Confidence
	start, end int
}

// Internal type ids, in the order of allTypes.
const (
	tAWSID uint8 = iota
	tAWSSec
	tGitHub
	tGitLab
	tSlack
	tStripe
	tGoogle
	tOpenAI
	tAnthro
	tJWT
	tPEM
	tPass
	tDB
	tSSN
	tCard
	tIBAN
	tEmail
	tPhone
)

// priority ranks types when candidates overlap: the more specific detector
// wins (a DB URI over the email inside it, a vendor token over the generic
// password whose value it is).
var priority = [numTypes]uint8{
	tAWSID: 70, tAWSSec: 65, tGitHub: 70, tGitLab: 70, tSlack: 70, tStripe: 70, tGoogle: 70,
	tOpenAI: 70, tAnthro: 72, tJWT: 75, tPEM: 100, tPass: 40, tDB: 90, tSSN: 50, tCard: 55,
	tIBAN: 55, tEmail: 30, tPhone: 20,
}

func init() {
	if allTypes[tPhone] != TypePhoneNumber || allTypes[tAWSSec] != TypeAWSSecretAccessKey || len(allTypes) != numTypes {
		panic("dlp: type ids out of sync with allTypes")
	}
}

// beats reports whether a outranks b when they overlap. It is a strict
// total order so resolution does not depend on scan order.
func beats(a, b *cand) bool {
	pa, pb := priority[a.typ], priority[b.typ]
	if pa != pb {
		return pa > pb
	}
	la, lb := a.end-a.start, b.end-b.start
	if la != lb {
		return la > lb
	}
	if a.start != b.start {
		return a.start < b.start
	}
	return a.typ < b.typ
}

// state is per-scan scratch space, pooled so a scan allocates only its
// result slice.
type state struct {
	cands []cand
	dead  []bool
	buf   []byte // scratch for decoding / digit collection
	buf2  []byte
	ms    []anchorMatch // scratch for the anchor pass
}

var statePool = sync.Pool{New: func() any {
	return &state{cands: make([]cand, 0, 64), buf: make([]byte, 0, 512), buf2: make([]byte, 0, 512)}
}}

func getState() *state { st := statePool.Get().(*state); st.cands = st.cands[:0]; return st }
func putState(st *state) {
	if cap(st.cands) > 1<<16 {
		st.cands = make([]cand, 0, 64)
		st.dead = nil
	}
	statePool.Put(st)
}

func (st *state) add(t uint8, c Confidence, start, end int) {
	st.cands = append(st.cands, cand{typ: t, conf: c, start: start, end: end})
}

// Anchor kinds: what a literal found by the automaton hands over to.
const (
	kAWSID = iota
	kAWSSecret
	kGitHub
	kGitHubPAT
	kGitLab
	kSlack
	kStripe
	kGoogle
	kSK // sk- : OpenAI or Anthropic
	kJWT
	kPEM
	kURI
	kKeyPassword // password-like keyword
	kKeySecret   // secret / token / api key keyword
	kBearer
)

type anchor struct {
	lit  string
	kind int
}

// anchors are matched ASCII-case-insensitively; detectors recheck case
// where the vendor format is case-sensitive.
var anchors = []anchor{
	{"akia", kAWSID}, {"asia", kAWSID}, {"abia", kAWSID}, {"acca", kAWSID},
	{"secret_access_key", kAWSSecret}, {"secretaccesskey", kAWSSecret}, {"secret-access-key", kAWSSecret},
	{"aws_secret_key", kAWSSecret}, {"aws_secret", kAWSSecret},
	{"ghp_", kGitHub}, {"gho_", kGitHub}, {"ghu_", kGitHub}, {"ghs_", kGitHub}, {"ghr_", kGitHub},
	{"github_pat_", kGitHubPAT},
	{"glpat-", kGitLab}, {"gldt-", kGitLab}, {"glrt-", kGitLab}, {"glptt-", kGitLab}, {"glcbt-", kGitLab},
	{"glft-", kGitLab}, {"glsoat-", kGitLab}, {"gloas-", kGitLab}, {"glimt-", kGitLab}, {"glagent-", kGitLab},
	{"xoxb-", kSlack}, {"xoxp-", kSlack}, {"xoxa-", kSlack}, {"xoxr-", kSlack}, {"xoxs-", kSlack},
	{"xoxe-", kSlack}, {"xoxe.", kSlack}, {"xapp-", kSlack},
	{"sk_live_", kStripe}, {"sk_test_", kStripe}, {"rk_live_", kStripe}, {"rk_test_", kStripe},
	{"aiza", kGoogle},
	{"sk-", kSK},
	{"eyj", kJWT},
	{"-----begin ", kPEM},
	{"://", kURI},
	{"password", kKeyPassword}, {"passwd", kKeyPassword}, {"pwd", kKeyPassword}, {"passphrase", kKeyPassword},
	{"identified by", kKeyPassword},
	{"secret", kKeySecret}, {"token", kKeySecret}, {"api_key", kKeySecret}, {"apikey", kKeySecret},
	{"api-key", kKeySecret}, {"access_key", kKeySecret}, {"auth_key", kKeySecret},
	{"bearer ", kBearer},
}

// maxAnchor is the longest anchor literal: a match starting before a split
// point ends at most maxAnchor-1 bytes after it.
var maxAnchor = func() int {
	n := 0
	for _, a := range anchors {
		n = max(n, len(a.lit))
	}
	return n
}()

// scanInto runs every detector over text and appends candidates (offsets
// relative to text). Detectors look at most maxLookBehind bytes before a
// candidate's anchor, which is what lets Stream rescan a bounded window.
func scanInto(st *state, text []byte) {
	anchorPass(st, text, 0, len(text), len(text))
	scanBytes(st, text)
}

// anchorPass is the first pass: the anchors in text[from:limit] (see
// anchors.go) starting before keepBefore (offsets absolute) go to their
// detector, which sees the whole text. Every occurrence of every anchor is
// reported (overlapping iteration), so passes over adjacent ranges find
// together exactly what one pass over the whole text finds.
func anchorPass(st *state, text []byte, from, limit, keepBefore int) {
	st.ms = findAnchors(text, from, limit, keepBefore, st.ms[:0])
	for _, m := range st.ms {
		a := anchors[m.pat]
		s, e := m.start, m.end
		switch a.kind {
		case kAWSID:
			detAWSID(st, text, s)
		case kAWSSecret:
			detAWSSecret(st, text, s, e)
		case kGitHub:
			detGitHub(st, text, s)
		case kGitHubPAT:
			detGitHubPAT(st, text, s)
		case kGitLab:
			detPrefixed(st, text, s, e, tGitLab)
		case kSlack:
			detSlack(st, text, s, e)
		case kStripe:
			detStripe(st, text, s, e)
		case kGoogle:
			detGoogle(st, text, s)
		case kSK:
			detSK(st, text, s, e)
		case kJWT:
			detJWT(st, text, s)
		case kPEM:
			detPEM(st, text, s, e)
		case kURI:
			detURI(st, text, s)
		case kKeyPassword, kKeySecret:
			detKeyValue(st, text, s, e, a.kind == kKeyPassword)
		case kBearer:
			detBearer(st, text, s, e)
		}
	}
}

// scanBytes is the second pass: digits (SSN, cards, phones, IBANs) and '@'
// (emails). It is a plain byte loop; most bytes cost one table lookup.
func scanBytes(st *state, text []byte) { scanBytesRange(st, text, 0, len(text)) }

// scanBytesRange is scanBytes for the bytes in text[from:to]; detectors
// still see the whole text, so adjacent ranges find together exactly what
// one pass finds.
func scanBytesRange(st *state, text []byte, from, to int) {
	n := to
	for i := from; i < n; i++ {
		c := text[i]
		if c == '@' {
			detEmail(st, text, i)
			continue
		}
		if !isDigit(c) {
			continue
		}
		// Start of a digit run.
		if i > 0 && isDigit(text[i-1]) {
			continue
		}
		detNumber(st, text, i)
	}
}

// resolve marks candidates that lose to an overlapping, higher-ranked one.
// A candidate is dropped iff some overlapping candidate beats it (whether or
// not that one survives itself): the decision is local, which keeps
// streaming and one-shot results identical.
func (st *state) resolve(cfg *config) {
	cs := st.cands
	// Disabled types and low-confidence candidates take no part at all.
	k := 0
	for _, c := range cs {
		if cfg.enabled[c.typ] && c.conf >= cfg.minConf {
			cs[k] = c
			k++
		}
	}
	cs = cs[:k]
	sortCands(cs)
	st.cands = cs
	if cap(st.dead) < len(cs) {
		st.dead = make([]bool, len(cs), cap(cs))
	}
	dead := st.dead[:len(cs)]
	for i := range dead {
		dead[i] = false
	}
	for i := range cs {
		for j := i + 1; j < len(cs) && cs[j].start < cs[i].end; j++ {
			if beats(&cs[i], &cs[j]) {
				dead[j] = true
			} else {
				dead[i] = true
			}
		}
	}
	st.dead = dead
}

func sortCands(cs []cand) {
	slices.SortFunc(cs, func(a, b cand) int {
		if a.start != b.start {
			return a.start - b.start
		}
		if a.end != b.end {
			return a.end - b.end
		}
		return int(a.typ) - int(b.typ)
	})
}

// emit appends surviving candidates whose start lies in [from, to), shifted
// by base, to out.
func (s *Scanner) emit(st *state, out []Finding, base int64, from, to int) []Finding {
	st.resolve(&s.cfg)
	for i, c := range st.cands {
		if st.dead[i] || c.start < from || c.start >= to {
			continue
		}
		out = append(out, Finding{Type: allTypes[c.typ], Start: c.start + int(base), End: c.end + int(base), Confidence: c.conf})
	}
	return out
}
