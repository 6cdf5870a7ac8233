package keyring

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/wardenhq/warden/vault"
)

func start(t *testing.T, dir string) error {
	t.Helper()
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Directory = dir
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ext.Start(context.Background(), nil)
}

func TestStartChecksKeyFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if err := start(t, dir); err == nil || !strings.Contains(err.Error(), "warden keys init") {
		t.Fatalf("missing dir: %v", err)
	}
	s, _ := vault.InitDir(dir)
	if err := start(t, dir); err == nil || !strings.Contains(err.Error(), "custody/current") {
		t.Fatalf("missing custody key: %v", err)
	}
	id, _, _ := s.InitCustody()
	if err := start(t, dir); err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(dir, "custody", id+".pub")
	os.Chmod(pub, 0o644)
	if err := start(t, dir); err == nil || !strings.Contains(err.Error(), pub) || !strings.Contains(err.Error(), "0644") {
		t.Fatalf("loose perms: %v", err)
	}
	os.Chmod(pub, 0o600)
	os.WriteFile(pub, make([]byte, 31), 0o600)
	if err := start(t, dir); err == nil || !strings.Contains(err.Error(), "not an ML-KEM-768+X25519 public key") {
		t.Fatalf("wrong size: %v", err)
	}
	s.InitTenant("acme")
	os.WriteFile(pub, mustPub(t), 0o600)
	tf := filepath.Join(dir, "tenants", "acme.json")
	b, _ := os.ReadFile(tf)
	os.WriteFile(tf, []byte(strings.Replace(string(b), `"secret": "`, `"secret": "QUFB`, 1)), 0o600)
	if err := start(t, dir); err == nil || !strings.Contains(err.Error(), tf) || !strings.Contains(err.Error(), "want 32") {
		t.Fatalf("wrong tenant key size: %v", err)
	}
}

func mustPub(t *testing.T) []byte {
	pub, _, err := vault.GenerateCustodyKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func TestConfig(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	if err := confmap.NewFromStringMap(map[string]any{"directroy": "x"}).Unmarshal(cfg); err == nil || !strings.Contains(err.Error(), "directroy") {
		t.Fatalf("unknown key: %v", err)
	}
	cfg.Directory = ""
	if err := cfg.Validate(); err == nil || !strings.HasPrefix(err.Error(), "directory:") {
		t.Fatalf("%v", err)
	}
}

func TestClaimConflict(t *testing.T) {
	k := &Keyring{}
	if err := k.Claim(`attributes["prompt"]`, "sealed", "promptcrypt source_shapes"); err != nil {
		t.Fatal(err)
	}
	if err := k.Claim(`attributes["prompt"]`, "sealed", "promptcrypt/2"); err != nil {
		t.Fatal("same action twice must be fine:", err)
	}
	err := k.Claim(`attributes["prompt"]["x"]`, "hashed", "fieldhash fields[3].path")
	if err == nil || !strings.Contains(err.Error(), "fieldhash fields[3].path") || !strings.Contains(err.Error(), "promptcrypt source_shapes") {
		t.Fatalf("%v", err)
	}
}
