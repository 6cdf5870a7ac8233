// Package promptcrypt is the collector processor that seals prompt-like
// content (prompts, responses, tool inputs and outputs, system prompts, file
// contents): each message becomes a content-addressed block sealed with
// AES-256-GCM under a tenant-day data key wrapped with HPKE to the
// key-custody public key. The record keeps only warden.prompt_ref (ordered
// block ids), warden.prompt_bytes and warden.prompt_tokens_est. See README.md.
package promptcrypt

import (
	"context"
	"sync"
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
	s, err := sharedSealer(cfg.(*Config), set)
	if err != nil {
		return nil, err
	}
	return &logsProcessor{sealer: s, next: next}, nil
}

func createTraces(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	s, err := sharedSealer(cfg.(*Config), set)
	if err != nil {
		return nil, err
	}
	return &tracesProcessor{sealer: s, next: next}, nil
}

// One sealer per configured promptcrypt component: its logs and traces
// instances (the collector hands both the same *Config) share the
// tenant-day data keys and the emitted-block cache, so a tenant-day gets
// one data key, not one per signal. Released when the last instance shuts
// down (a reload builds new ones).
var sealers = struct {
	sync.Mutex
	m map[*Config]*sealerRef
}{m: map[*Config]*sealerRef{}}

type sealerRef struct {
	s    *sealer
	refs int
}

func sharedSealer(cfg *Config, set processor.Settings) (*sealer, error) {
	sealers.Lock()
	defer sealers.Unlock()
	if r := sealers.m[cfg]; r != nil {
		r.refs++
		return r.s, nil
	}
	s, err := newSealer(cfg, set)
	if err != nil {
		return nil, err
	}
	sealers.m[cfg] = &sealerRef{s: s, refs: 1}
	return s, nil
}

func releaseSealer(s *sealer) {
	sealers.Lock()
	defer sealers.Unlock()
	if r := sealers.m[s.cfg]; r != nil && r.s == s {
		if r.refs--; r.refs <= 0 {
			delete(sealers.m, s.cfg)
		}
	}
}
