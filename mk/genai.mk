# genai processor, price table and real-agent fixtures (processors/genai,
# schema/pricing.go, internal/stubmodel).
.PHONY: test-genai-fuzz bench-genai capture-agent-fixtures

# Bounded fuzzing of the normalizer (CI runs it on every `make test`).
# -fuzzminimizetime=0: seeded with the real agents' captures (up to 27 KB),
# the fuzzer otherwise spends the whole budget minimizing the first inputs
# that add coverage (measured: 11 execs in 20 s, against ~7,000/s without).
# A crasher is still reported, only not minimized.
test-genai-fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzNormalize -fuzztime=20s -fuzzminimizetime=0 ./processors/genai

# Normalizer and pricing micro-benchmarks (BENCHMARKS.md, section genai).
bench-genai:
	$(GO) test -run='^$$' -bench='Normalize|CopyBenchBatch' -benchmem -count=5 ./processors/genai
	$(GO) test -run='^$$' -bench=Cost -benchmem -count=5 ./schema

# Re-captures what the pinned real agents export (needs npm; not part of
# test or bench).
capture-agent-fixtures:
	processors/genai/testdata/capture.sh

TEST_TARGETS += test-genai-fuzz
BENCH_TARGETS += bench-genai
