// Package policy is the collector processor that judges every record with
// DLP and an OPA policy bundle: it scans prompt-like content (warden.messages)
// while it is still cleartext in memory, evaluates the bundle
// (policy/engine), writes the decision, rule ids, reasons, decision id and
// bundle revision onto the record, and applies what the decision asks
// (redaction before promptcrypt seals anything, drop). See README.md.
package policy

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/wardenhq/warden/processors/policy/internal/metadata"
)

// NewFactory returns the policy processor factory.
func NewFactory() processor.Factory {
	return processor.NewFactory(metadata.Type, createDefaultConfig,
		processor.WithLogs(createLogs, metadata.LogsStability),
		processor.WithTraces(createTraces, metadata.TracesStability))
}

func createDefaultConfig() component.Config {
	return &Config{
		ReloadInterval:               30 * time.Second,
		ScanMessages:                 true,
		OnDrop:                       OnDropRemove,
		ClassificationAttribute:      "data.classification",
		DeviceAuthenticatedAttribute: "warden.device_authenticated",
	}
}

var caps = processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true})

func createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	p, err := newProcessor(ctx, cfg.(*Config), set, "logs")
	if err != nil {
		return nil, err
	}
	return processorhelper.NewLogs(ctx, set, cfg, next, p.processLogs, caps,
		processorhelper.WithStart(p.start), processorhelper.WithShutdown(p.shutdown))
}

func createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	p, err := newProcessor(ctx, cfg.(*Config), set, "traces")
	if err != nil {
		return nil, err
	}
	return processorhelper.NewTraces(ctx, set, cfg, next, p.processTraces, caps,
		processorhelper.WithStart(p.start), processorhelper.WithShutdown(p.shutdown))
}
