package fieldhash

import (
	"strings"
	"testing"

	"go.opentelemetry.io/collector/confmap/confmaptest"
)

func TestTestdataConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf("testdata/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, wantErr := range map[string]string{"fieldhash": "", "fieldhash/bad": "fields[0].keep_prefix: only for mode ip"} {
		sub, _ := cm.Sub(name)
		cfg := createDefaultConfig().(*Config)
		if err := sub.Unmarshal(cfg); err != nil {
			t.Fatal(err)
		}
		err := cfg.Validate()
		if (wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), wantErr)) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
