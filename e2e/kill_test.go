package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	sdklog "go.opentelemetry.io/otel/sdk/log"
)

// capture keeps emitted records so the test can export them itself and
// know exactly which batches the collector acknowledged.
type capture struct{ recs []sdklog.Record }

func (c *capture) OnEmit(_ context.Context, r *sdklog.Record) error {
	c.recs = append(c.recs, r.Clone())
	return nil
}
func (c *capture) Shutdown(context.Context) error                         { return nil }
func (c *capture) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }
func (c *capture) ForceFlush(context.Context) error                       { return nil }

// TestKill9MidStream: kill -9 of the collector in the middle of a 200,000
// record stream, then a restart: every record the client saw acknowledged
// is present exactly once in both stores.
func TestKill9MidStream(t *testing.T) {
	skipShort(t)
	const total, per = 200_000, 2_000
	c := NewCollector(t, ConfigFile(t, "2s"))
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cp := &capture{}
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res("kill", "claude-code")), sdklog.WithProcessor(cp))
	l := lp.Logger("com.anthropic.claude_code.events")
	base := time.Now().UTC().Truncate(time.Second)
	for i := 0; i < total; i++ {
		emit(l, base.Add(time.Duration(i)*time.Microsecond), "claude_code.api_request",
			attribute.String("event.name", "api_request"), attribute.String("session.id", fmt.Sprintf("s%d", i%97)),
			attribute.String("model", "claude-sonnet-4-5"), attribute.Int("input_tokens", i%1000), attribute.Int("output_tokens", 7),
			attribute.Float64("cost_usd", 0.001), attribute.Int("e2e.seq", i))
	}
	exp, err := otlploghttp.New(ctx, otlploghttp.WithEndpoint(c.HTTP), otlploghttp.WithInsecure(),
		otlploghttp.WithRetry(otlploghttp.RetryConfig{Enabled: false}), otlploghttp.WithTimeout(20*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	acked := make([]bool, total/per)
	var nacked atomic.Int64
	killed := make(chan struct{})
	go func() {
		for nacked.Load() < int64(len(acked))/2 {
			time.Sleep(5 * time.Millisecond)
		}
		c.Kill9()
		close(killed)
	}()
	for b := range acked {
		select {
		case <-killed:
		default:
			if err := exp.Export(ctx, cp.recs[b*per:(b+1)*per]); err == nil {
				acked[b] = true
				nacked.Add(1)
			}
			continue
		}
		break
	}
	<-killed
	t.Logf("acknowledged %d of %d batches before kill -9", nacked.Load(), len(acked))
	if nacked.Load() == int64(len(acked)) {
		t.Fatal("kill came after the stream ended: not a mid-stream crash")
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	want := map[int]bool{}
	for b, ok := range acked {
		if ok {
			for i := b * per; i < (b+1)*per; i++ {
				want[i] = true
			}
		}
	}
	check := func(seqs []int, store string) string {
		seen := make(map[int]int, len(seqs))
		for _, s := range seqs {
			seen[s]++
		}
		dups, missing := 0, 0
		for _, n := range seen {
			if n > 1 {
				dups++
			}
		}
		for s := range want {
			if seen[s] != 1 {
				missing++
			}
		}
		if dups == 0 && missing == 0 {
			return ""
		}
		return fmt.Sprintf("%s: %d rows, %d duplicated seqs, %d acknowledged seqs missing", store, len(seqs), dups, missing)
	}
	var lastCH, lastLake []int
	WaitFor(t, 3*time.Minute, "every acknowledged record once in both stores", func() (bool, string) {
		out, err := c.SQL("SELECT attributes['e2e.seq'] FROM events WHERE tenant = 'kill'")
		if err != nil {
			return false, err.Error()
		}
		lastCH = lastCH[:0]
		for _, f := range strings.Fields(out) {
			n, _ := strconv.Atoi(f)
			lastCH = append(lastCH, n)
		}
		if msg := check(lastCH, "clickhouse"); msg != "" {
			return false, msg
		}
		evs, err := c.LakeEvents()
		if err != nil {
			return false, err.Error()
		}
		lastLake = lastLake[:0]
		for _, e := range evs {
			if e.Tenant == "kill" {
				n, _ := strconv.Atoi(e.Attributes["e2e.seq"])
				lastLake = append(lastLake, n)
			}
		}
		if msg := check(lastLake, "lake"); msg != "" {
			return false, msg
		}
		return len(lastLake) == len(lastCH), fmt.Sprintf("lake %d rows, clickhouse %d", len(lastLake), len(lastCH))
	})
	// Stable: nothing more arrives later as a duplicate.
	time.Sleep(3 * time.Second)
	out := c.MustSQL("SELECT count(), uniqExact(event_id), uniqExact(attributes['e2e.seq']) FROM events WHERE tenant = 'kill'")
	f := strings.Fields(out)
	if len(f) != 3 || f[0] != f[1] || f[0] != f[2] {
		t.Fatalf("duplicates after settling: %s", out)
	}
	t.Logf("acknowledged %d records; stored %s (count, ids, seqs); suppressed/replayed per log: %s", len(want), out, grepLog(c.Log(), "replayed WAL"))
}

func grepLog(log, s string) string {
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, s) {
			if len(line) > 300 {
				line = line[:300]
			}
			return line
		}
	}
	return "(none)"
}
