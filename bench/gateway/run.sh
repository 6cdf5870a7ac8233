#!/usr/bin/env bash
# Gateway benchmark: the Warden gateway vs a direct call vs the Portkey
# gateway (npm @portkey-ai/gateway, pinned), same stub upstream
# (internal/stubmodel), same driver, same run. Latency and TTFT run with the
# gateways unpinned (requests interleaved round-robin, so all targets share
# the machine's noise); throughput pins each gateway to CPU 1 (Warden with
# GOMAXPROCS=1) and the driver to CPU 0.
#
#   bench/gateway/run.sh            # N=2000 latency samples per target
#   N=5000 DURATION=10s bench/gateway/run.sh
#   SKIP_THROUGHPUT=1 bench/gateway/run.sh   # latency and TTFT only
#   SKIP_TTFT=1 ...                          # no TTFT run
#   WARDEN_BIN=/path/to/warden ...           # that gateway build instead of this tree's
#   DRIVER_ARGS="-gap 2ms" ...               # more driver flags for latency and TTFT
set -euo pipefail
PORTKEY_VERSION=1.15.2
N=${N:-2000}
DURATION=${DURATION:-5s}
CONC=${CONC:-16}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${BENCH_WORK:-/tmp/warden-bench-gateway}
mkdir -p "$work"
cd "$root"
go build -o "$work/warden" ./cmd/warden
warden_bin=${WARDEN_BIN:-$work/warden}
go build -o "$work/stubmodel" ./internal/stubmodel/cmd/stubmodel
go build -o "$work/driver" ./bench/gateway/driver
# @hono/node-server is held at 1.14.2: newer ones make Portkey fail every
# stream with "TypeError: immutable" (Portkey-AI/gateway#1389, #1550).
mkdir -p "$work/portkey"
cat >"$work/portkey/package.json" <<JSON
{"name": "warden-bench-portkey", "private": true,
 "dependencies": {"@portkey-ai/gateway": "$PORTKEY_VERSION"},
 "overrides": {"@hono/node-server": "1.14.2"}}
JSON
(cd "$work/portkey" && npm install --no-audit --no-fund >/dev/null 2>&1)
# Portkey 1.15.2 also fails every *stream* on Node 20 the same way: it adds
# headers to the upstream fetch Response (immutable). Apply the fix its
# maintainers were offered (Portkey-AI/gateway#1551: copy the mapped
# response into a new Response first) to the built file, so streams work.
pk="$work/portkey/node_modules/@portkey-ai/gateway/build/start-server.js"
if grep -q 'return r?(i=t,c=s):' "$pk"; then
  sed -i 's/return r?(i=t,c=s):/return r?(i=new Response(t.body,{status:t.status,statusText:t.statusText,headers:new Headers(t.headers)}),c=s):/' "$pk"
fi
grep -q 'i=new Response(t.body' "$pk" || { echo "run.sh: could not apply the Portkey stream fix" >&2; exit 1; }
rm -rf "$work/keys" && "$work/warden" keys init --dir "$work/keys" --tenant default >/dev/null

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
. "$root/bench/gateway/lib.sh"
start_stub_and_sink

wport=$(free_port)
pport=$(free_port)
gateway_config "$work/gateway.yaml" "$wport"
gw_pids=()
# start_gateways CPUS: Warden and Portkey on the given CPUs ("" = anywhere).
start_gateways() {
  for p in "${gw_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  gw_pids=()
  sleep 0.3
  local pin=() procs=""
  if [ -n "$1" ]; then pin=(taskset -c "$1"); procs=1; fi
  GOMAXPROCS=$procs "${pin[@]}" "$warden_bin" gateway --config "$work/gateway.yaml" 2>>"$work/warden.log" &
  gw_pids+=($!)
  (cd "$work/portkey" && NODE_ENV=production exec "${pin[@]}" node node_modules/@portkey-ai/gateway/build/start-server.js --port="$pport" --headless >>"$work/portkey.log" 2>&1) &
  gw_pids+=($!)
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$wport/" && curl -s -o /dev/null "http://127.0.0.1:$pport/" && break
    sleep 0.1
  done
}
cleanup() { for p in "${pids[@]}" "${gw_pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
targets="direct=$stub,warden=http://127.0.0.1:$wport,portkey=http://127.0.0.1:$pport"
echo "# $(date -u +%FT%TZ) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(go version | cut -d' ' -f3), node $(node --version), portkey $PORTKEY_VERSION"
start_gateways ""
echo "## 100 KB prompt (one SSN: Warden redacts it), non-streamed, N=$N interleaved"
"$work/driver" -mode latency -targets "$targets" -stub "$stub" -n "$N" -size 102400 ${DRIVER_ARGS:-}
if [ -z "${SKIP_TTFT:-}" ]; then
  echo "## TTFT, streamed, 100 KB prompt, N=$N interleaved"
  "$work/driver" -mode ttft -targets "$targets" -stub "$stub" -n "$N" -size 102400 ${DRIVER_ARGS:-}
fi
[ -n "${SKIP_THROUGHPUT:-}" ] && exit 0
# Throughput: each gateway on CPU 1 only (Warden GOMAXPROCS=1), driver and
# stub on CPU 0.
start_gateways 1
echo "## throughput, gateway on one core, c=$CONC, 1 KB prompt"
taskset -c 0 "$work/driver" -mode throughput -targets "$targets" -stub "$stub" -c "$CONC" -d "$DURATION" -size 1024 -pii=false
echo "## throughput, gateway on one core, c=$CONC, 100 KB prompt"
taskset -c 0 "$work/driver" -mode throughput -targets "$targets" -stub "$stub" -c "$CONC" -d "$DURATION" -size 102400
