package policy

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// What happens to a record the policy decides to drop.
const (
	OnDropRemove = "remove"        // the record leaves the pipeline (counted, logged)
	OnDropStrip  = "strip_content" // the record stays, its messages are removed
)

// Config of the policy processor.
type Config struct {
	// Bundle is an OPA bundle directory or bundle file (.tar.gz); empty uses
	// Warden's default bundle embedded in the binary.
	Bundle string `mapstructure:"bundle"`
	// ShadowBundle is a candidate bundle evaluated beside the active one;
	// its decisions are recorded (warden.shadow_*) and never enforced.
	ShadowBundle string `mapstructure:"shadow_bundle"`
	// ReloadInterval polls the bundle paths for changes (0 disables).
	ReloadInterval time.Duration `mapstructure:"reload_interval"`
	// CacheSize bounds the decision cache (entries); -1 disables it.
	CacheSize int `mapstructure:"cache_size"`
	// ScanMessages runs DLP over the text of warden.messages. Off, only the
	// findings recorded upstream (warden.dlp_findings) are used.
	ScanMessages bool `mapstructure:"scan_messages"`
	// OnDrop: "remove" or "strip_content".
	OnDrop string `mapstructure:"on_drop"`
	// ClassificationAttribute names the record (or resource) attribute that
	// carries the data classification.
	ClassificationAttribute string `mapstructure:"classification_attribute"`
	// DeviceAuthenticatedAttribute names the record (or resource) attribute
	// (Bool, or Str "true"/"false") that says whether the device
	// authenticated; absent means unknown.
	DeviceAuthenticatedAttribute string `mapstructure:"device_authenticated_attribute"`
}

// Validate checks the configuration; errors name the config key.
func (c *Config) Validate() error {
	var errs []error
	for key, p := range map[string]string{"bundle": c.Bundle, "shadow_bundle": c.ShadowBundle} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
	}
	if c.ReloadInterval < 0 {
		errs = append(errs, errors.New("reload_interval: must not be negative"))
	}
	if c.CacheSize < -1 {
		errs = append(errs, errors.New("cache_size: must be -1 (disabled), 0 (default 4096) or a positive size"))
	}
	if c.OnDrop != OnDropRemove && c.OnDrop != OnDropStrip {
		errs = append(errs, fmt.Errorf("on_drop: %q is not one of %q, %q", c.OnDrop, OnDropRemove, OnDropStrip))
	}
	if c.ClassificationAttribute == "" {
		errs = append(errs, errors.New("classification_attribute: must not be empty"))
	}
	if c.DeviceAuthenticatedAttribute == "" {
		errs = append(errs, errors.New("device_authenticated_attribute: must not be empty"))
	}
	return errors.Join(errs...)
}
