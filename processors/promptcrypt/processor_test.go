package promptcrypt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/wardenhq/warden/collector/keyring/keyringtest"
	"github.com/wardenhq/warden/processors/fieldhash"
	"github.com/wardenhq/warden/schema"
	"github.com/wardenhq/warden/vault"
	"github.com/wardenhq/warden/vault/vaulttest"
)

func newLogs(t testing.TB, host component.Host, cfg component.Config, next consumer.Logs) processor.Logs {
	t.Helper()
	f := NewFactory()
	p, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), cfg, next)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	return p
}

func newTraces(t testing.TB, host component.Host, cfg component.Config, next consumer.Traces) processor.Traces {
	t.Helper()
	f := NewFactory()
	p, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(f.Type()), cfg, next)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	return p
}

// opened collects every sealed block and wrapped key from output records
// and opens them with the test-only opener.
type opened struct {
	blocks map[string]vault.SealedBlock
	keys   map[string]vault.WrappedKey
}

func collect(o *opened, attrs pcommon.Map) {
	if v, ok := attrs.Get(schema.AttrSealedBlocks); ok {
		for i := 0; i < v.Slice().Len(); i++ {
			b := BlockFromMap(v.Slice().At(i).Map())
			o.blocks[b.Tenant+"/"+b.BlockID] = b
		}
	}
	if v, ok := attrs.Get(schema.AttrWrappedKeys); ok {
		for i := 0; i < v.Slice().Len(); i++ {
			k := WrappedKeyFromMap(v.Slice().At(i).Map())
			o.keys[k.KeyID] = k
		}
	}
}

func refs(attrs pcommon.Map) []string {
	v, ok := attrs.Get(schema.Attr("prompt_ref"))
	if !ok {
		return nil
	}
	var out []string
	for i := 0; i < v.Slice().Len(); i++ {
		out = append(out, v.Slice().At(i).Str())
	}
	return out
}

const (
	canaryPrompt = "CANARY-PROMPT-1b7e please refactor"
	canaryResp   = "CANARY-RESPONSE-9c2d here you go"
	canaryTool   = "CANARY-TOOLOUT-44af total 0"
	canarySecret = "AKIACANARY0SECRET123"
	canaryArgs   = "gemini -p CANARY-ARGV-77aa"
	canaryEvent  = "CANARY-GENAI-EVENT-5e5e"
)

func canaryLogs() plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "gemini-cli")
	rl.Resource().Attributes().PutEmptySlice("process.command_args").FromRaw([]any{"gemini", "-p", canaryArgs})
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	// Canonical shape (after genai and policy).
	a := lrs.AppendEmpty().Attributes()
	a.PutStr("event.name", "user_prompt")
	ms := a.PutEmptySlice(schema.AttrMessages)
	for _, m := range [][3]string{{"user", "prompt", canaryPrompt + " key=" + canarySecret}, {"assistant", "response", canaryResp}, {"tool", "tool_output", canaryTool}} {
		mm := ms.AppendEmpty().SetEmptyMap()
		mm.PutStr("role", m[0])
		mm.PutStr("part", m[1])
		mm.PutStr("text", m[2])
	}
	// Source shapes genai did not convert: Claude Code, Codex.
	lrs.AppendEmpty().Attributes().PutStr("prompt", canaryPrompt)
	c := lrs.AppendEmpty().Attributes()
	c.PutStr("event.name", "codex.tool_result")
	c.PutStr("arguments", `{"cmd":"cat notes.txt"}`)
	c.PutStr("output", canaryTool)
	// OTel GenAI event with content in the body.
	e := lrs.AppendEmpty()
	e.SetEventName("gen_ai.choice")
	e.Body().SetEmptyMap().PutStr("content", canaryEvent)
	return ld
}

func TestSealsEveryShapeAndOpensExactly(t *testing.T) {
	host, store := keyringtest.New(t)
	sink := new(consumertest.LogsSink)
	p := newLogs(t, host, createDefaultConfig(), sink)
	if err := p.ConsumeLogs(context.Background(), canaryLogs()); err != nil {
		t.Fatal(err)
	}
	out := sink.AllLogs()[0]
	raw, _ := (&plog.ProtoMarshaler{}).MarshalLogs(out)
	js, _ := (&plog.JSONMarshaler{}).MarshalLogs(out)
	for _, c := range []string{"CANARY", canarySecret, "cat notes"} {
		if bytes.Contains(raw, []byte(c)) || bytes.Contains(js, []byte(c)) {
			t.Fatalf("cleartext %q left in output: %s", c, js)
		}
	}
	o := &opened{blocks: map[string]vault.SealedBlock{}, keys: map[string]vault.WrappedKey{}}
	lrs := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	var all [][]string
	for i := 0; i < lrs.Len(); i++ {
		a := lrs.At(i).Attributes()
		collect(o, a)
		all = append(all, refs(a))
		if _, ok := a.Get(schema.AttrMessages); ok {
			t.Fatal("warden.messages left on record")
		}
	}
	if len(o.keys) != 1 {
		t.Fatalf("want one wrapped data key for one tenant-day, got %d", len(o.keys))
	}
	open := func(id string) vault.Message {
		b, ok := o.blocks["default/"+id]
		if !ok {
			t.Fatalf("block %s referenced but never emitted", id)
		}
		k := o.keys[b.KeyID]
		priv, err := vaulttest.PrivateKey(store.Dir(), k.CustodyKeyID)
		if err != nil {
			t.Fatal(err)
		}
		m, err := vaulttest.Open(priv, k, b)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	// Record 0: the resource's argv block first, then the three messages.
	want0 := []string{`["gemini","-p","` + canaryArgs + `"]`, canaryPrompt + " key=" + canarySecret, canaryResp, canaryTool}
	if len(all[0]) != len(want0) {
		t.Fatalf("record 0 refs %v", all[0])
	}
	for i, w := range want0 {
		if m := open(all[0][i]); m.Text != w {
			t.Errorf("record 0 block %d opened to %q, want %q", i, m.Text, w)
		}
	}
	if m := open(all[0][1]); m.Role != "user" || m.Part != "prompt" {
		t.Errorf("role/part lost: %+v", m)
	}
	// Record 1: same prompt text as a Claude Code source shape; record 2:
	// Codex arguments + output (output equals record 0's tool output).
	if m := open(all[1][0]); m.Text != canaryPrompt {
		t.Errorf("claude prompt: %q", m.Text)
	}
	if len(all[2]) != 2 || all[2][1] != all[0][3] {
		t.Errorf("codex output should dedup against the same text in record 0: %v / %v", all[2], all[0])
	}
	if m := open(all[3][0]); !strings.Contains(m.Text, canaryEvent) || m.Role != "assistant" {
		t.Errorf("gen_ai event body: %+v", m)
	}
	a0 := lrs.At(0).Attributes()
	pb, _ := a0.Get(schema.Attr("prompt_bytes"))
	pt, _ := a0.Get(schema.Attr("prompt_tokens_est"))
	wantBytes := 0
	for _, w := range want0 {
		wantBytes += len(w)
	}
	if pb.Int() != int64(wantBytes) || pt.Int() < int64(wantBytes/4) || pt.Int() > int64(wantBytes/4+4) {
		t.Errorf("prompt_bytes %d (want %d), tokens %d", pb.Int(), wantBytes, pt.Int())
	}
	argv, _ := out.ResourceLogs().At(0).Resource().Attributes().Get("process.command_args")
	if argv.Str() != "sealed:"+all[0][0] {
		t.Errorf("resource argv: %q", argv.AsString())
	}
}

func TestDedupSharedSystemPromptPerTenant(t *testing.T) {
	host, _ := keyringtest.New(t)
	sink := new(consumertest.LogsSink)
	p := newLogs(t, host, createDefaultConfig(), sink)
	system := strings.Repeat("You are a careful coding agent. Follow the repository rules. ", 50<<10/60)
	for session := 0; session < 100; session++ {
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("warden.tenant", []string{"acme", "globex"}[session%2])
		a := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Attributes()
		ms := a.PutEmptySlice(schema.AttrMessages)
		s := ms.AppendEmpty().SetEmptyMap()
		s.PutStr("role", "system")
		s.PutStr("part", "system")
		s.PutStr("text", system)
		u := ms.AppendEmpty().SetEmptyMap()
		u.PutStr("role", "user")
		u.PutStr("part", "prompt")
		u.PutStr("text", fmt.Sprintf("session %d: fix the bug", session))
		if err := p.ConsumeLogs(context.Background(), ld); err != nil {
			t.Fatal(err)
		}
	}
	systemBlocks := map[string]int{}
	var sealedBytes int
	firstRef := map[string]string{}
	for _, ld := range sink.AllLogs() {
		rl := ld.ResourceLogs().At(0)
		tn, _ := rl.Resource().Attributes().Get("warden.tenant")
		a := rl.ScopeLogs().At(0).LogRecords().At(0).Attributes()
		r := refs(a)
		if f, ok := firstRef[tn.Str()]; ok && f != r[0] {
			t.Fatal("the same system prompt got two block ids in one tenant")
		}
		firstRef[tn.Str()] = r[0]
		if v, ok := a.Get(schema.AttrSealedBlocks); ok {
			for i := 0; i < v.Slice().Len(); i++ {
				b := BlockFromMap(v.Slice().At(i).Map())
				sealedBytes += len(b.Ciphertext)
				if b.Length == uint32(len(system)) {
					systemBlocks[b.Tenant]++
				}
			}
		}
	}
	if systemBlocks["acme"] != 1 || systemBlocks["globex"] != 1 {
		t.Fatalf("50 KB system prompt sealed %v times per tenant, want once each", systemBlocks)
	}
	if firstRef["acme"] == firstRef["globex"] {
		t.Fatal("block ids correlate across tenants")
	}
	// Growth is O(unique content): 2 system prompts + 100 short prompts.
	if max := 2*(len(system)+64) + 100*64; sealedBytes > max {
		t.Fatalf("sealed %d bytes, want <= %d", sealedBytes, max)
	}
}

func TestDownstreamFailureReEmits(t *testing.T) {
	host, _ := keyringtest.New(t)
	var fail = true
	var got []plog.Logs
	next, _ := consumer.NewLogs(func(_ context.Context, ld plog.Logs) error {
		if fail {
			return errors.New("exporter down")
		}
		got = append(got, ld)
		return nil
	})
	p := newLogs(t, host, createDefaultConfig(), next)
	mk := func() plog.Logs {
		ld := plog.NewLogs()
		ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Attributes().PutStr("prompt", canaryPrompt)
		return ld
	}
	if err := p.ConsumeLogs(context.Background(), mk()); err == nil {
		t.Fatal("downstream error swallowed")
	}
	fail = false
	p.ConsumeLogs(context.Background(), mk())
	a := got[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes()
	_, hasBlock := a.Get(schema.AttrSealedBlocks)
	_, hasKey := a.Get(schema.AttrWrappedKeys)
	if !hasBlock || !hasKey {
		t.Fatal("block or wrapped key lost with the failed batch was not emitted again")
	}
}

func TestTracesSpanAndEvents(t *testing.T) {
	host, _ := keyringtest.New(t)
	sink := new(consumertest.TracesSink)
	p := newTraces(t, host, createDefaultConfig(), sink)
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.Attributes().PutStr("user_prompt", canaryPrompt)
	sp.Events().AppendEmpty().Attributes().PutStr("gen_ai.output.messages", canaryResp)
	if err := p.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	js, _ := (&ptrace.JSONMarshaler{}).MarshalTraces(sink.AllTraces()[0])
	if bytes.Contains(js, []byte("CANARY")) {
		t.Fatalf("cleartext in span: %s", js)
	}
	if r := refs(sink.AllTraces()[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()); len(r) != 2 {
		t.Fatalf("refs %v", r)
	}
}

func TestHashedAndSealedFieldRejectedAtStart(t *testing.T) {
	host, _ := keyringtest.New(t)
	fcfg := fieldhash.NewFactory().CreateDefaultConfig().(*fieldhash.Config)
	fcfg.Fields = []fieldhash.Field{{Path: `attributes["prompt"]`}}
	ff := fieldhash.NewFactory()
	fp, _ := ff.CreateLogs(context.Background(), processortest.NewNopSettings(ff.Type()), fcfg, consumertest.NewNop())
	if err := fp.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	f := NewFactory()
	p, _ := f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), createDefaultConfig(), consumertest.NewNop())
	err := p.Start(context.Background(), host)
	if err == nil || !strings.Contains(err.Error(), `attributes["prompt"]`) || !strings.Contains(err.Error(), "fields[0].path") || !strings.Contains(err.Error(), "source_shapes") {
		t.Fatalf("got %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	cases := map[string]map[string]any{
		`attributes[0].path: path "prompt"`:      {"attributes": []any{map[string]any{"path": "prompt"}}},
		`attributes[0].part: unknown part "x"`:   {"attributes": []any{map[string]any{"path": `attributes["a"]`, "part": "x"}}},
		`emitted_cache_size: must be at least 1`: {"emitted_cache_size": 0},
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
	if err := confmap.NewFromStringMap(map[string]any{"atributes": []any{}}).Unmarshal(cfg); err == nil || !strings.Contains(err.Error(), "atributes") {
		t.Errorf("unknown key: %v", err)
	}
}

func TestEdgeSealedRefsKept(t *testing.T) {
	host, _ := keyringtest.New(t)
	sink := new(consumertest.LogsSink)
	p := newLogs(t, host, createDefaultConfig(), sink)
	ld := plog.NewLogs()
	a := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Attributes()
	a.PutEmptySlice(schema.Attr("prompt_ref")).AppendEmpty().SetStr("edgeblock")
	a.PutInt(schema.Attr("prompt_bytes"), 10)
	a.PutStr("response", canaryResp)
	if err := p.ConsumeLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}
	out := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes()
	r := refs(out)
	pb, _ := out.Get(schema.Attr("prompt_bytes"))
	if len(r) != 2 || r[0] != "edgeblock" || pb.Int() != int64(10+len(canaryResp)) {
		t.Fatalf("refs %v bytes %d", r, pb.Int())
	}
}

// The logs and traces instances of one promptcrypt component (the same
// *Config) share one sealer: a tenant-day gets one data key across both
// signals; another component gets its own.
func TestLogsAndTracesShareTheDayKey(t *testing.T) {
	host, _ := keyringtest.New(t)
	cfg := createDefaultConfig()
	lsink, tsink := new(consumertest.LogsSink), new(consumertest.TracesSink)
	lp := newLogs(t, host, cfg, lsink)
	tp := newTraces(t, host, cfg, tsink)
	other := newLogs(t, host, createDefaultConfig(), new(consumertest.LogsSink))
	t.Cleanup(func() {
		lp.Shutdown(context.Background())
		tp.Shutdown(context.Background())
		other.Shutdown(context.Background())
	})
	ctx := context.Background()
	if err := lp.ConsumeLogs(ctx, canaryLogs()); err != nil {
		t.Fatal(err)
	}
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().Attributes().PutStr("user_prompt", "a span-only prompt")
	if err := tp.ConsumeTraces(ctx, td); err != nil {
		t.Fatal(err)
	}
	o := &opened{blocks: map[string]vault.SealedBlock{}, keys: map[string]vault.WrappedKey{}}
	for _, ld := range lsink.AllLogs() {
		lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := 0; i < lrs.Len(); i++ {
			collect(o, lrs.At(i).Attributes())
		}
	}
	spanAttrs := tsink.AllTraces()[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()
	collect(o, spanAttrs)
	if len(o.keys) != 1 {
		t.Fatalf("%d data keys for one tenant-day across logs and traces, want 1", len(o.keys))
	}
	var kid string
	for k := range o.keys {
		kid = k
	}
	for id, b := range o.blocks {
		if b.KeyID != kid {
			t.Fatalf("block %s sealed under %s, not the shared key %s", id, b.KeyID, kid)
		}
	}
	if lp.(*logsProcessor).sealer != tp.(*tracesProcessor).sealer || lp.(*logsProcessor).sealer == other.(*logsProcessor).sealer {
		t.Fatal("sealers not shared per component config")
	}
}
