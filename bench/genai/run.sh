#!/usr/bin/env bash
# bench/genai/run.sh [logs|traces] [N]
#
# otlp -> genai -> batch -> nop (genai-nop.yaml, in a small collector built
# from ../collector/main.go) against the peer collector's config a (otlp -> batch -> nop)
# in ONE invocation of the shared driver (runs interleave, one table). The
# difference in CPU µs/record is genai's cost per record. Needs the peer
# collector and telemetrygen built by shared/bench/peer-collector/build.sh.
#
# Env: PEER_DIR (default ../shared/bench/peer-collector next to the repo),
#      RUNS (default 3), anything run.sh accepts.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PEER_DIR="${PEER_DIR:-$ROOT/../shared/bench/peer-collector}"
BIN="$ROOT/bin"
mkdir -p "$BIN"
go build -o "$BIN/otelcol-bench" "$HERE/../collector"
export RUNS="${RUNS:-3}"
export COLLECTOR_CONFIG="$PEER_DIR/configs/a-batch-nop.yaml $BIN/otelcol-bench::$HERE/genai-nop.yaml"
exec "$PEER_DIR/run.sh" "${1:-logs}" "${2:-500000}"
