// Package promptcrypt is the collector processor that seals prompt-like
// content (prompts, responses, tool inputs and outputs, system prompts, file
// contents): each message becomes a content-addressed block sealed with
// AES-256-GCM under a tenant-day data key wrapped with HPKE to the
// key-custody public key. The record keeps only warden.prompt_ref (ordered
// block ids), warden.prompt_bytes and warden.prompt_tokens_est. See README.md.
package promptcrypt

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"

	"github.com/wardenhq/warden/processors/fieldhash"
	"github.com/wardenhq/warden/processors/promptcrypt/internal/metadata"
	"github.com/wardenhq/warden/schema"
)

// NewFactory returns the promptcrypt processor factory.
func NewFactory() processor.Factory {
	return processor.NewFactory(metadata.Type, createDefaultConfig,
		processor.WithLogs(createLogs, metadata.LogsStability),
		processor.WithTraces(createTraces, metadata.TracesStability))
}

func createDefaultConfig() component.Config {
	return &Config{
		Keyring:          component.MustNewID("keyring"),
		Tenant:           fieldhash.TenantConfig{FromAttribute: schema.AttrTenant, FromAuth: "tenant"},
		SourceShapes:     true,
		EmittedCacheSize: 65536,
		RewrapInterval:   5 * time.Minute,
	}
}

func createLogs(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	s, err := newSealer(cfg.(*Config), set)
	if err != nil {
		return nil, err
	}
	return &logsProcessor{sealer: s, next: next}, nil
}

func createTraces(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	s, err := newSealer(cfg.(*Config), set)
	if err != nil {
		return nil, err
	}
	return &tracesProcessor{sealer: s, next: next}, nil
}
