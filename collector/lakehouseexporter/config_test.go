package lakehouseexporter

import (
	"strings"
	"testing"
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
	if !c.QueueConfig.HasValue() || !c.QueueConfig.Get().Batch.HasValue() {
		t.Fatal("default config must batch inside the sending queue")
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
