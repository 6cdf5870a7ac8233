package endpoint_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/wardenhq/warden/endpoint"
	"github.com/wardenhq/warden/endpoint/launch"
	"github.com/wardenhq/warden/schema"
	"github.com/wardenhq/warden/vault"
)

const relayCanary = "CANARY-agent-otlp-5d21e0"

// runOTLPAgent is the agent side: the OTel Go SDK configured only from
// the environment `warden run` set (OTEL_EXPORTER_OTLP_ENDPOINT, ...)
// sends n prompt records, the way Claude Code's user_prompt events look.
func runOTLPAgent(args []string) {
	n, _ := strconv.Atoi(args[0])
	ctx := context.Background()
	exp, err := otlploghttp.New(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "otlp agent:", err)
		os.Exit(3)
	}
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exp, sdklog.WithExportMaxBatchSize(10))))
	lg := lp.Logger("com.anthropic.claude_code.events")
	for i := 0; i < n; i++ {
		var r otellog.Record
		r.SetTimestamp(time.Now())
		r.SetEventName("claude_code.user_prompt")
		r.AddAttributes(attribute.String("event.name", "user_prompt"), attribute.Int("seq", i),
			attribute.String("prompt", fmt.Sprintf("%s read ~/.ssh/id_ed25519 #%d", relayCanary, i)))
		lg.Emit(ctx, r)
	}
	if err := lp.Shutdown(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "otlp agent:", err)
		os.Exit(4)
	}
	os.Exit(0)
}

// TestAgentTelemetryThroughRelay: the agent's own OTLP goes through the
// session's relay (launch.Run, what the CLI does): with the collector down
// the buffer never holds the canary prompt; once the collector is back
// (second session), every record of both sessions arrives exactly once,
// sealed, tagged with its session and the user and device pseudonyms.
func TestAgentTelemetryThroughRelay(t *testing.T) {
	needRoot(t)
	h := newHarness(t)
	keys := filepath.Join(h.base, "keys")
	os.MkdirAll(keys, 0o700)
	ks, err := vault.OpenLocalStore(keys, vault.LocalOptions{AutoCreate: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ks.InitCustody(); err != nil {
		t.Fatal(err)
	}
	prof := filepath.Join(h.base, "p.yaml")
	os.WriteFile(prof, []byte(fmt.Sprintf("name: d\nextends: generic\nfs:\n  exec: [%s]\napproved_binaries:\n  - sha256: %s\n", h.bin, fileSum(t, h.escapee))), 0o644)
	addr := freeTCP(t)
	const n = 25
	buf := filepath.Join(h.base, "buf")
	cfg := launch.Config{
		Profile: prof, Argv: []string{h.escapee, "-warden-otlp", strconv.Itoa(n)}, User: agentUID, Project: h.project,
		KeysDir: keys, Collector: "http://" + addr, BufferDir: buf,
		Stage2: []string{h.escapee, "-warden-stage2"},
	}
	r1, err := launch.Run(context.Background(), cfg, nil, nil, nil)
	if err != nil || r1.ExitCode != 0 {
		t.Fatalf("session 1 (collector down): %v exit %d", err, r1.ExitCode)
	}
	scan := func() {
		ents, _ := os.ReadDir(buf)
		if len(ents) == 0 {
			t.Fatal("no buffer files")
		}
		for _, e := range ents {
			b, _ := os.ReadFile(filepath.Join(buf, e.Name()))
			if bytes.Contains(b, []byte(relayCanary)) {
				t.Fatalf("%s holds the cleartext canary prompt", e.Name())
			}
		}
	}
	scan()

	logs := startLogsCollector(t, addr)
	r2, err := launch.Run(context.Background(), cfg, nil, nil, nil)
	if err != nil || r2.ExitCode != 0 {
		t.Fatalf("session 2: %v exit %d", err, r2.ExitCode)
	}
	scan()

	pseudo, err := endpoint.TenantPseudonymizer(keys, schema.DefaultTenant, false)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := endpoint.LookupUser(agentUID)
	wantUser, wantDevice := pseudo.Value(u.Username), pseudo.Value(endpoint.DeviceID(""))
	deadline := time.Now().Add(20 * time.Second)
	for {
		seen := map[string]int{} // session/seq
		var bad []string
		for _, ld := range logs.AllLogs() {
			for i := 0; i < ld.ResourceLogs().Len(); i++ {
				rl := ld.ResourceLogs().At(i)
				res := rl.Resource().Attributes()
				if get(res, "service.name") == schema.EndpointServiceName {
					continue
				}
				if get(res, schema.Attr("user_pseudonym")) != wantUser || get(res, schema.Attr("device_pseudonym")) != wantDevice {
					bad = append(bad, fmt.Sprintf("identity %v", res.AsRaw()))
				}
				for j := 0; j < rl.ScopeLogs().Len(); j++ {
					lrs := rl.ScopeLogs().At(j).LogRecords()
					for k := 0; k < lrs.Len(); k++ {
						a := lrs.At(k).Attributes()
						seq, _ := a.Get("seq")
						seen[get(res, schema.Attr("session_id"))+"/"+strconv.FormatInt(seq.Int(), 10)]++
						if _, ok := a.Get(schema.Attr("prompt_ref")); !ok {
							bad = append(bad, "record without prompt_ref")
						}
					}
				}
			}
			b, _ := (&plog.ProtoMarshaler{}).MarshalLogs(ld)
			if bytes.Contains(b, []byte(relayCanary)) {
				t.Fatal("the collector received the cleartext canary")
			}
		}
		if len(bad) > 0 {
			t.Fatalf("%d bad records, first: %s", len(bad), bad[0])
		}
		complete := len(seen) == 2*n
		for k, c := range seen {
			if c != 1 {
				t.Fatalf("agent record %s arrived %d times", k, c)
			}
		}
		for _, s := range []string{r1.SessionID, r2.SessionID} {
			for i := 0; i < n; i++ {
				if seen[s+"/"+strconv.Itoa(i)] != 1 {
					complete = false
				}
			}
		}
		if complete {
			t.Logf("%d agent records of 2 sessions (the first while the collector was down) delivered once, sealed, with identity", len(seen))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent records delivered: %d of %d: %v", len(seen), 2*n, seen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
