package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPricesCommand(t *testing.T) {
	if rc := runPrices([]string{"check"}); rc != 0 {
		t.Errorf("built-in table: rc %d", rc)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("version: 1\nmodels:\n - {provider: openai, model: m, prices: [{effective_from: 2026-01-01, output: 1}]}\n"), 0o600)
	if rc := runPrices([]string{"check", bad}); rc != 1 {
		t.Errorf("invalid table: rc %d", rc)
	}
	if rc := runPrices([]string{"cost", "-provider", "anthropic", "-model", "claude-opus-5-5", "-input", "160", "-output", "20", "-at", "2026-11-01T00:00:00Z"}); rc != 0 {
		t.Errorf("priced call: rc %d", rc)
	}
	if rc := runPrices([]string{"cost", "-provider", "anthropic", "-model", "nope", "-input", "1"}); rc != 1 {
		t.Errorf("unpriced call: rc %d", rc)
	}
	if rc := runPrices(nil); rc != 2 {
		t.Errorf("usage: rc %d", rc)
	}
}
