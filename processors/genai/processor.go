package genai

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/wardenhq/warden/processors/genai/internal/metadata"
)

// genaiProcessor wraps the Normalizer with the processor's own telemetry:
// counters of normalized records, model calls, unpriced calls and records
// with problems (a model missing from the price table is counted, never
// silently priced at zero).
type genaiProcessor struct {
	norm   *Normalizer
	logger *zap.Logger

	records, calls, unpriced, problems metric.Int64Counter
}

func newProcessor(set processor.Settings, cfg *Config) (*genaiProcessor, error) {
	prices, err := cfg.prices()
	if err != nil {
		return nil, fmt.Errorf("genai: prices_file: %w", err)
	}
	p := &genaiProcessor{norm: NewNormalizer(cfg, prices), logger: set.Logger}
	meter := set.MeterProvider.Meter(metadata.ScopeName)
	if p.records, err = meter.Int64Counter("warden_genai_records", metric.WithDescription("Records normalized by genai (log records, spans, metric data points)."), metric.WithUnit("{record}")); err != nil {
		return nil, err
	}
	if p.calls, err = meter.Int64Counter("warden_genai_model_calls", metric.WithDescription("model_call records produced."), metric.WithUnit("{call}")); err != nil {
		return nil, err
	}
	if p.unpriced, err = meter.Int64Counter("warden_genai_unpriced_calls", metric.WithDescription("Model calls whose model is missing from the price table (stored with cost_source=unpriced)."), metric.WithUnit("{call}")); err != nil {
		return nil, err
	}
	if p.problems, err = meter.Int64Counter("warden_genai_problem_records", metric.WithDescription("Records kept with a genai.problem attribute (malformed values)."), metric.WithUnit("{record}")); err != nil {
		return nil, err
	}
	set.Logger.Info("genai: price table loaded", zap.String("file", prices.Name()), zap.Int("models", prices.Len()))
	return p, nil
}

// report adds what one batch changed in the normalizer's counters to the
// processor's telemetry.
func (p *genaiProcessor) report(ctx context.Context, before [4]int64) {
	s := &p.norm.Stats
	after := [4]int64{s.Records.Load(), s.Calls.Load(), s.Unpriced.Load(), s.Problems.Load()}
	// Counters are shared by concurrent batches, so a delta may include
	// another batch's records; totals stay exact.
	if d := after[0] - before[0]; d > 0 {
		p.records.Add(ctx, d)
	}
	if d := after[1] - before[1]; d > 0 {
		p.calls.Add(ctx, d)
	}
	if d := after[2] - before[2]; d > 0 {
		p.unpriced.Add(ctx, d)
		p.logger.Debug("genai: model calls without a price", zap.Int64("calls", d))
	}
	if d := after[3] - before[3]; d > 0 {
		p.problems.Add(ctx, d)
		p.logger.Debug("genai: records with problems (see attribute genai.problem)", zap.Int64("records", d))
	}
}

func (p *genaiProcessor) snapshot() [4]int64 {
	s := &p.norm.Stats
	return [4]int64{s.Records.Load(), s.Calls.Load(), s.Unpriced.Load(), s.Problems.Load()}
}

func (p *genaiProcessor) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	b := p.snapshot()
	p.norm.NormalizeLogs(ld)
	p.report(ctx, b)
	return ld, nil
}

func (p *genaiProcessor) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	b := p.snapshot()
	p.norm.NormalizeTraces(td)
	p.report(ctx, b)
	return td, nil
}

func (p *genaiProcessor) processMetrics(ctx context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	b := p.snapshot()
	p.norm.NormalizeMetrics(md)
	p.report(ctx, b)
	return md, nil
}
