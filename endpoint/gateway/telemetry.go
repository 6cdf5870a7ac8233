package gateway

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/wardenhq/warden/schema"
	"github.com/wardenhq/warden/vault"
)

// OTLP shape of gateway events, following the endpoint's (schema/endpoint.go):
// resource service.name = ServiceName; scope = Scope; attribute event.name =
// EventName; body empty (never content); canonical warden.* attributes.
const (
	ServiceName = "warden-gateway"
	Scope       = "github.com/wardenhq/warden/endpoint/gateway"
	EventName   = "warden.model_call"
)

// Sealer seals message texts with promptcrypt's scheme (vault): each
// message becomes a content-addressed block under the tenant's data key of
// the day, the data key wrapped to the key-custody public key. The gateway
// holds only public material: it can seal, never open.
type Sealer struct {
	keys vault.KeyStore
	now  func() time.Time

	mu   sync.Mutex
	dks  map[string]*vault.DataKey // tenant \x00 day
	sent map[string]bool           // block ids already exported (tenant \x00 id)
}

// NewSealer seals with keys from ks.
func NewSealer(ks vault.KeyStore) *Sealer {
	return &Sealer{keys: ks, now: time.Now, dks: map[string]*vault.DataKey{}, sent: map[string]bool{}}
}

// sealed is the promptcrypt output for one event.
type sealed struct {
	refs    []string
	bytes   int
	blocks  []vault.SealedBlock
	wrapped []vault.WrappedKey
}

// Seal seals msgs for tenant.
func (s *Sealer) Seal(tenant string, msgs []Message) (*sealed, error) {
	tk, err := s.keys.TenantKeys(tenant)
	if err != nil {
		return nil, fmt.Errorf("seal: tenant keys: %w", err)
	}
	ps, err := vault.NewPseudonymizer(tk.Current)
	if err != nil {
		return nil, err
	}
	now := s.now()
	day := vault.Day(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &sealed{}
	dk := s.dks[tenant+"\x00"+day]
	if dk == nil || dk.Exhausted() {
		cpk, err := s.keys.CustodyPublicKey()
		if err != nil {
			return nil, fmt.Errorf("seal: custody public key: %w", err)
		}
		var wk vault.WrappedKey
		dk, wk, err = vault.NewDataKey(cpk, tenant, day, now)
		if err != nil {
			return nil, err
		}
		s.dks[tenant+"\x00"+day] = dk
		out.wrapped = append(out.wrapped, wk)
	}
	for _, m := range msgs {
		pt := vault.EncodeMessage(vault.Message{Role: m.Role, Part: m.Part, Text: m.Text})
		id := ps.BlockID(pt)
		out.refs = append(out.refs, id)
		out.bytes += len(m.Text)
		if s.sent[tenant+"\x00"+id] {
			continue
		}
		out.blocks = append(out.blocks, dk.Seal(id, pt, len(m.Text), now))
		s.sent[tenant+"\x00"+id] = true
		clear(pt)
	}
	if len(s.sent) > 1<<20 { // bound memory; a re-sent block collapses downstream
		s.sent = map[string]bool{}
	}
	return out, nil
}

// OTLPSink exports every call as an OTLP log record through the OTel Go SDK
// (exporter retries) to the collector (otelcol-warden).
//
// Emit hands the event to a worker goroutine that seals the bodies and
// builds the record, so the handler returns as soon as the client has its
// answer: the connection is free for the agent's next call at once instead
// of after ~0.2 ms of sealing per 100 KB of prompt (a call that arrived on
// the same keep-alive connection meanwhile waited for it). The queue holds
// the finished events in memory only, as the handler did; it is bounded in
// events and bytes, and when it is full the caller seals the event itself
// (nothing is dropped). ForceFlush and Shutdown drain it first.
type OTLPSink struct {
	lp     *sdklog.LoggerProvider
	lg     otellog.Logger
	sealer *Sealer
	// Unsealed counts events whose bodies were dropped because no sealer
	// was configured or sealing failed: bodies never travel in clear.
	Unsealed atomic.Uint64

	mu      sync.RWMutex // held for reading while sending to q; stopped is set under the write lock
	stopped bool
	q       chan sinkItem
	qBytes  atomic.Int64 // text bytes of the events in q
	done    chan struct{}
}

// sinkItem is an event to emit, or (ev nil) a flush marker closed once
// everything queued before it has been emitted.
type sinkItem struct {
	ev      *CallEvent
	n       int64
	flushed chan struct{}
}

const (
	sinkQueueEvents = 256
	sinkQueueBytes  = 64 << 20
)

// NewOTLPSink exports to an OTLP/HTTP base URL (http://host:4318).
func NewOTLPSink(ctx context.Context, endpoint string, sealer *Sealer, version string) (*OTLPSink, error) {
	// The SDK exporter's own client with a write buffer that holds a
	// call's record (100 KB prompt, sealed) whole: one write, where the
	// default 4 KB buffer sent the rest through a fresh 32 KB copy buffer
	// per export. Timeout: the exporter's default.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.WriteBufferSize = 256 << 10
	exp, err := otlploghttp.New(ctx, otlploghttp.WithEndpointURL(strings.TrimRight(endpoint, "/")+"/v1/logs"),
		otlploghttp.WithHTTPClient(&http.Client{Transport: tr, Timeout: 10 * time.Second}))
	if err != nil {
		return nil, fmt.Errorf("gateway telemetry: %w", err)
	}
	return newOTLPSink(exp, sealer, version), nil
}

func newOTLPSink(exp sdklog.Exporter, sealer *Sealer, version string) *OTLPSink {
	res := resource.NewSchemaless(attribute.String("service.name", ServiceName), attribute.String("service.version", version))
	// Each call's record is exported right after the call (export.go).
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(newEagerProcessor(exp, exportMaxQueue, exportMaxBatch)))
	s := &OTLPSink{lp: lp, lg: lp.Logger(Scope), sealer: sealer, q: make(chan sinkItem, sinkQueueEvents), done: make(chan struct{})}
	go s.work()
	return s
}

func (s *OTLPSink) work() {
	defer close(s.done)
	for it := range s.q {
		if it.ev == nil {
			close(it.flushed)
			continue
		}
		s.emit(it.ev)
		s.qBytes.Add(-it.n)
	}
}

// Shutdown emits the queued events, then flushes and stops the exporter.
func (s *OTLPSink) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.stopped {
		s.stopped = true
		close(s.q)
	}
	s.mu.Unlock()
	select {
	case <-s.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.lp.Shutdown(ctx)
}

// ForceFlush emits the queued events and exports what is batched.
func (s *OTLPSink) ForceFlush(ctx context.Context) error {
	flushed := make(chan struct{})
	s.mu.RLock()
	if !s.stopped {
		select {
		case s.q <- sinkItem{flushed: flushed}:
		case <-ctx.Done():
			s.mu.RUnlock()
			return ctx.Err()
		}
	} else {
		close(flushed)
	}
	s.mu.RUnlock()
	select {
	case <-flushed:
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.lp.ForceFlush(ctx)
}

// Emit implements EventSink: the event goes to the sink's worker, which
// seals its bodies and builds the record before the SDK buffers it. When
// the queue is full (or the sink is shut down) the caller does that work.
func (s *OTLPSink) Emit(ev *CallEvent) {
	var n int64
	for i := range ev.Messages {
		n += int64(len(ev.Messages[i].Text))
	}
	s.mu.RLock()
	if !s.stopped && s.qBytes.Add(n) <= sinkQueueBytes {
		select {
		case s.q <- sinkItem{ev: ev, n: n}:
			s.mu.RUnlock()
			return
		default:
		}
	}
	if !s.stopped {
		s.qBytes.Add(-n)
	}
	s.mu.RUnlock()
	s.emit(ev)
}

// emit seals ev's bodies and hands the record to the SDK.
func (s *OTLPSink) emit(ev *CallEvent) {
	var rec otellog.Record
	rec.SetTimestamp(ev.Start)
	rec.SetObservedTimestamp(time.Now())
	rec.SetEventName(EventName)
	rec.SetSeverity(otellog.SeverityInfo)
	if ev.Status != "ok" {
		rec.SetSeverity(otellog.SeverityWarn)
	}
	attrs := EventAttributes(ev)
	if len(ev.Messages) > 0 {
		var sd *sealed
		var err error
		if s.sealer != nil {
			sd, err = s.sealer.Seal(ev.Identity.Tenant, ev.Messages)
		}
		if sd == nil || err != nil {
			s.Unsealed.Add(1)
			attrs = append(attrs, attribute.String("warden.gateway.bodies", "dropped_unsealed"))
		} else {
			attrs = append(attrs, sealedAttrs(sd)...)
		}
	}
	// The cleartext is no longer needed by anyone.
	for i := range ev.Messages {
		ev.Messages[i].Text = ""
	}
	ev.releaseTexts()
	rec.AddAttributes(attrs...)
	s.lg.Emit(context.Background(), rec)
}

func sealedAttrs(sd *sealed) []attribute.KeyValue {
	refs := make([]attribute.Value, len(sd.refs))
	for i, r := range sd.refs {
		refs[i] = attribute.StringValue(r)
	}
	out := []attribute.KeyValue{attribute.Slice(schema.Attr("prompt_ref"), refs...),
		attribute.Int64(schema.Attr("prompt_bytes"), int64(sd.bytes)),
		attribute.Int64(schema.Attr("prompt_tokens_est"), int64(sd.bytes/4))}
	if len(sd.blocks) > 0 {
		bl := make([]attribute.Value, len(sd.blocks))
		for i, b := range sd.blocks {
			bl[i] = attribute.MapValue(attribute.String("tenant", b.Tenant), attribute.String("block_id", b.BlockID),
				attribute.String("day", b.Day), attribute.String("key_id", b.KeyID), attribute.ByteSlice("nonce", b.Nonce),
				attribute.ByteSlice("ciphertext", b.Ciphertext), attribute.Int64("length", int64(b.Length)),
				attribute.Int64("created_at", b.CreatedAt.UnixNano()))
		}
		out = append(out, attribute.Slice(schema.AttrSealedBlocks, bl...))
	}
	if len(sd.wrapped) > 0 {
		wl := make([]attribute.Value, len(sd.wrapped))
		for i, w := range sd.wrapped {
			wl[i] = attribute.MapValue(attribute.String("tenant", w.Tenant), attribute.String("day", w.Day),
				attribute.String("key_id", w.KeyID), attribute.String("kem", w.KEM), attribute.String("custody_key_id", w.CustodyKeyID),
				attribute.ByteSlice("wrapped_key", w.Wrapped), attribute.Int64("created_at", w.CreatedAt.UnixNano()))
		}
		out = append(out, attribute.Slice(schema.AttrWrappedKeys, wl...))
	}
	return out
}

// EventAttributes are the canonical warden.* attributes of a call (no
// bodies). Identity values are raw here; the collector's fieldhash
// processor turns them into keyed pseudonyms before anything is stored.
func EventAttributes(ev *CallEvent) []attribute.KeyValue {
	a := func(c string) string { return schema.Attr(c) }
	kind := schema.KindModelCall
	if ev.Status == "error" || ev.Status == "upstream_error" {
		kind = schema.KindModelError
	}
	kv := []attribute.KeyValue{
		attribute.String("event.name", EventName),
		attribute.ByteSlice(a("event_id"), ev.ID[:]),
		attribute.String(schema.AttrTenant, ev.Identity.Tenant),
		attribute.String(a("kind"), kind),
		attribute.String(a("source"), schema.SourceWardenGateway),
		attribute.String(a("event_name"), EventName),
		attribute.String(a("user_pseudonym"), ev.Identity.User),
		attribute.String(a("device_pseudonym"), ev.Identity.Device),
		attribute.String(a("department"), ev.Identity.Department),
		attribute.String(a("agent"), ev.Agent),
		attribute.String(a("agent_version"), ev.AgentVersion),
		attribute.String(a("session_id"), ev.SessionID),
		attribute.String(a("trace_id"), ev.TraceID),
		attribute.String(a("span_id"), ev.SpanID),
		attribute.String(a("provider"), ev.Provider),
		attribute.String(a("model"), ev.Model),
		attribute.Int64(a("input_tokens"), ev.Usage.Input),
		attribute.Int64(a("output_tokens"), ev.Usage.Output),
		attribute.Int64(a("cache_read_tokens"), ev.Usage.CacheRead),
		attribute.Int64(a("cache_write_tokens"), ev.Usage.CacheWrite),
		attribute.Int64(a("reasoning_tokens"), ev.Usage.Reasoning),
		attribute.Float64(a("latency_ms"), ev.LatencyMS),
		attribute.Float64(a("ttft_ms"), ev.TTFTMS),
		attribute.String(a("request_id"), ev.RequestID),
		attribute.String(a("status"), ev.Status),
		attribute.String(a("dest_host"), ev.Dest),
		attribute.Int64(a("dest_port"), int64(ev.DestPort)),
		attribute.Bool(a("denied"), ev.Status == "blocked" || ev.Status == "cut"),
		attribute.Int64(a("redaction_count"), int64(ev.Redactions)),
		attribute.Map(a("dlp_findings"), countsKV(ev.Findings, ev.ResponseFindings)...),
		attribute.String(a("decision"), decisionName(ev)),
		attribute.Slice(a("rule_ids"), strValues(ev.Decision.RuleIDs)...),
		attribute.String(a("decision_id"), ev.Decision.DecisionID),
		attribute.String(a("policy_revision"), ev.Decision.Revision),
		// Facts without a column land in the attributes map.
		attribute.String("warden.gateway.endpoint", ev.Endpoint),
		attribute.Bool("warden.gateway.stream", ev.Stream),
		attribute.Int64("warden.gateway.http_status", int64(ev.HTTPStatus)),
		attribute.Int64("warden.gateway.bytes_scanned", ev.BytesScanned),
		attribute.Int64("warden.gateway.bytes_forwarded", ev.BytesForwarded),
		attribute.Int64("warden.gateway.request_bytes", int64(ev.PromptBytes)),
		attribute.String("warden.gateway.event_uuid", hex.EncodeToString(ev.ID[:])),
	}
	if ev.Refusal != "" {
		kv = append(kv, attribute.String("warden.gateway.refusal", ev.Refusal))
	}
	if len(ev.ResponseFindings) > 0 {
		kv = append(kv, attribute.Map("warden.gateway.response_findings", countsKV(ev.ResponseFindings, nil)...))
	}
	if ev.Usage.Seen {
		src := schema.CostUnpriced
		if ev.Priced {
			src = schema.CostPriced
			kv = append(kv, attribute.Float64(a("cost_usd"), ev.CostUSD), attribute.Float64(a("priced_cost_usd"), ev.CostUSD))
		}
		kv = append(kv, attribute.String(a("cost_source"), src))
	}
	return kv
}

func decisionName(ev *CallEvent) string {
	if ev.Decision.Raw != "" {
		return ev.Decision.Raw
	}
	return ev.Decision.Action
}

func countsKV(a, b map[string]uint32) []attribute.KeyValue {
	m := map[string]int64{}
	for k, v := range a {
		m[k] += int64(v)
	}
	for k, v := range b {
		m[k] += int64(v)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]attribute.KeyValue, len(keys))
	for i, k := range keys {
		out[i] = attribute.Int64(k, m[k])
	}
	return out
}

func strValues(ss []string) []attribute.Value {
	out := make([]attribute.Value, len(ss))
	for i, s := range ss {
		out[i] = attribute.StringValue(s)
	}
	return out
}
