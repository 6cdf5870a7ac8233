package engine

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/wardenhq/warden/policy"
)

// BenchmarkEvaluate: one decision with the cache (a hit after the first),
// without it, and the peer: a bare OPA prepared query on the same bundle
// and input (what a caller without this engine would run).
func BenchmarkEvaluate(b *testing.B) {
	ctx := context.Background()
	in := modelCall("LOW", ssn(12))
	b.Run("cache", func(b *testing.B) {
		e := defaultEngine(b, Options{})
		b.ResetTimer()
		defer reportCPU(b)()
		for i := 0; i < b.N; i++ {
			if _, err := e.Evaluate(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("nocache", func(b *testing.B) {
		e := defaultEngine(b, Options{CacheSize: -1})
		b.ResetTimer()
		defer reportCPU(b)()
		for i := 0; i < b.N; i++ {
			if _, err := e.Evaluate(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("peer-opa-prepared-query", func(b *testing.B) {
		pq, err := rego.New(rego.Query(policy.Query), rego.LoadBundle("../bundle")).PrepareForEval(ctx)
		if err != nil {
			b.Fatal(err)
		}
		doc := in.Document()
		b.ResetTimer()
		defer reportCPU(b)()
		for i := 0; i < b.N; i++ {
			if _, err := pq.Eval(ctx, rego.EvalInput(doc)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// reportCPU adds cpu-ns/op: the process's CPU time (all threads, GC
// included) per operation. On a machine shared with other jobs it is far
// steadier than wall time, which includes waiting for a core.
func reportCPU(b *testing.B) func() {
	start := cpuNow()
	return func() {
		b.ReportMetric(float64((cpuNow()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
