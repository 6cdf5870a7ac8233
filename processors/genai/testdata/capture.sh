#!/usr/bin/env bash
# Re-captures the real-agent fixtures in this directory: installs the pinned
# agents from npm, runs each one once (offline) against the stub model server
# (internal/stubmodel) with its OpenTelemetry export pointed at a local OTLP
# capture endpoint that stores the raw request bodies, and copies them into
# agents/<agent>/. The settings are those of /work/shared/AGENT-TELEMETRY.md.
#
#   processors/genai/testdata/capture.sh [claude|codex|gemini ...]
#
# Stub usage per model call: input 100 (uncached), output 20, cache read 50,
# cache write 10 (see internal/stubmodel and agents/*/CAPTURE.txt).
set -euo pipefail
CLAUDE_VERSION=2.1.330
CODEX_VERSION=0.169.0
GEMINI_VERSION=0.61.0
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
work=${CAPTURE_WORK:-/tmp/warden-capture}
agents=("$@")
[ ${#agents[@]} -eq 0 ] && agents=(claude codex gemini)
mkdir -p "$work"

if [ ! -x "$work/npm/node_modules/.bin/codex" ] || [ ! -x "$work/npm/node_modules/.bin/gemini" ] ||
   [ ! -x "$work/npm/node_modules/@anthropic-ai/claude-code-linux-x64/claude" ]; then
  mkdir -p "$work/npm"
  (cd "$work/npm" && npm init -y >/dev/null &&
    npm install --no-audit --no-fund --ignore-scripts \
      "@anthropic-ai/claude-code-linux-x64@$CLAUDE_VERSION" "@openai/codex@$CODEX_VERSION" "@google/gemini-cli@$GEMINI_VERSION")
fi
(cd "$root" && go build -o "$work/stubmodel" ./internal/stubmodel/cmd/stubmodel &&
  go build -o "$work/otlpcapture" ./internal/stubmodel/cmd/otlpcapture)

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# start NAME ARGS...: runs a helper in the background, waits for the URL it
# prints on its first line and stores it in $url.
start() {
  local out="$work/$1.url"; shift
  rm -f "$out"
  "$@" >"$out" &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.1; done
  url=$(head -1 "$out")
}

capture() { # capture AGENT TOOL TOOL_INPUT TOOL_KIND CMD...
  local agent=$1 tool=$2 input=$3 kind=$4; shift 4
  local dir="$work/$agent" home="$work/$agent/home" proj="$work/$agent/proj"
  rm -rf "$dir"; mkdir -p "$home" "$proj" "$dir/otlp"
  echo "meeting notes: ship the capture script" >"$proj/notes.txt"
  start "$agent-model" "$work/stubmodel" -tool "$tool" -tool-input "$input" -tool-kind "$kind"
  model=$url
  start "$agent-otlp" "$work/otlpcapture" -dir "$dir/otlp"
  otlp=$url
  export MODEL_URL=$model OTLP_URL=$otlp HOME=$home PROJ=$proj
  local args=() x
  for x in "$@"; do x=${x//__MODEL__/$model}; args+=("${x//__OTLP__/$otlp}"); done
  (cd "$proj" && timeout 120 "${args[@]}") >"$dir/stdout.txt" 2>"$dir/stderr.txt" || echo "capture: $agent exited $?" >&2
  sleep 2 # late exports
  kill "${pids[@]}" 2>/dev/null || true; pids=()
  local dst="$here/agents/$agent"
  rm -rf "$dst"; mkdir -p "$dst"
  cp "$dir"/otlp/* "$dst"/
  {
    echo "agent: $agent"
    echo "versions: claude-code $CLAUDE_VERSION, codex $CODEX_VERSION, gemini-cli $GEMINI_VERSION"
    echo "captured: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "stub usage per call: input 100 output 20 cache_read 50 cache_write 10"
    echo "stub tool: $tool $input"
    echo "command: $*"
  } >"$dst/CAPTURE.txt"
  echo "capture: $agent -> $dst ($(ls "$dst" | wc -l) files)"
}

for a in "${agents[@]}"; do
  case $a in
  claude)
    claude=$work/npm/node_modules/@anthropic-ai/claude-code-linux-x64/claude
    capture claude_code Read '{"file_path":"'"$work"'/claude_code/proj/notes.txt"}' "" \
      env ANTHROPIC_API_KEY=sk-ant-dummy ANTHROPIC_BASE_URL="__MODEL__" DISABLE_AUTOUPDATER=1 \
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 CLAUDE_CODE_ENABLE_TELEMETRY=1 CLAUDE_CODE_ENHANCED_TELEMETRY_BETA=1 \
      OTEL_METRICS_EXPORTER=otlp OTEL_LOGS_EXPORTER=otlp OTEL_TRACES_EXPORTER=otlp \
      OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf OTEL_EXPORTER_OTLP_ENDPOINT="__OTLP__" \
      OTEL_METRIC_EXPORT_INTERVAL=1000 OTEL_LOGS_EXPORT_INTERVAL=1000 OTEL_TRACES_EXPORT_INTERVAL=1000 \
      OTEL_LOG_USER_PROMPTS=1 OTEL_LOG_ASSISTANT_RESPONSES=1 OTEL_LOG_TOOL_DETAILS=1 OTEL_LOG_TOOL_CONTENT=1 \
      OTEL_METRICS_INCLUDE_SESSION_ID=true OTEL_METRICS_INCLUDE_VERSION=true \
      OTEL_RESOURCE_ATTRIBUTES=deployment.environment=dev,department=eng \
      "$claude" -p "Summarize notes.txt" --output-format json --allowedTools Read
    ;;
  codex)
    capture codex exec 'const r = await tools.exec_command({cmd: "cat notes.txt"}); text(r);' custom_tool_call \
      bash -c 'mkdir -p "$HOME/.codex" && cat >"$HOME/.codex/config.toml" <<TOML
model_provider = "stub"
check_for_update_on_startup = false
[model_providers.stub]
name = "Stub (local)"
base_url = "$MODEL_URL/v1"
env_key = "OPENAI_API_KEY"
wire_api = "responses"
[otel]
environment = "dev"
log_user_prompt = true
exporter         = { otlp-http = { endpoint = "$OTLP_URL/v1/logs",    protocol = "binary" } }
trace_exporter   = { otlp-http = { endpoint = "$OTLP_URL/v1/traces",  protocol = "binary" } }
metrics_exporter = { otlp-http = { endpoint = "$OTLP_URL/v1/metrics", protocol = "binary" } }
TOML
OPENAI_API_KEY=sk-dummy CODEX_HOME="$HOME/.codex" "'"$work"'/npm/node_modules/.bin/codex" exec --skip-git-repo-check --json "Summarize notes.txt" </dev/null'
    ;;
  gemini)
    capture gemini_cli read_file '{"file_path":"'"$work"'/gemini_cli/proj/notes.txt"}' "" \
      bash -c 'mkdir -p "$HOME/.gemini" && cat >"$HOME/.gemini/settings.json" <<JSON
{"general": {"enableAutoUpdate": false, "enableAutoUpdateNotification": false},
 "security": {"auth": {"selectedType": "gemini-api-key"}},
 "telemetry": {"enabled": true, "target": "local", "otlpEndpoint": "$OTLP_URL",
               "otlpProtocol": "http", "logPrompts": true, "traces": true}}
JSON
GEMINI_API_KEY=dummy GOOGLE_GEMINI_BASE_URL="$MODEL_URL" GEMINI_CLI_TRUST_WORKSPACE=true \
  "'"$work"'/npm/node_modules/.bin/gemini" -p "Summarize notes.txt" --output-format json </dev/null'
    ;;
  *) echo "capture: unknown agent $a (claude|codex|gemini)" >&2; exit 2 ;;
  esac
done
