package gateway

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/wardenhq/warden/vault"
)

// The sink seals on its worker: every event emitted, from many handlers at
// once and more than its queue holds, is exported sealed (a full queue
// makes the caller seal; nothing is dropped), and ForceFlush and Shutdown
// wait for the queue.
func TestOTLPSinkQueue(t *testing.T) {
	ks, err := vault.InitDir(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.InitTenant("default"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ks.InitCustody(); err != nil {
		t.Fatal(err)
	}
	fe := &sealedExporter{}
	sealer := NewSealer(ks)
	s := newOTLPSink(fe, sealer, "test")
	const n = 3 * sinkQueueEvents
	// The worker stalls on the sealer's lock until the queue is full, so
	// handlers must seal themselves.
	sealer.mu.Lock()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 8 {
				s.Emit(&CallEvent{Identity: Identity{Tenant: "default"}, Status: "ok",
					Messages: []Message{{Role: "user", Part: "prompt", Text: fmt.Sprintf("secret prompt %d %s", i, strings.Repeat("x", 1000))}}})
			}
		}()
	}
	for deadline := time.Now().Add(10 * time.Second); len(s.q) < cap(s.q); {
		if time.Now().After(deadline) {
			t.Fatalf("the queue holds %d of %d", len(s.q), cap(s.q))
		}
		time.Sleep(time.Millisecond)
	}
	sealer.mu.Unlock()
	wg.Wait()
	if err := s.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := fe.count(); got != n {
		t.Fatalf("%d records after ForceFlush, want %d", got, n)
	}
	s.Emit(&CallEvent{Identity: Identity{Tenant: "default"}, Status: "ok", Messages: []Message{{Role: "user", Part: "prompt", Text: "secret prompt last"}}})
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := fe.count(); got != n+1 {
		t.Fatalf("%d records after Shutdown, want %d", got, n+1)
	}
	if fe.cleartext || fe.unsealed > 0 || s.Unsealed.Load() > 0 {
		t.Fatalf("cleartext %v, records without sealed bodies %d", fe.cleartext, fe.unsealed)
	}
	s.Emit(&CallEvent{Identity: Identity{Tenant: "default"}, Messages: []Message{{Text: "after shutdown"}}}) // no panic
}

// sealedExporter counts records and checks that each carries a sealed
// body and no cleartext.
type sealedExporter struct {
	mu                  sync.Mutex
	n, unsealed         int
	cleartext           bool
	fakeExporterNoFlush // ForceFlush, Shutdown
}

type fakeExporterNoFlush struct{}

func (fakeExporterNoFlush) ForceFlush(context.Context) error { return nil }
func (fakeExporterNoFlush) Shutdown(context.Context) error   { return nil }

func (e *sealedExporter) Export(_ context.Context, recs []sdklog.Record) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range recs {
		e.n++
		sealed := false
		recs[i].WalkAttributes(func(kv attribute.KeyValue) bool {
			if kv.Key == "warden.prompt_ref" {
				sealed = true
			}
			if strings.Contains(kv.Value.Emit(), "secret prompt") {
				e.cleartext = true
			}
			return true
		})
		if !sealed {
			e.unsealed++
		}
	}
	return nil
}

func (e *sealedExporter) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n
}
