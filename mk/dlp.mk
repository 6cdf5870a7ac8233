# DLP (issue 5): fuzzing and the throughput benchmark beside gitleaks.
TEST_TARGETS += test-dlp-fuzz
BENCH_TARGETS += bench-dlp

DLP_FUZZTIME ?= 10s

.PHONY: test-dlp-fuzz bench-dlp

# Each fuzz target runs on its own (go test -fuzz takes one target).
test-dlp-fuzz:
	$(GO) test ./dlp/ -run '^$$' -fuzz '^FuzzScan$$' -fuzztime $(DLP_FUZZTIME)
	$(GO) test ./dlp/ -run '^$$' -fuzz '^FuzzStream$$' -fuzztime $(DLP_FUZZTIME)

bench-dlp:
	./bench/dlp/run.sh
