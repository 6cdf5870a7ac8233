package lakehouseexporter

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wardenhq/warden/collector/lakehousestore"
	"github.com/wardenhq/warden/internal/chdb"
	"github.com/wardenhq/warden/schema"
)

type host struct {
	component.Host
	ext map[component.ID]component.Component
}

func (h host) GetExtensions() map[component.ID]component.Component { return h.ext }

var (
	envOnce sync.Once
	envExt  extension.Extension
	envHost host
	envDir  string
	envErr  error
)

// env is the package's one store (one chDB engine per process), with codecs
// off so the canary scan reads plain bytes.
func env(t testing.TB) (host, *lakehousestore.Store) {
	lib := chdb.LibPath("")
	if !filepath.IsAbs(lib) {
		lib, _ = filepath.Abs(filepath.Join("..", "..", lib))
	}
	if _, err := os.Stat(lib); err != nil {
		if os.Getenv("WARDEN_REQUIRE_CHDB") != "" {
			t.Fatalf("libchdb.so required at %s", lib)
		}
		t.Skipf("libchdb.so not at %s (make deps-chdb)", lib)
	}
	envOnce.Do(func() {
		envDir, envErr = os.MkdirTemp("", "lakehouseexporter-test")
		if envErr != nil {
			return
		}
		f := lakehousestore.NewFactory()
		cfg := f.CreateDefaultConfig().(*lakehousestore.Config)
		cfg.DataDir = envDir
		cfg.ClickHouse.LibPath = lib
		cfg.SQL.Endpoint = ""
		cfg.NoCodecs = true
		envExt, envErr = f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
		if envErr != nil {
			return
		}
		if envErr = envExt.Start(context.Background(), nil); envErr != nil {
			return
		}
		envHost = host{ext: map[component.ID]component.Component{component.MustNewID("lakehouse"): envExt}}
	})
	if envErr != nil {
		t.Fatal(envErr)
	}
	s, err := envExt.(lakehousestore.Provider).Store()
	if err != nil {
		t.Fatal(err)
	}
	return envHost, s
}

func TestMain(m *testing.M) {
	code := m.Run()
	if envExt != nil {
		envExt.Shutdown(context.Background())
	}
	if envDir != "" {
		os.RemoveAll(envDir)
	}
	os.Exit(code)
}

func testCfg() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	return cfg
}

func newLogs(t testing.TB, h host) exporter.Logs {
	f := NewFactory()
	exp, err := f.CreateLogs(context.Background(), exportertest.NewNopSettings(f.Type()), testCfg())
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.Start(context.Background(), h); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exp.Shutdown(context.Background()) })
	return exp
}

const canary = "CANARY-PROMPT-7d1f0c2e-never-on-disk"

// q queries ClickHouse after loading what the store's WAL holds.
func q(t testing.TB, s *lakehousestore.Store, sql string) string {
	t.Helper()
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	out, err := s.Query(sql, "TSVRaw")
	if err != nil {
		// the store in this test has no read-only session: use the writer's
		out, err = storeExec(s, sql)
	}
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return strings.Trim(string(out), "\n")
}

func modelCall(lr plog.LogRecord, tenant string, i int) {
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond)))
	a := lr.Attributes()
	id := [16]byte{0xee}
	copy(id[1:], tenant)
	id[15], id[14] = byte(i), byte(i>>8)
	a.PutEmptyBytes("warden.event_id").FromRaw(id[:])
	a.PutStr("warden.tenant", tenant)
	a.PutStr("warden.kind", schema.KindModelCall)
	a.PutStr("warden.source", schema.SourceClaudeCode)
	a.PutStr("warden.model", "claude-sonnet-4-5")
	a.PutInt("warden.input_tokens", 160)
	a.PutInt("warden.output_tokens", 20)
	a.PutInt("warden.cache_read_tokens", 50)
	a.PutDouble("warden.cost_usd", 0.0125)
	a.PutEmptySlice("warden.prompt_ref").AppendEmpty().SetStr("blk1")
	a.PutEmptyMap("warden.dlp_findings").PutInt("email", 1)
	a.PutStr("terminal.type", "vscode")
}

func TestLogsLandInBothStoresOnce(t *testing.T) {
	tn := uniqTenant("tl")
	h, s := env(t)
	exp := newLogs(t, h)
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "claude-code")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for i := 0; i < 10; i++ {
		modelCall(lrs.AppendEmpty(), tn, i)
	}
	// Prompt text still present at export: discarded, counted.
	m := lrs.At(0).Attributes().PutEmptySlice(schema.AttrMessages).AppendEmpty().SetEmptyMap()
	m.PutStr("role", "user")
	m.PutStr("text", canary)
	// Sealed output moves to the side tables.
	blk := lrs.At(1).Attributes().PutEmptySlice(schema.AttrSealedBlocks).AppendEmpty().SetEmptyMap()
	blk.PutStr("block_id", "blk1")
	blk.PutStr("day", "2026-11-23")
	blk.PutStr("key_id", "k1")
	blk.PutEmptyBytes("nonce").FromRaw([]byte{1, 2, 3})
	blk.PutEmptyBytes("ciphertext").FromRaw([]byte{0, 9, 8, 7})
	blk.PutInt("length", 4)
	blk.PutInt("created_at", time.Now().UnixNano())
	key := lrs.At(1).Attributes().PutEmptySlice(schema.AttrWrappedKeys).AppendEmpty().SetEmptyMap()
	key.PutStr("day", "2026-11-23")
	key.PutStr("key_id", "k1")
	key.PutStr("kem", "MLKEM768-X25519")
	key.PutEmptyBytes("wrapped_key").FromRaw([]byte("wrapped"))
	key.PutInt("created_at", time.Now().UnixNano())
	// No canonical attributes at all (no genai in the pipeline).
	raw := lrs.AppendEmpty()
	raw.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 11, 23, 9, 0, 1, 0, time.UTC)))
	raw.Attributes().PutStr("warden.tenant", tn)
	raw.Attributes().PutStr("event.name", "something.else")
	raw.Body().SetStr("body text")
	// Wrong types and a 1 MB attribute: kept, not lost.
	bad := lrs.AppendEmpty()
	modelCall(bad, tn, 99)
	bad.Attributes().PutStr("warden.input_tokens", "many")
	bad.Attributes().PutStr("warden.denied", "yes")
	bad.Attributes().PutStr("big", strings.Repeat("x", 1<<20))

	for i := 0; i < 2; i++ { // the second push is a retry
		if err := exp.ConsumeLogs(context.Background(), ld); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Roll(); err != nil {
		t.Fatal(err)
	}
	ch := q(t, s, "SELECT count(), sum(input_tokens), round(sum(cost_usd), 6), countIf(kind='other') FROM events WHERE tenant='"+tn+"'")
	if ch != "12\t1600\t0.1375\t1" {
		t.Fatalf("clickhouse: %q", ch)
	}
	glob := filepath.Join(envDir, "lake", "events", "tenant="+tn, "*", "*.parquet")
	lk := q(t, s, "SELECT count(), sum(input_tokens), round(sum(cost_usd), 6), countIf(kind='other') FROM file('"+glob+"', Parquet)")
	if lk != ch {
		t.Fatalf("lake %q != clickhouse %q", lk, ch)
	}
	if got := q(t, s, "SELECT attributes['warden.input_tokens'], attributes['warden.denied'], length(attributes['big']) FROM events WHERE tenant='"+tn+"' AND event_id = unhex('"+idHex(tn, 99)+"')"); got != "many\tyes\t1048576" {
		t.Fatalf("wrong-typed attributes: %q", got)
	}
	if got := q(t, s, "SELECT event_name, attributes['log.body_bytes'], attributes['resource.service.name'] FROM events WHERE tenant='"+tn+"' AND kind='other'"); got != "something.else\t9\tclaude-code" {
		t.Fatalf("unknown record: %q", got)
	}
	if got := q(t, s, "SELECT count(), any(hex(ciphertext)), any(hex(nonce)) FROM prompt_blocks WHERE tenant='"+tn+"'"); got != "1\t00090807\t010203" {
		t.Fatalf("prompt_blocks: %q", got)
	}
	if got := q(t, s, "SELECT count(), any(kem) FROM prompt_keys FINAL WHERE tenant='"+tn+"'"); got != "1\tMLKEM768-X25519" {
		t.Fatalf("prompt_keys: %q", got)
	}
	if got := q(t, s, "SELECT prompt_ref, dlp_findings['email'] FROM events WHERE tenant='"+tn+"' LIMIT 1"); got != "['blk1']\t1" {
		t.Fatalf("arrays/maps: %q", got)
	}
	// The canary never reaches disk: scan every byte under the data dir.
	filepath.Walk(envDir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte(canary)) {
			t.Errorf("canary found in %s", p)
		}
		return nil
	})
}

func idHex(tenant string, i int) string {
	id := [16]byte{0xee}
	copy(id[1:], tenant)
	id[15], id[14] = byte(i), byte(i>>8)
	return hex.EncodeToString(id[:])
}

func TestMetricsAndTraces(t *testing.T) {
	tnT := uniqTenant("tt")
	tn := uniqTenant("tm")
	h, s := env(t)
	f := NewFactory()
	me, err := f.CreateMetrics(context.Background(), exportertest.NewNopSettings(f.Type()), testCfg())
	if err != nil {
		t.Fatal(err)
	}
	me.Start(context.Background(), h)
	defer me.Shutdown(context.Background())
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("warden.tenant", tn)
	mm := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	mm.SetName("claude_code.token.usage")
	mm.SetUnit("tokens")
	dp := mm.SetEmptySum().DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)))
	dp.SetIntValue(1234)
	dp.Attributes().PutStr("type", "input")
	dp.Attributes().PutStr("warden.model", "m1")
	hm := rm.ScopeMetrics().At(0).Metrics().AppendEmpty()
	hm.SetName("lat")
	hdp := hm.SetEmptyHistogram().DataPoints().AppendEmpty()
	hdp.SetTimestamp(dp.Timestamp())
	hdp.SetSum(10)
	hdp.SetCount(4)
	if err := me.ConsumeMetrics(context.Background(), md); err != nil {
		t.Fatal(err)
	}
	if got := q(t, s, "SELECT name, metric_kind, value, sum, count, model, attributes['type'] FROM metric_points WHERE tenant='"+tn+"' ORDER BY name"); got != "claude_code.token.usage\tsum\t1234\t0\t0\tm1\tinput\nlat\thistogram\t0\t10\t4\t\t" {
		t.Fatalf("metric_points: %q", got)
	}
	if got := q(t, s, "SELECT count() FROM events WHERE tenant='"+tn+"'"); got != "0" {
		t.Fatalf("metrics must not create events: %s", got)
	}
	te, err := f.CreateTraces(context.Background(), exportertest.NewNopSettings(f.Type()), testCfg())
	if err != nil {
		t.Fatal(err)
	}
	te.Start(context.Background(), h)
	defer te.Shutdown(context.Background())
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("warden.tenant", tnT)
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetName("chat claude")
	sp.SetTraceID([16]byte{1})
	sp.SetSpanID([8]byte{2})
	sp.SetStartTimestamp(dp.Timestamp())
	sp.SetEndTimestamp(dp.Timestamp() + 1500_000_000)
	sp.Attributes().PutStr("gen_ai.system", "anthropic")
	if err := te.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	if got := q(t, s, "SELECT kind, event_name, latency_ms, trace_id, attributes['gen_ai.system'] FROM events WHERE tenant='"+tnT+"'"); got != "span\tchat claude\t1500\t01000000000000000000000000000000\tanthropic" {
		t.Fatalf("span: %q", got)
	}
}

// Recycled event slices (and their attribute maps) never leak one batch's
// attributes into the next: each row stores exactly its own.
func TestRecycledRowsCarryOnlyTheirOwnAttributes(t *testing.T) {
	tn := uniqTenant("tr")
	h, s := env(t)
	exp := newLogs(t, h)
	send := func(from int, attrs map[string]string) {
		ld := plog.NewLogs()
		lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		for i := from; i < from+50; i++ {
			lr := lrs.AppendEmpty()
			modelCall(lr, tn, i)
			lr.Attributes().Remove("terminal.type")
			for k, v := range attrs {
				lr.Attributes().PutStr(k, v)
			}
		}
		if err := exp.ConsumeLogs(context.Background(), ld); err != nil {
			t.Fatal(err)
		}
	}
	send(0, map[string]string{"first.a": "1", "first.b": "2"})
	send(100, map[string]string{"second": "x"})
	send(200, nil)
	got := q(t, s, "SELECT intDiv(reinterpretAsUInt16(reverse(substring(event_id, 15, 2))), 100) AS batch, arraySort(mapKeys(attributes)) AS keys, count() FROM events WHERE tenant='"+tn+"' GROUP BY batch, keys ORDER BY batch")
	want := "0\t['first.a','first.b']\t50\n1\t['second']\t50\n2\t[]\t50"
	if got != want {
		t.Fatalf("attributes per batch:\n%s\nwant\n%s", got, want)
	}
}
