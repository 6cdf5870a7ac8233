package lakehousestore

import (
	"fmt"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/wardenhq/warden/schema"
)

// benchEvents are model_call rows shaped like the collector benchmark's
// load after genai: a handful of leftover attributes, pseudonymous ids.
func benchEvents(n int) []schema.Event {
	out := make([]schema.Event, n)
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	for i := range out {
		var id [16]byte
		id[0], id[1], id[2] = byte(i), byte(i>>8), byte(i>>16)
		out[i] = schema.Event{EventID: id, Tenant: "bench", TS: t0.Add(time.Duration(i) * time.Millisecond),
			SchemaVersion: 1, Kind: schema.KindModelCall, Source: schema.SourceClaudeCode, EventName: "claude_code.api_request",
			UserPseudonym: fmt.Sprintf("wu1_%040d", i%50), SessionID: fmt.Sprintf("s%d", i%200), Agent: "claude-code", AgentVersion: "2.1.330",
			Provider: "anthropic", Model: "claude-sonnet-4-5", InputTokens: 1834, OutputTokens: 412, CacheReadTokens: 50,
			CostUSD: 0.011682, CostSource: schema.CostPriced, PricedCostUSD: 0.011682, LatencyMS: 900, Status: "ok",
			Attributes: map[string]string{"app": "server", "terminal.type": "vscode", "service.name": "claude-code", "worker": fmt.Sprint(i % 4), "phase": "steady", "gen_ai.system": "anthropic"}}
	}
	return out
}

func BenchmarkCodecEvents(b *testing.B) {
	c, err := NewCodec(schema.EventsTable)
	if err != nil {
		b.Fatal(err)
	}
	const n = 32768
	rows := benchEvents(n)
	b.Run("native", func(b *testing.B) {
		var buf []byte
		b.ReportAllocs()
		for b.Loop() {
			out, err := c.EncodeNative(rows, buf)
			if err != nil {
				b.Fatal(err)
			}
			buf = out[:0]
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n)/1000, "µs/row")
	})
	b.Run("decode", func(b *testing.B) {
		data, err := c.EncodeNative(rows, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.DecodeNative(data); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n)/1000, "µs/row")
	})
	b.Run("parquet", func(b *testing.B) {
		b.ReportAllocs()
		var scratch [][]parquet.Value
		base, stride, _, _ := c.rowsBase(rows)
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		for b.Loop() {
			w := parquet.NewWriter(devnull{}, c.pq.Schema, parquet.Compression(schema.ZstdCodec))
			if err := c.writeColumns(w, base, stride, idx, &scratch); err != nil {
				b.Fatal(err)
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n)/1000, "µs/row")
	})
}

type devnull struct{}

func (devnull) Write(p []byte) (int, error) { return len(p), nil }
