package export

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/wardenhq/warden/endpoint"
	"github.com/wardenhq/warden/schema"
)

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startCollector runs the collector's real OTLP receiver on addr.
func startCollector(t *testing.T, addr string) (*consumertest.LogsSink, func()) {
	t.Helper()
	f := otlpreceiver.NewFactory()
	cfg := f.CreateDefaultConfig()
	conf := confmap.NewFromStringMap(map[string]any{"protocols": map[string]any{"http": map[string]any{"endpoint": addr}}})
	if err := conf.Unmarshal(cfg); err != nil {
		t.Fatal(err)
	}
	sink := &consumertest.LogsSink{}
	r, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	return sink, func() { once.Do(func() { _ = r.Shutdown(context.Background()) }) }
}

var _ receiver.Logs = nil
var _ component.Host = nil

func testEvent(i int) endpoint.Event {
	return endpoint.Event{
		Time: time.Now(), Name: schema.EndpointEventFileAccess, Kind: schema.KindFileAccess,
		SessionID: "s1", PathPseudonym: fmt.Sprintf("ps1:v1:/p%06d", i), AccessMode: schema.AccessRead,
		Attrs: map[string]any{schema.EndpointAttrPID: int64(i)},
	}
}

// records lists (event_id, path) of everything the sink received.
func records(sink *consumertest.LogsSink) (ids map[string]int, paths map[string]bool) {
	ids, paths = map[string]int{}, map[string]bool{}
	for _, ld := range sink.AllLogs() {
		rls := ld.ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			sls := rls.At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					lr := lrs.At(k)
					id, _ := lr.Attributes().Get(schema.Attr("event_id"))
					ids[string(id.Bytes().AsRaw())]++
					p, _ := lr.Attributes().Get(schema.Attr("path_pseudonym"))
					paths[p.Str()] = true
				}
			}
		}
	}
	return
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCollectorDownThenUpExactlyOnce(t *testing.T) {
	addr := freeAddr(t)
	dir := t.TempDir()
	cfg := Config{Endpoint: "http://" + addr, Dir: dir, Logf: t.Logf}
	x, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const n = 3000
	for i := range n {
		x.Emit(testEvent(i))
	}
	waitFor(t, "events on disk", func() bool { return x.Stats.Buffered.Load() == n })
	if x.Stats.Failures.Load() == 0 {
		time.Sleep(300 * time.Millisecond)
	}
	if err := x.Close(); err != nil { // the session ends while the collector is down
		t.Fatal(err)
	}
	// The collector comes back; the next warden run ships the backlog.
	sink, stop := startCollector(t, addr)
	defer stop()
	x, err = Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	x.Emit(testEvent(n)) // this session's own event
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := x.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	ids, paths := records(sink)
	if len(paths) != n+1 {
		t.Fatalf("received %d distinct events, want %d", len(paths), n+1)
	}
	for id, c := range ids {
		if c != 1 {
			t.Fatalf("event %x delivered %d times", id, c)
		}
	}
	// The canonical shape: event.name, kind, source on every record.
	lr := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	for k, want := range map[string]string{"event.name": schema.EndpointEventFileAccess, schema.Attr("kind"): schema.KindFileAccess, schema.Attr("source"): schema.SourceWardenEndpoint} {
		if v, ok := lr.Attributes().Get(k); !ok || v.Str() != want {
			t.Errorf("%s = %v, want %s", k, v.AsRaw(), want)
		}
	}
	svc, _ := sink.AllLogs()[0].ResourceLogs().At(0).Resource().Attributes().Get("service.name")
	if svc.Str() != schema.EndpointServiceName {
		t.Errorf("service.name = %q", svc.Str())
	}
	_ = plog.NewLogs
}

func TestFullBufferDropOldestKeepsNewest(t *testing.T) {
	addr := freeAddr(t)
	var logs bytes.Buffer
	var mu sync.Mutex
	cfg := Config{Endpoint: "http://" + addr, Dir: t.TempDir(), MaxBytes: 64 << 10, Policy: DropOldest,
		Logf: func(f string, a ...any) { mu.Lock(); fmt.Fprintf(&logs, f+"\n", a...); mu.Unlock() }}
	x, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	for i := range n {
		x.Emit(testEvent(i))
	}
	waitFor(t, "all stored", func() bool { return x.Stats.Buffered.Load()+int64(x.Stats.Dropped.Load()) == n })
	if x.Stats.Dropped.Load() == 0 {
		t.Fatal("nothing dropped from a 64 KiB buffer")
	}
	st, _ := os.Stat(filepath.Join(cfg.Dir, "buffer.db"))
	t.Logf("dropped %d, kept %d, db file %d bytes", x.Stats.Dropped.Load(), x.Stats.Buffered.Load(), st.Size())
	mu.Lock()
	if !bytes.Contains(logs.Bytes(), []byte("buffer full")) {
		t.Errorf("full buffer not reported; log: %s", logs.String())
	}
	mu.Unlock()
	sink, stop := startCollector(t, addr)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := x.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	x.Close()
	_, paths := records(sink)
	if !paths[fmt.Sprintf("ps1:v1:/p%06d", n-1)] || paths["ps1:v1:/p000000"] {
		t.Errorf("drop_oldest kept the wrong end: newest %v oldest %v", paths[fmt.Sprintf("ps1:v1:/p%06d", n-1)], paths["ps1:v1:/p000000"])
	}
	if int64(len(paths)) != int64(n)-int64(x.Stats.Dropped.Load()) {
		t.Errorf("received %d, want %d", len(paths), int64(n)-int64(x.Stats.Dropped.Load()))
	}
}

func TestFullBufferBlockLosesNothing(t *testing.T) {
	addr := freeAddr(t)
	cfg := Config{Endpoint: "http://" + addr, Dir: t.TempDir(), MaxBytes: 32 << 10, Policy: Block, Logf: t.Logf}
	x, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	const n = 5000
	done := make(chan struct{})
	go func() {
		for i := range n {
			x.Emit(testEvent(i))
		}
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("Emit never blocked on a full buffer")
	case <-time.After(500 * time.Millisecond):
	}
	if x.Stats.Full.Load() == 0 {
		t.Fatal("full buffer not counted")
	}
	sink, stop := startCollector(t, addr)
	defer stop()
	<-done
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := x.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, paths := records(sink); len(paths) != n || x.Stats.Dropped.Load() != 0 {
		t.Fatalf("received %d of %d, dropped %d", len(paths), n, x.Stats.Dropped.Load())
	}
}

func TestConfigValidateNamesKey(t *testing.T) {
	for key, c := range map[string]Config{
		"export.endpoint":  {Dir: "/x"},
		"export.dir":       {Endpoint: "http://x"},
		"export.policy":    {Endpoint: "http://x", Dir: "/x", Policy: "yolo"},
		"export.max_bytes": {Endpoint: "http://x", Dir: "/x", MaxBytes: -1},
	} {
		if err := c.Validate(); err == nil || !bytes.Contains([]byte(err.Error()), []byte(key)) {
			t.Errorf("%s: %v", key, err)
		}
	}
}
