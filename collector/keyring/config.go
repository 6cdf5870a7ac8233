package keyring

import (
	"errors"
	"time"
)

// Config of the keyring extension.
type Config struct {
	// Directory is the local key directory (`warden keys init --dir`).
	// The collector needs the tenant HMAC keys and the custody PUBLIC key
	// only; keep the custody private key out of this directory.
	Directory string `mapstructure:"directory"`
	// AutoCreateTenants creates a tenant's HMAC key the first time the
	// tenant is seen. Off means an unknown tenant is an error for its data.
	AutoCreateTenants bool `mapstructure:"auto_create_tenants"`
	// ReloadInterval: how long loaded keys are used before the files are
	// read again, so `warden keys rotate` takes effect without a restart.
	ReloadInterval time.Duration `mapstructure:"reload_interval"`
}

// Validate checks the configuration (errors name the key).
func (c *Config) Validate() error {
	if c.Directory == "" {
		return errors.New("directory: must be set to the key directory (create one with `warden keys init --dir DIR`)")
	}
	if c.ReloadInterval < 0 {
		return errors.New("reload_interval: must not be negative")
	}
	return nil
}
