package dlp

import "bytes"

// Hold-back bounds for streaming. A finding can only be reported once the
// text that decides it has arrived, so the stream holds back:
//   - the last holdShort bytes (values with spaces in them: spaced card and
//     phone numbers, IBANs, quoted passwords; all detectors' look-ahead);
//   - a trailing run of URI/token characters (a JWT, URI or token still
//     being written), up to holdRun bytes;
//   - an unterminated "-----BEGIN ... PRIVATE KEY-----" block, up to maxPEM
//     bytes.
const (
	holdShort = 300
	holdRun   = 3*maxJWT + 2
	// rescanEvery: small writes are batched until this many new bytes have
	// arrived, so byte-at-a-time streams do not rescan the window per byte.
	// It adds at most this much to the hold-back.
	rescanEvery = 128
)

// Stream scans text that arrives in chunks (an SSE response, a request
// body being proxied). Findings carry absolute offsets from the start of
// the stream and equal what Scan returns for the concatenated text.
// A Stream is not safe for concurrent use.
type Stream struct {
	s       *Scanner
	buf     []byte // text[base:total]
	base    int64
	total   int64
	emitted int64 // every finding starting before emitted was returned
	closed  bool
	// runStart is where the trailing run of token/URI characters begins
	// (absolute), maintained per write so the check costs O(chunk).
	runStart int64
	lastScan int64 // total at the last rescan
}

// NewStream starts a streaming scan.
func (s *Scanner) NewStream() *Stream { return &Stream{s: s} }

// Write adds a chunk and returns the findings that are now final, in
// order. Writing after Close returns nil.
func (w *Stream) Write(chunk []byte) []Finding {
	if w.closed {
		return nil
	}
	w.buf = append(w.buf, chunk...)
	for i := len(chunk) - 1; i >= 0; i-- {
		if !uriChar(chunk[i]) {
			w.runStart = w.total + int64(i) + 1
			break
		}
	}
	w.total += int64(len(chunk))
	if w.total-w.lastScan < rescanEvery {
		return nil
	}
	// Nothing can become final while the short hold-back or a trailing
	// token run covers everything after the frontier: skip the rescan.
	raw := w.total - holdShort
	if run := w.runStart; run < raw && w.total-run <= holdRun {
		raw = run
	}
	if raw <= w.emitted {
		return nil
	}
	return w.flush(false)
}

// WriteString is Write for a string chunk.
func (w *Stream) WriteString(chunk string) []Finding { return w.Write(unsafeBytes(chunk)) }

// Close ends the stream and returns the remaining findings.
func (w *Stream) Close() []Finding {
	if w.closed {
		return nil
	}
	out := w.flush(true)
	w.closed = true
	w.buf = nil
	return out
}

// Safe returns the absolute offset before which the stream is final: every
// finding that starts before it has been returned and no later finding can
// start before it. A proxy may redact and forward text up to Safe.
func (w *Stream) Safe() int64 { return w.emitted }

// Total returns how many bytes have been written.
func (w *Stream) Total() int64 { return w.total }

// Pending returns the bytes not yet final (text[Safe():Total()]); it is a
// view into the stream's buffer, valid until the next Write.
func (w *Stream) Pending() []byte { return w.buf[w.emitted-w.base:] }

func (w *Stream) flush(final bool) []Finding {
	w.lastScan = w.total
	st := getState()
	defer putState(st)
	scanInto(st, w.buf)
	st.resolve(&w.s.cfg)
	safe := w.total
	if !final {
		safe = w.safePoint(st)
	}
	if safe < w.emitted {
		safe = w.emitted
	}
	var out []Finding
	from := int(w.emitted - w.base)
	to := int(safe - w.base)
	for i, c := range st.cands {
		if st.dead[i] || c.start < from || c.start >= to {
			continue
		}
		out = append(out, Finding{Type: allTypes[c.typ], Start: c.start + int(w.base), End: c.end + int(w.base), Confidence: c.conf})
	}
	w.emitted = safe
	// Keep maxLookBehind bytes before the frontier so detectors see the same
	// context they would in a one-shot scan.
	nb := w.emitted - maxLookBehind
	if nb > w.base {
		drop := int(nb - w.base)
		n := copy(w.buf, w.buf[drop:])
		w.buf = w.buf[:n]
		w.base = nb
	}
	return out
}

var pemBegin = []byte("-----BEGIN ")

func (w *Stream) safePoint(st *state) int64 {
	b := w.buf
	n := len(b)
	safe := n - holdShort
	// Trailing run of URI/token characters.
	r := n
	for r > 0 && n-r <= holdRun && uriChar(b[r-1]) {
		r--
	}
	if n-r > holdRun {
		r = n - holdRun
	}
	if r < safe {
		safe = r
	}
	// Earliest unterminated PEM block in the last maxPEM bytes. An END
	// marker counts only once it is outside the short hold-back.
	lo := n - maxPEM - holdShort
	if lo < 0 {
		lo = 0
	}
	closedUpTo := n - holdShort
	if closedUpTo < lo {
		closedUpTo = lo
	}
	tail := b[lo:]
	if lastEnd := bytes.LastIndex(b[lo:closedUpTo], pemEnd); lastEnd >= 0 {
		tail = b[lo+lastEnd:]
		lo += lastEnd
	}
	if p := bytes.Index(tail, pemBegin); p >= 0 && lo+p < safe {
		safe = lo + p
	}
	// A partial "-----BEGIN" at the very end is inside the short hold-back.
	if safe < 0 {
		safe = 0
	}
	// Never cut through a candidate: fixed point over candidates straddling
	// the frontier.
	for changed := true; changed; {
		changed = false
		for _, c := range st.cands {
			if c.start < safe && c.end > safe {
				safe = c.start
				changed = true
			}
		}
	}
	return w.base + int64(safe)
}
