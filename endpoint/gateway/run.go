package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/wardenhq/warden/schema"
	"github.com/wardenhq/warden/vault"
)

// Deps builds a Gateway's collaborators from a config: the real dlp
// detector (passed in, to keep this package free of the dlp import for
// tests of the protocol layer), the policy engine, budgets, reviews and
// the OTLP sink. Close releases them.
type Deps struct {
	Options
	closers []func()
}

// Close releases what BuildDeps opened.
func (d *Deps) Close() {
	for i := len(d.closers) - 1; i >= 0; i-- {
		d.closers[i]()
	}
}

// BuildDeps wires everything the config asks for. A policy bundle that
// does not load is not fatal: the gateway starts and refuses every call
// with the reason (fail closed), so agents show why.
func BuildDeps(ctx context.Context, cfg *Config, det Detector, version string, log *slog.Logger) (*Deps, error) {
	d := &Deps{}
	d.Detector = det
	pd, err := NewPolicyDecider(ctx, cfg.Policy.Bundle)
	if err != nil {
		log.Error("policy bundle failed to load; every call will be refused until it is fixed", "err", err)
		d.Decider = FailClosed{Err: err}
	} else {
		d.Decider = pd
		d.closers = append(d.closers, pd.E.Close)
	}
	if pt, err := schema.DefaultPrices(); err == nil {
		d.Pricer = PriceTable{T: pt}
	} else {
		log.Warn("price table failed to load; calls are unpriced", "err", err)
	}
	if len(cfg.Budgets.Limits) > 0 {
		b, err := OpenBudgets(cfg.Budgets.Store, cfg.Budgets.Limits)
		if err != nil {
			d.Close()
			return nil, err
		}
		d.Budgets = b
		d.closers = append(d.closers, func() { _ = b.Close() })
	}
	if cfg.Review.AuditLog != "" {
		a, err := OpenAuditLog(cfg.Review.AuditLog)
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("gateway config: review.audit_log: %w", err)
		}
		d.closers = append(d.closers, func() { _ = a.Close() })
		d.Reviews = NewReviews(cfg.Review.Timeout, a)
		if cfg.Telemetry.KeysDir != "" {
			// The same keyed pseudonym fieldhash gives the user in the lake.
			if ks, err := vault.OpenLocalStore(cfg.Telemetry.KeysDir, vault.LocalOptions{AutoCreate: true}); err == nil {
				if tk, err := ks.TenantKeys(cfg.Identity.Tenant); err == nil {
					if ps, err := vault.NewPseudonymizer(tk.Current); err == nil {
						d.Reviews.Pseudonym = ps.Value
					}
				}
			}
		}
		if err := os.MkdirAll(filepath.Dir(cfg.Review.AdminSocket), 0o750); err != nil {
			d.Close()
			return nil, fmt.Errorf("gateway config: review.admin_socket: %w", err)
		}
		actx, cancel := context.WithCancel(ctx)
		d.closers = append(d.closers, cancel)
		go func() {
			if err := d.Reviews.ServeAdmin(actx, cfg.Review.AdminSocket); err != nil {
				log.Error("admin socket", "err", err)
			}
		}()
	}
	if cfg.Telemetry.OTLPEndpoint != "" {
		var sealer *Sealer
		if cfg.Telemetry.KeysDir != "" {
			ks, err := vault.OpenLocalStore(cfg.Telemetry.KeysDir, vault.LocalOptions{})
			if err != nil {
				d.Close()
				return nil, fmt.Errorf("gateway config: telemetry.keys_dir: %w", err)
			}
			sealer = NewSealer(ks)
		} else {
			log.Warn("telemetry.keys_dir is not set: prompt and response bodies are not exported (they are never exported unsealed)")
		}
		s, err := NewOTLPSink(ctx, cfg.Telemetry.OTLPEndpoint, sealer, version)
		if err != nil {
			d.Close()
			return nil, err
		}
		d.Sink = s
		d.closers = append(d.closers, func() { _ = s.Shutdown(context.Background()) })
	}
	if d.Detector == nil {
		d.Close()
		return nil, errors.New("gateway: no DLP detector")
	}
	return d, nil
}
