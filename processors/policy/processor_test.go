package policy

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wardenhq/warden/dlp"
	"github.com/wardenhq/warden/policy"
	"github.com/wardenhq/warden/processors/policy/internal/metadata"
	"github.com/wardenhq/warden/schema"
)

// Canaries: realistic values the dlp library must find. They must never
// leave a redacted record, and never appear in logs.
const (
	canarySSN  = "536-22-8145"
	promptText = "Please file the claim for Jane, her SSN is " + canarySSN + ", thanks."
)

type harness struct {
	t      *testing.T
	sink   *consumertest.LogsSink
	tsink  *consumertest.TracesSink
	logs   *observer.ObservedLogs
	reader *sdkmetric.ManualReader
	lp     processor.Logs
	tp     processor.Traces
}

func settings(t *testing.T) (processor.Settings, *observer.ObservedLogs, *sdkmetric.ManualReader) {
	set := processortest.NewNopSettings(metadata.Type)
	core, logs := observer.New(zap.DebugLevel)
	set.Logger = zap.New(core)
	reader := sdkmetric.NewManualReader()
	set.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	return set, logs, reader
}

func newHarness(t *testing.T, mutate func(*Config)) *harness {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.ReloadInterval = 0
	if mutate != nil {
		mutate(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	set, logs, reader := settings(t)
	h := &harness{t: t, sink: new(consumertest.LogsSink), tsink: new(consumertest.TracesSink), logs: logs, reader: reader}
	f := NewFactory()
	var err error
	h.lp, err = f.CreateLogs(context.Background(), set, cfg, h.sink)
	if err != nil {
		t.Fatal(err)
	}
	h.tp, err = f.CreateTraces(context.Background(), set, cfg, h.tsink)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []component.Component{h.lp, h.tp} {
		if err := c.Start(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Shutdown(context.Background()) })
	}
	return h
}

type rec struct {
	class    string // data.classification; "" leaves it off
	dept     string
	kind     string
	text     string // one user prompt message; "" none
	findings map[string]int64
}

func addRecord(sl plog.LogRecordSlice, r rec) {
	lr := sl.AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	a := lr.Attributes()
	kind := r.kind
	if kind == "" {
		kind = schema.KindModelCall
	}
	a.PutStr(schema.Attr("kind"), kind)
	a.PutStr(schema.Attr("source"), schema.SourceClaudeCode)
	a.PutStr(schema.Attr("provider"), "anthropic")
	a.PutStr(schema.Attr("model"), "claude-opus-5-5")
	a.PutStr(schema.Attr("user_pseudonym"), "ps1:v1:abc")
	if r.dept != "" {
		a.PutStr(schema.Attr("department"), r.dept)
	}
	if r.class != "" {
		a.PutStr("data.classification", r.class)
	}
	if r.text != "" {
		m := a.PutEmptySlice(schema.AttrMessages).AppendEmpty().SetEmptyMap()
		m.PutStr("role", "user")
		m.PutStr("part", schema.PartPrompt)
		m.PutStr("text", r.text)
	}
	if r.findings != nil {
		fm := a.PutEmptyMap(schema.Attr("dlp_findings"))
		for k, v := range r.findings {
			fm.PutInt(k, v)
		}
	}
}

func logsOf(rs ...rec) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "claude-code")
	sl := rl.ScopeLogs().AppendEmpty().LogRecords()
	for _, r := range rs {
		addRecord(sl, r)
	}
	return ld
}

func (h *harness) run(rs ...rec) []pcommon.Map {
	h.t.Helper()
	if err := h.lp.ConsumeLogs(context.Background(), logsOf(rs...)); err != nil {
		h.t.Fatalf("ConsumeLogs: %v", err)
	}
	all := h.sink.AllLogs()
	var out []pcommon.Map
	if len(all) == 0 {
		return nil
	}
	ld := all[len(all)-1]
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				out = append(out, lrs.At(k).Attributes())
			}
		}
	}
	return out
}

func s(m pcommon.Map, k string) string {
	v, _ := m.Get(k)
	return v.AsString()
}

func ruleIDs(m pcommon.Map) []string {
	v, ok := m.Get(schema.Attr("rule_ids"))
	if !ok {
		return nil
	}
	var out []string
	for i := 0; i < v.Slice().Len(); i++ {
		out = append(out, v.Slice().At(i).Str())
	}
	return out
}

func messageText(m pcommon.Map) string {
	v, ok := m.Get(schema.AttrMessages)
	if !ok {
		return ""
	}
	t, _ := v.Slice().At(0).Map().Get("text")
	return t.Str()
}

func findingCount(m pcommon.Map, typ string) int64 {
	v, ok := m.Get(schema.Attr("dlp_findings"))
	if !ok {
		return 0
	}
	c, _ := v.Map().Get(typ)
	return c.Int()
}

func defaultRevision(t *testing.T) string {
	raw, err := os.ReadFile("../../policy/bundle/.manifest")
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Revision string }
	json.Unmarshal(raw, &m)
	return m.Revision
}

func (h *harness) assertNoCanaryInLogs() {
	h.t.Helper()
	for _, e := range h.logs.All() {
		line := e.Message
		for k, v := range e.ContextMap() {
			line += " " + k + "=" + strings.ReplaceAll(jsonString(v), "\n", " ")
		}
		if strings.Contains(line, canarySSN) {
			h.t.Fatalf("canary in a log line: %s", line)
		}
	}
}

func jsonString(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestSSNUnderHighClassificationIsReviewed(t *testing.T) {
	h := newHarness(t, nil)
	out := h.run(rec{class: "HIGH", text: promptText})
	if len(out) != 1 {
		t.Fatalf("want the record kept, got %d", len(out))
	}
	a := out[0]
	if s(a, "warden.decision") != "review" || !slices.Contains(ruleIDs(a), "warden.dlp.pii_high_classification") {
		t.Fatalf("decision %q rules %v", s(a, "warden.decision"), ruleIDs(a))
	}
	if s(a, "warden.policy_revision") != defaultRevision(t) || s(a, "warden.decision_id") == "" {
		t.Fatalf("revision %q id %q", s(a, "warden.policy_revision"), s(a, "warden.decision_id"))
	}
	if findingCount(a, "us_ssn") != 1 {
		t.Fatalf("dlp_findings: %s", s(a, "warden.dlp_findings"))
	}
	if v, _ := a.Get(AttrAlert); !v.Bool() {
		t.Fatal("a review must be flagged")
	}
	// Review keeps the content for promptcrypt to seal; nothing redacted.
	if messageText(a) != promptText {
		t.Fatalf("review must not alter content: %q", messageText(a))
	}
	if !strings.Contains(s(a, AttrReasons), "us_ssn") || strings.Contains(s(a, AttrReasons), canarySSN) {
		t.Fatalf("reasons: %q", s(a, AttrReasons))
	}
	h.assertNoCanaryInLogs()
}

func TestSSNUnderLowClassificationIsRedacted(t *testing.T) {
	h := newHarness(t, nil)
	out := h.run(rec{class: "LOW", text: promptText})
	if len(out) != 1 {
		t.Fatalf("got %d records", len(out))
	}
	a := out[0]
	if s(a, "warden.decision") != "redact" || !slices.Equal(ruleIDs(a), []string{"warden.dlp.pii_redact"}) {
		t.Fatalf("decision %q rules %v", s(a, "warden.decision"), ruleIDs(a))
	}
	txt := messageText(a)
	if strings.Contains(txt, canarySSN) || !strings.Contains(txt, dlp.Placeholder("us_ssn", 1)) || !strings.HasPrefix(txt, "Please file the claim for Jane, her SSN is ") {
		t.Fatalf("redacted text: %q", txt)
	}
	if findingCount(a, "us_ssn") != 1 {
		t.Fatalf("findings not recorded: %s", s(a, "warden.dlp_findings"))
	}
	if v, _ := a.Get("warden.redaction_count"); v.Int() != 1 {
		t.Fatalf("redaction_count %v", v.AsString())
	}
	// The whole record, as bytes, carries no canary.
	b, err := (&plog.ProtoMarshaler{}).MarshalLogs(h.sink.AllLogs()[0])
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), canarySSN) {
		t.Fatal("canary survived redaction in the record bytes")
	}
	h.assertNoCanaryInLogs()
}

func TestDepartmentDefaultClassification(t *testing.T) {
	h := newHarness(t, nil)
	out := h.run(rec{dept: "finance", text: promptText}, rec{dept: "engineering", text: promptText})
	if s(out[0], "warden.decision") != "review" || s(out[1], "warden.decision") != "redact" {
		t.Fatalf("finance %q engineering %q", s(out[0], "warden.decision"), s(out[1], "warden.decision"))
	}
}

func TestCleanRecordAllowed(t *testing.T) {
	h := newHarness(t, nil)
	out := h.run(rec{class: "HIGH", text: "refactor the parser please"})
	a := out[0]
	if s(a, "warden.decision") != "allow" || len(ruleIDs(a)) != 0 || s(a, "warden.policy_revision") == "" {
		t.Fatalf("decision %q rules %v", s(a, "warden.decision"), ruleIDs(a))
	}
	if _, ok := a.Get("warden.dlp_findings"); ok {
		t.Fatal("no findings, no dlp_findings map")
	}
}

// Records sealed at the edge carry the gateway's findings instead of text.
func TestRecordedFindingsUsed(t *testing.T) {
	h := newHarness(t, nil)
	out := h.run(rec{class: "HIGH", findings: map[string]int64{"credit_card": 2}})
	a := out[0]
	if s(a, "warden.decision") != "review" || !slices.Contains(ruleIDs(a), "warden.dlp.pii_high_classification") || findingCount(a, "credit_card") != 2 {
		t.Fatalf("decision %q rules %v findings %s", s(a, "warden.decision"), ruleIDs(a), s(a, "warden.dlp_findings"))
	}
}

// bundleDir copies the default bundle and edits its config and revision.
func bundleDir(t *testing.T, rev string, cfg map[string]any) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, policy.DefaultBundle()); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "warden/config/data.json")
	raw, _ := os.ReadFile(p)
	var m map[string]any
	json.Unmarshal(raw, &m)
	for k, v := range cfg {
		m[k] = v
	}
	raw, _ = json.Marshal(m)
	os.WriteFile(p, raw, 0o644)
	os.WriteFile(filepath.Join(dir, ".manifest"), []byte(`{"revision":"`+rev+`","roots":["warden"]}`), 0o644)
	return dir
}

func TestDropRemovesRecord(t *testing.T) {
	dir := bundleDir(t, "drop-r1", map[string]any{"collector_block_action": "drop"})
	h := newHarness(t, func(c *Config) { c.Bundle = dir })
	out := h.run(rec{class: "HIGH", text: promptText}, rec{class: "LOW", text: "hello"})
	if len(out) != 1 || s(out[0], "warden.decision") != "allow" {
		t.Fatalf("want only the clean record, got %d", len(out))
	}
	if got := sumCounter(t, h.reader, "warden_policy_dropped"); got != 1 {
		t.Fatalf("dropped counter %d", got)
	}
	found := false
	for _, e := range h.logs.FilterMessage("record dropped by policy").All() {
		found = e.ContextMap()["policy_revision"] == "drop-r1"
	}
	if !found {
		t.Fatal("a drop must be logged with its revision")
	}
	// Everything dropped: the batch is skipped, nothing reaches the sink.
	before := len(h.sink.AllLogs())
	if err := h.lp.ConsumeLogs(context.Background(), logsOf(rec{class: "HIGH", text: promptText})); err != nil {
		t.Fatal(err)
	}
	if len(h.sink.AllLogs()) != before {
		t.Fatal("an all-dropped batch must not be forwarded")
	}
}

func TestDropStripContentKeepsRow(t *testing.T) {
	dir := bundleDir(t, "drop-r2", map[string]any{"collector_block_action": "drop"})
	h := newHarness(t, func(c *Config) { c.Bundle = dir; c.OnDrop = OnDropStrip })
	out := h.run(rec{class: "HIGH", text: promptText})
	if len(out) != 1 || s(out[0], "warden.decision") != "drop" || s(out[0], "warden.policy_revision") != "drop-r2" {
		t.Fatalf("got %d records", len(out))
	}
	if _, ok := out[0].Get(schema.AttrMessages); ok {
		t.Fatal("strip_content must remove the messages")
	}
	if !slices.Contains(ruleIDs(out[0]), "warden.dlp.pii_high_classification") || findingCount(out[0], "us_ssn") != 1 {
		t.Fatalf("rules %v", ruleIDs(out[0]))
	}
}

func TestShadowDecisionsRecorded(t *testing.T) {
	dir := bundleDir(t, "candidate-7", map[string]any{"collector_block_action": "drop"})
	h := newHarness(t, func(c *Config) { c.ShadowBundle = dir })
	out := h.run(rec{class: "HIGH", text: promptText}, rec{class: "LOW", text: promptText})
	if len(out) != 2 {
		t.Fatalf("shadow must never enforce: %d records", len(out))
	}
	hi, lo := out[0], out[1]
	if s(hi, "warden.decision") != "review" || s(hi, AttrShadowDecision) != "drop" || s(hi, AttrShadowRevision) != "candidate-7" ||
		!strings.Contains(s(hi, AttrShadowRuleIDs), "warden.dlp.pii_high_classification") {
		t.Fatalf("HIGH: active %q shadow %q (%s, %s)", s(hi, "warden.decision"), s(hi, AttrShadowDecision), s(hi, AttrShadowRevision), s(hi, AttrShadowRuleIDs))
	}
	if s(lo, "warden.decision") != "redact" || s(lo, AttrShadowDecision) != "redact" {
		t.Fatalf("LOW: active %q shadow %q", s(lo, "warden.decision"), s(lo, AttrShadowDecision))
	}
}

func TestBrokenBundleKeepsPreviousAndLogs(t *testing.T) {
	dir := bundleDir(t, "good-1", nil)
	h := newHarness(t, func(c *Config) { c.Bundle = dir; c.ReloadInterval = 20 * time.Millisecond })
	if err := os.WriteFile(filepath.Join(dir, "warden/main.rego"), []byte("package warden.main\n\ndecision := {{{\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, ".manifest"), []byte(`{"revision":"bad-2","roots":["warden"]}`), 0o644)
	future := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(dir, "warden/main.rego"), future, future)
	deadline := time.Now().Add(10 * time.Second)
	for h.logs.FilterMessage("policy bundle rejected; previous bundle stays active").Len() < 2 { // logs and traces engines
		if time.Now().After(deadline) {
			t.Fatalf("no rejection logged; logs: %v", h.logs.All())
		}
		time.Sleep(10 * time.Millisecond)
	}
	e := h.logs.FilterMessage("policy bundle rejected; previous bundle stays active").All()[0]
	if e.ContextMap()["active_revision"] != "good-1" || !strings.Contains(jsonString(e.ContextMap()["error"]), "rego_parse_error") {
		t.Fatalf("log does not say why: %v", e.ContextMap())
	}
	out := h.run(rec{class: "LOW", text: promptText})
	if s(out[0], "warden.policy_revision") != "good-1" || s(out[0], "warden.decision") != "redact" {
		t.Fatalf("previous bundle must still decide: %q %q", s(out[0], "warden.policy_revision"), s(out[0], "warden.decision"))
	}
}

const errorBundle = `package warden.main
import rego.v1
decision := {"decision": "allow"} if input.event.kind != "boom"
decision := {"decision": "allow"} if not input.event.kind
decision := {"decision": "allow"} if input.event.kind == "boom"
decision := {"decision": "block", "rule_ids": ["x"]} if input.event.kind == "boom"
`

func TestEvaluationFailureKeptAndAlerted(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "p.rego"), []byte(errorBundle), 0o644)
	h := newHarness(t, func(c *Config) { c.Bundle = dir })
	out := h.run(rec{kind: "boom", class: "LOW", text: promptText}, rec{class: "LOW", text: "fine"})
	if len(out) != 2 {
		t.Fatalf("a failed evaluation must keep the record: %d", len(out))
	}
	a := out[0]
	if s(a, "warden.decision") != "error" || s(a, "warden.decision_id") == "" || s(a, "warden.policy_revision") == "" {
		t.Fatalf("decision %q", s(a, "warden.decision"))
	}
	if v, _ := a.Get(AttrAlert); !v.Bool() || !strings.Contains(s(a, AttrError), "conflict") {
		t.Fatalf("alert %v error %q", v.AsString(), s(a, AttrError))
	}
	if s(out[1], "warden.decision") != "allow" {
		t.Fatalf("second record: %q", s(out[1], "warden.decision"))
	}
	if got := sumCounter(t, h.reader, "warden_policy_errors"); got != 1 {
		t.Fatalf("errors metric %d", got)
	}
	if h.logs.FilterMessage("policy evaluation failed; record kept with decision=error").Len() != 1 {
		t.Fatal("failure not logged")
	}
	h.assertNoCanaryInLogs()
}

func TestTracesJudged(t *testing.T) {
	h := newHarness(t, nil)
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetName("llm_call")
	a := sp.Attributes()
	a.PutStr(schema.Attr("kind"), schema.KindModelCall)
	a.PutStr(schema.Attr("model"), "mystery-llm-9")
	a.PutStr("data.classification", "LOW")
	m := a.PutEmptySlice(schema.AttrMessages).AppendEmpty().SetEmptyMap()
	m.PutStr("role", "assistant")
	m.PutStr("part", schema.PartResponse)
	m.PutStr("text", "the card is 4111 1111 1111 1111 ok")
	if err := h.tp.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	got := h.tsink.AllTraces()[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()
	ids := ruleIDs(got)
	if s(got, "warden.decision") != "review" || !slices.Contains(ids, "warden.model.not_approved") || !slices.Contains(ids, "warden.dlp.pii_redact") {
		t.Fatalf("decision %q rules %v", s(got, "warden.decision"), ids)
	}
	// Review with a redact rule: the card is redacted too.
	if strings.Contains(messageText(got), "4111 1111 1111 1111") || findingCount(got, "credit_card") != 1 {
		t.Fatalf("text %q findings %s", messageText(got), s(got, "warden.dlp_findings"))
	}
}

func TestCacheHitRateMetric(t *testing.T) {
	h := newHarness(t, nil)
	var rs []rec
	for i := 0; i < 10; i++ {
		rs = append(rs, rec{class: "LOW", text: strings.Repeat("x", i) + promptText})
	}
	h.run(rs...)
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	ratio := -1.0
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "warden_policy_cache_hit_ratio" {
				continue
			}
			for _, dp := range m.Data.(metricdata.Gauge[float64]).DataPoints {
				// logs and traces processors each have an engine; the logs
				// one saw 10 records with one distinct decision input.
				if dp.Value > ratio {
					ratio = dp.Value
				}
			}
		}
	}
	if ratio != 0.9 {
		t.Fatalf("hit ratio %v, want 0.9 (1 miss, 9 hits)", ratio)
	}
}

func sumCounter(t *testing.T, r *sdkmetric.ManualReader, name string) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				n += dp.Value
			}
		}
	}
	return n
}
