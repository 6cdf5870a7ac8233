package genai

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
)

// batchOf returns n copies of the bench load's record in one Logs (one
// resource, one scope), as telemetrygen sends them (512 per request).
func batchOf(n int) plog.Logs {
	one := benchRecord()
	ld := plog.NewLogs()
	one.ResourceLogs().At(0).Resource().CopyTo(ld.ResourceLogs().AppendEmpty().Resource())
	lrs := ld.ResourceLogs().At(0).ScopeLogs().AppendEmpty().LogRecords()
	src := one.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	for i := 0; i < n; i++ {
		src.CopyTo(lrs.AppendEmpty())
	}
	return ld
}

// BenchmarkNormalizeBenchRecord: ns per record of the bench load's record
// (512 per batch). The copy of a fresh batch each round is excluded.
func BenchmarkNormalizeBenchRecord(b *testing.B) {
	n := testNormalizer(b)
	tmpl := batchOf(512)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ld := plog.NewLogs()
		tmpl.CopyTo(ld)
		b.StartTimer()
		n.NormalizeLogs(ld)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*512), "ns/record")
}

// BenchmarkCopyBenchBatch is the baseline cost of copying the batch (what
// BenchmarkNormalizeBenchRecord excludes), for scale.
func BenchmarkCopyBenchBatch(b *testing.B) {
	tmpl := batchOf(512)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ld := plog.NewLogs()
		tmpl.CopyTo(ld)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*512), "ns/record")
}

// BenchmarkNormalizeClaudeFixture: the real Claude Code capture (logs,
// spans, metrics), ns per record.
func BenchmarkNormalizeClaudeFixture(b *testing.B) {
	n := testNormalizer(b)
	c := loadAgent(b, "claude_code")
	records := 0
	for _, l := range c.logs {
		records += l.LogRecordCount()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ls := make([]plog.Logs, len(c.logs))
		for j := range c.logs {
			ls[j] = plog.NewLogs()
			c.logs[j].CopyTo(ls[j])
		}
		b.StartTimer()
		for _, l := range ls {
			n.NormalizeLogs(l)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*records), "ns/record")
}
