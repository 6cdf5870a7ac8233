package lakehousestore

import (
	"strings"
	"testing"
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
