package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden/vault"
)

func TestKeysInitRotateList(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if err := keysCmd("init", dir, []string{"acme"}, 0, false); err != nil {
		t.Fatal(err)
	}
	if err := keysCmd("init", dir, []string{"acme"}, 0, false); err == nil || !strings.Contains(err.Error(), "use rotate") {
		t.Fatalf("re-init: %v", err)
	}
	if err := keysCmd("rotate", dir, []string{"acme"}, time.Hour, false); err != nil {
		t.Fatal(err)
	}
	if err := keysCmd("rotate", dir, nil, 0, true); err != nil {
		t.Fatal(err)
	}
	if err := keysCmd("rotate", dir, nil, 0, false); err == nil {
		t.Fatal("rotate without target accepted")
	}
	s, _ := vault.OpenLocalStore(dir, vault.LocalOptions{})
	k, err := s.TenantKeys("acme")
	if err != nil || k.Current.Version != 2 || k.Previous == nil {
		t.Fatalf("%+v %v", k, err)
	}
	ks, _ := s.List()
	if len(ks) != 4 { // acme v1, v2, two custody pairs
		t.Fatalf("%+v", ks)
	}
	if err := keysCmd("list", dir, nil, 0, false); err != nil {
		t.Fatal(err)
	}
}
