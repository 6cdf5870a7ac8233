# Endpoint enforcer (warden run): eBPF generation, root tests, benchmarks.
# The bpf2go output (endpoint/ebpf/warden_bpfel.{go,o}) is committed, so
# building needs no clang; `make generate` regenerates it when clang is
# installed (apt-get install clang llvm libbpf-dev).

ifneq ($(shell command -v clang 2>/dev/null),)
GENERATE_TARGETS += generate-endpoint-bpf
endif
BENCH_TARGETS += bench-endpoint

.PHONY: generate-endpoint-bpf bench-endpoint test-endpoint-escape test-endpoint-agents

generate-endpoint-bpf:
	go generate ./endpoint/ebpf/

# The escape suite needs root (CI runs as root); `make test` runs it too.
test-endpoint-escape:
	go test -count=1 -run 'TestEscapeSuite|TestUnapproved|TestEndpointd' -v ./endpoint/

bench-endpoint:
	bench/endpoint/run.sh
	bench/endpoint/syscall.sh
	go test -run '^$$' -bench BenchmarkRingBuffer -benchtime 3x ./endpoint/

# Claude Code (npm, pinned in mk/gateway.mk) under warden run, through the
# gateway to the stub model; needs root.
TEST_TARGETS += test-endpoint-agents
test-endpoint-agents: deps-gateway-agents
	WARDEN_AGENTS_DIR=$(GATEWAY_AGENTS_DIR) go test -count=1 -run 'TestClaudeCodeUnderWardenRun' -v ./endpoint/
