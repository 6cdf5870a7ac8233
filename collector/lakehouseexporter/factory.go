// Package lakehouseexporter writes canonical events, metric points and
// sealed prompt blocks into the lakehouse (ClickHouse and the Parquet lake)
// through the lakehouse store extension.
package lakehouseexporter

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/wardenhq/warden/collector/lakehouseexporter/internal/metadata"
	"github.com/wardenhq/warden/schema"
)

// NewFactory returns the lakehouse exporter factory.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(metadata.Type, createDefaultConfig,
		exporter.WithLogs(createLogs, metadata.LogsStability),
		exporter.WithTraces(createTraces, metadata.TracesStability),
		exporter.WithMetrics(createMetrics, metadata.MetricsStability),
	)
}

func createDefaultConfig() component.Config {
	// No sending queue by default: the store appends each request to its
	// WAL before the receiver acknowledges it, and gathers small requests
	// into large ClickHouse inserts itself (lakehousestore.Store). A queue
	// in front would store every request a second time; a memory queue
	// (sending_queue: {}) would acknowledge before anything is durable.
	// These are its settings if a config turns it on.
	q := exporterhelper.NewDefaultQueueConfig()
	q.Sizer = exporterhelper.RequestSizerTypeItems
	q.QueueSize = 1_000_000
	q.NumConsumers = 2
	q.Batch = configoptional.Some(exporterhelper.BatchConfig{
		FlushTimeout: 500 * time.Millisecond,
		Sizer:        exporterhelper.RequestSizerTypeItems,
		MinSize:      32768,
		MaxSize:      65536,
	})
	return &Config{
		Store:          component.MustNewID("lakehouse"),
		DefaultTenant:  schema.DefaultTenant,
		BlockCacheSize: 1 << 16,
		TimeoutConfig:  exporterhelper.TimeoutConfig{Timeout: 60 * time.Second},
		QueueConfig:    configoptional.Default(q),
		BackOffConfig:  backoff(),
	}
}

func options(c *Config, e *lakehouseExporter) []exporterhelper.Option {
	return []exporterhelper.Option{
		exporterhelper.WithStart(e.start),
		exporterhelper.WithShutdown(e.shutdown),
		exporterhelper.WithTimeout(c.TimeoutConfig),
		exporterhelper.WithQueue(c.QueueConfig),
		exporterhelper.WithRetry(c.BackOffConfig),
	}
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	e, err := newExporter(c, set)
	if err != nil {
		return nil, err
	}
	x, err := exporterhelper.NewLogs(ctx, set, cfg, e.pushLogs, options(c, e)...)
	if err != nil {
		return nil, err
	}
	return logsGuard{Logs: x, e: e}, nil
}

func createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	c := cfg.(*Config)
	e, err := newExporter(c, set)
	if err != nil {
		return nil, err
	}
	x, err := exporterhelper.NewTraces(ctx, set, cfg, e.pushTraces, options(c, e)...)
	if err != nil {
		return nil, err
	}
	return tracesGuard{Traces: x, e: e}, nil
}

func createMetrics(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Metrics, error) {
	c := cfg.(*Config)
	e, err := newExporter(c, set)
	if err != nil {
		return nil, err
	}
	x, err := exporterhelper.NewMetrics(ctx, set, cfg, e.pushMetrics, options(c, e)...)
	if err != nil {
		return nil, err
	}
	return metricsGuard{Metrics: x, e: e}, nil
}

// backoff: off by default. Without a queue, a retry would hold the
// client's request (and the receiver's goroutine) while the store refuses;
// the client gets the retryable error at once and resends, as OTLP
// exporters do. With a queue turned on, retry without a deadline: a request
// stays in the queue until the store takes it.
func backoff() configretry.BackOffConfig {
	b := configretry.NewDefaultBackOffConfig()
	b.Enabled = false
	b.MaxElapsedTime = 0
	return b
}
