package lakehouseexporter

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/wardenhq/warden/schema"
)

// Config of the lakehouse exporter.
type Config struct {
	// Store is the lakehouse store extension that owns ClickHouse and the
	// Parquet lake (default: lakehouse).
	Store component.ID `mapstructure:"store"`
	// DefaultTenant is used when neither the record nor its resource carries
	// warden.tenant.
	DefaultTenant string `mapstructure:"default_tenant"`
	// BlockCacheSize bounds the LRU of prompt block ids already written
	// (re-emitted blocks are skipped; the table also collapses them).
	BlockCacheSize int `mapstructure:"block_cache_size"`
	// KeepRawAttributes names well-known identity attributes
	// (schema.IdentityAttributes) an operator has decided are not personal
	// in this deployment (e.g. host.name of shared build machines): they are
	// stored as sent instead of being blanked when they hold no keyed
	// pseudonym. Pseudonym columns are never exempt.
	KeepRawAttributes []string `mapstructure:"keep_raw_attributes"`

	TimeoutConfig exporterhelper.TimeoutConfig                             `mapstructure:",squash"`
	QueueConfig   configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	BackOffConfig configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`
}

// Validate checks the config; errors name the key.
func (c *Config) Validate() error {
	var errs []error
	if c.Store.Type().String() == "" {
		errs = append(errs, errors.New("store: must name the lakehouse store extension"))
	}
	if c.BlockCacheSize <= 0 {
		errs = append(errs, fmt.Errorf("block_cache_size: must be > 0, got %d", c.BlockCacheSize))
	}
	if c.DefaultTenant == "" {
		errs = append(errs, errors.New("default_tenant: must not be empty"))
	}
	for i, k := range c.KeepRawAttributes {
		if !slices.Contains(schema.IdentityAttributes, k) {
			errs = append(errs, fmt.Errorf("keep_raw_attributes[%d]: %q is not a well-known identity attribute (one of %s); other attributes are stored as sent anyway", i, k, strings.Join(schema.IdentityAttributes, ", ")))
		}
	}
	return errors.Join(errs...)
}

var _ component.Config = (*Config)(nil)
