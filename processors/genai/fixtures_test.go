package genai

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/wardenhq/warden/internal/stubmodel"
	"github.com/wardenhq/warden/schema"
)

// captured is one agent's fixture: what it really exported (see
// testdata/capture.sh), decoded from the raw OTLP request bodies.
type captured struct {
	logs    []plog.Logs
	traces  []ptrace.Traces
	metrics []pmetric.Metrics
}

func loadAgent(t testing.TB, agent string) captured {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "agents", agent, "*-*.*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures for %s: %v", agent, err)
	}
	var c captured
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		js := strings.HasSuffix(f, ".json")
		dec := func(m interface {
			UnmarshalProto([]byte) error
			UnmarshalJSON([]byte) error
		}) {
			var err error
			if js {
				err = m.UnmarshalJSON(b)
			} else {
				err = m.UnmarshalProto(b)
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
		}
		switch base := filepath.Base(f); {
		case strings.HasPrefix(base, "logs-"):
			r := plogotlp.NewExportRequest()
			dec(&r)
			c.logs = append(c.logs, r.Logs())
		case strings.HasPrefix(base, "traces-"):
			r := ptraceotlp.NewExportRequest()
			dec(&r)
			c.traces = append(c.traces, r.Traces())
		case strings.HasPrefix(base, "metrics-"):
			r := pmetricotlp.NewExportRequest()
			dec(&r)
			c.metrics = append(c.metrics, r.Metrics())
		}
	}
	return c
}

func testNormalizer(t testing.TB) *Normalizer {
	t.Helper()
	prices, err := schema.DefaultPrices()
	if err != nil {
		t.Fatal(err)
	}
	return NewNormalizer(createDefaultConfig(), prices)
}

// row is the canonical view of one normalized record.
type row struct {
	attrs pcommon.Map
	res   pcommon.Map
}

func (r row) str(k string) string {
	v, ok := r.attrs.Get(k)
	if !ok {
		return ""
	}
	return v.AsString()
}

func (r row) int(k string) int64 {
	v, ok := r.attrs.Get(k)
	if !ok || v.Type() != pcommon.ValueTypeInt {
		return -1
	}
	return v.Int()
}

func (r row) dbl(k string) float64 {
	v, ok := r.attrs.Get(k)
	if !ok || v.Type() != pcommon.ValueTypeDouble {
		return math.NaN()
	}
	return v.Double()
}

func normalizeAll(n *Normalizer, c captured) (logs, spans, points []row) {
	for _, ld := range c.logs {
		n.NormalizeLogs(ld)
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			rl := ld.ResourceLogs().At(i)
			for j := 0; j < rl.ScopeLogs().Len(); j++ {
				lrs := rl.ScopeLogs().At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					logs = append(logs, row{lrs.At(k).Attributes(), rl.Resource().Attributes()})
				}
			}
		}
	}
	for _, td := range c.traces {
		n.NormalizeTraces(td)
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			rs := td.ResourceSpans().At(i)
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				ss := rs.ScopeSpans().At(j).Spans()
				for k := 0; k < ss.Len(); k++ {
					spans = append(spans, row{ss.At(k).Attributes(), rs.Resource().Attributes()})
				}
			}
		}
	}
	for _, md := range c.metrics {
		n.NormalizeMetrics(md)
		forEachPoint(md, func(attrs, res pcommon.Map) { points = append(points, row{attrs, res}) })
	}
	return
}

func forEachPoint(md pmetric.Metrics, fn func(attrs, res pcommon.Map)) {
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		rm := md.ResourceMetrics().At(i)
		for j := 0; j < rm.ScopeMetrics().Len(); j++ {
			ms := rm.ScopeMetrics().At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				switch m.Type() {
				case pmetric.MetricTypeSum:
					for x := 0; x < m.Sum().DataPoints().Len(); x++ {
						fn(m.Sum().DataPoints().At(x).Attributes(), rm.Resource().Attributes())
					}
				case pmetric.MetricTypeGauge:
					for x := 0; x < m.Gauge().DataPoints().Len(); x++ {
						fn(m.Gauge().DataPoints().At(x).Attributes(), rm.Resource().Attributes())
					}
				case pmetric.MetricTypeHistogram:
					for x := 0; x < m.Histogram().DataPoints().Len(); x++ {
						fn(m.Histogram().DataPoints().At(x).Attributes(), rm.Resource().Attributes())
					}
				}
			}
		}
	}
}

// containsText reports whether any value in m (recursively), outside
// warden.messages, contains s.
func containsText(m pcommon.Map, s string) (string, bool) {
	var hit string
	m.Range(func(k string, v pcommon.Value) bool {
		if k == schema.AttrMessages {
			return true
		}
		if strings.Contains(v.AsString(), s) {
			hit = k
			return false
		}
		return true
	})
	return hit, hit != ""
}

func messagesOf(r row) []map[string]any {
	v, ok := r.attrs.Get(schema.AttrMessages)
	if !ok {
		return nil
	}
	var out []map[string]any
	for i := 0; i < v.Slice().Len(); i++ {
		out = append(out, v.Slice().At(i).Map().AsRaw())
	}
	return out
}

type wantCall struct {
	provider, model                      string
	input, output, cacheRead, cacheWrite int64
	priced                               float64
}

func checkCalls(t *testing.T, logs, spans, points []row, want []wantCall) {
	t.Helper()
	var calls []row
	for _, r := range logs {
		if r.str(aKind) == schema.KindModelCall {
			calls = append(calls, r)
		}
	}
	if len(calls) != len(want) {
		for _, r := range logs {
			t.Logf("log %s kind=%s", r.str(aEventName), r.str(aKind))
		}
		t.Fatalf("%d model_call rows, want %d (one per call the stub answered)", len(calls), len(want))
	}
	sort.SliceStable(calls, func(i, j int) bool { return calls[i].str(aModel) < calls[j].str(aModel) })
	for i, w := range want {
		c := calls[i]
		if c.str(aProvider) != w.provider || c.str(aModel) != w.model {
			t.Errorf("call %d: provider/model %s/%s, want %s/%s", i, c.str(aProvider), c.str(aModel), w.provider, w.model)
		}
		if c.int(aInputTokens) != w.input || c.int(aOutputTokens) != w.output || c.int(aCacheRead) != w.cacheRead || c.int(aCacheWrite) != w.cacheWrite {
			t.Errorf("call %d: tokens in/out/cr/cw = %d/%d/%d/%d, want %d/%d/%d/%d", i,
				c.int(aInputTokens), c.int(aOutputTokens), c.int(aCacheRead), c.int(aCacheWrite), w.input, w.output, w.cacheRead, w.cacheWrite)
		}
		if got := c.dbl(aPricedCost); math.Abs(got-w.priced) > 1e-12 || c.str(aCostSource) != schema.CostPriced || c.dbl(aCostUSD) != got {
			t.Errorf("call %d: priced %v cost %v source %s, want priced %v", i, got, c.dbl(aCostUSD), c.str(aCostSource), w.priced)
		}
		if id, ok := c.attrs.Get(aEventID); !ok || id.Bytes().Len() != 16 {
			t.Errorf("call %d: no 16-byte event id", i)
		}
	}
	// Spans and metric points never carry token or cost columns.
	for _, r := range spans {
		if r.str(aKind) != schema.KindSpan {
			t.Errorf("span %s: kind %s", r.str(aEventName), r.str(aKind))
		}
		for _, k := range []string{aInputTokens, aCostUSD, aCostSource} {
			if _, ok := r.attrs.Get(k); ok {
				t.Errorf("span %s carries %s", r.str(aEventName), k)
			}
		}
	}
	for _, r := range points {
		if _, ok := r.attrs.Get(aKind); ok {
			t.Errorf("metric point has a kind")
		}
		if id, ok := r.attrs.Get(aPointID); !ok || id.Bytes().Len() != 16 {
			t.Errorf("metric point without point_id")
		}
		if r.str(aSource) == "" || r.str(aTenant) == "" {
			t.Errorf("metric point without source/tenant: %v", r.attrs.AsRaw())
		}
	}
	// Canonical values agree with the source attributes they come from on
	// every record (catches reading an attribute after the map changed).
	for _, r := range append(append([]row{}, logs...), spans...) {
		for src, dst := range map[string]string{"session.id": aSession, "conversation.id": aSession, "app.version": aAgentVersion, "model": aModel} {
			if v, ok := r.attrs.Get(src); ok && v.Str() != "" && r.str(dst) != v.Str() {
				t.Errorf("%s: %s = %q but %s = %q", r.str(aEventName), dst, r.str(dst), src, v.Str())
			}
		}
	}
	// Every record has a distinct event id.
	seen := map[string]bool{}
	for _, r := range append(append([]row{}, logs...), spans...) {
		v, ok := r.attrs.Get(aEventID)
		if !ok {
			t.Fatalf("record %s without event id", r.str(aEventName))
		}
		k := string(v.Bytes().AsRaw())
		if seen[k] {
			t.Errorf("duplicate event id on %s", r.str(aEventName))
		}
		seen[k] = true
	}
}

// checkNoContent asserts that the canaries (the prompt, the file content)
// appear only inside warden.messages.
func checkNoContent(t *testing.T, rows []row, canaries ...string) {
	t.Helper()
	for _, r := range rows {
		for _, c := range canaries {
			if k, ok := containsText(r.attrs, c); ok {
				t.Errorf("%s: attribute %s still holds %q", r.str(aEventName), k, c)
			}
			if k, ok := containsText(r.res, c); ok {
				t.Errorf("%s: resource attribute %s still holds %q", r.str(aEventName), k, c)
			}
		}
	}
}

func findMessage(rows []row, text string) (row, map[string]any, bool) {
	for _, r := range rows {
		for _, m := range messagesOf(r) {
			if strings.Contains(m["text"].(string), text) {
				return r, m, true
			}
		}
	}
	return row{}, nil, false
}

const (
	fixturePrompt = "Summarize notes.txt"
	fixtureFile   = "meeting notes: ship the capture script"
)

func TestClaudeCodeFixture(t *testing.T) {
	n := testNormalizer(t)
	logs, spans, points := normalizeAll(n, loadAgent(t, "claude_code"))
	u := stubmodel.DefaultUsage
	// Per call: (100 uncached * $4 + 50 cache read * $0.40 + 10 cache write
	// * $5 + 20 output * $20) per Mtok.
	priced := (float64(u.InputTokens)*4 + float64(u.CacheReadTokens)*0.4 + float64(u.CacheWriteTokens)*5 + float64(u.OutputTokens)*20) / 1e6
	w := wantCall{"anthropic", "claude-opus-5-5", u.CanonicalInput("anthropic"), u.OutputTokens, u.CacheReadTokens, u.CacheWriteTokens, priced}
	if w.input != 160 {
		t.Fatalf("stub usage changed: canonical input %d", w.input)
	}
	checkCalls(t, logs, spans, points, []wantCall{w, w})
	checkNoContent(t, append(append(logs, spans...), points...), fixturePrompt, fixtureFile)
	for _, r := range logs {
		if r.str(aKind) == schema.KindModelCall {
			if got := r.dbl(aReportedCost); math.Abs(got-0.00086) > 1e-12 {
				t.Errorf("reported cost %v, want Claude Code's 0.00086", got)
			}
			if r.str(aSession) == "" || r.str(aUser) == "" || r.str(aAgent) != "claude-code" || r.str(aAgentVersion) != "2.1.330" || r.str(aDepartment) != "eng" {
				t.Errorf("identity: session %q user %q agent %q version %q dept %q", r.str(aSession), r.str(aUser), r.str(aAgent), r.str(aAgentVersion), r.str(aDepartment))
			}
			if r.str(aRequestID) == "" || math.IsNaN(r.dbl(aLatencyMS)) {
				t.Errorf("request id %q latency %v", r.str(aRequestID), r.dbl(aLatencyMS))
			}
		}
	}
	// The prompt is one message (prompt and prompt_text are the same text).
	var up row
	for _, r := range logs {
		if r.str(aKind) == schema.KindUserPrompt {
			up = r
		}
	}
	if ms := messagesOf(up); len(ms) != 1 || ms[0]["text"] != fixturePrompt || ms[0]["role"] != "user" || ms[0]["part"] != schema.PartPrompt {
		t.Errorf("user_prompt messages = %v", ms)
	}
	if _, m, ok := findMessage(spans, fixtureFile); !ok || m["part"] != schema.PartFileContent {
		t.Errorf("tool.output file content not moved into span messages: %v", m)
	}
	if _, m, ok := findMessage(logs, "notes.txt\"}"); !ok || m["part"] != schema.PartToolInput {
		t.Errorf("tool_input not moved: %v", m)
	}
	kinds := map[string]int{}
	for _, r := range logs {
		kinds[r.str(aKind)]++
	}
	if kinds[schema.KindToolCall] != 1 || kinds[schema.KindToolDecision] != 1 || kinds[schema.KindModelResponse] != 1 || kinds[schema.KindOther] != 4 {
		t.Errorf("kinds = %v", kinds)
	}
}

func TestCodexFixture(t *testing.T) {
	n := testNormalizer(t)
	logs, spans, points := normalizeAll(n, loadAgent(t, "codex"))
	u := stubmodel.DefaultUsage
	priced := (float64(u.InputTokens)*1.5 + float64(u.CacheReadTokens)*0.15 + float64(u.OutputTokens)*12) / 1e6
	w := wantCall{"openai", "gpt-6.1-sol", u.CanonicalInput("openai"), u.OutputTokens, u.CacheReadTokens, 0, priced}
	checkCalls(t, logs, spans, points, []wantCall{w, w})
	checkNoContent(t, append(append(logs, spans...), points...), fixturePrompt, fixtureFile)
	if _, m, ok := findMessage(logs, fixtureFile); !ok || m["part"] != schema.PartToolOutput {
		t.Errorf("codex tool output not moved: %v", m)
	}
	for _, r := range logs {
		if r.str(aKind) == schema.KindModelCall && (r.str(aSession) == "" || r.str(aAgent) != "codex" || r.str(aAgentVersion) != "0.169.0") {
			t.Errorf("identity: %v", r.attrs.AsRaw())
		}
	}
}

func TestGeminiCLIFixture(t *testing.T) {
	n := testNormalizer(t)
	logs, spans, points := normalizeAll(n, loadAgent(t, "gemini_cli"))
	u := stubmodel.DefaultUsage
	lite := (float64(u.InputTokens)*0.10 + float64(u.CacheReadTokens)*0.025 + float64(u.OutputTokens)*0.40) / 1e6
	flash := (float64(u.InputTokens)*0.30 + float64(u.CacheReadTokens)*0.075 + float64(u.OutputTokens)*2.50) / 1e6
	in := u.CanonicalInput("gemini")
	checkCalls(t, logs, spans, points, []wantCall{
		{"gemini", "gemini-3.5-flash-lite", in, u.OutputTokens, u.CacheReadTokens, 0, lite},
		{"gemini", "gemini-3.8-flash", in, u.OutputTokens, u.CacheReadTokens, 0, flash},
		{"gemini", "gemini-3.8-flash", in, u.OutputTokens, u.CacheReadTokens, 0, flash},
	})
	// The prompt is in process.command_args on the resource, in request
	// texts, semconv messages and spans: all of it moves.
	checkNoContent(t, append(append(logs, spans...), points...), fixturePrompt, fixtureFile)
	for _, r := range logs {
		if _, ok := r.res.Get("process.command_args"); ok {
			t.Fatal("process.command_args left on the resource")
		}
	}
	if _, m, ok := findMessage(logs, "gemini -p"); ok || m != nil {
		// argv lands as a prompt message on the first record.
		if m["part"] != schema.PartPrompt {
			t.Errorf("argv message %v", m)
		}
	}
	for _, r := range logs {
		if r.str(aEventName) == "gen_ai.client.inference.operation.details" && r.str(aKind) == schema.KindModelCall {
			t.Error("Gemini's semconv details event counted as a second model call")
		}
		if r.str(aKind) == schema.KindModelCall && (r.str(aSession) == "" || r.str(aUser) == "" || r.str(aAgent) != "gemini-cli" || r.str(aAgentVersion) != "") {
			t.Errorf("identity: session %q user %q agent %q version %q", r.str(aSession), r.str(aUser), r.str(aAgent), r.str(aAgentVersion))
		}
	}
	// gen_ai.input.messages is split per message.
	for _, r := range logs {
		if r.str(aEventName) == "gen_ai.client.inference.operation.details" {
			ms := messagesOf(r)
			if len(ms) < 2 {
				t.Errorf("details event: %d messages", len(ms))
			}
		}
	}
}

// The same source record always gets the same event id; ids sort by time.
func TestEventIDsDeterministic(t *testing.T) {
	ids := func() [][]byte {
		n := testNormalizer(t)
		logs, spans, _ := normalizeAll(n, loadAgent(t, "claude_code"))
		var out [][]byte
		for _, r := range append(logs, spans...) {
			v, _ := r.attrs.Get(aEventID)
			out = append(out, v.Bytes().AsRaw())
		}
		return out
	}
	a, b := ids(), ids()
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("%d vs %d ids", len(a), len(b))
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("id %d differs between runs", i)
		}
		if a[i][6]>>4 != 7 || a[i][8]>>6 != 2 {
			t.Errorf("id %x is not UUIDv7-shaped", a[i])
		}
	}
}
