package policy

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/wardenhq/warden/processors/policy/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	id := component.NewID(metadata.Type)
	if name != "" {
		id = component.NewIDWithName(metadata.Type, name)
	}
	sub, err := cm.Sub(id.String())
	if err != nil {
		t.Fatal(err)
	}
	cfg := createDefaultConfig().(*Config)
	if err := sub.Unmarshal(cfg, confmap.WithIgnoreUnused()); err != nil {
		return nil, err
	}
	return cfg, confmap.Validate(cfg)
}

func TestConfigDefaultAndCustom(t *testing.T) {
	def, err := loadConfig(t, "")
	if err != nil {
		t.Fatalf("default config invalid: %v", err)
	}
	if def.Bundle != "" || def.OnDrop != OnDropRemove || !def.ScanMessages || def.ReloadInterval != 30*time.Second {
		t.Fatalf("defaults %+v", def)
	}
	c, err := loadConfig(t, "custom")
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Bundle: "./testdata", ShadowBundle: "./testdata", ReloadInterval: 5 * time.Second, CacheSize: 1000,
		OnDrop: OnDropStrip, ClassificationAttribute: "acme.data_class", DeviceAuthenticatedAttribute: "acme.device_ok"}
	if *c != want {
		t.Fatalf("got %+v\nwant %+v", *c, want)
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	if _, err := loadConfig(t, "bad_on_drop"); err == nil || !strings.Contains(err.Error(), "on_drop") || !strings.Contains(err.Error(), "delete") {
		t.Fatalf("bad on_drop: %v", err)
	}
	_, err := loadConfig(t, "bad_bundle")
	if err == nil || !strings.Contains(err.Error(), "bundle:") || !strings.Contains(err.Error(), "does-not-exist") || !strings.Contains(err.Error(), "cache_size") {
		t.Fatalf("bad bundle: %v", err)
	}
	c := createDefaultConfig().(*Config)
	c.ClassificationAttribute = ""
	c.ReloadInterval = -time.Second
	err = c.Validate()
	if err == nil || !strings.Contains(err.Error(), "classification_attribute") || !strings.Contains(err.Error(), "reload_interval") {
		t.Fatalf("empty attribute: %v", err)
	}
}

func TestUnknownKeyRejected(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	err := confmap.NewFromStringMap(map[string]any{"bundel": "x"}).Unmarshal(cfg)
	if err == nil || !strings.Contains(err.Error(), "bundel") {
		t.Fatalf("typo must be reported: %v", err)
	}
}
