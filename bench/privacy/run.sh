#!/usr/bin/env bash
# bench/privacy/run.sh [logs|traces] [N]
#
# fieldhash + promptcrypt -> nop (privacy-nop.yaml, in a small collector built
# from ../collector/main.go) against the peer collector's config b, in ONE invocation of
# the shared driver (runs interleave, one table). With FULL=1: Warden's full
# pipeline (full-pipeline.yaml, otelcol-warden: genai -> fieldhash ->
# promptcrypt -> lakehouse with a persistent queue) against the peer's
# config c instead. Needs the peer collector and telemetrygen built by
# shared/bench/peer-collector/build.sh.
#
# Env: PEER_DIR (default ../shared/bench/peer-collector next to the repo),
#      RUNS (default 3), FULL, anything run.sh accepts.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PEER_DIR="${PEER_DIR:-$ROOT/../shared/bench/peer-collector}"
BIN="$ROOT/bin"
mkdir -p "$BIN"
go build -o "$BIN/otelcol-bench" "$HERE/../collector"
go build -o "$BIN/warden" "$ROOT/cmd/warden"

# A fresh key directory: one custody key pair (the collector reads only the
# public half) and the tenant key created on first use.
KEYS_PARENT="$(mktemp -d)"
trap 'rm -rf "$KEYS_PARENT"' EXIT
export WARDEN_BENCH_KEYS="$KEYS_PARENT/keys"
"$BIN/warden" keys init --dir "$WARDEN_BENCH_KEYS" >/dev/null

export RUNS="${RUNS:-3}"
if [[ "${FULL:-}" == 1 ]]; then
  go build -o "$BIN/otelcol-warden" "$ROOT/collector/cmd/otelcol-warden"
  export WARDEN_CHDB_LIB="${WARDEN_CHDB_LIB:-$ROOT/lib/chdb/libchdb.so}"
  export COLLECTOR_CONFIG="$PEER_DIR/configs/c-redact-hash-file.yaml $BIN/otelcol-warden::$HERE/full-pipeline.yaml"
else
  export COLLECTOR_CONFIG="$PEER_DIR/configs/b-redact-hash-nop.yaml $BIN/otelcol-bench::$HERE/privacy-nop.yaml"
fi
exec "$PEER_DIR/run.sh" "${1:-logs}" "${2:-500000}"
