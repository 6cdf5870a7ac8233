package fieldhash

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/wardenhq/warden/collector/keyring/keyringtest"
	"github.com/wardenhq/warden/schema"
	"github.com/wardenhq/warden/vault"
)

func newLogs(t *testing.T, host component.Host, cfg *Config) (processor.Logs, *consumertest.LogsSink) {
	t.Helper()
	sink := new(consumertest.LogsSink)
	f := NewFactory()
	p, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Shutdown(context.Background()) })
	return p, sink
}

func sample(tenant string) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	ra := rl.Resource().Attributes()
	ra.PutStr("service.name", "claude-code")
	ra.PutStr("host.name", "canary-host-MBP")
	if tenant != "" {
		ra.PutStr("warden.tenant", tenant)
	}
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	a := lr.Attributes()
	a.PutStr("user.email", "Jane.Doe@Example.com")
	a.PutStr("user.id", "u-canary-7f3a")
	a.PutInt("user.account_id", 424242)
	a.PutStr("warden.user_pseudonym", "u-canary-7f3a")
	a.PutStr("warden.path_pseudonym", "/home/jane/src/secret-plan.go")
	a.PutStr("model", "claude-sonnet-4")
	lr.Body().SetEmptyMap().PutStr("x", "body-canary")
	return ld
}

func get(t *testing.T, ld plog.Logs, key string) string {
	t.Helper()
	v, ok := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().Get(key)
	if !ok {
		t.Fatalf("attribute %s missing", key)
	}
	return v.AsString()
}

func TestDefaultFieldsHashedDeterministically(t *testing.T) {
	host, _ := keyringtest.New(t)
	cfg := createDefaultConfig().(*Config)
	cfg.Fields = []Field{{Path: `body["x"]`}}
	p1, s1 := newLogs(t, host, cfg)
	p2, s2 := newLogs(t, host, cfg) // a second instance (another pipeline/collector)
	ctx := context.Background()
	if err := p1.ConsumeLogs(ctx, sample("")); err != nil {
		t.Fatal(err)
	}
	if err := p2.ConsumeLogs(ctx, sample("")); err != nil {
		t.Fatal(err)
	}
	if err := p1.ConsumeLogs(ctx, sample("other")); err != nil {
		t.Fatal(err)
	}
	a, b, o := s1.AllLogs()[0], s2.AllLogs()[0], s1.AllLogs()[1]
	for _, k := range []string{"user.email", "user.id", "user.account_id", "warden.user_pseudonym", "warden.path_pseudonym"} {
		va, vb, vo := get(t, a, k), get(t, b, k), get(t, o, k)
		if !strings.HasPrefix(va, "ps1:v1:") || va != vb {
			t.Errorf("%s: %q vs %q", k, va, vb)
		}
		if va == vo {
			t.Errorf("%s: same pseudonym for two tenants", k)
		}
	}
	if get(t, a, "user.id") != get(t, a, "warden.user_pseudonym") {
		t.Error("same raw id in two fields should give the same pseudonym (joins)")
	}
	if e := get(t, a, "user.email"); !strings.HasSuffix(e, "@example.com") {
		t.Errorf("email domain not kept: %q", e)
	}
	if p := get(t, a, "warden.path_pseudonym"); !strings.HasSuffix(p, ".go") || strings.Count(p, "/") != 4 {
		t.Errorf("path structure not kept: %q", p)
	}
	if get(t, a, "model") != "claude-sonnet-4" {
		t.Error("unconfigured attribute changed")
	}
	h, _ := a.ResourceLogs().At(0).Resource().Attributes().Get("host.name")
	if !vault.IsPseudonym(h.Str()) {
		t.Errorf("resource host.name not hashed: %q", h.Str())
	}
	bx, _ := a.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Map().Get("x")
	if !vault.IsPseudonym(bx.Str()) {
		t.Errorf("body path not hashed: %q", bx.Str())
	}
	// No raw canary survives anywhere in the output.
	raw, _ := (&plog.JSONMarshaler{}).MarshalLogs(a)
	for _, c := range []string{"canary", "jane", "Jane", "424242"} {
		if strings.Contains(string(raw), c) {
			t.Errorf("raw %q left in output: %s", c, raw)
		}
	}
}

type auth map[string]any

func (a auth) GetAttribute(k string) any { return a[k] }
func (a auth) GetAttributeNames() []string {
	var out []string
	for k := range a {
		out = append(out, k)
	}
	return out
}

func TestTenantFromAuthenticatedClient(t *testing.T) {
	host, _ := keyringtest.New(t)
	p, sink := newLogs(t, host, createDefaultConfig().(*Config))
	ctx := client.NewContext(context.Background(), client.Info{Auth: auth{"tenant": "acme"}})
	p.ConsumeLogs(ctx, sample(""))
	p.ConsumeLogs(context.Background(), sample("acme"))
	p.ConsumeLogs(context.Background(), sample(""))
	all := sink.AllLogs()
	if get(t, all[0], "user.id") != get(t, all[1], "user.id") || get(t, all[0], "user.id") == get(t, all[2], "user.id") {
		t.Fatal("tenant from auth data not used")
	}
}

func TestRotationOverlapWritesBothVersions(t *testing.T) {
	host, store := keyringtest.New(t)
	p, sink := newLogs(t, host, createDefaultConfig().(*Config))
	ctx := context.Background()
	p.ConsumeLogs(ctx, sample(""))
	before := get(t, sink.AllLogs()[0], "warden.user_pseudonym")
	if _, err := store.RotateTenant("default", time.Hour); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	p.ConsumeLogs(ctx, sample(""))
	after := sink.AllLogs()[1]
	cur, prev := get(t, after, "warden.user_pseudonym"), get(t, after, "warden.user_pseudonym_prev")
	if !strings.HasPrefix(cur, "ps1:v2:") || prev != before {
		t.Fatalf("overlap: cur %q prev %q before %q", cur, prev, before)
	}
	if e := get(t, after, "user.email_prev"); !strings.HasPrefix(e, "ps1:v1:") || !strings.HasSuffix(e, "@example.com") {
		t.Fatalf("email prev: %q", e)
	}
}

func TestTracesSpanAndEventAttributes(t *testing.T) {
	host, _ := keyringtest.New(t)
	sink := new(consumertest.TracesSink)
	f := NewFactory()
	p, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(f.Type()), createDefaultConfig(), sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.Attributes().PutStr("user.id", "u-canary")
	sp.Events().AppendEmpty().Attributes().PutStr("user.email", "x@y.io")
	if err := p.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	out := sink.AllTraces()[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	v, _ := out.Attributes().Get("user.id")
	e, _ := out.Events().At(0).Attributes().Get("user.email")
	if !vault.IsPseudonym(v.Str()) || !strings.HasSuffix(e.Str(), "@y.io") || strings.Contains(e.Str(), "x@") {
		t.Fatalf("span %q event %q", v.Str(), e.Str())
	}
}

func TestConfigValidation(t *testing.T) {
	cases := map[string]map[string]any{
		`fields[0].mode: unknown mode "hash"`:        {"fields": []any{map[string]any{"path": `attributes["a"]`, "mode": "hash"}}},
		`fields[0].path: path "attrs[\"a\"]"`:        {"fields": []any{map[string]any{"path": `attrs["a"]`}}},
		`fields[1].path: attributes["a"] is already`: {"fields": []any{map[string]any{"path": `attributes["a"]`}, map[string]any{"path": `attributes["a"]`}}},
		`fields[0].keep_domain: only for mode email`: {"fields": []any{map[string]any{"path": `attributes["a"]`, "keep_domain": true}}},
		`fields: nothing to hash`:                    {"default_fields": false},
	}
	for want, raw := range cases {
		cfg := createDefaultConfig().(*Config)
		if err := confmap.NewFromStringMap(raw).Unmarshal(cfg); err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q, got %v", want, err)
		}
	}
	cfg := createDefaultConfig().(*Config)
	err := confmap.NewFromStringMap(map[string]any{"fields": []any{map[string]any{"path": `attributes["a"]`, "keep_domian": true}}}).Unmarshal(cfg)
	if err == nil || !strings.Contains(err.Error(), "keep_domian") {
		t.Errorf("unknown field: %v", err)
	}
	if err := createDefaultConfig().(*Config).Validate(); err != nil {
		t.Errorf("default config invalid: %v", err)
	}
}

func TestStartWithoutKeyringFails(t *testing.T) {
	f := NewFactory()
	p, _ := f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), createDefaultConfig(), new(consumertest.LogsSink))
	err := p.Start(context.Background(), keyringtest.Host{})
	if err == nil || !strings.Contains(err.Error(), `extension "keyring" is not configured`) {
		t.Fatalf("got %v", err)
	}
}

// A tenant that can never have keys does not sink its request: the records
// naming it are rerouted to the invalid-tenant quarantine and pseudonymized
// there (the bad value only as a pseudonym); the request's other records
// keep their tenant and go on.
func TestInvalidTenantIsQuarantined(t *testing.T) {
	host, _ := keyringtest.New(t)
	p, sink := newLogs(t, host, createDefaultConfig().(*Config))
	if err := p.ConsumeLogs(context.Background(), sample("../../etc")); err != nil {
		t.Fatalf("a bad resource tenant refused the request: %v", err)
	}
	// One request: a record naming a bad tenant of its own beside a good one.
	ld := sample("acme")
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	lrs.At(0).CopyTo(lrs.AppendEmpty())
	lrs.At(1).Attributes().PutStr("warden.tenant", "a/b\x00")
	if err := p.ConsumeLogs(context.Background(), ld); err != nil {
		t.Fatalf("a bad record tenant refused the request: %v", err)
	}
	got := sink.AllLogs()
	if len(got) != 2 || got[1].LogRecordCount() != 2 {
		t.Fatalf("forwarded %d requests", len(got))
	}
	res := got[0].ResourceLogs().At(0).Resource().Attributes()
	if v, _ := res.Get("warden.tenant"); v.Str() != schema.InvalidTenant {
		t.Fatalf("resource tenant = %q", v.Str())
	}
	if v, _ := res.Get(schema.AttrInvalidTenant); !vault.HasPseudonymPrefix(v.Str()) {
		t.Fatalf("original tenant kept as %q, want a pseudonym", v.Str())
	}
	bad := got[1].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1).Attributes()
	good := got[1].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes()
	if v, _ := bad.Get("warden.tenant"); v.Str() != schema.InvalidTenant {
		t.Fatalf("record tenant = %q", v.Str())
	}
	if _, ok := good.Get("warden.tenant"); ok {
		t.Fatal("the good record got a tenant attribute of its own")
	}
	// Both records hashed, under different tenant keys.
	for i, a := range []pcommon.Map{got[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes(), bad, good} {
		v, _ := a.Get("user.id")
		if !vault.HasPseudonymPrefix(v.Str()) || strings.Contains(v.Str(), "canary") {
			t.Fatalf("record %d: user.id = %q", i, v.Str())
		}
	}
	bv, _ := bad.Get("user.id")
	gv, _ := good.Get("user.id")
	if bv.Str() == gv.Str() {
		t.Fatal("the quarantined record was hashed under the good tenant's key")
	}
}
