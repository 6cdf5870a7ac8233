package endpoint_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/wardenhq/warden/endpoint/launch"
	"github.com/wardenhq/warden/schema"
)

// TestSessionWhileCollectorDown: a whole `warden run` session (launch.Run,
// what the CLI does) while the collector is down, then the collector comes
// back and a second session runs: every event of both sessions arrives
// exactly once.
func TestSessionWhileCollectorDown(t *testing.T) {
	needRoot(t)
	h := newHarness(t)
	keys := filepath.Join(h.base, "keys")
	os.MkdirAll(keys, 0o700)
	prof := filepath.Join(h.base, "p.yaml")
	os.WriteFile(prof, []byte(fmt.Sprintf("name: d\nextends: generic\nfs:\n  exec: [%s]\napproved_binaries:\n  - sha256: %s\n", h.bin, fileSum(t, h.escapee))), 0o644)
	addr := freeTCP(t)
	cfg := launch.Config{
		Profile: prof, Argv: []string{h.escapee, "-warden-busy", "500"}, User: agentUID, Project: h.project,
		KeysDir: keys, Collector: "http://" + addr, BufferDir: filepath.Join(h.base, "buf"),
		Stage2: []string{h.escapee, "-warden-stage2"},
	}
	r1, err := launch.Run(context.Background(), cfg, nil, nil, nil)
	if err != nil || r1.ExitCode != 0 {
		t.Fatalf("session 1 (collector down): %v exit %d", err, r1.ExitCode)
	}
	// The collector comes back.
	logs := startLogsCollector(t, addr)
	r2, err := launch.Run(context.Background(), cfg, nil, nil, nil)
	if err != nil || r2.ExitCode != 0 {
		t.Fatalf("session 2: %v exit %d", err, r2.ExitCode)
	}
	want := map[string]uint64{r1.SessionID: r1.Events, r2.SessionID: r2.Events}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ids := map[string]int{}
		per := map[string]uint64{}
		for _, ld := range logs.AllLogs() {
			rls := ld.ResourceLogs()
			for i := 0; i < rls.Len(); i++ {
				sls := rls.At(i).ScopeLogs()
				for j := 0; j < sls.Len(); j++ {
					lrs := sls.At(j).LogRecords()
					for k := 0; k < lrs.Len(); k++ {
						a := lrs.At(k).Attributes()
						id, _ := a.Get(schema.Attr("event_id"))
						ids[string(id.Bytes().AsRaw())]++
						per[get(a, schema.Attr("session_id"))]++
					}
				}
			}
		}
		for id, n := range ids {
			if n != 1 {
				t.Fatalf("event %x arrived %d times", id, n)
			}
		}
		if per[r1.SessionID] == want[r1.SessionID] && per[r2.SessionID] == want[r2.SessionID] {
			t.Logf("session 1 (collector down): %d events, session 2: %d events, all delivered once", r1.Events, r2.Events)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivered %v, want %v", per, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startLogsCollector starts the collector's real OTLP/HTTP receiver on addr
// with its logs going to the returned sink; it stops when the test ends.
func startLogsCollector(t *testing.T, addr string) *consumertest.LogsSink {
	t.Helper()
	f := otlpreceiver.NewFactory()
	rcfg := f.CreateDefaultConfig()
	if err := confmap.NewFromStringMap(map[string]any{"protocols": map[string]any{"http": map[string]any{"endpoint": addr}}}).Unmarshal(rcfg); err != nil {
		t.Fatal(err)
	}
	logs := &consumertest.LogsSink{}
	rl, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(f.Type()), rcfg, logs)
	if err != nil {
		t.Fatal(err)
	}
	if err := rl.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rl.Shutdown(context.Background()) })
	return logs
}
