package engine

import (
	"context"
	"testing"

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
		for i := 0; i < b.N; i++ {
			if _, err := e.Evaluate(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("nocache", func(b *testing.B) {
		e := defaultEngine(b, Options{CacheSize: -1})
		b.ResetTimer()
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
		for i := 0; i < b.N; i++ {
			if _, err := pq.Eval(ctx, rego.EvalInput(doc)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
