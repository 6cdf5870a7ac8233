package genai

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/processor/processortest"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// A model missing from the price table is counted in the processor's own
// telemetry (warden_genai_unpriced_calls), never silently priced at zero.
func TestUnpricedCallsMetric(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	f := NewFactory()
	set := processortest.NewNopSettings(f.Type())
	set.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	ctx := context.Background()
	p, err := f.CreateLogs(ctx, set, f.CreateDefaultConfig(), new(consumertest.LogsSink))
	if err != nil {
		t.Fatal(err)
	}
	for _, model := range []string{"claude-sonnet-4", "claude-unknown-1", "claude-unknown-2"} {
		ld, _ := oneLog("claude-code", "", func(m pcommon.Map) {
			m.PutStr("event.name", "api_request")
			m.PutStr("model", model)
			m.PutInt("input_tokens", 10)
			m.PutStr("output_tokens", "many") // a problem, kept
		})
		if err := p.ConsumeLogs(ctx, ld); err != nil {
			t.Fatal(err)
		}
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if s, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range s.DataPoints {
					got[m.Name] += dp.Value
				}
			}
		}
	}
	want := map[string]int64{"warden_genai_records": 3, "warden_genai_model_calls": 3, "warden_genai_unpriced_calls": 2, "warden_genai_problem_records": 3}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], w, got)
		}
	}
}
