// Package keyring is the collector extension that serves Warden's key
// material to the privacy processors (fieldhash, promptcrypt): per-tenant
// HMAC keys and the key-custody public key, from a local key directory
// (vault.LocalStore). Processors find it by component ID (their `keyring`
// setting) and use it through vault.KeyStore, the interface a HashiCorp
// Vault Transit or cloud KMS backend implements as well.
package keyring

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/wardenhq/warden/collector/keyring/internal/metadata"
)

// NewFactory returns the keyring extension factory.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, createDefaultConfig, create, metadata.ExtensionStability)
}

func createDefaultConfig() component.Config {
	return &Config{Directory: "./data/keys", AutoCreateTenants: true, ReloadInterval: 30 * time.Second}
}

func create(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	return &Keyring{cfg: cfg.(*Config), logger: set.Logger}, nil
}
