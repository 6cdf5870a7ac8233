// Package export ships endpoint events to otelcol-warden as OTLP logs (the
// OTel Go SDK's OTLP/HTTP exporter) through a durable on-disk buffer
// (bbolt): events are written to disk first and deleted only once the
// collector has acknowledged them, so a collector that is down for hours
// loses nothing. Disk use is bounded: when the buffer is full the
// configured policy applies (drop_oldest, counted and reported, or block,
// which back-pressures the sensor) and the process never crashes.
//
// Endpoint events carry no prompt-like content (paths and identities are
// pseudonymized before they reach the Sink), so the buffer never holds
// cleartext.
package export

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/wardenhq/warden/endpoint"
	"github.com/wardenhq/warden/schema"
)

// Buffer-full policies.
const (
	DropOldest = "drop_oldest"
	Block      = "block"
)

// Config configures the exporter.
type Config struct {
	// Endpoint is the collector's OTLP/HTTP base URL
	// (http://127.0.0.1:4318); /v1/logs is appended.
	Endpoint string
	// Dir holds the buffer (buffer.db).
	Dir string
	// MaxBytes bounds the buffered event bytes (default 256 MiB).
	MaxBytes int64
	// Policy when full: drop_oldest (default) or block.
	Policy string
	// Tenant is set as warden.tenant on the resource when non-empty.
	Tenant         string
	ServiceVersion string
	// BatchSize is the number of records per OTLP request (default 512).
	BatchSize int
	// Logf reports buffer-full and export trouble (default: stderr).
	Logf func(format string, args ...any)
}

// Validate checks the config; errors name the key.
func (c *Config) Validate() error {
	if c.Endpoint == "" || !(strings.HasPrefix(c.Endpoint, "http://") || strings.HasPrefix(c.Endpoint, "https://")) {
		return fmt.Errorf("export.endpoint: %q: want an http(s):// OTLP/HTTP base URL", c.Endpoint)
	}
	if c.Dir == "" {
		return errors.New("export.dir: required")
	}
	if c.MaxBytes < 0 {
		return fmt.Errorf("export.max_bytes: %d: must be >= 0", c.MaxBytes)
	}
	switch c.Policy {
	case "", DropOldest, Block:
	default:
		return fmt.Errorf("export.policy: %q: want drop_oldest or block", c.Policy)
	}
	if c.BatchSize < 0 {
		return fmt.Errorf("export.batch_size: %d: must be >= 0", c.BatchSize)
	}
	return nil
}

var (
	bucket  = []byte("events")
	metaBkt = []byte("meta")
	metaKey = []byte("size_count") // 16 bytes: buffered bytes, events
)

// putMeta records the buffer's size and count in the same transaction as
// the change, so Open does not have to scan a large backlog.
func putMeta(tx *bolt.Tx, size, count int64) error {
	var v [16]byte
	binary.BigEndian.PutUint64(v[:8], uint64(size))
	binary.BigEndian.PutUint64(v[8:], uint64(count))
	return tx.Bucket(metaBkt).Put(metaKey, v[:])
}

// Exporter is a durable endpoint.Sink.
type Exporter struct {
	cfg   Config
	db    *bolt.DB
	in    chan record
	wake  chan struct{}
	space *sync.Cond
	mu    sync.Mutex
	size  int64 // buffered bytes (guarded by mu)
	// otlpSize: bytes of relayed agent OTLP requests (guarded by mu).
	otlpSize int64
	hc       *http.Client
	// pending: events emitted but not yet on disk (channel and the
	// writer's batch), so Flush does not return while the writer gathers.
	pending atomic.Int64
	seq     uint64
	closed  atomic.Bool
	done    chan struct{}
	stop    chan struct{}
	wg      sync.WaitGroup

	exp    *otlploghttp.Exporter
	lp     *sdklog.LoggerProvider
	logger otellog.Logger
	coll   *collector

	Stats Stats
	// lastFailed is whether the last export attempt failed.
	lastFailed atomic.Bool
}

// Reachable reports false once an export attempt failed and until one
// succeeds again (true before the first attempt).
func (x *Exporter) Reachable() bool { return !x.lastFailed.Load() }

// Stats are the exporter's counters.
type Stats struct {
	Buffered atomic.Int64  // events waiting on disk
	Dropped  atomic.Uint64 // dropped by drop_oldest
	Exported atomic.Uint64 // acknowledged by the collector
	Failures atomic.Uint64 // failed export attempts
	Full     atomic.Uint64 // times the buffer was found full
	// The agent's own relayed OTLP requests (PutOTLP).
	BufferedOTLP atomic.Int64  // requests waiting on disk
	ExportedOTLP atomic.Uint64 // acknowledged by the collector
}

type record struct {
	ID    [16]byte       `json:"id"`
	Event endpoint.Event `json:"ev"`
}

// Open opens (or creates) the buffer and starts shipping, including events
// left by earlier sessions.
func Open(cfg Config) (*Exporter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = 256 << 20
	}
	if cfg.Policy == "" {
		cfg.Policy = DropOldest
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 512
	}
	if cfg.Logf == nil {
		cfg.Logf = func(f string, a ...any) { fmt.Fprintf(os.Stderr, "warden: export: "+f+"\n", a...) }
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("export.dir: %w", err)
	}
	db, err := bolt.Open(filepath.Join(cfg.Dir, "buffer.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("export.dir: buffer: %w", err)
	}
	x := &Exporter{cfg: cfg, db: db, in: make(chan record, 1024), wake: make(chan struct{}, 1),
		done: make(chan struct{}), stop: make(chan struct{})}
	x.space = sync.NewCond(&x.mu)
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucket)
		if err != nil {
			return err
		}
		m, err := tx.CreateBucketIfNotExists(metaBkt)
		if err != nil {
			return err
		}
		if err := x.openOTLP(tx); err != nil {
			return err
		}
		x.seq = b.Sequence()
		if v := m.Get(metaKey); len(v) == 16 {
			x.size = int64(binary.BigEndian.Uint64(v[:8]))
			x.Stats.Buffered.Store(int64(binary.BigEndian.Uint64(v[8:])))
			return nil
		}
		var n int64
		err = b.ForEach(func(k, v []byte) error {
			x.size += int64(len(v))
			n++
			return nil
		})
		x.Stats.Buffered.Store(n)
		if err != nil {
			return err
		}
		return putMeta(tx, x.size, n)
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("export: buffer: %w", err)
	}
	x.exp, err = otlploghttp.New(context.Background(),
		otlploghttp.WithEndpointURL(strings.TrimSuffix(cfg.Endpoint, "/")+"/v1/logs"),
		otlploghttp.WithRetry(otlploghttp.RetryConfig{Enabled: false}), // the buffer retries
		otlploghttp.WithTimeout(10*time.Second))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("export.endpoint: %w", err)
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", schema.EndpointServiceName)}
	if cfg.ServiceVersion != "" {
		attrs = append(attrs, attribute.String("service.version", cfg.ServiceVersion))
	}
	if cfg.Tenant != "" {
		attrs = append(attrs, attribute.String(schema.AttrTenant, cfg.Tenant))
	}
	x.hc = &http.Client{Timeout: 15 * time.Second}
	x.coll = &collector{}
	x.lp = sdklog.NewLoggerProvider(
		sdklog.WithResource(resource.NewSchemaless(attrs...)),
		sdklog.WithProcessor(x.coll),
		sdklog.WithAttributeCountLimit(-1), sdklog.WithAttributeValueLengthLimit(-1))
	x.logger = x.lp.Logger(schema.EndpointScope)
	x.wg.Add(2)
	go x.writer()
	go x.shipper()
	x.kick()
	return x, nil
}

// Emit buffers one event. With the block policy it waits while the buffer
// is full; it never fails.
func (x *Exporter) Emit(ev endpoint.Event) {
	if x.closed.Load() {
		x.cfg.Logf("event after close dropped (%s)", ev.Name)
		x.Stats.Dropped.Add(1)
		return
	}
	var r record
	newEventID(&r.ID, ev.Time)
	r.Event = ev
	x.pending.Add(1)
	x.in <- r
}

// newEventID is a UUIDv7: time-ordered, random tail. The collector and the
// lakehouse can deduplicate on it, which makes at-least-once delivery from
// the buffer exactly-once in storage.
func newEventID(id *[16]byte, t time.Time) {
	_, _ = rand.Read(id[:])
	ms := uint64(t.UnixMilli())
	id[0], id[1], id[2], id[3], id[4], id[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	id[6] = id[6]&0x0f | 0x70
	id[8] = id[8]&0x3f | 0x80
}

// coalesce is how long the writer gathers events into one transaction.
const coalesce = 20 * time.Millisecond

// writer moves events from the channel to disk in batches (one fsync per
// batch, not per event).
func (x *Exporter) writer() {
	defer x.wg.Done()
	batch := make([]record, 0, 512)
	for {
		r, ok := <-x.in
		if !ok {
			return
		}
		batch = append(batch[:0], r)
		// Coalesce for up to coalesce (or a full batch): a sensor emitting
		// one event per opened file would otherwise commit (and fdatasync)
		// a handful of events at a time. Events wait in memory at most
		// this long, as they already did in the channel.
		timer := time.NewTimer(coalesce)
	more:
		for len(batch) < cap(batch) {
			select {
			case r, ok := <-x.in:
				if !ok {
					break more
				}
				batch = append(batch, r)
			case <-timer.C:
				break more
			}
		}
		timer.Stop()
		x.store(batch)
		x.pending.Add(-int64(len(batch)))
		x.kick()
	}
}

func (x *Exporter) store(batch []record) {
	vals := make([][]byte, len(batch))
	var need int64
	// One backing array for the batch (earlier values keep theirs if it
	// grows); bbolt needs the values only until the commit.
	buf := make([]byte, 0, 320*len(batch))
	for i := range batch {
		start := len(buf)
		buf = appendRecord(buf, &batch[i])
		vals[i] = buf[start:len(buf):len(buf)]
		need += int64(len(vals[i]))
	}
	x.mu.Lock()
	// Relayed agent requests (otlpSize) share the bound.
	if x.size+x.otlpSize+need > x.cfg.MaxBytes {
		x.Stats.Full.Add(1)
		if x.cfg.Policy == Block {
			if x.Stats.Full.Load() == 1 || x.Stats.Full.Load()%1000 == 0 {
				x.cfg.Logf("buffer full (%d of %d bytes): blocking until the collector takes events", x.size, x.cfg.MaxBytes)
			}
			for x.size+x.otlpSize+need > x.cfg.MaxBytes && x.size > 0 && !x.closing() {
				x.space.Wait()
			}
		}
	}
	x.mu.Unlock()
	err := x.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		// Keys only ever grow (a sequence): pack pages full instead of
		// bbolt's default half-full splits, which doubled the file and the
		// pages written per commit.
		b.FillPercent = 1.0
		for _, v := range vals {
			seq, _ := b.NextSequence()
			if err := b.Put(seqKey(seq), v); err != nil {
				return err
			}
		}
		// drop_oldest: make room by deleting from the front.
		x.mu.Lock()
		size := x.size + need
		otlp := x.otlpSize
		x.mu.Unlock()
		var dropped uint64
		// (block: the writer waited for room above; a single batch larger
		// than the whole buffer may overshoot it rather than lose events)
		if size+otlp > x.cfg.MaxBytes && x.cfg.Policy == DropOldest {
			c := b.Cursor()
			for k, v := c.First(); k != nil && size+otlp > x.cfg.MaxBytes; k, v = c.First() {
				size -= int64(len(v))
				if err := c.Delete(); err != nil {
					return err
				}
				dropped++
			}
		}
		if err := putMeta(tx, size, x.Stats.Buffered.Load()+int64(len(vals))-int64(dropped)); err != nil {
			return err
		}
		x.mu.Lock()
		x.size = size
		x.mu.Unlock()
		x.Stats.Buffered.Add(int64(len(vals)) - int64(dropped))
		if dropped > 0 {
			if x.Stats.Dropped.Load() == 0 || (x.Stats.Dropped.Load()+dropped)/10000 != x.Stats.Dropped.Load()/10000 {
				x.cfg.Logf("buffer full (%d bytes): dropped %d oldest events (total %d)", x.cfg.MaxBytes, dropped, x.Stats.Dropped.Load()+dropped)
			}
			x.Stats.Dropped.Add(dropped)
		}
		return nil
	})
	if err != nil {
		// Disk trouble: report and count, never crash the session.
		x.cfg.Logf("buffer write failed, %d events lost: %v", len(vals), err)
		x.Stats.Dropped.Add(uint64(len(vals)))
	}
}

func (x *Exporter) closing() bool {
	select {
	case <-x.stop:
		return true
	default:
		return false
	}
}

func seqKey(n uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], n)
	return k[:]
}

func (x *Exporter) kick() {
	select {
	case x.wake <- struct{}{}:
	default:
	}
}

// shipper exports the oldest buffered events and deletes them once the
// collector acknowledged them; on failure it backs off and retries.
func (x *Exporter) shipper() {
	defer x.wg.Done()
	backoff := 100 * time.Millisecond
	for {
		n, err := x.shipOnce(context.Background())
		if err == nil {
			var m int
			m, err = x.shipOTLP(context.Background())
			n += m
		}
		switch {
		case err != nil:
			x.lastFailed.Store(true)
			x.Stats.Failures.Add(1)
			if x.Stats.Failures.Load() == 1 || x.Stats.Failures.Load()%50 == 0 {
				x.cfg.Logf("collector unreachable, %d events kept on disk: %v", x.Stats.Buffered.Load(), err)
			}
			select {
			case <-x.stop:
				return
			case <-time.After(backoff):
			}
			if backoff < 30*time.Second {
				backoff *= 2
			}
			continue
		case n > 0:
			x.lastFailed.Store(false)
			backoff = 100 * time.Millisecond
			continue
		}
		select {
		case <-x.stop:
			return
		case <-x.wake:
		case <-time.After(time.Second):
		}
	}
}

func (x *Exporter) shipOnce(ctx context.Context) (int, error) {
	var keys [][]byte
	var recs []record
	var sizes int64
	err := x.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucket).Cursor()
		for k, v := c.First(); k != nil && len(keys) < x.cfg.BatchSize; k, v = c.Next() {
			var r record
			if err := decodeRecord(v, &r); err != nil {
				// A corrupt entry is skipped (and deleted below), not
				// retried forever.
				x.cfg.Logf("corrupt buffered event skipped: %v", err)
			} else {
				recs = append(recs, r)
			}
			keys = append(keys, append([]byte(nil), k...))
			sizes += int64(len(v))
		}
		return nil
	})
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	out := x.coll.take(func() {
		for _, r := range recs {
			x.logger.Emit(ctx, toLogRecord(r))
		}
	})
	ectx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := x.exp.Export(ectx, out); err != nil {
		return 0, err
	}
	err = x.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		// Counters move inside the (serialized) transaction so the meta
		// record never sees a half-applied change.
		x.mu.Lock()
		x.size -= sizes
		size := x.size
		x.mu.Unlock()
		x.Stats.Buffered.Add(-int64(len(keys)))
		return putMeta(tx, size, x.Stats.Buffered.Load())
	})
	if err != nil {
		return 0, err
	}
	x.mu.Lock()
	x.space.Broadcast()
	x.mu.Unlock()
	x.Stats.Exported.Add(uint64(len(recs)))
	return len(keys), nil
}

// Backlog is what has not reached the collector yet: events in memory or
// on disk, and relayed agent requests on disk.
func (x *Exporter) Backlog() int64 {
	return x.pending.Load() + x.Stats.Buffered.Load() + x.Stats.BufferedOTLP.Load()
}

// Flush waits until the buffer is empty or ctx ends.
func (x *Exporter) Flush(ctx context.Context) error {
	for {
		if x.pending.Load() == 0 && x.Stats.Buffered.Load() == 0 && x.Stats.BufferedOTLP.Load() == 0 {
			return nil
		}
		x.kick()
		select {
		case <-ctx.Done():
			return fmt.Errorf("export: %d events and %d agent OTLP requests still buffered on disk: %w", x.Stats.Buffered.Load(), x.Stats.BufferedOTLP.Load(), ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Close stops shipping; what was not acknowledged stays on disk for the
// next Open.
func (x *Exporter) Close() error {
	if x.closed.Swap(true) {
		return nil
	}
	close(x.in)
	x.mu.Lock()
	close(x.stop)
	x.space.Broadcast()
	x.mu.Unlock()
	x.wg.Wait()
	_ = x.lp.Shutdown(context.Background())
	_ = x.exp.Shutdown(context.Background())
	return x.db.Close()
}

// collector is an sdklog.Processor that hands records back to the shipper
// instead of exporting them, so the shipper sees the export result.
type collector struct {
	mu  sync.Mutex
	out []sdklog.Record
}

func (c *collector) take(emit func()) []sdklog.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.out = nil
	emit()
	return c.out
}

func (c *collector) OnEmit(_ context.Context, r *sdklog.Record) error {
	c.out = append(c.out, r.Clone())
	return nil
}
func (c *collector) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }
func (c *collector) Shutdown(context.Context) error                         { return nil }
func (c *collector) ForceFlush(context.Context) error                       { return nil }

// toLogRecord renders an event in the canonical endpoint shape
// (schema/endpoint.go).
func toLogRecord(r record) otellog.Record {
	ev := r.Event
	var rec otellog.Record
	rec.SetTimestamp(ev.Time)
	rec.SetObservedTimestamp(time.Now())
	rec.SetEventName(ev.Name)
	kv := []attribute.KeyValue{
		attribute.String("event.name", ev.Name),
		attribute.ByteSlice(schema.Attr("event_id"), r.ID[:]),
		attribute.String(schema.Attr("kind"), ev.Kind),
		attribute.String(schema.Attr("source"), schema.SourceWardenEndpoint),
		attribute.String(schema.Attr("event_name"), ev.Name),
		attribute.String(schema.Attr("session_id"), ev.SessionID),
		attribute.Bool(schema.Attr("denied"), ev.Denied),
	}
	str := func(col, v string) {
		if v != "" {
			kv = append(kv, attribute.String(schema.Attr(col), v))
		}
	}
	str("agent", ev.Agent)
	str("agent_version", ev.AgentVersion)
	str("user_pseudonym", ev.UserPseudonym)
	str("device_pseudonym", ev.DevicePseudonym)
	str("path_pseudonym", ev.PathPseudonym)
	str("access_mode", ev.AccessMode)
	str("dest_host", ev.DestHost)
	str("content_sha256", ev.ContentSHA256)
	if ev.DestPort != 0 {
		kv = append(kv, attribute.Int(schema.Attr("dest_port"), int(ev.DestPort)))
	}
	if ev.Kind == schema.KindAgentLifecycle {
		kv = append(kv, attribute.Int(schema.Attr("exit_code"), int(ev.ExitCode)))
	}
	if len(ev.RuleIDs) > 0 {
		kv = append(kv, attribute.StringSlice(schema.Attr("rule_ids"), ev.RuleIDs), attribute.String(schema.Attr("decision"), "deny"))
	}
	for k, v := range ev.Attrs {
		switch v := v.(type) {
		case string:
			kv = append(kv, attribute.String(k, v))
		case int64:
			kv = append(kv, attribute.Int64(k, v))
		case float64: // after a JSON round trip through the buffer
			kv = append(kv, attribute.Int64(k, int64(v)))
		case bool:
			kv = append(kv, attribute.Bool(k, v))
		}
	}
	rec.AddAttributes(kv...)
	return rec
}
