package export

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The agent's own OTLP requests (relayed by endpoint/relay, identity added
// and prompt-like content already sealed) are kept in their own bucket as
// marshalled protobuf, one request per entry, and forwarded to the
// collector as they are: deleted only after a 2xx.

var (
	otlpBkt     = []byte("otlp")
	otlpMetaKey = []byte("otlp_size_count") // 16 bytes: buffered bytes, requests
)

// Signals a buffered request can carry (first byte of the entry).
var signals = []string{"logs", "metrics", "traces"}

// ErrBufferFull is returned by PutOTLP when the buffer has no room: the
// relay answers 503 so the agent's SDK keeps the request and retries
// (nothing accepted is dropped).
var ErrBufferFull = errors.New("export: buffer full")

// PutOTLP durably buffers one OTLP/HTTP protobuf request body for signal
// (logs, metrics, traces); it returns once the request is on disk.
func (x *Exporter) PutOTLP(signal string, body []byte) error {
	code := -1
	for i, s := range signals {
		if s == signal {
			code = i
		}
	}
	if code < 0 {
		return fmt.Errorf("export: signal %q: want logs, metrics or traces", signal)
	}
	if x.closed.Load() {
		return errors.New("export: closed")
	}
	v := make([]byte, 1+len(body))
	v[0] = byte(code)
	copy(v[1:], body)
	x.mu.Lock()
	full := x.size+x.otlpSize+int64(len(v)) > x.cfg.MaxBytes
	x.mu.Unlock()
	if full {
		x.Stats.Full.Add(1)
		if x.Stats.Full.Load() == 1 || x.Stats.Full.Load()%100 == 0 {
			x.cfg.Logf("buffer full (%d bytes): agent telemetry refused until the collector takes events (the agent retries)", x.cfg.MaxBytes)
		}
		return ErrBufferFull
	}
	err := x.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(otlpBkt)
		seq, _ := b.NextSequence()
		if err := b.Put(seqKey(seq), v); err != nil {
			return err
		}
		x.mu.Lock()
		x.otlpSize += int64(len(v))
		size := x.otlpSize
		x.mu.Unlock()
		return putOTLPMeta(tx, size, x.Stats.BufferedOTLP.Load()+1)
	})
	if err != nil {
		return fmt.Errorf("export: buffer write: %w", err)
	}
	x.Stats.BufferedOTLP.Add(1)
	x.kick()
	return nil
}

func putOTLPMeta(tx *bolt.Tx, size, count int64) error {
	var v [16]byte
	binary.BigEndian.PutUint64(v[:8], uint64(size))
	binary.BigEndian.PutUint64(v[8:], uint64(count))
	return tx.Bucket(metaBkt).Put(otlpMetaKey, v[:])
}

// openOTLP creates the bucket and loads its counters (inside Open's
// transaction).
func (x *Exporter) openOTLP(tx *bolt.Tx) error {
	b, err := tx.CreateBucketIfNotExists(otlpBkt)
	if err != nil {
		return err
	}
	if v := tx.Bucket(metaBkt).Get(otlpMetaKey); len(v) == 16 {
		x.otlpSize = int64(binary.BigEndian.Uint64(v[:8]))
		x.Stats.BufferedOTLP.Store(int64(binary.BigEndian.Uint64(v[8:])))
		return nil
	}
	var n int64
	_ = b.ForEach(func(_, v []byte) error { x.otlpSize += int64(len(v)); n++; return nil })
	x.Stats.BufferedOTLP.Store(n)
	return putOTLPMeta(tx, x.otlpSize, n)
}

// shipOTLP forwards up to BatchSize buffered requests, oldest first, and
// deletes each once the collector acknowledged it. It stops at the first
// failure (order kept, retried with the shipper's back-off).
func (x *Exporter) shipOTLP(ctx context.Context) (int, error) {
	type entry struct {
		key []byte
		val []byte
	}
	var es []entry
	err := x.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(otlpBkt).Cursor()
		for k, v := c.First(); k != nil && len(es) < x.cfg.BatchSize; k, v = c.Next() {
			es = append(es, entry{append([]byte(nil), k...), append([]byte(nil), v...)})
		}
		return nil
	})
	if err != nil || len(es) == 0 {
		return 0, err
	}
	n := 0
	for _, e := range es {
		rejected, err := x.post(ctx, e.val)
		if err != nil {
			return n, err
		}
		if rejected != "" {
			// 4xx other than 429: the collector will never take it;
			// retrying would block everything behind it.
			x.cfg.Logf("collector rejected a buffered %s request, dropped: %s", signalOf(e.val), rejected)
			x.Stats.Dropped.Add(1)
		}
		err = x.db.Update(func(tx *bolt.Tx) error {
			if err := tx.Bucket(otlpBkt).Delete(e.key); err != nil {
				return err
			}
			x.mu.Lock()
			x.otlpSize -= int64(len(e.val))
			size := x.otlpSize
			x.mu.Unlock()
			x.Stats.BufferedOTLP.Add(-1)
			return putOTLPMeta(tx, size, x.Stats.BufferedOTLP.Load())
		})
		if err != nil {
			return n, err
		}
		if rejected == "" {
			x.Stats.ExportedOTLP.Add(1)
		}
		n++
		x.mu.Lock()
		x.space.Broadcast() // room for a blocked event writer
		x.mu.Unlock()
	}
	return n, nil
}

func signalOf(v []byte) string {
	if len(v) > 0 && int(v[0]) < len(signals) {
		return signals[v[0]]
	}
	return "unknown"
}

// post sends one buffered request; rejected is non-empty for a permanent
// refusal, err for anything worth retrying.
func (x *Exporter) post(ctx context.Context, v []byte) (rejected string, err error) {
	if len(v) == 0 || int(v[0]) >= len(signals) {
		return "corrupt entry", nil
	}
	url := strings.TrimSuffix(x.cfg.Endpoint, "/") + "/v1/" + signals[v[0]]
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(v[1:]))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := x.hc.Do(req)
	if err != nil {
		return "", err
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	resp.Body.Close()
	switch {
	case resp.StatusCode/100 == 2:
		return "", nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode/100 == 5:
		return "", fmt.Errorf("%s: %s", url, resp.Status)
	default:
		return fmt.Sprintf("%s: %s %q", url, resp.Status, msg), nil
	}
}
