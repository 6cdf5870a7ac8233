# Policy: the default OPA bundle (policy/bundle), the engine (policy/engine)
# and the collector's policy processor (processors/policy).
.PHONY: test-policy-opa bench-policy
OPA_VERSION := v1.20.1
OPA := $(BIN)/opa-$(OPA_VERSION)

# The opa CLI built from the pinned module (the same version the engine
# links), for `opa test`/`opa eval` by hand and this target.
$(OPA):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install github.com/open-policy-agent/opa@$(OPA_VERSION)
	mv $(BIN)/opa $(OPA)

# `go test ./policy/` already runs the bundle's tests through OPA's tester
# package; this runs them again with the real opa CLI, with coverage, and
# fails below 90 % line coverage of the policy.
test-policy-opa: $(OPA)
	$(OPA) test -v policy/bundle
	@cov=$$($(OPA) test --coverage policy/bundle | python3 -c 'import json,sys; print(json.load(sys.stdin)["coverage"])'); \
	  echo "policy coverage: $$cov %"; \
	  python3 -c "import sys; sys.exit(0 if $$cov >= 90 else 1)"

# Processor cost per record with and without the decision cache, and the
# engine beside a bare OPA prepared query (the peer). Medians: see BENCHMARKS.md.
bench-policy:
	$(GO) test -run '^$$' -bench . -benchtime 300x -count 5 ./processors/policy/
	$(GO) test -run '^$$' -bench . -benchtime 3000x -count 5 ./policy/engine/

TEST_TARGETS += test-policy-opa
BENCH_TARGETS += bench-policy
