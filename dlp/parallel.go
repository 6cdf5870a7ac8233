package dlp

import (
	"runtime"
	"sync/atomic"
)

// parallelMin: texts at least this long are scanned on two goroutines. The
// anchor pass (the automaton, ~90% of a scan) is split at the middle: one
// goroutine takes the anchors starting in the first half, another those in
// the second; detectors always see the whole text, so the candidates are
// exactly those of one pass (resolve sorts them). A 100 KB prompt is
// scanned before a model call is forwarded, so its scan time is latency
// the user waits for; a second core halves it. Below this size the
// hand-off costs more than it saves.
const parallelMin = 48 << 10

// scanSplit scans text into st like scanInto, using a second goroutine
// when one can run. If that goroutine has not started by the time this one
// finished its own half, this one scans the second half itself (on a busy
// machine nothing waits for a goroutine that was never scheduled).
func scanSplit(st *state, text []byte) {
	n := len(text)
	if n < parallelMin || runtime.GOMAXPROCS(0) < 2 {
		scanInto(st, text)
		return
	}
	mid := n / 2
	hi := min(n, mid+maxAnchor-1)
	st2 := getState()
	var claimed atomic.Bool
	done := make(chan struct{})
	second := func() { anchorPass(st2, text, mid, n, n) }
	go func() {
		if claimed.CompareAndSwap(false, true) {
			second()
			close(done)
		}
	}()
	anchorPass(st, text, 0, hi, mid)
	scanBytes(st, text)
	if claimed.CompareAndSwap(false, true) {
		second()
	} else {
		<-done
	}
	st.cands = append(st.cands, st2.cands...)
	putState(st2)
}
