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
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

rm -f "$work/stub.url"
"$work/stubmodel" -addr 127.0.0.1:0 -discard-bodies -text "Here is a short summary of the report." >"$work/stub.url" &
pids+=($!)
for _ in $(seq 300); do [ -s "$work/stub.url" ] && break; sleep 0.1; done
stub=$(head -1 "$work/stub.url")
[ -n "$stub" ] || { echo "ab.sh: the stub did not start" >&2; exit 1; }
otlp_port=$(free_port)
"$work/driver" -mode otlpsink -stub "127.0.0.1:$otlp_port" >/dev/null &
pids+=($!)

targets="direct=$stub"
for nb in "$@"; do
  name=${nb%%=*} bin=${nb#*=}
  port=$(free_port)
  cat >"$work/$name.yaml" <<YAML
listen: 127.0.0.1:$port
local_key: warden-local
identity: {user: bench, device: bench-host, department: engineering}
providers:
  openai: {base_url: "$stub", api_key: sk-bench}
dlp: {restore_responses: true}
telemetry: {otlp_endpoint: "http://127.0.0.1:$otlp_port", keys_dir: "$work/keys"}
YAML
  "$bin" gateway --config "$work/$name.yaml" 2>>"$work/$name.log" &
  pids+=($!)
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
  targets="$targets,$name=http://127.0.0.1:$port"
done
echo "# $(date -u +%FT%TZ) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), N=$N: $*"
for m in $MODES; do
  "$work/driver" -mode "$m" -targets "$targets" -stub "$stub" -n "$N" -size 102400 ${DRIVER_ARGS:-}
done
