# LLM gateway (endpoint/gateway, `warden gateway`).
.PHONY: test-gateway-agents bench-gateway deps-gateway-agents

GATEWAY_AGENTS_DIR ?= $(CURDIR)/bin/gateway-agents
GATEWAY_CLAUDE_VERSION := 2.1.330
GATEWAY_CODEX_VERSION := 0.169.0
GATEWAY_GEMINI_VERSION := 0.61.0

# The real agents from npm, pinned (npm 11 skips the claude wrapper's
# postinstall, so the platform package's native binary is used directly).
deps-gateway-agents:
	@if [ ! -x "$(GATEWAY_AGENTS_DIR)/node_modules/.bin/codex" ] || [ ! -x "$(GATEWAY_AGENTS_DIR)/node_modules/.bin/gemini" ] || \
	    [ ! -x "$(GATEWAY_AGENTS_DIR)/node_modules/@anthropic-ai/claude-code-linux-x64/claude" ]; then \
	  mkdir -p "$(GATEWAY_AGENTS_DIR)" && cd "$(GATEWAY_AGENTS_DIR)" && (test -f package.json || npm init -y >/dev/null) && \
	  npm install --no-audit --no-fund --ignore-scripts \
	    "@anthropic-ai/claude-code-linux-x64@$(GATEWAY_CLAUDE_VERSION)" "@openai/codex@$(GATEWAY_CODEX_VERSION)" \
	    "@google/gemini-cli@$(GATEWAY_GEMINI_VERSION)"; \
	fi

# Claude Code, Codex CLI and Gemini CLI driven through the gateway against
# the stub model server: redaction and private-key cut.
test-gateway-agents: deps-gateway-agents
	WARDEN_AGENTS_DIR=$(GATEWAY_AGENTS_DIR) $(GO) test -count=1 -run 'TestRealAgents' -v ./endpoint/gateway/

# Warden gateway vs direct vs Portkey, same stub, same load (BENCHMARKS.md).
bench-gateway:
	./bench/gateway/run.sh

TEST_TARGETS += test-gateway-agents
BENCH_TARGETS += bench-gateway
