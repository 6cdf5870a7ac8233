# Privacy processors (fieldhash, promptcrypt), keyring, vault.
.PHONY: bench-privacy bench-privacy-go

# Processor-level Go benchmarks (allocation-aware, no collector around them).
bench-privacy-go:
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./vault/
	$(GO) test -run '^$$' -bench . -benchmem -count 5 -benchtime 200x ./processors/fieldhash/ ./processors/promptcrypt/

# fieldhash + promptcrypt -> nop vs the peer collector's config b, and the
# full pipeline (genai -> fieldhash -> promptcrypt -> lakehouse) vs config c;
# same driver, same run (needs ../shared/bench/peer-collector/build.sh).
bench-privacy: bench-privacy-go
	RUNS=$${RUNS:-3} ./bench/privacy/run.sh logs 500000
	FULL=1 RUNS=$${RUNS:-3} ./bench/privacy/run.sh logs 500000

BENCH_TARGETS += bench-privacy
