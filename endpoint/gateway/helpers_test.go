package gateway_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/wardenhq/warden/endpoint/gateway"
	"github.com/wardenhq/warden/endpoint/gateway/inspect"
)

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }

func mustDeps(t *testing.T) (gateway.Detector, gateway.Decider) {
	t.Helper()
	det, err := inspect.NewDLPDetector()
	if err != nil {
		t.Fatal(err)
	}
	pd, err := gateway.NewPolicyDecider(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return det, pd
}

func mustYAML(_ testing.TB, url string) []byte {
	return []byte(fmt.Sprintf(`
local_key: warden-local
identity: {user: alice, device: laptop-1, department: engineering}
providers:
  anthropic: {base_url: %q, api_key: a}
  openai: {base_url: %q, api_key: b}
  gemini: {base_url: %q, api_key: c}
`, url, url, url))
}

// TestExampleConfig: the README's config parses and validates.
func TestExampleConfig(t *testing.T) {
	t.Setenv("ANTHROPIC_API_KEY", "x")
	t.Setenv("OPENAI_API_KEY", "x")
	t.Setenv("GEMINI_API_KEY", "x")
	cfg, err := gateway.LoadConfig("testdata/gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Budgets.Limits) != 3 || cfg.Review.Timeout.Minutes() != 5 {
		t.Fatalf("%+v", cfg)
	}
}

func mustDepsB(b *testing.B) (gateway.Detector, gateway.Decider) {
	det, err := inspect.NewDLPDetector()
	if err != nil {
		b.Fatal(err)
	}
	pd, err := gateway.NewPolicyDecider(context.Background(), "")
	if err != nil {
		b.Fatal(err)
	}
	return det, pd
}
