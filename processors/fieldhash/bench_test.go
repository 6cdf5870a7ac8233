package fieldhash

import (
	"context"
	"runtime"
	"testing"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/wardenhq/warden/collector/keyring/keyringtest"
)

// BenchmarkHash512: the peer load's identities (user.id, user.email,
// device.id) on 512 records per batch, default fields.
func BenchmarkHash512(b *testing.B) {
	host := keyringtest.NewCached(b)
	f := NewFactory()
	p, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), createDefaultConfig(), consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Start(context.Background(), host); err != nil {
		b.Fatal(err)
	}
	batches := make([]plog.Logs, b.N)
	for n := range batches {
		ld := plog.NewLogs()
		lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		for i := 0; i < 512; i++ {
			a := lrs.AppendEmpty().Attributes()
			a.PutStr("user.id", "u-7f3a9c21-5d4e-4b8a-9e61-2c0d8b7a4f15")
			a.PutStr("user.email", "jane.doe@example.com")
			a.PutStr("device.id", "dev-MBP-4C2F9A7E1B3D")
			a.PutStr("gen_ai.request.model", "claude-sonnet-4")
			a.PutInt("gen_ai.usage.input_tokens", 1834)
			a.PutInt("gen_ai.usage.output_tokens", 412)
		}
		batches[n] = ld
	}
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		if err := p.ConsumeLogs(context.Background(), batches[n]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/512, "ns/record")
}
