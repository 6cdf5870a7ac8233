package genai

import (
	"path/filepath"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

// The README's example (testdata/config.yaml) unmarshals into valid configs.
func TestLoadConfigExample(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	procs, err := cm.Sub("processors")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]func(*Config) bool{
		"genai": func(c *Config) bool {
			return c.CostPreference == "priced" && c.MaxMessageBytes == 4<<20 && c.PricesFile == "" && c.DefaultTenant == "default"
		},
		"genai/custom": func(c *Config) bool {
			return c.CostPreference == "reported" && c.PricesFile != "" && c.DefaultTenant == "default"
		},
	}
	for id, check := range want {
		var cid component.ID
		if err := cid.UnmarshalText([]byte(id)); err != nil {
			t.Fatal(err)
		}
		sub, err := procs.Sub(cid.String())
		if err != nil {
			t.Fatal(err)
		}
		cfg := NewFactory().CreateDefaultConfig().(*Config)
		if err := sub.Unmarshal(cfg); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if err := confmap.Validate(cfg); err != nil {
			t.Errorf("%s: %v", id, err)
		}
		if !check(cfg) {
			t.Errorf("%s: unexpected config %+v", id, cfg)
		}
	}
}

func TestUnknownConfigKeyRejected(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_ = cm
	bad := map[string]any{"cost_prefrence": "priced"}
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	if err := confmapNew(bad).Unmarshal(cfg); err == nil {
		t.Error("misspelled key accepted")
	}
}
