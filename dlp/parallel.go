package dlp

import (
	"runtime"
	"sync/atomic"
)

// parallelMin: texts at least this long are scanned on two goroutines. The
// anchor pass and the byte pass are cut into chunks of splitChunk bytes
// that the two take in turn; a chunk's pass also reads the
// next maxAnchor-1 bytes and keeps only anchors starting inside the chunk,
// and detectors always see the whole text, so the candidates are exactly
// those of one pass (resolve sorts them). A 100 KB prompt is scanned before
// a model call is forwarded, so its scan time is latency the user waits
// for; a second core cuts it. Below this size the hand-off costs more than
// it saves.
const (
	parallelMin = 48 << 10
	splitChunk  = 8 << 10
)

// scanSplit scans text into st like scanInto. The caller starts on the
// chunks at once; the helper goroutine joins whenever it gets a core. If
// the caller has finished every chunk before the helper started, the
// helper does nothing and nobody waits for it (on a busy machine a
// goroutine may not be scheduled for a while).
func scanSplit(st *state, text []byte) {
	n := len(text)
	if n < parallelMin || runtime.GOMAXPROCS(0) < 2 {
		scanInto(st, text)
		return
	}
	// Work items 0..chunks-1 are the anchor pass's chunks, the next
	// chunks items the byte pass's (digits and '@'), so both passes are
	// shared.
	chunks := int32((n + splitChunk - 1) / splitChunk)
	var next atomic.Int32
	work := func(s *state) {
		for {
			i := int(next.Add(1) - 1)
			if i >= 2*int(chunks) {
				return
			}
			if i < int(chunks) {
				from := i * splitChunk
				to := min(n, from+splitChunk)
				anchorPass(s, text, from, min(n, to+maxAnchor-1), to)
				continue
			}
			from := (i - int(chunks)) * splitChunk
			scanBytesRange(s, text, from, min(n, from+splitChunk))
		}
	}
	st2 := getState()
	var started atomic.Bool
	done := make(chan struct{})
	go func() {
		if started.CompareAndSwap(false, true) {
			work(st2)
			close(done)
		}
	}()
	work(st)
	if !started.CompareAndSwap(false, true) {
		<-done // the helper is finishing its last chunk
	}
	st.cands = append(st.cands, st2.cands...)
	putState(st2)
}
