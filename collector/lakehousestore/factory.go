package lakehousestore

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/otel/metric"

	"github.com/wardenhq/warden/collector/lakehousestore/internal/metadata"
)

// NewFactory returns the lakehouse store extension factory.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, func() component.Config { return DefaultConfig() }, create, metadata.ExtensionStability)
}

func create(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	e := &Extension{cfg: cfg.(*Config), log: set.Logger}
	m := set.TelemetrySettings.MeterProvider.Meter("github.com/wardenhq/warden/collector/lakehousestore")
	// What the WAL holds that ClickHouse has not taken: the open journals
	// normally (under wal_seal_rows rows); growing while ClickHouse refuses
	// inserts or is unavailable. At wal_max_bytes new records are refused.
	_, err := m.Int64ObservableGauge("warden_lakehouse_wal_waiting_bytes",
		metric.WithDescription("Bytes in the lakehouse WAL not yet loaded into ClickHouse (records are refused at wal_max_bytes)"),
		metric.WithUnit("By"),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			if s, err := e.Store(); err == nil {
				o.Observe(s.WALWaiting())
			}
			return nil
		}))
	return e, err
}
