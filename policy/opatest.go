package policy

import (
	"context"
	"fmt"
	"os"

	"github.com/open-policy-agent/opa/v1/tester"
)

// RunTests runs the `_test.rego` tests of the bundle directories (what
// `opa test` does); no path tests the embedded default bundle.
func RunTests(ctx context.Context, paths ...string) ([]*tester.Result, error) {
	if len(paths) == 0 {
		dir, err := os.MkdirTemp("", "warden-policy-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		if err := os.CopyFS(dir, DefaultBundle()); err != nil {
			return nil, fmt.Errorf("copy default bundle: %w", err)
		}
		paths = []string{dir}
	}
	return tester.Run(ctx, paths...)
}
