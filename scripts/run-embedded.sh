#!/usr/bin/env bash
# Starts the embedded default: bin/otelcol-warden with CONFIG (default
# collector/config/embedded.yaml), data under $WARDEN_DATA_DIR (./data).
# Prints where to send OTLP and how to query, then runs in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${1:-collector/config/embedded.yaml}
export WARDEN_DATA_DIR=${WARDEN_DATA_DIR:-./data}
export WARDEN_CHDB_LIB=${WARDEN_CHDB_LIB:-$PWD/lib/chdb/libchdb.so}
bin=bin/otelcol-warden
[ -x "$bin" ] || { echo "run-embedded: $bin missing: run make build" >&2; exit 1; }
[ -f "$WARDEN_CHDB_LIB" ] || { echo "run-embedded: $WARDEN_CHDB_LIB missing: run make deps-chdb" >&2; exit 1; }
[ -f "$CONFIG" ] || { echo "run-embedded: config $CONFIG not found" >&2; exit 1; }
mkdir -p "$WARDEN_DATA_DIR"
# Keys for fieldhash/promptcrypt: created once; the collector keeps only the
# custody PUBLIC key, the private key moves to $WARDEN_DATA_DIR/custody.
export WARDEN_KEYS_DIR=${WARDEN_KEYS_DIR:-$WARDEN_DATA_DIR/keys}
if [ ! -d "$WARDEN_KEYS_DIR/custody" ]; then
  bin/warden keys init --dir "$WARDEN_KEYS_DIR" >/dev/null
  mkdir -p -m 0700 "$WARDEN_DATA_DIR/custody/custody"
  for k in "$WARDEN_KEYS_DIR"/custody/*.key; do [ -e "$k" ] && mv "$k" "$WARDEN_DATA_DIR/custody/custody/"; done
fi
grpc=${WARDEN_OTLP_GRPC:-127.0.0.1:4317}
http=${WARDEN_OTLP_HTTP:-127.0.0.1:4318}
sql=${WARDEN_SQL_ENDPOINT:-127.0.0.1:8124}
cat <<MSG
Warden (embedded) starting with $CONFIG
  OTLP gRPC:  $grpc      (OTEL_EXPORTER_OTLP_ENDPOINT=http://$grpc, OTEL_EXPORTER_OTLP_PROTOCOL=grpc)
  OTLP HTTP:  http://$http  (OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf)
  Lake:       $WARDEN_DATA_DIR/lake  (Parquet, tenant=/date= partitions)
  ClickHouse: $WARDEN_DATA_DIR/clickhouse (embedded chDB)
  SQL:        http://$sql/v1/sql (read-only, bearer token in $WARDEN_DATA_DIR/sql.token)
  Query:      bin/warden sql "SELECT kind, count() FROM events GROUP BY kind"
  Log:        $WARDEN_DATA_DIR/otelcol.log
MSG
exec "$bin" --config "$CONFIG"
