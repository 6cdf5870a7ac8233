package gateway

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
)

// fakeExporter records what it is given; while gate is open (non-nil and
// not closed) Export waits on it.
type fakeExporter struct {
	mu       sync.Mutex
	batches  [][]string // event ids (the "n" attribute) per Export
	flushes  int
	shutdown bool
	gate     chan struct{}
	entered  chan struct{} // gets a value when an Export starts
}

func (f *fakeExporter) Export(ctx context.Context, recs []sdklog.Record) error {
	if f.entered != nil {
		select {
		case f.entered <- struct{}{}:
		default:
		}
	}
	if f.gate != nil {
		<-f.gate
	}
	var ids []string
	for i := range recs {
		recs[i].WalkAttributes(func(kv attribute.KeyValue) bool {
			if kv.Key == "n" {
				ids = append(ids, kv.Value.Emit())
			}
			return true
		})
	}
	f.mu.Lock()
	f.batches = append(f.batches, ids)
	f.mu.Unlock()
	return nil
}

func (f *fakeExporter) ForceFlush(context.Context) error {
	f.mu.Lock()
	f.flushes++
	f.mu.Unlock()
	return nil
}

func (f *fakeExporter) Shutdown(context.Context) error {
	f.mu.Lock()
	f.shutdown = true
	f.mu.Unlock()
	return nil
}

func (f *fakeExporter) ids() (all []string, maxBatch int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, b := range f.batches {
		all = append(all, b...)
		maxBatch = max(maxBatch, len(b))
	}
	return all, maxBatch
}

func emitN(lg otellog.Logger, from, to int) {
	for i := from; i < to; i++ {
		var r otellog.Record
		r.AddAttributes(attribute.String("n", fmt.Sprint(i)))
		lg.Emit(context.Background(), r)
	}
}

// A record is exported once emitted, without a flush or a timer, and a
// batch takes what queued meanwhile (up to maxBatch).
func TestEagerProcessorExportsAtOnce(t *testing.T) {
	fe := &fakeExporter{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	p := newEagerProcessor(fe, exportMaxQueue, 4)
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(p))
	lg := lp.Logger("t")
	emitN(lg, 0, 1)
	<-fe.entered // the first record's export started on its own
	emitN(lg, 1, 10)
	close(fe.gate)
	deadline := time.Now().Add(10 * time.Second)
	for {
		ids, _ := fe.ids()
		if len(ids) == 10 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	ids, mb := fe.ids()
	if strings.Join(ids, ",") != "0,1,2,3,4,5,6,7,8,9" {
		t.Fatalf("exported %v without a flush, want 0..9 in order", ids)
	}
	if mb > 4 {
		t.Fatalf("a batch of %d records, max 4", mb)
	}
	if len(fe.batches) >= 10 {
		t.Fatalf("%d exports for 10 records: what queued during the first export was not batched", len(fe.batches))
	}
	if err := lp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// While the exporter is stuck, at most maxQueue records wait; the oldest
// are dropped beyond. ForceFlush exports the rest and flushes the exporter;
// Shutdown exports what is left and stops.
func TestEagerProcessorBoundFlushShutdown(t *testing.T) {
	fe := &fakeExporter{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	p := newEagerProcessor(fe, 5, exportMaxBatch)
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(p))
	lg := lp.Logger("t")
	emitN(lg, 0, 1)
	<-fe.entered // record 0 is being exported
	emitN(lg, 1, 9)
	close(fe.gate)
	if err := lp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	ids, _ := fe.ids()
	if strings.Join(ids, ",") != "0,4,5,6,7,8" {
		t.Fatalf("exported %v, want 0 then the newest 5 (4..8)", ids)
	}
	if fe.flushes == 0 {
		t.Fatal("ForceFlush did not flush the exporter")
	}
	emitN(lg, 9, 12)
	if err := lp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ids, _ = fe.ids()
	if strings.Join(ids, ",") != "0,4,5,6,7,8,9,10,11" || !fe.shutdown {
		t.Fatalf("after Shutdown: exported %v (shut down %v), want 9..11 too", ids, fe.shutdown)
	}
	emitN(lg, 12, 13) // after Shutdown: ignored, no panic
	if ids, _ = fe.ids(); len(ids) != 9 {
		t.Fatalf("a record emitted after Shutdown was exported: %v", ids)
	}
}
