# Warden: `make run` starts the embedded default, `make test` runs the suite.
# Each area adds its own targets in mk/<area>.mk (included below) by appending
# to DEPS_TARGETS, GENERATE_TARGETS, TEST_TARGETS and BENCH_TARGETS, so the
# areas never edit one shared recipe.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
CHDB_DIR ?= $(CURDIR)/lib/chdb
export WARDEN_CHDB_LIB ?= $(CHDB_DIR)/libchdb.so
BUILDER_VERSION := v0.161.0
BUILDER := $(BIN)/builder-$(BUILDER_VERSION)
CONFIG ?= collector/config/embedded.yaml
GOTEST_FLAGS ?= -count=1 -timeout 30m

DEPS_TARGETS :=
GENERATE_TARGETS :=
TEST_TARGETS :=
BENCH_TARGETS :=
-include mk/*.mk

.PHONY: deps build run test bench generate deps-go deps-chdb build-go test-go generate-collector
.DEFAULT_GOAL := build

deps: deps-go deps-chdb $(DEPS_TARGETS)

deps-go:
	$(GO) mod download

deps-chdb:
	CHDB_DIR=$(CHDB_DIR) ./scripts/fetch-chdb.sh

build: deps-go build-go

build-go:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/otelcol-warden ./collector/cmd/otelcol-warden
	$(GO) build -o $(BIN)/warden ./cmd/warden

run: deps build
	@./scripts/run-embedded.sh $(CONFIG)

test: deps build test-go $(TEST_TARGETS)

test-go:
	$(GO) vet ./...
	$(GO) test $(GOTEST_FLAGS) ./...

bench: deps build $(BENCH_TARGETS)

$(BUILDER):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install go.opentelemetry.io/collector/cmd/builder@$(BUILDER_VERSION)
	mv $(BIN)/builder $(BUILDER)

# Regenerates the distribution's sources from builder-config.yaml. The
# builder's go.mod/go.sum are dropped: Warden is one module at the root.
generate: generate-collector $(GENERATE_TARGETS)

generate-collector: $(BUILDER)
	./scripts/generate-collector.sh $(BUILDER) collector/cmd/otelcol-warden
