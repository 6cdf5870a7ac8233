// Package keyringtest builds a started keyring extension over a fresh key
// directory, and a component.Host serving it, for tests and benchmarks of
// the processors that use it.
package keyringtest

import (
	"context"
	"path/filepath"
	"testing"

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

// Start starts a keyring extension over an existing directory.
func Start(tb testing.TB, dir string) Host {
	tb.Helper()
	f := keyring.NewFactory()
	cfg := f.CreateDefaultConfig().(*keyring.Config)
	cfg.Directory = dir
	cfg.ReloadInterval = 1 // re-read files on every call: tests rotate keys
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := ext.Start(context.Background(), nil); err != nil {
		tb.Fatal(err)
	}
	return Host{component.MustNewID("keyring"): ext}
}
