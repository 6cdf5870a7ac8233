package lakehouseexporter

import (
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/confmap/confmaptest"
)

func TestConfigErrorsNameTheKey(t *testing.T) {
	c := createDefaultConfig().(*Config)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.BlockCacheSize = 0
	c.DefaultTenant = ""
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "block_cache_size") || !strings.Contains(err.Error(), "default_tenant") {
		t.Fatalf("got %v", err)
	}
	// The store's WAL is the durable queue: a sending queue in front would
	// store every request twice (or, in memory, acknowledge before it is
	// durable), and a retry would hold the client's request.
	if c.QueueConfig.HasValue() || c.BackOffConfig.Enabled {
		t.Fatal("default config must not queue or retry in front of the store")
	}
}

func TestKeepRawAttributesMustBeIdentityAttributes(t *testing.T) {
	c := createDefaultConfig().(*Config)
	c.KeepRawAttributes = []string{"host.name", "terminal.type"}
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "keep_raw_attributes[1]") || !strings.Contains(err.Error(), `"terminal.type"`) {
		t.Fatalf("got %v", err)
	}
	c.KeepRawAttributes = []string{"host.name"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

// The README's example (testdata/config.yaml) unmarshals into a valid
// config that neither queues nor retries in front of the store.
func TestLoadConfigExample(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := cm.Sub("exporters::lakehouse")
	if err != nil {
		t.Fatal(err)
	}
	c := createDefaultConfig().(*Config)
	if err := sub.Unmarshal(c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Store.String() != "lakehouse" || c.BlockCacheSize != 65536 || len(c.KeepRawAttributes) != 1 || c.QueueConfig.HasValue() || c.BackOffConfig.Enabled {
		t.Fatalf("unexpected %+v", c)
	}
}
