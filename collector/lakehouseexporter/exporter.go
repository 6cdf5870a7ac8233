package lakehouseexporter

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/wardenhq/warden/collector/lakehousestore"
	"github.com/wardenhq/warden/schema"
)

type lakehouseExporter struct {
	cfg   *Config
	log   *zap.Logger
	store *lakehousestore.Store
	host  component.Host

	blocks *lru.Cache[string, struct{}]

	// Reusable event slices: a batch's rows and their attribute maps are
	// garbage once the store has written them (it copies what it keeps), so
	// the next batch refills them instead of allocating ~1 KB per row.
	free chan []schema.Event

	identity map[string]bool // identity attributes blanked when raw
	scrub    map[string]bool // identity and pseudonym attributes, checked before the queue

	rawMu          sync.Mutex
	rawIDsReported int64 // rawIDsBlanked already added to mRawIDs

	warnMessages sync.Once
	warnRawIDs   sync.Once
	typeWarn     sync.Map // attribute key -> struct{} (warn once per key)

	messagesDropped atomic.Int64
	rawIDsBlanked   atomic.Int64
	typeErrors      atomic.Int64

	mRows       metric.Int64Counter
	mMessages   metric.Int64Counter
	mRawIDs     metric.Int64Counter
	mSuppressed metric.Int64Counter
	mTypeErrors metric.Int64Counter
}

// The store is shared by the logs, traces and metrics exporters of one
// config entry; the block cache too.
func newExporter(cfg *Config, set exporter.Settings) (*lakehouseExporter, error) {
	c, err := lru.New[string, struct{}](cfg.BlockCacheSize)
	if err != nil {
		return nil, err
	}
	e := &lakehouseExporter{cfg: cfg, log: set.Logger, blocks: c, free: make(chan []schema.Event, 2), identity: identityAttrs(cfg.KeepRawAttributes)}
	e.scrub = maps.Clone(e.identity)
	for _, k := range pseudonymAttrs {
		e.scrub[k] = true
	}
	m := set.TelemetrySettings.MeterProvider.Meter("github.com/wardenhq/warden/collector/lakehouseexporter")
	e.mRows, _ = m.Int64Counter("warden_lakehouse_rows", metric.WithDescription("Rows written to the lakehouse (both stores)"))
	e.mMessages, _ = m.Int64Counter("warden_lakehouse_messages_discarded", metric.WithDescription("Records whose warden.messages text was discarded (no promptcrypt in the pipeline)"))
	e.mRawIDs, _ = m.Int64Counter("warden_lakehouse_raw_identifiers_blanked", metric.WithDescription("Pseudonym columns that held a raw identifier (not a keyed pseudonym) and were blanked"))
	e.mSuppressed, _ = m.Int64Counter("warden_lakehouse_redelivered_suppressed", metric.WithDescription("Redelivered rows dropped because a replayed WAL segment already stored them"))
	e.mTypeErrors, _ = m.Int64Counter("warden_lakehouse_attribute_type_errors", metric.WithDescription("Canonical attributes with the wrong type, kept in attributes instead"))
	return e, nil
}

func (e *lakehouseExporter) start(_ context.Context, host component.Host) error {
	e.host = host
	s, err := lakehousestore.FromHost(host, e.cfg.Store)
	if errors.Is(err, lakehousestore.ErrUnavailable) {
		// Keep running: pushes fail (retryably) and clients keep and
		// resend the data; the extension already logged why.
		return nil
	}
	if err != nil {
		return err
	}
	e.store = s
	return nil
}

func (e *lakehouseExporter) shutdown(context.Context) error { return nil }

func (e *lakehouseExporter) write(ctx context.Context, b *lakehousestore.Batch) error {
	if b.Len() == 0 {
		return nil
	}
	if e.store == nil {
		_, err := lakehousestore.FromHost(e.host, e.cfg.Store)
		if err == nil {
			err = errors.New("lakehouse store unavailable")
		}
		return err // retryable: the client resends
	}
	n := int64(b.Len())
	sup, err := e.store.Write(b)
	e.flushRawIDs(ctx)
	if sup == 0 && err == nil {
		// Suppression compacts Events in place (two slots may then share a
		// map), so only an untouched slice is recycled.
		e.recycle(b.Events)
	}
	if err != nil {
		return err // retryable, and nothing of the batch was kept: the client resends
	}
	e.mRows.Add(ctx, n-int64(sup))
	if sup > 0 {
		e.mSuppressed.Add(ctx, int64(sup))
	}
	return nil
}

func (e *lakehouseExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	b := &lakehousestore.Batch{Events: e.events(ld.LogRecordCount())}
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		res := rl.Resource().Attributes()
		rtenant := tenantOf(res)
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			lrs := sl.LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				ev := e.newEventAt(b.Events, rtenant)
				ts := lr.Timestamp()
				if ts == 0 {
					ts = lr.ObservedTimestamp()
				}
				ev.TS = ts.AsTime()
				if !lr.TraceID().IsEmpty() {
					ev.TraceID = lr.TraceID().String()
				}
				if !lr.SpanID().IsEmpty() {
					ev.SpanID = lr.SpanID().String()
				}
				canonical := e.mapAttrs(&ev, lr.Attributes(), b)
				if ev.EventName == "" {
					ev.EventName = lr.EventName()
					if ev.EventName == "" {
						ev.EventName = ev.Attributes["event.name"]
					}
				}
				if !canonical {
					e.keepUnknown(&ev, res, lr.Body())
				}
				if ev.EventID == ([16]byte{}) {
					ev.EventID = contentID("log", res, sl.Scope().Name(), uint64(lr.Timestamp()), uint64(lr.ObservedTimestamp()), lr.Body(), lr.Attributes(), lr.TraceID(), lr.SpanID())
				}
				b.Events = append(b.Events, ev)
			}
		}
	}
	return e.write(ctx, b)
}

func (e *lakehouseExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	b := &lakehousestore.Batch{Events: e.events(td.SpanCount())}
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		res := rs.Resource().Attributes()
		rtenant := tenantOf(res)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				ev := e.newEventAt(b.Events, rtenant)
				ev.Kind = schema.KindSpan
				ev.TS = sp.StartTimestamp().AsTime()
				ev.TraceID = sp.TraceID().String()
				ev.SpanID = sp.SpanID().String()
				canonical := e.mapAttrs(&ev, sp.Attributes(), b)
				if ev.EventName == "" {
					ev.EventName = sp.Name()
				}
				if ev.LatencyMS == 0 && sp.EndTimestamp() > sp.StartTimestamp() {
					ev.LatencyMS = float64(sp.EndTimestamp()-sp.StartTimestamp()) / 1e6
				}
				if ev.Status == "" && sp.Status().Code() != ptrace.StatusCodeUnset {
					ev.Status = sp.Status().Code().String()
				}
				if !canonical {
					e.keepUnknown(&ev, res, pcommon.NewValueEmpty())
				}
				if ev.EventID == ([16]byte{}) {
					var tid [16]byte = sp.TraceID()
					var sid [8]byte = sp.SpanID()
					h := sha256.New()
					h.Write([]byte("span\x00"))
					h.Write(tid[:])
					h.Write(sid[:])
					var sum [32]byte
					copy(ev.EventID[:], h.Sum(sum[:0]))
				}
				b.Events = append(b.Events, ev)
			}
		}
	}
	return e.write(ctx, b)
}

// events returns an empty slice with room for n rows, recycled when one is
// free.
func (e *lakehouseExporter) events(n int) []schema.Event {
	select {
	case evs := <-e.free:
		if cap(evs) >= n {
			return evs[:0]
		}
	default:
	}
	return make([]schema.Event, 0, n)
}

func (e *lakehouseExporter) recycle(evs []schema.Event) {
	select {
	case e.free <- evs:
	default:
	}
}

// newEventAt is newEvent for the row about to be appended to evs: it takes
// over (emptied) the attribute map a recycled slice holds in that slot.
func (e *lakehouseExporter) newEventAt(evs []schema.Event, rtenant string) schema.Event {
	ev := e.newEvent(rtenant)
	if n := len(evs); n < cap(evs) {
		if m := evs[:n+1][n].Attributes; m != nil {
			clear(m)
			ev.Attributes = m
		}
	}
	return ev
}

func (e *lakehouseExporter) newEvent(rtenant string) schema.Event {
	t := rtenant
	if t == "" {
		t = e.cfg.DefaultTenant
	}
	return schema.Event{Tenant: t, SchemaVersion: schema.Version, Kind: schema.KindOther, Source: schema.SourceUnknown}
}

func tenantOf(m pcommon.Map) string {
	if v, ok := m.Get(schema.AttrTenant); ok && v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return ""
}

// keepUnknown preserves what a record without canonical attributes carries
// (no genai in the pipeline): its resource attributes under "resource.",
// and the body's size, never its content (a body may be a prompt).
func (e *lakehouseExporter) keepUnknown(ev *schema.Event, res pcommon.Map, body pcommon.Value) {
	if ev.Attributes == nil {
		ev.Attributes = make(map[string]string, res.Len()+1)
	}
	res.Range(func(k string, v pcommon.Value) bool {
		if k != schema.AttrTenant {
			ev.Attributes["resource."+k] = e.attrValue(k, v)
		}
		return true
	})
	if body.Type() != pcommon.ValueTypeEmpty {
		ev.Attributes["log.body_bytes"] = strconv.Itoa(len(body.AsString()))
	}
}

// contentID derives a deterministic event id from what the record holds:
// a redelivered record gets the same id.
func contentID(kind string, res pcommon.Map, scope string, ts, observed uint64, body pcommon.Value, attrs pcommon.Map, tid pcommon.TraceID, sid pcommon.SpanID) [16]byte {
	h := sha256.New()
	var n [8]byte
	w := func(s string) {
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	w(kind)
	hashMap(w, res)
	w(scope)
	binary.LittleEndian.PutUint64(n[:], ts)
	h.Write(n[:])
	binary.LittleEndian.PutUint64(n[:], observed)
	h.Write(n[:])
	w(body.Type().String())
	w(body.AsString())
	hashMap(w, attrs)
	h.Write(tid[:])
	h.Write(sid[:])
	var sum [32]byte
	var id [16]byte
	copy(id[:], h.Sum(sum[:0]))
	return id
}

func hashMap(w func(string), m pcommon.Map) {
	m.Range(func(k string, v pcommon.Value) bool {
		w(k)
		w(v.Type().String())
		w(v.AsString())
		return true
	})
}

// typeError keeps a canonical attribute of the wrong type as data (in
// attributes, under its own key) and warns once per key naming the
// attribute and the expected type.
func (e *lakehouseExporter) typeError(ev *schema.Event, key string, v pcommon.Value, want string) {
	if ev.Attributes == nil {
		ev.Attributes = map[string]string{}
	}
	ev.Attributes[key] = v.AsString()
	e.typeErrors.Add(1)
	e.mTypeErrors.Add(context.Background(), 1)
	if _, seen := e.typeWarn.LoadOrStore(key, struct{}{}); !seen {
		e.log.Warn("lakehouse: canonical attribute has the wrong type; value kept in attributes",
			zap.String("attribute", key), zap.String("got", v.Type().String()), zap.String("want", want))
	}
}

func asUint(v pcommon.Value) (uint64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		if v.Int() < 0 {
			return 0, false
		}
		return uint64(v.Int()), true
	case pcommon.ValueTypeDouble:
		f := v.Double()
		if f < 0 || f != math.Trunc(f) || f > math.MaxUint64 {
			return 0, false
		}
		return uint64(f), true
	case pcommon.ValueTypeStr:
		u, err := strconv.ParseUint(v.Str(), 10, 64)
		return u, err == nil
	}
	return 0, false
}

func asInt(v pcommon.Value) (int64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int(), true
	case pcommon.ValueTypeDouble:
		f := v.Double()
		return int64(f), f == math.Trunc(f) && math.Abs(f) < 1<<62
	case pcommon.ValueTypeStr:
		i, err := strconv.ParseInt(v.Str(), 10, 64)
		return i, err == nil
	}
	return 0, false
}

func asFloat(v pcommon.Value) (float64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeDouble:
		return v.Double(), true
	case pcommon.ValueTypeInt:
		return float64(v.Int()), true
	case pcommon.ValueTypeStr:
		f, err := strconv.ParseFloat(v.Str(), 64)
		return f, err == nil && !math.IsNaN(f)
	}
	return 0, false
}

func asTime(v pcommon.Value) (time.Time, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return time.Unix(0, v.Int()).UTC(), true
	case pcommon.ValueTypeStr:
		if t, err := time.Parse("2006-01-02", v.Str()); err == nil {
			return t, true
		}
		t, err := time.Parse(time.RFC3339Nano, v.Str())
		return t.UTC(), err == nil
	}
	return time.Time{}, false
}

var errNoStore = consumererror.NewPermanent(fmt.Errorf("lakehouse store not available"))
