package genai

import (
	"errors"
	"fmt"

	"github.com/wardenhq/warden/schema"
)

// Config configures the genai processor.
type Config struct {
	// PricesFile is a price table in the format of schema/prices.yaml; empty
	// uses the table shipped with Warden.
	PricesFile string `mapstructure:"prices_file"`
	// DefaultTenant is the tenant of records whose attributes and resource
	// name none (warden.tenant). Default "default".
	DefaultTenant string `mapstructure:"default_tenant"`
	// CostPreference chooses what cost_usd holds when both an agent-reported
	// and a Warden-priced cost exist: "priced" (default: one price table for
	// every agent) or "reported". Both are always kept in
	// reported_cost_usd and priced_cost_usd.
	CostPreference string `mapstructure:"cost_preference"`
	// SpanCalls makes OTel GenAI semantic-convention spans that carry
	// gen_ai.usage.* (source otel_genai) the authoritative model_call record,
	// for applications that report calls only as spans. Off by default: the
	// gen_ai.client.inference.operation.details log event is authoritative
	// and spans are kind "span", so a call reported both ways is one row.
	SpanCalls bool `mapstructure:"span_calls"`
	// MaxMessageBytes caps the text of one extracted message; longer text is
	// cut and the cut is recorded in genai.problem. Default 4 MiB.
	MaxMessageBytes int `mapstructure:"max_message_bytes"`
}

const (
	costPriced   = "priced"
	costReported = "reported"
)

func createDefaultConfig() *Config {
	return &Config{DefaultTenant: schema.DefaultTenant, CostPreference: costPriced, MaxMessageBytes: 4 << 20}
}

// Validate checks every option; errors name the key.
func (c *Config) Validate() error {
	var errs []error
	if c.PricesFile != "" {
		if _, err := schema.LoadPrices(c.PricesFile); err != nil {
			errs = append(errs, fmt.Errorf("prices_file: %w", err))
		}
	}
	if c.DefaultTenant == "" {
		errs = append(errs, errors.New("default_tenant: must not be empty"))
	}
	if c.CostPreference != costPriced && c.CostPreference != costReported {
		errs = append(errs, fmt.Errorf("cost_preference: must be %q or %q, got %q", costPriced, costReported, c.CostPreference))
	}
	if c.MaxMessageBytes <= 0 {
		errs = append(errs, fmt.Errorf("max_message_bytes: must be positive, got %d", c.MaxMessageBytes))
	}
	return errors.Join(errs...)
}

func (c *Config) prices() (*schema.PriceTable, error) {
	if c.PricesFile == "" {
		return schema.DefaultPrices()
	}
	return schema.LoadPrices(c.PricesFile)
}
