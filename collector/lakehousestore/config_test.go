package lakehousestore

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/confmap/confmaptest"
)

func TestConfigErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct {
		mut  func(*Config)
		want string
	}{
		{func(c *Config) { c.ClickHouse.Mode = "cloud" }, "clickhouse.mode"},
		{func(c *Config) { c.ClickHouse.Mode = ModeServer }, "clickhouse.dsn"},
		{func(c *Config) { c.Lake.RollBytes = 0 }, "lake.roll_bytes"},
		{func(c *Config) { c.Lake.RollInterval = 0 }, "lake.roll_interval"},
		{func(c *Config) { c.DataDir = "" }, "data_dir"},
		{func(c *Config) { c.RetentionDays = -1 }, "retention_days"},
		{func(c *Config) { c.ClickHouse.Cluster = "c" }, "clickhouse.cluster"},
		{func(c *Config) { c.WALSealRows = 0 }, "wal_seal_rows"},
		{func(c *Config) { c.WALSealInterval = time.Millisecond }, "wal_seal_interval"},
		{func(c *Config) { c.WALMaxBytes = 1000 }, "wal_max_bytes"},
	} {
		c := DefaultConfig()
		tc.mut(c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want error naming %s, got %v", tc.want, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

// The README's example (testdata/config.yaml) unmarshals into valid configs.
func TestLoadConfigExample(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for id, check := range map[string]func(*Config) bool{
		"lakehouse": func(c *Config) bool {
			return c.WALSealRows == 32768 && c.WALSealInterval == 500*time.Millisecond && c.WALMaxBytes == 4<<30 && c.ClickHouse.Mode == ModeEmbedded && c.Lake.RollRows == 2_000_000 && c.SQL.Endpoint == "127.0.0.1:8124"
		},
		"lakehouse/server": func(c *Config) bool {
			return c.ClickHouse.Mode == ModeServer && c.ClickHouse.DSN != "" && c.WALFsync && c.WALSealRows == 32768
		},
	} {
		sub, err := cm.Sub("extensions::" + id)
		if err != nil {
			t.Fatal(err)
		}
		cfg := NewFactory().CreateDefaultConfig().(*Config)
		if err := sub.Unmarshal(cfg); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if !check(cfg) {
			t.Fatalf("%s: unexpected %+v", id, cfg)
		}
	}
}
