package policy

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/wardenhq/warden/processors/policy/internal/metadata"
)

// benchLogs is a batch of 100 model-call records shaped like real agent
// traffic: ~1 KB prompts, most clean, every tenth with an SSN, a few
// departments and classifications (few distinct decision inputs).
func benchLogs() plog.Logs {
	var rs []rec
	classes := []string{"LOW", "LOW", "MEDIUM", "HIGH"}
	depts := []string{"engineering", "finance", "security"}
	filler := strings.Repeat("Refactor the request handler so retries back off exponentially; keep the public API. ", 12)
	for i := 0; i < 100; i++ {
		text := fmt.Sprintf("turn %d: %s", i, filler)
		if i%10 == 0 {
			text += " customer SSN " + canarySSN
		}
		rs = append(rs, rec{class: classes[i%len(classes)], dept: depts[i%len(depts)], text: text})
	}
	return logsOf(rs...)
}

func benchProcessor(b *testing.B, cacheSize int, scan bool) {
	cfg := createDefaultConfig().(*Config)
	cfg.ReloadInterval = 0
	cfg.CacheSize = cacheSize
	cfg.ScanMessages = scan
	set := processortest.NewNopSettings(metadata.Type)
	lp, err := NewFactory().CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	defer lp.Shutdown(context.Background())
	src := benchLogs()
	n := src.LogRecordCount()
	batches := make([]plog.Logs, 0, 64)
	var cpu time.Duration // CPU time of the processing only (copies excluded)
	cpuStart := cpuNow()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if len(batches) == 0 {
			b.StopTimer()
			cpu += cpuNow() - cpuStart
			for j := 0; j < 64; j++ {
				c := plog.NewLogs()
				src.CopyTo(c)
				batches = append(batches, c)
			}
			cpuStart = cpuNow()
			b.StartTimer()
		}
		ld := batches[len(batches)-1]
		batches = batches[:len(batches)-1]
		if err := lp.ConsumeLogs(context.Background(), ld); err != nil {
			b.Fatal(err)
		}
	}
	cpu += cpuNow() - cpuStart
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
	// CPU time per record: steadier than wall time on a shared machine.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*n), "cpu-ns/record")
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPolicyProcessor: cost per record of the whole processor (DLP scan
// of ~1 KB + decision + attribute writes), with and without the decision
// cache; the dlp-off variants isolate the policy part.
func BenchmarkPolicyProcessor(b *testing.B) {
	b.Run("dlp+cache", func(b *testing.B) { benchProcessor(b, 0, true) })
	b.Run("dlp+nocache", func(b *testing.B) { benchProcessor(b, -1, true) })
	b.Run("nodlp+cache", func(b *testing.B) { benchProcessor(b, 0, false) })
	b.Run("nodlp+nocache", func(b *testing.B) { benchProcessor(b, -1, false) })
}
