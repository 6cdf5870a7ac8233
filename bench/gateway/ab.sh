#!/usr/bin/env bash
# Same-run A/B of gateway builds: every binary given runs as its own
# `gateway` process with the same config, against the same stub and OTLP
# sink, and the driver interleaves direct and all of them round-robin (each
# sees the same machine noise). No Portkey.
#
#   bench/gateway/ab.sh warden-a=/path/to/old/warden warden-b=/path/to/new/warden
#   N=2000 MODES="latency ttft" bench/gateway/ab.sh ...
#
# Names must start with "warden" (the driver sends them the local key). A
# binary is started as `BINARY gateway --config FILE`.
set -euo pipefail
N=${N:-2000}
MODES=${MODES:-latency ttft}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${BENCH_WORK:-/tmp/warden-bench-gateway-ab}
mkdir -p "$work"
cd "$root"
go build -o "$work/warden" ./cmd/warden
go build -o "$work/stubmodel" ./internal/stubmodel/cmd/stubmodel
go build -o "$work/driver" ./bench/gateway/driver
rm -rf "$work/keys" && "$work/warden" keys init --dir "$work/keys" --tenant default >/dev/null

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
. "$root/bench/gateway/lib.sh"
start_stub_and_sink

targets="direct=$stub"
for nb in "$@"; do
  name=${nb%%=*} bin=${nb#*=}
  port=$(free_port)
  gateway_config "$work/$name.yaml" "$port"
  "$bin" gateway --config "$work/$name.yaml" 2>>"$work/$name.log" &
  pids+=($!)
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
  targets="$targets,$name=http://127.0.0.1:$port"
done
echo "# $(date -u +%FT%TZ) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), N=$N: $*"
for m in $MODES; do
  "$work/driver" -mode "$m" -targets "$targets" -stub "$stub" -n "$N" -size 102400 ${DRIVER_ARGS:-}
done
