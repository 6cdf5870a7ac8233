package genai

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/wardenhq/warden/schema"
)

var t0 = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

// oneLog builds a Logs with one record; fill sets its attributes.
func oneLog(service string, body string, fill func(m pcommon.Map)) (plog.Logs, plog.LogRecord) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	if service != "" {
		rl.Resource().Attributes().PutStr("service.name", service)
	}
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(t0))
	if body != "" {
		lr.Body().SetStr(body)
	}
	if fill != nil {
		fill(lr.Attributes())
	}
	return ld, lr
}

func get(m pcommon.Map, k string) pcommon.Value {
	v, _ := m.Get(k)
	return v
}

// The bench load's record (../shared/bench/peer-collector README): semconv
// usage on a Claude Code user_prompt log, the prompt as an attribute.
func benchRecord() plog.Logs {
	ld, _ := oneLog("claude-code", "claude_code.user_prompt", func(m pcommon.Map) {
		m.PutStr("user.id", "u-7f3a9c21-5d4e-4b8a-9e61-2c0d8b7a4f15")
		m.PutStr("user.email", "jane.doe@example.com")
		m.PutStr("device.id", "dev-MBP-4C2F9A7E1B3D")
		m.PutStr("gen_ai.request.model", "claude-sonnet-4")
		m.PutInt("gen_ai.usage.input_tokens", 1834)
		m.PutInt("gen_ai.usage.output_tokens", 412)
		m.PutStr("prompt", strings.Repeat("Refactor the payment module; mail bob@example.com the diff. ", 17))
		m.PutStr("app", "server")
	})
	return ld
}

func TestBenchRecord(t *testing.T) {
	n := testNormalizer(t)
	ld := benchRecord()
	n.NormalizeLogs(ld)
	m := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes()
	if get(m, aKind).Str() != schema.KindUserPrompt || get(m, aSource).Str() != schema.SourceClaudeCode {
		t.Errorf("kind/source = %s/%s", get(m, aKind).Str(), get(m, aSource).Str())
	}
	// user.email outranks user.id; device.id outranks host facts.
	if get(m, aUser).Str() != "jane.doe@example.com" || get(m, aDevice).Str() != "dev-MBP-4C2F9A7E1B3D" {
		t.Errorf("identity = %s / %s", get(m, aUser).Str(), get(m, aDevice).Str())
	}
	if _, ok := m.Get("prompt"); ok {
		t.Error("prompt attribute left in place")
	}
	msgs := get(m, schema.AttrMessages).Slice()
	if msgs.Len() != 1 || !strings.HasPrefix(get(msgs.At(0).Map(), "text").Str(), "Refactor the payment") {
		t.Errorf("messages = %v", msgs.AsRaw())
	}
	if get(m, aModel).Str() != "claude-sonnet-4" {
		t.Errorf("model = %q", get(m, aModel).Str())
	}
	if _, ok := m.Get(aInputTokens); ok {
		t.Error("a user_prompt event carries token columns (only model_call rows do)")
	}
}

func TestSemconvDetailsEventIsModelCall(t *testing.T) {
	n := testNormalizer(t)
	ld, lr := oneLog("my-app", "", func(m pcommon.Map) {
		m.PutStr("event.name", "gen_ai.client.inference.operation.details")
		m.PutStr("gen_ai.provider.name", "openai")
		m.PutStr("gen_ai.request.model", "gpt-4o")
		m.PutStr("gen_ai.response.model", "gpt-4o-2024-08-06")
		m.PutInt("gen_ai.usage.input_tokens", 1000)
		m.PutInt("gen_ai.usage.cache_read.input_tokens", 400)
		m.PutInt("gen_ai.usage.output_tokens", 100)
		m.PutStr("gen_ai.input.messages", `[{"role":"system","parts":[{"type":"text","content":"be brief"}]},{"role":"user","parts":[{"type":"text","content":"hello"}]}]`)
		m.PutStr("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"hi"}],"finish_reason":"stop"}]`)
		m.PutStr("enduser.id", "alice")
		m.PutStr("gen_ai.conversation.id", "conv-1")
	})
	n.NormalizeLogs(ld)
	m := lr.Attributes()
	if get(m, aKind).Str() != schema.KindModelCall || get(m, aSource).Str() != schema.SourceOTelGenAI || get(m, aProvider).Str() != "openai" {
		t.Fatalf("kind/source/provider = %s/%s/%s", get(m, aKind).Str(), get(m, aSource).Str(), get(m, aProvider).Str())
	}
	// Response model (alias of gpt-4o in the table) wins over request model.
	if get(m, aModel).Str() != "gpt-4o-2024-08-06" || get(m, aInputTokens).Int() != 1000 || get(m, aCacheRead).Int() != 400 {
		t.Errorf("model %s input %d cache %d", get(m, aModel).Str(), get(m, aInputTokens).Int(), get(m, aCacheRead).Int())
	}
	want := (600*2.5 + 400*1.25 + 100*10.0) / 1e6
	if got := get(m, aCostUSD).Double(); math.Abs(got-want) > 1e-12 || get(m, aCostSource).Str() != schema.CostPriced {
		t.Errorf("cost %v (%s), want %v", got, get(m, aCostSource).Str(), want)
	}
	msgs := get(m, schema.AttrMessages).Slice().AsRaw()
	if len(msgs) != 3 {
		t.Fatalf("messages = %v", msgs)
	}
	exp := [][3]string{{"system", "system", "be brief"}, {"user", "prompt", "hello"}, {"assistant", "response", "hi"}}
	for i, e := range exp {
		mm := msgs[i].(map[string]any)
		if mm["role"] != e[0] || mm["part"] != e[1] || mm["text"] != e[2] {
			t.Errorf("message %d = %v, want %v", i, mm, e)
		}
	}
	if get(m, aUser).Str() != "alice" || get(m, aSession).Str() != "conv-1" {
		t.Errorf("identity %s %s", get(m, aUser).Str(), get(m, aSession).Str())
	}
}

func TestSemconvSpansAreSpansUnlessConfigured(t *testing.T) {
	mk := func() (ptrace.Traces, ptrace.Span) {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "my-app")
		sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		sp.SetName("chat claude-sonnet-4")
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(t0))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(t0.Add(1500 * time.Millisecond)))
		sp.SetTraceID([16]byte{1, 2, 3})
		sp.SetSpanID([8]byte{4, 5, 6})
		a := sp.Attributes()
		a.PutStr("gen_ai.operation.name", "chat")
		a.PutStr("gen_ai.provider.name", "anthropic")
		a.PutStr("gen_ai.request.model", "claude-sonnet-4")
		a.PutInt("gen_ai.usage.input_tokens", 2000)
		a.PutInt("gen_ai.usage.output_tokens", 100)
		a.PutStr("gen_ai.prompt", "secret plan")
		ev := sp.Events().AppendEmpty()
		ev.SetName("gen_ai.content.completion")
		ev.Attributes().PutStr("gen_ai.completion", "the answer")
		return td, sp
	}
	n := testNormalizer(t)
	td, sp := mk()
	n.NormalizeTraces(td)
	a := sp.Attributes()
	if get(a, aKind).Str() != schema.KindSpan || get(a, aTraceID).Str() != "01020300000000000000000000000000" {
		t.Errorf("kind %s trace %s", get(a, aKind).Str(), get(a, aTraceID).Str())
	}
	if _, ok := a.Get(aInputTokens); ok {
		t.Error("span carries tokens by default")
	}
	if _, ok := sp.Events().At(0).Attributes().Get("gen_ai.completion"); ok {
		t.Error("span event content left in place")
	}
	if msgs := get(a, schema.AttrMessages).Slice(); msgs.Len() != 2 {
		t.Errorf("span messages = %v", msgs.AsRaw())
	}

	cfg := createDefaultConfig()
	cfg.SpanCalls = true
	prices, _ := schema.DefaultPrices()
	n2 := NewNormalizer(cfg, prices)
	td, sp = mk()
	n2.NormalizeTraces(td)
	a = sp.Attributes()
	if get(a, aKind).Str() != schema.KindModelCall || get(a, aInputTokens).Int() != 2000 || get(a, aLatencyMS).Double() != 1500 {
		t.Errorf("span_calls: kind %s input %d latency %v", get(a, aKind).Str(), get(a, aInputTokens).Int(), get(a, aLatencyMS).Double())
	}
}

func TestUnknownEventKeptAndUnpricedCounted(t *testing.T) {
	n := testNormalizer(t)
	ld, lr := oneLog("", "", func(m pcommon.Map) {
		m.PutStr("event.name", "vendor.thing")
		m.PutStr("custom", "kept")
	})
	n.NormalizeLogs(ld)
	m := lr.Attributes()
	if get(m, aKind).Str() != schema.KindOther || get(m, aSource).Str() != schema.SourceUnknown || get(m, "custom").Str() != "kept" || get(m, aTenant).Str() != "default" {
		t.Errorf("unknown event: %v", m.AsRaw())
	}
	if ld.LogRecordCount() != 1 {
		t.Fatal("record dropped")
	}

	ld, lr = oneLog("claude-code", "claude_code.api_request", func(m pcommon.Map) {
		m.PutStr("event.name", "api_request")
		m.PutStr("model", "claude-from-the-future")
		m.PutInt("input_tokens", 10)
		m.PutInt("output_tokens", 5)
	})
	n.NormalizeLogs(ld)
	m = lr.Attributes()
	if get(m, aCostSource).Str() != schema.CostUnpriced || n.Stats.Unpriced.Load() != 1 {
		t.Errorf("unpriced: source %s counter %d", get(m, aCostSource).Str(), n.Stats.Unpriced.Load())
	}
	if _, ok := m.Get(aPricedCost); ok {
		t.Error("unpriced call has a priced cost")
	}
	// With a reported cost, the reported one is used and the call still
	// counts as unpriced.
	ld, lr = oneLog("claude-code", "", func(m pcommon.Map) {
		m.PutStr("event.name", "api_request")
		m.PutStr("model", "claude-from-the-future")
		m.PutInt("input_tokens", 10)
		m.PutDouble("cost_usd", 0.5)
	})
	n.NormalizeLogs(ld)
	m = lr.Attributes()
	if get(m, aCostSource).Str() != schema.CostReported || get(m, aCostUSD).Double() != 0.5 || n.Stats.Unpriced.Load() != 2 {
		t.Errorf("reported fallback: %s %v %d", get(m, aCostSource).Str(), get(m, aCostUSD).Double(), n.Stats.Unpriced.Load())
	}
}

func TestCostPreferenceReported(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.CostPreference = "reported"
	prices, _ := schema.DefaultPrices()
	n := NewNormalizer(cfg, prices)
	ld, lr := oneLog("claude-code", "", func(m pcommon.Map) {
		m.PutStr("event.name", "api_request")
		m.PutStr("model", "claude-sonnet-4")
		m.PutInt("input_tokens", 100)
		m.PutInt("output_tokens", 20)
		m.PutDouble("cost_usd", 0.25)
	})
	n.NormalizeLogs(ld)
	m := lr.Attributes()
	if get(m, aCostUSD).Double() != 0.25 || get(m, aCostSource).Str() != schema.CostReported || math.Abs(get(m, aPricedCost).Double()-(100*3.0+20*15.0)/1e6) > 1e-12 {
		t.Errorf("cost %v source %s priced %v", get(m, aCostUSD).Double(), get(m, aCostSource).Str(), get(m, aPricedCost).Double())
	}
}

func TestMalformedValuesNormalizedNotDropped(t *testing.T) {
	n := testNormalizer(t)
	huge := strings.Repeat("x", 1<<20)
	ld, lr := oneLog("claude-code", "", func(m pcommon.Map) {
		m.PutStr("event.name", "api_request")
		m.PutStr("model", "claude-sonnet-4")
		m.PutStr("input_tokens", "100")                 // string: parsed
		m.PutEmptyMap("output_tokens").PutStr("a", "b") // wrong type
		m.PutDouble("cache_read_tokens", -5)            // negative
		m.PutInt("cache_creation_5m_tokens", 1<<50)     // implausible
		m.PutStr("cost_usd", "NaN")
		m.PutStr("prompt", huge)
		m.PutStr("session.id", huge)
	})
	lr.SetTimestamp(0)
	n.NormalizeLogs(ld)
	m := lr.Attributes()
	if get(m, aKind).Str() != schema.KindModelCall || get(m, aInputTokens).Int() != 100 || get(m, aOutputTokens).Int() != 0 {
		t.Errorf("kind %s input %d output %d", get(m, aKind).Str(), get(m, aInputTokens).Int(), get(m, aOutputTokens).Int())
	}
	prob := get(m, AttrProblem).Str()
	for _, want := range []string{"output_tokens: wrong type Map", "cache_read_tokens: implausible", "cache_creation_5m_tokens: implausible", "cost_usd: implausible", "timestamp: missing"} {
		if !strings.Contains(prob, want) {
			t.Errorf("problem %q lacks %q", prob, want)
		}
	}
	if n.Stats.Problems.Load() != 1 {
		t.Errorf("problem counter %d", n.Stats.Problems.Load())
	}
	// A 1 MiB prompt fits max_message_bytes (4 MiB) and moves whole.
	if msgs := get(m, schema.AttrMessages).Slice(); msgs.Len() != 1 || len(get(msgs.At(0).Map(), "text").Str()) != 1<<20 {
		t.Error("1 MiB prompt not moved whole")
	}

	cfg := createDefaultConfig()
	cfg.MaxMessageBytes = 1000
	prices, _ := schema.DefaultPrices()
	n2 := NewNormalizer(cfg, prices)
	ld, lr = oneLog("", "", func(m pcommon.Map) { m.PutStr("prompt", "é"+huge) })
	n2.NormalizeLogs(ld)
	m = lr.Attributes()
	text := get(get(m, schema.AttrMessages).Slice().At(0).Map(), "text").Str()
	if len(text) > 1000 || !strings.HasPrefix(text, "é") || !strings.Contains(get(m, AttrProblem).Str(), "cut") {
		t.Errorf("cut message: %d bytes, problem %q", len(text), get(m, AttrProblem).Str())
	}
}

func TestEndpointEventsPassThrough(t *testing.T) {
	n := testNormalizer(t)
	ld, lr := oneLog(schema.EndpointServiceName, "", func(m pcommon.Map) {
		m.PutStr("event.name", schema.EndpointEventNetConnect)
		m.PutStr(aKind, schema.KindNetConnect)
		m.PutStr(aSource, schema.SourceWardenEndpoint)
		m.PutStr(aUser, "u:v1:abcd")
		m.PutStr(aDevice, "d:v1:ef01")
		m.PutStr(aDestHost(), "10.0.0.1")
		m.PutInt("warden.dest_port", 443)
		m.PutBool("warden.denied", true)
		m.PutStr(aTenant, "acme")
	})
	n.NormalizeLogs(ld)
	m := lr.Attributes()
	if get(m, aKind).Str() != schema.KindNetConnect || get(m, aUser).Str() != "u:v1:abcd" || get(m, aTenant).Str() != "acme" ||
		get(m, aEventName).Str() != schema.EndpointEventNetConnect || get(m, "warden.dest_port").Int() != 443 {
		t.Errorf("endpoint record changed: %v", m.AsRaw())
	}
	if id := get(m, aEventID); id.Type() != pcommon.ValueTypeBytes || id.Bytes().Len() != 16 {
		t.Error("no event id added")
	}
	// An endpoint event without warden.kind gets it from its name.
	ld, lr = oneLog(schema.EndpointServiceName, "", func(m pcommon.Map) { m.PutStr("event.name", schema.EndpointEventExec) })
	n.NormalizeLogs(ld)
	if k := get(lr.Attributes(), aKind).Str(); k != schema.KindExec {
		t.Errorf("kind %s", k)
	}
}

func aDestHost() string { return schema.Attr("dest_host") }

// A record that already carries an event id (e.g. normalized once, then
// retried) keeps it: normalizing twice changes nothing.
func TestIdempotent(t *testing.T) {
	n := testNormalizer(t)
	ld := benchRecord()
	n.NormalizeLogs(ld)
	first := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().AsRaw()
	n.NormalizeLogs(ld)
	second := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().AsRaw()
	if len(first) != len(second) {
		t.Fatalf("attributes %d -> %d", len(first), len(second))
	}
	for k, v := range first {
		if k == schema.AttrMessages {
			continue
		}
		if w, ok := second[k]; !ok || !equalAny(v, w) {
			t.Errorf("%s: %v -> %v", k, v, w)
		}
	}
}

func equalAny(a, b any) bool {
	ab, aok := a.([]byte)
	bb, bok := b.([]byte)
	if aok && bok {
		return string(ab) == string(bb)
	}
	return a == b || (func() bool { defer func() { recover() }(); return a == b })()
}

func TestMetricPointsAnnotated(t *testing.T) {
	n := testNormalizer(t)
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "gemini-cli")
	rm.Resource().Attributes().PutEmptySlice("process.command_args").FromRaw([]any{"gemini", "-p", "leak me"})
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("gemini_cli.token.usage")
	dp := m.SetEmptySum().DataPoints().AppendEmpty()
	dp.SetIntValue(150)
	dp.SetTimestamp(pcommon.NewTimestampFromTime(t0))
	dp.Attributes().PutStr("model", "gemini-3.8-flash")
	dp.Attributes().PutStr("installation.id", "inst-1")
	dp.Attributes().PutStr("type", "input")
	n.NormalizeMetrics(md)
	a := dp.Attributes()
	if get(a, aSource).Str() != schema.SourceGeminiCLI || get(a, aModel).Str() != "gemini-3.8-flash" || get(a, aUser).Str() != "inst-1" || get(a, aPointID).Bytes().Len() != 16 {
		t.Errorf("point: %v", a.AsRaw())
	}
	if _, ok := a.Get(aKind); ok {
		t.Error("data point got a kind")
	}
	if _, ok := rm.Resource().Attributes().Get("process.command_args"); ok {
		t.Error("argv left on the metrics resource")
	}
	if dp.IntValue() != 150 {
		t.Error("value changed")
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		mut  func(*Config)
		want string
	}{
		{func(c *Config) { c.PricesFile = "/nonexistent.yaml" }, "prices_file"},
		{func(c *Config) { c.DefaultTenant = "" }, "default_tenant"},
		{func(c *Config) { c.CostPreference = "cheapest" }, "cost_preference"},
		{func(c *Config) { c.MaxMessageBytes = 0 }, "max_message_bytes"},
	}
	for _, c := range cases {
		cfg := createDefaultConfig()
		c.mut(cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want it to name %s", err, c.want)
		}
	}
	if err := createDefaultConfig().Validate(); err != nil {
		t.Errorf("default config invalid: %v", err)
	}
}

// The factory builds working processors for all three signals.
func TestFactoryPipelines(t *testing.T) {
	f := NewFactory()
	if f.Type().String() != "genai" {
		t.Fatalf("type %s", f.Type())
	}
	set := processortest.NewNopSettings(f.Type())
	ctx := context.Background()
	logs := new(consumertest.LogsSink)
	lp, err := f.CreateLogs(ctx, set, f.CreateDefaultConfig(), logs)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.Start(ctx, componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	if err := lp.ConsumeLogs(ctx, benchRecord()); err != nil {
		t.Fatal(err)
	}
	if len(logs.AllLogs()) != 1 {
		t.Fatal("logs not forwarded")
	}
	got := logs.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes()
	if get(got, aKind).Str() != schema.KindUserPrompt {
		t.Errorf("forwarded record not normalized: %v", got.AsRaw())
	}
	_ = lp.Shutdown(ctx)
	traces := new(consumertest.TracesSink)
	tp, err := f.CreateTraces(ctx, set, f.CreateDefaultConfig(), traces)
	if err != nil {
		t.Fatal(err)
	}
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("x")
	if err := tp.ConsumeTraces(ctx, td); err != nil || traces.SpanCount() != 1 {
		t.Errorf("traces: %v, %d", err, traces.SpanCount())
	}
	metrics := new(consumertest.MetricsSink)
	mp, err := f.CreateMetrics(ctx, set, f.CreateDefaultConfig(), metrics)
	if err != nil {
		t.Fatal(err)
	}
	md := pmetric.NewMetrics()
	md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetEmptyGauge().DataPoints().AppendEmpty()
	if err := mp.ConsumeMetrics(ctx, md); err != nil || metrics.DataPointCount() != 1 {
		t.Errorf("metrics: %v, %d", err, metrics.DataPointCount())
	}
	bad := f.CreateDefaultConfig().(*Config)
	bad.PricesFile = "/nonexistent.yaml"
	if _, err := f.CreateLogs(ctx, set, bad, logs); err == nil || !strings.Contains(err.Error(), "prices_file") {
		t.Errorf("bad prices file: %v", err)
	}
}

// The gateway (and any Warden producer) sends model calls already
// canonical: tokens, cost and identity pass through untouched.
func TestCanonicalGatewayCallPassesThrough(t *testing.T) {
	n := testNormalizer(t)
	ld, lr := oneLog("warden-gateway", "", func(m pcommon.Map) {
		m.PutStr("event.name", "warden.gateway.call")
		m.PutStr(aKind, schema.KindModelCall)
		m.PutStr(aSource, schema.SourceWardenGateway)
		m.PutStr(aProvider, "anthropic")
		m.PutStr(aModel, "claude-sonnet-4")
		m.PutInt(aInputTokens, 160)
		m.PutInt(aOutputTokens, 20)
		m.PutInt(aCacheRead, 50)
		m.PutDouble(aCostUSD, 0.123)
		m.PutStr(aCostSource, schema.CostPriced)
		m.PutStr(aUser, "raw-user")
		m.PutEmptyBytes(aEventID).FromRaw(make([]byte, 16))
	})
	n.NormalizeLogs(ld)
	m := lr.Attributes()
	if get(m, aInputTokens).Int() != 160 || get(m, aOutputTokens).Int() != 20 || get(m, aCacheRead).Int() != 50 ||
		get(m, aCostUSD).Double() != 0.123 || get(m, aCostSource).Str() != schema.CostPriced || get(m, aUser).Str() != "raw-user" {
		t.Errorf("canonical record changed: %v", m.AsRaw())
	}
	if _, ok := m.Get(AttrProblem); ok {
		t.Errorf("problem on a canonical record: %s", get(m, AttrProblem).Str())
	}
	if get(m, aTenant).Str() != "default" || get(m, aAgent).Str() != "warden-gateway" {
		t.Errorf("missing facts not filled: tenant %q agent %q", get(m, aTenant).Str(), get(m, aAgent).Str())
	}
}

// Claude Code with OTEL_LOG_RAW_API_BODIES=1 logs the whole request and
// response JSON in attribute `body` of api_request_body / api_response_body
// (observed with 2.1.330).
func TestClaudeRawBodies(t *testing.T) {
	n := testNormalizer(t)
	for _, c := range []struct{ event, role, part string }{
		{"api_request_body", "user", schema.PartPrompt},
		{"api_response_body", "assistant", schema.PartResponse},
	} {
		ld, lr := oneLog("claude-code", "claude_code."+c.event, func(m pcommon.Map) {
			m.PutStr("event.name", c.event)
			m.PutStr("body", `{"model":"claude-opus-5-5","messages":[{"role":"user","content":"RAWCANARY"}]}`)
			m.PutInt("body_length", 80)
		})
		n.NormalizeLogs(ld)
		m := lr.Attributes()
		if _, ok := m.Get("body"); ok {
			t.Errorf("%s: body left in place", c.event)
		}
		msgs := get(m, schema.AttrMessages).Slice()
		if msgs.Len() != 1 || get(msgs.At(0).Map(), "role").Str() != c.role || get(msgs.At(0).Map(), "part").Str() != c.part ||
			!strings.Contains(get(msgs.At(0).Map(), "text").Str(), "RAWCANARY") {
			t.Errorf("%s: messages %v", c.event, msgs.AsRaw())
		}
		if get(m, aKind).Str() != schema.KindOther || get(m, aEventName).Str() != "claude_code."+c.event {
			t.Errorf("%s: kind %s name %s", c.event, get(m, aKind).Str(), get(m, aEventName).Str())
		}
	}
}

// Failed calls are model_error rows: provider, model and status, never
// tokens or cost.
func TestModelErrors(t *testing.T) {
	n := testNormalizer(t)
	cases := []struct {
		service, event string
		fill           func(m pcommon.Map)
		provider       string
		status         string
	}{
		{"claude-code", "api_error", func(m pcommon.Map) {
			m.PutStr("model", "claude-opus-5-5")
			m.PutStr("status_code", "529")
			m.PutStr("error", "overloaded")
		}, "anthropic", "error:529"},
		{"codex_exec", "codex.api_request", func(m pcommon.Map) {
			m.PutStr("model", "gpt-6.1-sol")
			m.PutStr("http.response.status_code", "429")
		}, "openai", "error:429"},
		{"gemini-cli", "gemini_cli.api_error", func(m pcommon.Map) {
			m.PutStr("model", "gemini-3.8-flash")
			m.PutStr("error", "quota")
		}, "gemini", "error:quota"},
	}
	for _, c := range cases {
		ld, lr := oneLog(c.service, "", func(m pcommon.Map) {
			m.PutStr("event.name", c.event)
			c.fill(m)
		})
		n.NormalizeLogs(ld)
		m := lr.Attributes()
		if get(m, aKind).Str() != schema.KindModelError || get(m, aProvider).Str() != c.provider || get(m, aStatus).Str() != c.status {
			t.Errorf("%s: kind %s provider %s status %s", c.event, get(m, aKind).Str(), get(m, aProvider).Str(), get(m, aStatus).Str())
		}
		for _, k := range []string{aInputTokens, aCostUSD, aCostSource} {
			if _, ok := m.Get(k); ok {
				t.Errorf("%s: model_error carries %s", c.event, k)
			}
		}
	}
	// A successful codex.api_request is not a call row (the sse_event is).
	ld, lr := oneLog("codex_exec", "", func(m pcommon.Map) {
		m.PutStr("event.name", "codex.api_request")
		m.PutStr("http.response.status_code", "200")
	})
	n.NormalizeLogs(ld)
	if k := get(lr.Attributes(), aKind).Str(); k != schema.KindOther {
		t.Errorf("successful codex.api_request: kind %s", k)
	}
}
