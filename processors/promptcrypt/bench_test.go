package promptcrypt

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/wardenhq/warden/collector/keyring/keyringtest"
)

// benchPrompt is ~1 KB, like the peer benchmark's `prompt` attribute.
var benchPrompt = strings.Repeat("Refactor the payment service so retries are idempotent; ", 18)

func benchBatch(n int, unique bool, seq int) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := 0; i < n; i++ {
		a := lrs.AppendEmpty().Attributes()
		a.PutStr("user.id", "u-7f3a9c21-5d4e-4b8a-9e61-2c0d8b7a4f15")
		a.PutStr("gen_ai.request.model", "claude-sonnet-4")
		a.PutInt("gen_ai.usage.input_tokens", 1834)
		p := benchPrompt
		if unique {
			p = fmt.Sprintf("%d/%d %s", seq, i, benchPrompt)
		}
		a.PutStr("prompt", p)
	}
	return ld
}

// BenchmarkSeal512: ns/op is per 512-record batch; see the per-record
// metric. "repeated" is the peer load (one prompt text, sealed once and
// then only addressed); "unique" seals a new 1 KB block on every record.
func BenchmarkSeal512(b *testing.B) {
	for _, unique := range []bool{false, true} {
		name := map[bool]string{false: "repeated", true: "unique"}[unique]
		b.Run(name, func(b *testing.B) {
			host := keyringtest.NewCached(b)
			p := newLogs(b, host, createDefaultConfig(), consumertest.NewNop())
			// Batches are built before the clock starts (the processor
			// mutates them); run with a fixed -benchtime Nx to bound memory.
			batches := make([]plog.Logs, b.N)
			for i := range batches {
				batches[i] = benchBatch(512, unique, i)
			}
			runtime.GC()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := p.ConsumeLogs(context.Background(), batches[i]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/512, "ns/record")
		})
	}
}
