package lakehouseexporter

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/wardenhq/warden/schema"
)

// captureLogs stands in for the exporterhelper (whose sending queue would
// persist what it is given): it records what reaches it.
type captureLogs struct {
	component.StartFunc
	component.ShutdownFunc
	got []plog.Logs
}

func (c *captureLogs) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }
func (c *captureLogs) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	c.got = append(c.got, ld)
	return nil
}

type captureTraces struct {
	component.StartFunc
	component.ShutdownFunc
	got []ptrace.Traces
}

func (c *captureTraces) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }
func (c *captureTraces) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	c.got = append(c.got, td)
	return nil
}

func guardExporter(t *testing.T) *lakehouseExporter {
	f := NewFactory()
	e, err := newExporter(testCfg(), exportertest.NewNopSettings(f.Type()))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestGuardStripsMessagesBeforeTheQueue(t *testing.T) {
	e := guardExporter(t)
	inner := &captureLogs{}
	g := logsGuard{Logs: inner, e: e}
	if !g.Capabilities().MutatesData {
		t.Fatal("the guard mutates records and must say so")
	}
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	withText := lrs.AppendEmpty()
	withText.Attributes().PutStr("warden.kind", "user_prompt")
	withText.Attributes().PutEmptySlice(schema.AttrMessages).AppendEmpty().SetEmptyMap().PutStr("text", canary)
	plain := lrs.AppendEmpty()
	plain.Attributes().PutStr("warden.kind", "exec")

	if err := g.ConsumeLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}
	if len(inner.got) != 1 || inner.got[0].LogRecordCount() != 2 {
		t.Fatalf("records must all pass on: got %d batches", len(inner.got))
	}
	out := inner.got[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < out.Len(); i++ {
		if _, ok := out.At(i).Attributes().Get(schema.AttrMessages); ok {
			t.Fatalf("record %d still carries %s when it reaches the queue", i, schema.AttrMessages)
		}
		if k, _ := out.At(i).Attributes().Get("warden.kind"); k.Str() == "" {
			t.Fatalf("record %d lost its other attributes", i)
		}
	}
	if got := e.messagesDropped.Load(); got != 1 {
		t.Fatalf("discarded count = %d, want 1", got)
	}
}

func TestGuardStripsSpanMessages(t *testing.T) {
	e := guardExporter(t)
	inner := &captureTraces{}
	g := tracesGuard{Traces: inner, e: e}
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.Attributes().PutEmptySlice(schema.AttrMessages).AppendEmpty().SetEmptyMap().PutStr("text", canary)
	if err := g.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	got := inner.got[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	if _, ok := got.Attributes().Get(schema.AttrMessages); ok {
		t.Fatal("span still carries warden.messages when it reaches the queue")
	}
	if e.messagesDropped.Load() != 1 {
		t.Fatal("span text not counted as discarded")
	}
}

// A raw identifier left in a pseudonym column (no fieldhash in the
// pipeline) is blanked, counted and never reaches either store; keyed
// pseudonyms of every form are kept.
func TestRawIdentifiersNeverStoredAsPseudonyms(t *testing.T) {
	tn := uniqTenant("tg")
	h, s := env(t)
	exp := newLogs(t, h)
	const rawUser = "CANARY-RAW-USER-4b1e@example.com"
	const keyedUser = "ps1:v2:abcdefghijklmnopqrstuvwxyz"
	const keyedPath = "ps1:v2:/aaaa/bbbb/cccc.go"
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	raw := lrs.AppendEmpty()
	modelCall(raw, tn, 1)
	raw.Attributes().PutStr("warden.user_pseudonym", rawUser)
	raw.Attributes().PutStr("warden.device_pseudonym", "ps1:vx:not-a-version")
	keyed := lrs.AppendEmpty()
	modelCall(keyed, tn, 2)
	keyed.Attributes().PutStr("warden.user_pseudonym", keyedUser)
	keyed.Attributes().PutStr("warden.path_pseudonym", keyedPath)

	e := exp.(logsGuard).e
	before := e.rawIDsBlanked.Load()
	if err := exp.ConsumeLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}
	if got := e.rawIDsBlanked.Load() - before; got != 2 {
		t.Fatalf("blanked %d pseudonym columns, want 2", got)
	}
	if err := s.Roll(); err != nil {
		t.Fatal(err)
	}
	got := q(t, s, "SELECT user_pseudonym, device_pseudonym, path_pseudonym FROM events WHERE tenant='"+tn+"' ORDER BY event_id")
	want := "\t\t\n" + keyedUser + "\t\t" + keyedPath
	if got != strings.Trim(want, "\n") && got != want {
		t.Fatalf("pseudonym columns:\n%q\nwant\n%q", got, want)
	}
	filepath.Walk(envDir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		if b, _ := os.ReadFile(p); bytes.Contains(b, []byte("CANARY-RAW-USER")) {
			t.Errorf("raw user id found in %s", p)
		}
		return nil
	})
}

var tenantSeq atomic.Int64

// uniqTenant gives each test invocation its own tenant (modelCall copies it
// into 15-byte event ids): the package shares one store (one chDB engine per
// process), so `go test -count=N` would otherwise see earlier runs' rows.
func uniqTenant(prefix string) string {
	return fmt.Sprintf("%s%d", prefix, tenantSeq.Add(1))
}

// The well-known identity attributes (schema.IdentityAttributes) are held
// to the same rule as the pseudonym columns: raw values (a pipeline
// without fieldhash) are blanked on records, on resources kept for records
// without canonical attributes, and on metric points; keyed pseudonyms and
// other attributes are kept.
func TestRawIdentityAttributesNeverStored(t *testing.T) {
	tn := uniqTenant("ti")
	h, s := env(t)
	exp := newLogs(t, h)
	const keyed = "ps1:v2:abcdefghijklmnopqrstuvwxyz@example.com"
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("host.name", "CANARY-HOST-9c2d")
	rl.Resource().Attributes().PutStr("warden.tenant", tn)
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	rec := lrs.AppendEmpty()
	modelCall(rec, tn, 1)
	rec.Attributes().PutStr("user.email", "CANARY-jane.doe@example.com")
	rec.Attributes().PutStr("user.id", keyed)
	unknown := lrs.AppendEmpty() // no canonical attributes: its resource is kept
	unknown.SetTimestamp(rec.Timestamp())
	unknown.Attributes().PutStr("user.id", "CANARY-u-7f3a")
	e := exp.(logsGuard).e
	before := e.rawIDsBlanked.Load()
	if err := exp.ConsumeLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}
	if got := e.rawIDsBlanked.Load() - before; got != 3 {
		t.Fatalf("blanked %d identity attributes, want 3", got)
	}
	if err := s.Roll(); err != nil {
		t.Fatal(err)
	}
	got := q(t, s, "SELECT attributes['user.email'], attributes['user.id'], attributes['terminal.type'] FROM events WHERE tenant='"+tn+"' AND kind='model_call'")
	if got != "\t"+keyed+"\tvscode" {
		t.Fatalf("model_call attributes: %q", got)
	}
	got = q(t, s, "SELECT attributes['user.id'], attributes['resource.host.name'], mapContains(attributes, 'resource.host.name') FROM events WHERE tenant='"+tn+"' AND kind!='model_call'")
	if got != "\t\t1" {
		t.Fatalf("unknown record attributes: %q", got)
	}
	filepath.Walk(envDir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		if b, _ := os.ReadFile(p); bytes.Contains(b, []byte("CANARY-")) {
			t.Errorf("raw identity found in %s", p)
		}
		return nil
	})
}

// Raw identities (a pipeline without fieldhash) never reach the queue: the
// guards blank them in the pseudonym attributes and the well-known identity
// attributes of records, span events, metric points and resources before
// the exporterhelper persists the request; keyed pseudonyms pass.
func TestGuardsScrubRawIdentitiesBeforeTheQueue(t *testing.T) {
	e := guardExporter(t)
	const keyed = "ps1:v3:abcdefghijklmnopqrstuvwxyz"
	inner := &captureLogs{}
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("host.name", "CANARY-HOST")
	a := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Attributes()
	a.PutStr("warden.user_pseudonym", "CANARY-jane@example.com")
	a.PutStr("warden.device_pseudonym", keyed)
	a.PutStr("user.email", "CANARY-jane@example.com")
	a.PutInt("user.account_id", 424242)
	a.PutStr("terminal.type", "vscode")
	if err := (logsGuard{Logs: inner, e: e}).ConsumeLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}
	js, _ := (&plog.JSONMarshaler{}).MarshalLogs(inner.got[0])
	if bytes.Contains(js, []byte("CANARY")) || bytes.Contains(js, []byte("424242")) {
		t.Fatalf("raw identity reaches the queue: %s", js)
	}
	if !bytes.Contains(js, []byte(keyed)) || !bytes.Contains(js, []byte("vscode")) {
		t.Fatalf("keyed pseudonym or other attributes lost: %s", js)
	}

	tin := &captureTraces{}
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.Attributes().PutStr("user.id", "CANARY-u1")
	sp.Events().AppendEmpty().Attributes().PutStr("enduser.id", "CANARY-u2")
	if err := (tracesGuard{Traces: tin, e: e}).ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	if js, _ := (&ptrace.JSONMarshaler{}).MarshalTraces(tin.got[0]); bytes.Contains(js, []byte("CANARY")) {
		t.Fatalf("raw identity in a span reaches the queue: %s", js)
	}

	min := &captureMetrics{}
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("user.email", "CANARY-r@example.com")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetEmptySum().DataPoints().AppendEmpty().Attributes().PutStr("user.account_uuid", "CANARY-uuid")
	if err := (metricsGuard{Metrics: min, e: e}).ConsumeMetrics(context.Background(), md); err != nil {
		t.Fatal(err)
	}
	if js, _ := (&pmetric.JSONMarshaler{}).MarshalMetrics(min.got[0]); bytes.Contains(js, []byte("CANARY")) {
		t.Fatalf("raw identity in a metric reaches the queue: %s", js)
	}
	if got := e.rawIDsBlanked.Load(); got != 8 {
		t.Fatalf("blanked %d, want 8", got)
	}
}

type captureMetrics struct {
	component.StartFunc
	component.ShutdownFunc
	got []pmetric.Metrics
}

func (c *captureMetrics) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }
func (c *captureMetrics) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	c.got = append(c.got, md)
	return nil
}

// keep_raw_attributes exempts the named identity attributes (an operator's
// decision), never the pseudonym attributes.
func TestKeepRawAttributesExempts(t *testing.T) {
	f := NewFactory()
	cfg := testCfg()
	cfg.KeepRawAttributes = []string{"host.name"}
	e, err := newExporter(cfg, exportertest.NewNopSettings(f.Type()))
	if err != nil {
		t.Fatal(err)
	}
	inner := &captureLogs{}
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("host.name", "build-07")
	a := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Attributes()
	a.PutStr("user.id", "CANARY-u1")
	a.PutStr("warden.user_pseudonym", "CANARY-u1")
	if err := (logsGuard{Logs: inner, e: e}).ConsumeLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}
	js, _ := (&plog.JSONMarshaler{}).MarshalLogs(inner.got[0])
	if !bytes.Contains(js, []byte("build-07")) || bytes.Contains(js, []byte("CANARY")) {
		t.Fatalf("keep_raw_attributes not applied as configured: %s", js)
	}
}

// The raw-identifiers metric reaches the meter (flushed once per batch).
func TestRawIdentifiersMetric(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	f := NewFactory()
	set := exportertest.NewNopSettings(f.Type())
	set.TelemetrySettings.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	e, err := newExporter(testCfg(), set)
	if err != nil {
		t.Fatal(err)
	}
	ld := plog.NewLogs()
	a := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Attributes()
	a.PutStr("user.id", "u1")
	a.PutStr("user.email", "a@b.c")
	a.PutStr("warden.user_pseudonym", "u1")
	for i := 0; i < 2; i++ {
		if err := (logsGuard{Logs: &captureLogs{}, e: e}).ConsumeLogs(context.Background(), ld); err != nil {
			t.Fatal(err)
		}
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == "warden_lakehouse_raw_identifiers_blanked" {
				if got := m.Data.(metricdata.Sum[int64]).DataPoints[0].Value; got != 3 {
					t.Fatalf("metric = %d, want 3 (the second batch was already blank)", got)
				}
				return
			}
		}
	}
	t.Fatal("metric warden_lakehouse_raw_identifiers_blanked not reported")
}
