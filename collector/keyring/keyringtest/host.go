// Package keyringtest builds a started keyring extension over a fresh key
// directory, and a component.Host serving it, for tests and benchmarks of
// the processors that use it.
package keyringtest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/wardenhq/warden/collector/keyring"
	"github.com/wardenhq/warden/vault"
)

// Host is a component.Host with a fixed set of extensions.
type Host map[component.ID]component.Component

// GetExtensions implements component.Host.
func (h Host) GetExtensions() map[component.ID]component.Component { return h }

// New creates a key directory with a custody key pair under tb.TempDir(),
// starts a keyring extension (ID "keyring") over it and returns a host
// serving it and the store (to rotate keys, find the directory).
func New(tb testing.TB) (Host, *vault.LocalStore) {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "keys")
	s, err := vault.InitDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	if _, _, err := s.InitCustody(); err != nil {
		tb.Fatal(err)
	}
	return Start(tb, dir), s
}

// NewCached is New with the keyring's default reload interval (keys read
// once, then cached), for benchmarks.
func NewCached(tb testing.TB) Host {
	tb.Helper()
	_, s := New(tb)
	return start(tb, s.Dir(), 0)
}

// Start starts a keyring extension over an existing directory.
// It re-reads the key files on every call (tests rotate keys).
func Start(tb testing.TB, dir string) Host { return start(tb, dir, 1) }

func start(tb testing.TB, dir string, reload time.Duration) Host {
	tb.Helper()
	f := keyring.NewFactory()
	cfg := f.CreateDefaultConfig().(*keyring.Config)
	cfg.Directory = dir
	if reload > 0 {
		cfg.ReloadInterval = reload
	}
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := ext.Start(context.Background(), nil); err != nil {
		tb.Fatal(err)
	}
	return Host{component.MustNewID("keyring"): ext}
}
