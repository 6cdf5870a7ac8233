// Package fieldhash is the collector processor that replaces identities
// (user ids, e-mail addresses, device ids, host names, paths, IPs) with keyed
// pseudonyms: HMAC-SHA256 under a per-tenant, versioned key from the keyring
// extension (vault.Pseudonymizer). See README.md.
package fieldhash

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/wardenhq/warden/processors/fieldhash/internal/metadata"
	"github.com/wardenhq/warden/schema"
)

// NewFactory returns the fieldhash processor factory.
func NewFactory() processor.Factory {
	return processor.NewFactory(metadata.Type, createDefaultConfig,
		processor.WithLogs(createLogs, metadata.LogsStability),
		processor.WithTraces(createTraces, metadata.TracesStability),
		processor.WithMetrics(createMetrics, metadata.MetricsStability))
}

func createDefaultConfig() component.Config {
	return &Config{
		Keyring:        component.MustNewID("keyring"),
		Tenant:         TenantConfig{FromAttribute: schema.AttrTenant, FromAuth: "tenant"},
		DefaultFields:  true,
		PreviousSuffix: "_prev",
		CacheSize:      4096,
	}
}

var caps = processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true})

func createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	p := newProcessor(cfg.(*Config), set)
	return processorhelper.NewLogs(ctx, set, cfg, next, p.processLogs, caps, processorhelper.WithStart(p.start))
}

func createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	p := newProcessor(cfg.(*Config), set)
	return processorhelper.NewTraces(ctx, set, cfg, next, p.processTraces, caps, processorhelper.WithStart(p.start))
}

func createMetrics(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	p := newProcessor(cfg.(*Config), set)
	return processorhelper.NewMetrics(ctx, set, cfg, next, p.processMetrics, caps, processorhelper.WithStart(p.start))
}
