package gateway

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	sdklog "go.opentelemetry.io/otel/sdk/log"
)

// eagerProcessor is the sdklog.Processor of the gateway's events: a record
// is exported as soon as it is emitted, together with whatever queued up
// while the previous export ran (one record per export at an agent's pace,
// large batches under load).
//
// Why not the SDK's BatchProcessor: it exports on a timer (every second, or
// at 512 records), so under load it exported the sealed bodies of hundreds
// of calls at once: marshalling and sending ~40 MB for a second of 100 KB
// prompts kept a core (and the collector) busy for ~40 ms, and every call
// in flight meanwhile waited for CPU (in the gateway benchmark, 4 % of the
// calls overlapped an export, and they made up almost half of the slowest
// 2 %). Exporting each call's record right after the call spreads the same
// work evenly, at the moment the agent is reading its answer.
//
// Limits are the BatchProcessor's: at most maxQueue records wait (the
// oldest are dropped beyond, and counted), an export gets exportTimeout,
// the exporter's own retries apply; ForceFlush and Shutdown export
// everything queued.
type eagerProcessor struct {
	exp      sdklog.Exporter
	maxQueue int
	maxBatch int
	timeout  time.Duration

	mu      sync.Mutex
	q       []sdklog.Record
	dropped uint64
	stopped bool

	kick  chan struct{} // capacity 1: there is something to export
	flush chan chan error
	stop  chan struct{}
	done  chan struct{}
}

const (
	exportMaxQueue = 2048
	exportMaxBatch = 512
	exportTimeout  = 30 * time.Second
)

func newEagerProcessor(exp sdklog.Exporter, maxQueue, maxBatch int) *eagerProcessor {
	p := &eagerProcessor{exp: exp, maxQueue: maxQueue, maxBatch: maxBatch, timeout: exportTimeout,
		kick: make(chan struct{}, 1), flush: make(chan chan error), stop: make(chan struct{}), done: make(chan struct{})}
	go p.run()
	return p
}

// Enabled implements sdklog.Processor.
func (p *eagerProcessor) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }

// OnEmit queues a copy of r and wakes the exporter.
func (p *eagerProcessor) OnEmit(_ context.Context, r *sdklog.Record) error {
	rec := r.Clone()
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return nil
	}
	if len(p.q) >= p.maxQueue {
		n := copy(p.q, p.q[1:])
		p.q[n] = sdklog.Record{}
		p.q = p.q[:n]
		p.dropped++
	}
	p.q = append(p.q, rec)
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
	return nil
}

func (p *eagerProcessor) run() {
	defer close(p.done)
	buf := make([]sdklog.Record, 0, p.maxBatch)
	for {
		select {
		case <-p.kick:
			p.drain(context.Background(), &buf)
		case resp := <-p.flush:
			err := p.drain(context.Background(), &buf)
			ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
			if ferr := p.exp.ForceFlush(ctx); err == nil {
				err = ferr
			}
			cancel()
			resp <- err
		case <-p.stop:
			p.drain(context.Background(), &buf)
			return
		}
	}
}

// drain exports the queue in batches of up to maxBatch until it is empty.
func (p *eagerProcessor) drain(ctx context.Context, buf *[]sdklog.Record) error {
	var first error
	for {
		p.mu.Lock()
		k := min(len(p.q), p.maxBatch)
		b := append((*buf)[:0], p.q[:k]...)
		n := copy(p.q, p.q[k:])
		clear(p.q[n:])
		p.q = p.q[:n]
		dropped := p.dropped
		p.dropped = 0
		p.mu.Unlock()
		if dropped > 0 {
			otel.Handle(fmt.Errorf("gateway telemetry: %d model_call events dropped: the export queue was full (%d)", dropped, p.maxQueue))
		}
		if len(b) == 0 {
			return first
		}
		ectx, cancel := context.WithTimeout(ctx, p.timeout)
		err := p.exp.Export(ectx, b)
		cancel()
		clear(b)
		*buf = b[:0]
		if err != nil {
			otel.Handle(err)
			if first == nil {
				first = err
			}
		}
	}
}

// ForceFlush exports everything queued and flushes the exporter.
func (p *eagerProcessor) ForceFlush(ctx context.Context) error {
	resp := make(chan error, 1)
	select {
	case p.flush <- resp:
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-resp:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Shutdown exports everything queued, then shuts the exporter down.
func (p *eagerProcessor) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return nil
	}
	p.stopped = true
	p.mu.Unlock()
	close(p.stop)
	select {
	case <-p.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return p.exp.Shutdown(ctx)
}
