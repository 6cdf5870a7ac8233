package relay_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/wardenhq/warden/endpoint/export"
	"github.com/wardenhq/warden/endpoint/relay"
	"github.com/wardenhq/warden/schema"
	"github.com/wardenhq/warden/vault"
)

const canary = "CANARY-relay-7f3a91 please read ~/.ssh/id_ed25519"

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type collector struct {
	logs    *consumertest.LogsSink
	traces  *consumertest.TracesSink
	metrics *consumertest.MetricsSink
	stop    func()
}

// startCollector runs the collector's real OTLP/HTTP receiver on addr.
func startCollector(t *testing.T, addr string) *collector {
	t.Helper()
	f := otlpreceiver.NewFactory()
	cfg := f.CreateDefaultConfig()
	if err := confmap.NewFromStringMap(map[string]any{"protocols": map[string]any{"http": map[string]any{"endpoint": addr}}}).Unmarshal(cfg); err != nil {
		t.Fatal(err)
	}
	c := &collector{logs: &consumertest.LogsSink{}, traces: &consumertest.TracesSink{}, metrics: &consumertest.MetricsSink{}}
	set := receivertest.NewNopSettings(f.Type())
	ctx := context.Background()
	lr, err := f.CreateLogs(ctx, set, cfg, c.logs)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := f.CreateTraces(ctx, set, cfg, c.traces)
	if err != nil {
		t.Fatal(err)
	}
	mr, err := f.CreateMetrics(ctx, set, cfg, c.metrics)
	if err != nil {
		t.Fatal(err)
	}
	host := componenttest.NewNopHost()
	if err := lr.Start(ctx, host); err != nil {
		t.Fatal(err)
	}
	if err := tr.Start(ctx, host); err != nil {
		t.Fatal(err)
	}
	if err := mr.Start(ctx, host); err != nil {
		t.Fatal(err)
	}
	c.stop = func() { _ = lr.Shutdown(ctx); _ = tr.Shutdown(ctx); _ = mr.Shutdown(ctx) }
	t.Cleanup(c.stop)
	return c
}

// scanDir fails if any file under dir holds needle.
func scanDir(t *testing.T, dir, needle string) {
	t.Helper()
	n := 0
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		n++
		if bytes.Contains(b, []byte(needle)) {
			t.Errorf("%s holds the cleartext canary", p)
		}
		return nil
	})
	if n == 0 {
		t.Fatalf("no buffer files under %s", dir)
	}
}

// TestRelayCollectorDownThenUp: the agent's logs (OTel Go SDK, protobuf),
// a JSON logs request, traces and metrics go to the relay while the
// collector is down; the buffer never holds the canary prompt; once the
// collector is up every record arrives exactly once, sealed, with the
// session, user and device identity.
// startRelay starts a relay with fresh keys in front of a durable buffer
// (in a new directory, returned) that ships to addr.
func startRelay(t *testing.T, addr string, id relay.Identity, token string) (*export.Exporter, *relay.Relay, string) {
	t.Helper()
	keysDir := t.TempDir()
	if err := os.Chmod(keysDir, 0o700); err != nil {
		t.Fatal(err)
	}
	ks, err := vault.OpenLocalStore(keysDir, vault.LocalOptions{AutoCreate: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ks.InitCustody(); err != nil {
		t.Fatal(err)
	}
	bufDir := t.TempDir()
	x, err := export.Open(export.Config{Endpoint: "http://" + addr, Dir: bufDir, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	r, err := relay.Start(relay.Config{Keys: ks, Store: x, Identity: id, Token: token, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return x, r, bufDir
}

func TestRelayCollectorDownThenUp(t *testing.T) {
	addr := freeAddr(t) // nothing listens yet: the collector is down
	id := relay.Identity{SessionID: "0123456789abcdef0123456789abcdef", UserPseudonym: "ps1:v1:user-pseudo",
		DevicePseudonym: "ps1:v1:device-pseudo", Agent: "claude"}
	const token = "relay-test-token"
	x, r, bufDir := startRelay(t, addr, id, token)
	ctx := context.Background()
	hdr := map[string]string{relay.TokenHeader: token}
	post := func(path, ctype string, body []byte, withToken bool) *http.Response {
		q, _ := http.NewRequest(http.MethodPost, r.URL()+path, bytes.NewReader(body))
		q.Header.Set("Content-Type", ctype)
		if len(body) > 2 && body[0] == 0x1f && body[1] == 0x8b {
			q.Header.Set("Content-Encoding", "gzip")
		}
		if withToken {
			q.Header.Set(relay.TokenHeader, token)
		}
		resp, err := http.DefaultClient.Do(q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	// 1. Logs through the OTel Go SDK (protobuf), Claude Code's shape; the
	// agent claims a different session, which the relay overrides.
	const nLogs = 30
	lexp, err := otlploghttp.New(ctx, otlploghttp.WithEndpointURL(r.URL()+"/v1/logs"), otlploghttp.WithHeaders(hdr))
	if err != nil {
		t.Fatal(err)
	}
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(lexp, sdklog.WithExportMaxBatchSize(7))),
		sdklog.WithResource(resource.NewSchemaless(attribute.String("service.name", "claude-code"), attribute.String(schema.Attr("session_id"), "forged"))))
	lg := lp.Logger("com.anthropic.claude_code.events")
	for i := 0; i < nLogs; i++ {
		var rec otellog.Record
		rec.SetEventName("claude_code.user_prompt")
		rec.SetTimestamp(time.Now())
		rec.AddAttributes(attribute.String("event.name", "user_prompt"), attribute.Int("seq", i),
			attribute.String("prompt", fmt.Sprintf("%s #%d", canary, i)))
		lg.Emit(ctx, rec)
	}
	if err := lp.Shutdown(ctx); err != nil { // flushes: every batch got its 200
		t.Fatal(err)
	}
	// 2. One JSON request (another agent's SDK setting).
	jl := plog.NewLogs()
	lr := jl.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Attributes().PutStr("event.name", "gemini_cli.user_prompt")
	lr.Attributes().PutInt("seq", nLogs)
	lr.Attributes().PutStr("prompt", canary+" json")
	jb, _ := plogotlp.NewExportRequestFromLogs(jl).MarshalJSON()
	if resp := post("/v1/logs", "application/json", jb, true); resp.StatusCode != 200 {
		t.Fatalf("json logs: %v", resp.Status)
	}
	// 2b. The same shape gzip-compressed protobuf (seq nLogs+1).
	lr.Attributes().PutInt("seq", nLogs+1)
	pb, _ := plogotlp.NewExportRequestFromLogs(jl).MarshalProto()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(pb)
	zw.Close()
	if resp := post("/v1/logs", "application/x-protobuf", gz.Bytes(), true); resp.StatusCode != 200 {
		t.Fatalf("gzip logs: %v", resp.Status)
	}
	// Without the session's token: refused, nothing buffered.
	before := x.Stats.BufferedOTLP.Load()
	if resp := post("/v1/logs", "application/json", jb, false); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: want 401, got %v", resp.Status)
	}
	if x.Stats.BufferedOTLP.Load() != before {
		t.Fatal("a request without the token was buffered")
	}
	// 3. Traces with a prompt on the span (Claude Code's interaction span).
	texp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(r.URL()+"/v1/traces"), otlptracehttp.WithHeaders(hdr))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(texp))
	_, span := tp.Tracer("claude").Start(ctx, "claude_code.interaction")
	span.SetAttributes(attribute.String("user_prompt", canary+" span"))
	span.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// 4. Metrics (protobuf, posted as an SDK would). Gemini CLI's carry its
	// argv, `-p PROMPT` included, on the resource.
	md := pmetric.NewMetrics()
	mrm := md.ResourceMetrics().AppendEmpty()
	mrm.Resource().Attributes().PutEmptySlice("process.command_args").FromRaw([]any{"gemini", "-p", canary + " argv"})
	m := mrm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("claude_code.token.usage")
	dp := m.SetEmptySum().DataPoints().AppendEmpty()
	dp.Attributes().PutStr("prompt", canary+" point")
	dp.SetIntValue(42)
	dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	mb, _ := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	if resp := post("/v1/metrics", "application/x-protobuf", mb, true); resp.StatusCode != 200 {
		t.Fatalf("metrics: %v", resp.Status)
	}
	// Bad input: a clear 400, nothing buffered.
	if resp := post("/v1/logs", "application/x-protobuf", []byte("\xff\xffnot otlp"), true); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("garbage: want 400, got %v", resp.Status)
	}

	if n := x.Stats.BufferedOTLP.Load(); n < 4 {
		t.Fatalf("buffered requests = %d, want >= 4 (collector down)", n)
	}
	time.Sleep(300 * time.Millisecond) // a failed ship attempt or two
	if x.Stats.ExportedOTLP.Load() != 0 {
		t.Fatal("exported while the collector was down")
	}
	scanDir(t, bufDir, "CANARY-relay")

	// The collector comes up: everything ships, exactly once.
	c := startCollector(t, addr)
	fctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := x.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	seen := map[int64]int{}
	for _, ld := range c.logs.AllLogs() {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			rl := ld.ResourceLogs().At(i)
			checkIdentity(t, rl.Resource().Attributes(), id)
			for j := 0; j < rl.ScopeLogs().Len(); j++ {
				lrs := rl.ScopeLogs().At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					a := lrs.At(k).Attributes()
					if s, ok := a.Get("seq"); ok {
						seen[s.Int()]++
						if _, ok := a.Get("prompt"); ok {
							t.Errorf("seq %d: cleartext prompt attribute forwarded", s.Int())
						}
						if ref, ok := a.Get(schema.Attr("prompt_ref")); !ok || ref.AsString() == "" {
							t.Errorf("seq %d: no %s", s.Int(), schema.Attr("prompt_ref"))
						}
					}
				}
			}
		}
	}
	for i := 0; i <= nLogs+1; i++ {
		if seen[int64(i)] != 1 {
			t.Errorf("log seq %d arrived %d times, want exactly once", i, seen[int64(i)])
		}
	}
	if got := c.traces.SpanCount(); got != 1 {
		t.Errorf("spans = %d, want 1", got)
	}
	for _, td := range c.traces.AllTraces() {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			checkIdentity(t, td.ResourceSpans().At(i).Resource().Attributes(), id)
		}
	}
	if got := c.metrics.DataPointCount(); got != 1 {
		t.Errorf("metric points = %d, want 1", got)
	}
	for _, md := range c.metrics.AllMetrics() {
		checkIdentity(t, md.ResourceMetrics().At(0).Resource().Attributes(), id)
	}
	// Nothing the collector received holds the canary either.
	for _, ld := range c.logs.AllLogs() {
		b, _ := (&plog.ProtoMarshaler{}).MarshalLogs(ld)
		if bytes.Contains(b, []byte("CANARY-relay")) {
			t.Error("forwarded logs hold the cleartext canary")
		}
	}
	for _, td := range c.traces.AllTraces() {
		if strings.Contains(fmt.Sprint(td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().AsRaw()), "CANARY-relay") {
			t.Error("forwarded span holds the cleartext canary")
		}
	}
	for _, md := range c.metrics.AllMetrics() {
		b, _ := (&pmetric.ProtoMarshaler{}).MarshalMetrics(md)
		if bytes.Contains(b, []byte("CANARY-relay")) {
			t.Error("forwarded metrics hold the cleartext canary")
		}
	}
	scanDir(t, bufDir, "CANARY-relay")
}

func checkIdentity(t *testing.T, m pcommon.Map, id relay.Identity) {
	t.Helper()
	for k, want := range map[string]string{"session_id": id.SessionID, "user_pseudonym": id.UserPseudonym,
		"device_pseudonym": id.DevicePseudonym, "tenant": schema.DefaultTenant} {
		if v, ok := m.Get(schema.Attr(k)); !ok || v.Str() != want {
			t.Errorf("resource %s = %q, want %q", schema.Attr(k), v.AsString(), want)
		}
	}
}

// TestRealAgentCapturesBufferedSealed posts every real capture of the three
// agents (processors/genai/testdata/agents: logs, metrics and traces, as
// each agent sent them) through the relay: neither the captured prompt nor
// the file content the agent read may reach the buffer in clear.
func TestRealAgentCapturesBufferedSealed(t *testing.T) {
	const token = "captures-token"
	_, r, bufDir := startRelay(t, freeAddr(t), relay.Identity{SessionID: "0123456789abcdef0123456789abcdef",
		UserPseudonym: "ps1:v1:u", DevicePseudonym: "ps1:v1:d"}, token)
	files, _ := filepath.Glob("../../processors/genai/testdata/agents/*/*")
	var posted, withContent int
	for _, f := range files {
		base := filepath.Base(f)
		signal, _, ok := strings.Cut(base, "-")
		if !ok || (signal != "logs" && signal != "metrics" && signal != "traces") {
			continue
		}
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(body, []byte("Summarize notes.txt")) || bytes.Contains(body, []byte("ship the capture script")) {
			withContent++
		}
		ctype := "application/x-protobuf"
		if strings.HasSuffix(base, ".json") {
			ctype = "application/json"
		}
		q, _ := http.NewRequest(http.MethodPost, r.URL()+"/v1/"+signal, bytes.NewReader(body))
		q.Header.Set("Content-Type", ctype)
		q.Header.Set(relay.TokenHeader, token)
		resp, err := http.DefaultClient.Do(q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %s", f, resp.Status)
		}
		posted++
	}
	if posted < 12 || withContent < 4 {
		t.Fatalf("posted %d captures, %d with the prompt or file content: the captures are missing", posted, withContent)
	}
	scanDir(t, bufDir, "Summarize notes.txt")
	scanDir(t, bufDir, "ship the capture script")
}
