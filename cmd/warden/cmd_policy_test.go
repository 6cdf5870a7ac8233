package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPolicyTestDefaultBundlePasses(t *testing.T) {
	if rc := runPolicy([]string{"test"}); rc != 0 {
		t.Fatalf("warden policy test: exit %d", rc)
	}
}

func TestPolicyTestFailingBundleExits1(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "p.rego"), []byte("package x\nimport rego.v1\nallow := false\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "p_test.rego"), []byte("package x_test\nimport rego.v1\ntest_allow if data.x.allow\n"), 0o644)
	if rc := runPolicy([]string{"test", dir}); rc != 1 {
		t.Fatalf("failing test must exit 1, got %d", rc)
	}
}

func TestPolicyEvalBadInputExits2(t *testing.T) {
	p := filepath.Join(t.TempDir(), "in.json")
	os.WriteFile(p, []byte("{not json"), 0o644)
	if rc := runPolicy([]string{"eval", p}); rc != 2 {
		t.Fatalf("bad input must exit 2, got %d", rc)
	}
	os.WriteFile(p, []byte(`{"context":"collector","event":{"kind":"model_call"},"classification":"LOW","dlp":{"counts":{"us_ssn":1}}}`), 0o644)
	if rc := runPolicy([]string{"eval", p}); rc != 0 {
		t.Fatalf("eval exit %d", rc)
	}
}
