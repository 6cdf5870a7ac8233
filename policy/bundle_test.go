package policy

import (
	"context"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/tester"
)

// TestBundleOPATests runs the bundle's `_test.rego` files with OPA's own test
// runner (what `opa test policy/bundle` does), so `go test ./...` is the CI
// gate for the policy.
func TestBundleOPATests(t *testing.T) {
	results, err := tester.Run(context.Background(), "bundle")
	if err != nil {
		t.Fatalf("opa test: %v", err)
	}
	if len(results) < 10 {
		t.Fatalf("expected the bundle's tests to run, got %d results", len(results))
	}
	for _, r := range results {
		if !r.Pass() {
			t.Errorf("%s", r.String())
			if len(r.Output) > 0 {
				t.Logf("%s", r.Output)
			}
		}
	}
}

func TestDefaultBundleEmbedded(t *testing.T) {
	b, err := fsReadFile(".manifest")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"revision"`) {
		t.Fatalf("manifest has no revision: %s", b)
	}
}
