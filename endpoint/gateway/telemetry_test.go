package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/wardenhq/warden/endpoint/gateway"
	"github.com/wardenhq/warden/internal/stubmodel"
	"github.com/wardenhq/warden/schema"
	"github.com/wardenhq/warden/vault"
	"github.com/wardenhq/warden/vault/vaulttest"
)

// otlpReceiver is an OTLP/HTTP logs endpoint that keeps the raw payloads.
type otlpReceiver struct {
	mu   sync.Mutex
	raw  [][]byte
	recs []pcommon.Map
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(b); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	o.mu.Lock()
	o.raw = append(o.raw, b)
	rls := req.Logs().ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				o.recs = append(o.recs, lrs.At(k).Attributes())
			}
		}
	}
	o.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := plogotlp.NewExportResponse().MarshalProto()
	_, _ = w.Write(out)
}

// sealedSink is an OTLPSink sealing with a fresh key store (one tenant,
// one custody key) and exporting to an otlpReceiver.
type sealedSink struct {
	keys, custodyID string
	rcv             *otlpReceiver
	sink            *gateway.OTLPSink
}

func newSealedSink(t *testing.T) sealedSink {
	t.Helper()
	keys := filepath.Join(t.TempDir(), "keys")
	ks, err := vault.InitDir(keys)
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.InitTenant("default"); err != nil {
		t.Fatal(err)
	}
	custodyID, _, err := ks.InitCustody()
	if err != nil {
		t.Fatal(err)
	}
	rcv := &otlpReceiver{}
	collector := httptest.NewServer(rcv)
	t.Cleanup(collector.Close)
	sink, err := gateway.NewOTLPSink(context.Background(), collector.URL, gateway.NewSealer(ks), "test")
	if err != nil {
		t.Fatal(err)
	}
	return sealedSink{keys: keys, custodyID: custodyID, rcv: rcv, sink: sink}
}

// sealedParts reads the wrapped keys and sealed blocks an event carries.
func sealedParts(attrs pcommon.Map) (wrapped []vault.WrappedKey, blocks []vault.SealedBlock) {
	if v, ok := attrs.Get(schema.AttrWrappedKeys); ok {
		for j := 0; j < v.Slice().Len(); j++ {
			m := v.Slice().At(j).Map()
			g := func(k string) string { x, _ := m.Get(k); return x.AsString() }
			w, _ := m.Get("wrapped_key")
			wrapped = append(wrapped, vault.WrappedKey{Tenant: g("tenant"), Day: g("day"), KeyID: g("key_id"), CustodyKeyID: g("custody_key_id"), Wrapped: w.Bytes().AsRaw()})
		}
	}
	if v, ok := attrs.Get(schema.AttrSealedBlocks); ok {
		for j := 0; j < v.Slice().Len(); j++ {
			m := v.Slice().At(j).Map()
			g := func(k string) string { x, _ := m.Get(k); return x.AsString() }
			nonce, _ := m.Get("nonce")
			ct, _ := m.Get("ciphertext")
			blocks = append(blocks, vault.SealedBlock{Tenant: g("tenant"), BlockID: g("block_id"), Day: g("day"), KeyID: g("key_id"), Nonce: nonce.Bytes().AsRaw(), Ciphertext: ct.Bytes().AsRaw()})
		}
	}
	return wrapped, blocks
}

// TestOTLPEvent: every call becomes a model_call record over real OTLP
// (OTel Go SDK exporter) with the canonical attributes and the stub's
// token counts; bodies travel only sealed (a canary never appears in the
// payload) and open back to the redacted text with the custody key.
func TestOTLPEvent(t *testing.T) {
	ss := newSealedSink(t)
	rcv, sink := ss.rcv, ss.sink
	stub, _ := stubmodel.New(stubmodel.Options{Text: "canary-reply-5521 done"})
	defer stub.Close()
	det, dec := mustDeps(t)
	cfg2, err := gateway.ParseConfig(mustYAML(t, stub.URL))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(cfg2, gateway.Options{Detector: det, Decider: dec, Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	e := &env{srv: srv}
	const canary = "canary-prompt-zebra-4471"
	for _, a := range apis {
		resp, body := e.call(t, a, "warden-local", a.body(canary+" SSN "+ssn, "tool said "+canary, true), true)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", a.name, resp.StatusCode, body)
		}
	}
	if err := sink.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		rcv.mu.Lock()
		n := len(rcv.recs)
		rcv.mu.Unlock()
		if n >= 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.recs) != 4 {
		t.Fatalf("%d records, want 4", len(rcv.recs))
	}
	for _, raw := range rcv.raw {
		for _, c := range []string{canary, "canary-reply-5521", ssn} {
			if bytes.Contains(raw, []byte(c)) {
				t.Fatalf("OTLP payload holds cleartext %q", c)
			}
		}
	}
	priv, err := vaulttest.PrivateKey(ss.keys, ss.custodyID)
	if err != nil {
		t.Fatal(err)
	}
	var wrapped []vault.WrappedKey
	var blocks []vault.SealedBlock
	for i, attrs := range rcv.recs {
		str := func(k string) string { v, _ := attrs.Get(k); return v.AsString() }
		num := func(k string) int64 { v, _ := attrs.Get(k); return v.Int() }
		if str(schema.Attr("kind")) != schema.KindModelCall || str(schema.Attr("source")) != schema.SourceWardenGateway {
			t.Fatalf("record %d: kind/source %s/%s", i, str(schema.Attr("kind")), str(schema.Attr("source")))
		}
		prov := str(schema.Attr("provider"))
		u := stub.Usage()
		if num(schema.Attr("input_tokens")) != u.CanonicalInput(prov) || num(schema.Attr("output_tokens")) != u.OutputTokens ||
			num(schema.Attr("cache_read_tokens")) != u.CacheReadTokens {
			t.Fatalf("record %d (%s): tokens %d/%d/%d, stub %d/%d/%d", i, prov, num(schema.Attr("input_tokens")),
				num(schema.Attr("output_tokens")), num(schema.Attr("cache_read_tokens")), u.CanonicalInput(prov), u.OutputTokens, u.CacheReadTokens)
		}
		if str(schema.Attr("decision")) != "redact" || str(schema.Attr("decision_id")) == "" || str(schema.Attr("policy_revision")) == "" {
			t.Fatalf("record %d: decision attrs", i)
		}
		if num(schema.Attr("redaction_count")) != 1 {
			t.Fatalf("record %d: redaction_count %d", i, num(schema.Attr("redaction_count")))
		}
		if v, ok := attrs.Get(schema.Attr("ttft_ms")); !ok || v.Double() <= 0 {
			t.Fatalf("record %d: ttft", i)
		}
		if v, ok := attrs.Get(schema.Attr("prompt_ref")); !ok || v.Slice().Len() == 0 {
			t.Fatalf("record %d: no prompt_ref", i)
		}
		w, b := sealedParts(attrs)
		wrapped, blocks = append(wrapped, w...), append(blocks, b...)
	}
	if len(wrapped) != 1 || len(blocks) == 0 {
		t.Fatalf("wrapped keys %d, sealed blocks %d", len(wrapped), len(blocks))
	}
	for _, b := range blocks {
		msg, err := vaulttest.Open(priv, wrapped[0], b)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains([]byte(msg.Text), []byte(ssn)) {
			t.Fatal("a sealed block holds the unredacted SSN")
		}
	}
}

// TestPooledTextsSealedIntact: the decoded and redacted prompt texts live in
// pooled buffers that OTLPSink returns after sealing. Many concurrent calls
// with distinct large prompts (line breaks, so they are decoded; half with
// an SSN, so they are redacted) must each reach the provider and the sealed
// block exactly as their own text: a buffer reused too early would show up
// as another call's text or a wiped one.
func TestPooledTextsSealedIntact(t *testing.T) {
	ss := newSealedSink(t)
	rcv, sink := ss.rcv, ss.sink
	defer sink.Shutdown(context.Background())
	stub, _ := stubmodel.New(stubmodel.Options{})
	defer stub.Close()
	det, dec := mustDeps(t)
	cfg, err := gateway.ParseConfig(mustYAML(t, stub.URL))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(cfg, gateway.Options{Detector: det, Decider: dec, Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	const calls = 96
	want := map[string]bool{} // the prompt texts as forwarded
	prompt := func(i int) (sent, forwarded string) {
		var b strings.Builder
		for j := 0; b.Len() < 6000+50*i; j++ {
			fmt.Fprintf(&b, "call %03d line %03d of the quarterly report\n", i, j)
		}
		s := b.String()
		if i%2 == 0 {
			return s + "Employee SSN " + ssn + " on file.\n" + s, s + "Employee SSN [REDACTED_US_SSN_1] on file.\n" + s
		}
		return s, s
	}
	for i := 0; i < calls; i++ {
		_, f := prompt(i)
		want[f] = true
	}
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < calls; i += 8 {
				s, _ := prompt(i)
				body, _ := json.Marshal(map[string]any{"model": "gpt-5.1", "messages": []any{map[string]any{"role": "user", "content": s}}})
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer warden-local")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- fmt.Errorf("call %d: status %d", i, resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// What the provider got.
	got := map[string]bool{}
	for _, r := range stub.Requests() {
		var doc struct {
			Messages []struct{ Content string } `json:"messages"`
		}
		if err := json.Unmarshal(r.Body, &doc); err != nil || len(doc.Messages) != 1 {
			t.Fatalf("stub request: %v %s", err, r.Body)
		}
		if !want[doc.Messages[0].Content] || got[doc.Messages[0].Content] {
			t.Fatalf("the provider got a prompt that is not one call's own (or twice): %.80q", doc.Messages[0].Content)
		}
		got[doc.Messages[0].Content] = true
	}
	if len(got) != calls {
		t.Fatalf("the provider got %d distinct prompts, want %d", len(got), calls)
	}
	// What was sealed.
	if err := sink.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	priv, err := vaulttest.PrivateKey(ss.keys, ss.custodyID)
	if err != nil {
		t.Fatal(err)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	var wrapped []vault.WrappedKey
	var blocks []vault.SealedBlock
	for _, attrs := range rcv.recs {
		w, b := sealedParts(attrs)
		wrapped, blocks = append(wrapped, w...), append(blocks, b...)
	}
	if len(wrapped) != 1 {
		t.Fatalf("%d wrapped keys, want 1", len(wrapped))
	}
	sealed := map[string]bool{}
	for _, b := range blocks {
		msg, err := vaulttest.Open(priv, wrapped[0], b)
		if err != nil {
			t.Fatal(err)
		}
		if msg.Part != "prompt" {
			continue
		}
		if !want[msg.Text] || sealed[msg.Text] {
			t.Fatalf("a sealed prompt is not one call's own text (or is there twice): %.80q", msg.Text)
		}
		sealed[msg.Text] = true
	}
	if len(sealed) != calls {
		t.Fatalf("%d distinct sealed prompts, want %d", len(sealed), calls)
	}
}
