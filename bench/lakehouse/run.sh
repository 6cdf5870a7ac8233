#!/usr/bin/env bash
# Lakehouse benchmark: drives otelcol-warden (otlp -> genai -> lakehouse,
# both sinks, durable in its WAL) with the shared peer-collector load, beside
# the contrib peer pipelines a (batch -> nop) and c (redaction, OTTL hash,
# persistent queue, zstd file) in the same run, then measures bytes per
# event in ClickHouse and in the Parquet lake on a kept run.
#
#   bench/lakehouse/run.sh [N]        (default N=500000, RUNS=3)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
peer=${PEER_DIR:-$root/../shared/bench/peer-collector}
N=${1:-500000}
export RUNS=${RUNS:-3}
export WARDEN_CHDB_LIB=${WARDEN_CHDB_LIB:-$root/lib/chdb/libchdb.so}
[ -f "$WARDEN_CHDB_LIB" ] || { echo "bench: $WARDEN_CHDB_LIB missing (make deps-chdb)" >&2; exit 1; }
eval "$("$peer/build.sh" | tail -n 3)"
bin=${WARDEN_BENCH_BIN:-$root/bin/otelcol-warden}
if ! "$bin" components 2>/dev/null | awk '/^exporters:/{e=1;next} /^[a-z]/{e=0} e' | grep -q 'name: lakehouse'; then
  # The distribution does not include the lakehouse exporter yet: measure
  # the same components in the e2e collector (otlp, memory_limiter, genai,
  # lakehouse, file_storage) and say so in the table.
  bin=$root/bin/otelcol-e2e
  (cd "$root" && go build -o "$bin" ./e2e/cmd/otelcol-e2e)
fi
cfg=$root/bench/lakehouse/warden-lakehouse.yaml
cd "$peer"
COLLECTOR_CONFIG="configs/a-batch-nop.yaml configs/c-redact-hash-file.yaml $bin::$cfg" ./run.sh logs "$N" | tee "${RESULTS_FILE:-/dev/null}"

# Bytes per event: one more warden run kept on disk (in a private TMPDIR,
# so concurrent benchmark runs of others are not picked up), then sizes of
# the events table's parts and of the committed Parquet files over their rows.
keep=$(mktemp -d)
TMPDIR=$keep KEEP=1 RUNS=1 COLLECTOR_CONFIG="$bin::$cfg" ./run.sh logs "$N" > "$keep/run.log" 2>&1 || { cat "$keep/run.log" >&2; exit 1; }
dir=$(ls -d "$keep"/peer-bench.* | head -1)
(cd "$root" && go run ./bench/lakehouse/count "$dir/data")
rm -rf -- "$keep"
