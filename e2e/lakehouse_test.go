package e2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
)

func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: skipped with -short")
	}
}

var (
	sharedOnce sync.Once
	shared     *Collector
	sharedErr  error
)

// sharedCollector is one collector for the tests that only add data under
// their own tenant.
func sharedCollector(t *testing.T) *Collector {
	sharedOnce.Do(func() {
		shared = NewCollector(&keepAlive{t}, ConfigFile(t, "1s"))
		sharedErr = shared.Start()
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

// keepAlive lets the shared collector outlive the first test that starts
// it (it is killed in TestMain).
type keepAlive struct{ testing.TB }

func (k *keepAlive) Cleanup(func()) {}
func (k *keepAlive) TempDir() string {
	d, err := os.MkdirTemp("", "warden-e2e")
	if err != nil {
		k.TB.Fatal(err)
	}
	sharedDirs = append(sharedDirs, d)
	return d
}

var sharedDirs []string

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Kill()
	}
	for _, d := range sharedDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

func res(tenant, service string) *resource.Resource {
	return resource.NewSchemaless(attribute.String("service.name", service), attribute.String("warden.tenant", tenant))
}

func emit(l otellog.Logger, ts time.Time, body string, kv ...attribute.KeyValue) {
	var r otellog.Record
	r.SetTimestamp(ts)
	r.SetBody(attribute.StringValue(body))
	r.AddAttributes(kv...)
	l.Emit(context.Background(), r)
}

// TestAllShapesOnceInBothStores: Claude Code-, Codex-, Gemini CLI- and
// semconv-shaped records through the real SDK exporters land exactly once in
// ClickHouse and the lake, with identical counts and sums.
func TestAllShapesOnceInBothStores(t *testing.T) {
	skipShort(t)
	c := sharedCollector(t)
	tenant := "shapes"
	ctx := context.Background()
	base := time.Now().UTC().Truncate(time.Second)
	sent := 0
	for _, svc := range []string{"claude-code", "codex_exec", "gemini-cli", "semconv-app"} {
		exp, err := otlploghttp.New(ctx, otlploghttp.WithEndpoint(c.HTTP), otlploghttp.WithInsecure())
		if err != nil {
			t.Fatal(err)
		}
		lp := sdklog.NewLoggerProvider(sdklog.WithResource(res(tenant, svc)), sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
		l := lp.Logger("e2e")
		for i := 0; i < 25; i++ {
			ts := base.Add(time.Duration(sent) * time.Millisecond)
			sid := attribute.String("session.id", fmt.Sprintf("s-%s-%d", svc, i%3))
			switch svc {
			case "claude-code":
				emit(l, ts, "claude_code.api_request", attribute.String("event.name", "api_request"), sid,
					attribute.String("model", "claude-sonnet-4-5"), attribute.Int("input_tokens", 100+i), attribute.Int("output_tokens", 10),
					attribute.Int("cache_read_tokens", 50), attribute.Int("cache_creation_tokens", 10), attribute.Float64("cost_usd", 0.01),
					attribute.Int("duration_ms", 900), attribute.String("user.id", "u1"), attribute.Int("event.sequence", i))
			case "codex_exec":
				emit(l, ts, "", attribute.String("event.name", "codex.sse_event"), attribute.String("event.kind", "response.completed"),
					attribute.String("conversation.id", "c1"), attribute.String("model", "gpt-5-codex"), attribute.Int("input_token_count", 200+i),
					attribute.Int("output_token_count", 20), attribute.Int("cached_token_count", 100), attribute.Int("seq", i))
			case "gemini-cli":
				emit(l, ts, "API response", attribute.String("event.name", "gemini_cli.api_response"), sid,
					attribute.String("model", "gemini-2.5-pro"), attribute.Int("input_token_count", 300+i), attribute.Int("output_token_count", 30),
					attribute.Int("cached_content_token_count", 10), attribute.Int("duration_ms", 700), attribute.Int("seq", i))
			default:
				emit(l, ts, "", attribute.String("event.name", "gen_ai.client.inference.operation.details"),
					attribute.String("gen_ai.provider.name", "openai"), attribute.String("gen_ai.request.model", "gpt-4o"),
					attribute.Int("gen_ai.usage.input_tokens", 400+i), attribute.Int("gen_ai.usage.output_tokens", 40), attribute.Int("seq", i))
			}
			sent++
		}
		if err := lp.Shutdown(ctx); err != nil {
			t.Fatalf("%s: %v", svc, err)
		}
	}
	mexp, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpoint(c.HTTP), otlpmetrichttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res(tenant, "claude-code")), sdkmetric.WithReader(reader))
	ctr, _ := mp.Meter("com.anthropic.claude_code").Int64Counter("claude_code.token.usage", metric.WithUnit("tokens"))
	ctr.Add(ctx, 100, metric.WithAttributes(attribute.String("type", "input"), attribute.String("model", "claude-sonnet-4-5")))
	ctr.Add(ctx, 10, metric.WithAttributes(attribute.String("type", "output"), attribute.String("model", "claude-sonnet-4-5")))
	var rm sdkmetricdata
	if err := reader.Collect(ctx, &rm.rm); err != nil {
		t.Fatal(err)
	}
	if err := mexp.Export(ctx, &rm.rm); err != nil {
		t.Fatal(err)
	}

	q := fmt.Sprintf("SELECT count(), uniqExact(event_id), sum(input_tokens), sum(output_tokens), round(sum(cost_usd), 9) FROM events WHERE tenant = '%s'", tenant)
	var ch string
	WaitFor(t, 60*time.Second, "events in ClickHouse", func() (bool, string) {
		ch, _ = c.SQL(q)
		return strings.HasPrefix(ch, fmt.Sprintf("%d\t%d\t", sent, sent)), ch
	})
	WaitFor(t, 30*time.Second, "metric points", func() (bool, string) {
		out, _ := c.SQL("SELECT count() FROM metric_points WHERE tenant = 'shapes' AND name = 'claude_code.token.usage'")
		return out == "2", out
	})
	var lake string
	WaitFor(t, 30*time.Second, "lake equal to ClickHouse", func() (bool, string) {
		evs, err := c.LakeEvents()
		if err != nil {
			return false, err.Error()
		}
		var n int
		var in, out uint64
		var cost float64
		ids := map[[16]byte]bool{}
		for _, e := range evs {
			if e.Tenant != tenant {
				continue
			}
			n++
			ids[e.EventID] = true
			in += e.InputTokens
			out += e.OutputTokens
			cost += e.CostUSD
		}
		lake = fmt.Sprintf("%d\t%d\t%d\t%d\t%s", n, len(ids), in, out, strconv.FormatFloat(round9(cost), 'f', -1, 64))
		return lake == ch, lake
	})
	t.Logf("both stores: %s", ch)
	// The record kinds genai produced, for the report.
	t.Logf("kinds: %s", strings.ReplaceAll(c.MustSQL("SELECT source, kind, count() FROM events WHERE tenant='shapes' GROUP BY source, kind ORDER BY source, kind"), "\n", "; "))
}

func round9(f float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', 9, 64), 64)
	return v
}

// injection: blank lines, quotes, backslashes, NUL bytes, invalid UTF-8 and
// SQL text.
const injection = "x'); DROP TABLE events; --\n\n\nINSERT INTO events (tenant) VALUES ('pwned');\n\n\\' \" \\\\ \x00 nul \xff\xfe\xc3\x28 end\n\n"

// TestInjectionRecordByteForByte posts a raw OTLP/HTTP protobuf request
// (the SDK refuses invalid UTF-8; the collector's receiver does not) and
// reads the payload back from both stores.
func TestInjectionRecordByteForByte(t *testing.T) {
	skipShort(t)
	c := sharedCollector(t)
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("warden.tenant", "inject")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	lr.Attributes().PutStr("payload", injection)
	lr.Attributes().PutStr(injection, "as-key")
	if st := c.PostLogs(t, ld); st != 200 {
		t.Fatalf("OTLP status %d", st)
	}
	want := strings.ToUpper(hex.EncodeToString([]byte(injection)))
	WaitFor(t, 30*time.Second, "injection row in ClickHouse", func() (bool, string) {
		out, _ := c.SQL("SELECT hex(attributes['payload']), countIf(mapContains(attributes, unhex('" + want + "'))) FROM events WHERE tenant = 'inject' GROUP BY 1")
		return out == want+"\t1", out
	})
	if out := c.MustSQL("SELECT count() FROM events WHERE tenant = 'pwned'"); out != "0" {
		t.Fatalf("injected SQL ran: %s", out)
	}
	if out := c.MustSQL("SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'events'"); out != "1" {
		t.Fatalf("events table gone: %s", out)
	}
	WaitFor(t, 30*time.Second, "injection row in the lake", func() (bool, string) {
		evs, err := c.LakeEvents()
		if err != nil {
			return false, err.Error()
		}
		for _, e := range evs {
			if e.Tenant == "inject" {
				return e.Attributes["payload"] == injection && e.Attributes[injection] == "as-key", fmt.Sprintf("%q", e.Attributes["payload"])
			}
		}
		return false, "not yet"
	})
}

// TestBadInputKeepsRunning: garbage protobuf gets a clear OTLP error; wrong
// types, 1 MB attributes and missing fields are stored, not lost; the
// collector keeps running throughout.
func TestBadInputKeepsRunning(t *testing.T) {
	skipShort(t)
	c := sharedCollector(t)
	resp, err := http.Post("http://"+c.HTTP+"/v1/logs", "application/x-protobuf", strings.NewReader("\xff\xff\xff garbage, not protobuf"))
	if err != nil {
		t.Fatal(err)
	}
	msg := new(bytes.Buffer)
	msg.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(strings.ToLower(msg.String()), "proto") {
		t.Fatalf("garbage protobuf: %d %q", resp.StatusCode, msg.String())
	}
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("warden.tenant", "bad")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	a := lrs.AppendEmpty() // wrong types for canonical attributes
	a.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	a.Attributes().PutStr("warden.kind", "model_call")
	a.Attributes().PutStr("warden.input_tokens", "lots")
	a.Attributes().PutInt("warden.model", 42)
	a.Attributes().PutStr("input_tokens", "NaN")
	b := lrs.AppendEmpty() // a 1 MB attribute
	b.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	b.Attributes().PutStr("big", strings.Repeat("y", 1<<20))
	lrs.AppendEmpty() // no timestamp, no body, no attributes
	if st := c.PostLogs(t, ld); st != 200 {
		t.Fatalf("status %d", st)
	}
	WaitFor(t, 30*time.Second, "bad records stored", func() (bool, string) {
		out, _ := c.SQL("SELECT count(), max(length(attributes['big'])) FROM events WHERE tenant = 'bad'")
		return out == "3\t1048576", out
	})
	if exited, err := c.Exited(0); exited {
		t.Fatalf("collector exited: %v\n%s", err, c.Log())
	}
}

// TestMissingOrMismatchedChDB: a clear error naming the problem in the
// log, the collector keeps running and accepting OTLP (into the WAL), and
// once the library is fixed and the collector restarted the accepted
// records land: nothing accepted is lost.
func TestMissingOrMismatchedChDB(t *testing.T) {
	skipShort(t)
	good := ChDBLib(t)
	for i, tc := range []struct{ lib, want string }{
		{"/nonexistent/libchdb.so", "not found (run `make deps-chdb`"},
		{"/lib/x86_64-linux-gnu/libc.so.6", "lacks symbol chdb_connect"},
	} {
		c := NewCollector(t, ConfigFile(t, "1s"))
		c.Env = append(c.Env, "WARDEN_CHDB_LIB="+tc.lib)
		if err := c.Start0(); err != nil {
			t.Fatalf("%s: %v", tc.lib, err)
		}
		if !strings.Contains(c.Log(), tc.want) {
			t.Fatalf("%s: log lacks %q:\n%s", tc.lib, tc.want, c.Log())
		}
		tenant := fmt.Sprintf("nolib%d", i)
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("warden.tenant", tenant)
		for k := 0; k < 7; k++ {
			lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
			lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
			lr.Attributes().PutInt("k", int64(k))
		}
		if st := c.PostLogs(t, ld); st != 200 {
			t.Fatalf("%s: OTLP status %d while the store is down", tc.lib, st)
		}
		if exited, err := c.Exited(2 * time.Second); exited {
			t.Fatalf("%s: collector exited: %v", tc.lib, err)
		}
		c.Stop()
		c.Env = append(c.Env, "WARDEN_CHDB_LIB="+good)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		WaitFor(t, 60*time.Second, "records accepted into the WAL, after the fix", func() (bool, string) {
			out, _ := c.SQL("SELECT count() FROM events WHERE tenant = '" + tenant + "'")
			return out == "7", out
		})
		c.Stop()
	}
}

// silence unused imports when editing
var _ = sort.Strings
var _ = filepath.Join

// TestCorruptWAL: the WAL is the collector's durable queue. After a kill -9,
// a journal with a torn tail keeps its whole (acknowledged) requests and
// sets the tail aside, and a corrupt segment is set aside with a clear log
// line naming it; the collector starts, every acknowledged record is stored
// exactly once, and it keeps accepting data.
func TestCorruptWAL(t *testing.T) {
	skipShort(t)
	c := NewCollector(t, ConfigFile(t, "1s"))
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	send := func(tenant string, n int) {
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("warden.tenant", tenant)
		lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
		for i := 0; i < n; i++ {
			lr := lrs.AppendEmpty()
			lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
			lr.Attributes().PutInt("i", int64(i))
		}
		if st := c.PostLogs(t, ld); st != 200 {
			t.Fatalf("status %d", st)
		}
	}
	send("before", 100)
	WaitFor(t, 30*time.Second, "first records", func() (bool, string) {
		out, _ := c.SQL("SELECT count() FROM events WHERE tenant = 'before'")
		return out == "100", out
	})
	send("acked", 40) // acknowledged: in the open journal when the process dies
	c.Kill9()
	wal := filepath.Join(c.DataDir, "wal")
	journals, _ := filepath.Glob(filepath.Join(wal, "*.events.open"))
	torn := filepath.Join(wal, fmt.Sprintf("%020d.events.open", time.Now().UnixNano()))
	if len(journals) > 0 {
		torn = journals[0]
	}
	f, err := os.OpenFile(torn, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 1000))
	f.Close()
	bad := filepath.Join(wal, fmt.Sprintf("%020d-0123456789abcdef0123456789abcdef.events.native", time.Now().UnixNano()))
	if err := os.WriteFile(bad, bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("collector did not start with a corrupt WAL: %v", err)
	}
	log := c.Log()
	if !strings.Contains(log, "WAL segment is corrupt") || !strings.Contains(log, bad+".corrupt") {
		t.Fatalf("no clear log line naming the corrupt segment:\n%s", log)
	}
	if !strings.Contains(log, "torn tail") || !strings.Contains(log, torn) {
		t.Fatalf("no clear log line naming the torn journal:\n%s", log)
	}
	if tails, _ := filepath.Glob(torn + ".tail-*.corrupt"); len(tails) != 1 {
		t.Fatalf("torn tail not kept aside: %v", tails)
	}
	send("after", 50)
	WaitFor(t, 30*time.Second, "records after the corrupt WAL", func() (bool, string) {
		out, _ := c.SQL("SELECT countIf(tenant = 'before'), countIf(tenant = 'acked'), countIf(tenant = 'after'), count() - uniqExact(event_id) FROM events")
		return out == "100\t40\t50\t0", out
	})
}
