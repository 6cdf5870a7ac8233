#!/usr/bin/env bash
# Endpoint overhead benchmark (needs root): wall time of a CPU- and
# file-heavy workload inside `warden run` (sandbox + eBPF telemetry + durable
# export buffer) versus bare (same user, no sandbox), interleaved in the same
# run, medians; and sandbox start-up time. The ring-buffer throughput
# benchmark is the Go benchmark BenchmarkRingBuffer in ./endpoint.
#
#   sudo bench/endpoint/run.sh            # N=3 iterations per mode
#   N=5 sudo bench/endpoint/run.sh
#   SKIP_BUILD=1 N=5 sudo bench/endpoint/run.sh   # walk and start-up only
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "bench/endpoint: needs root (cgroups, eBPF)"; exit 1; }
N=${N:-3}
AGENT_UID=65534
WORK=$(mktemp -d /var/tmp/warden-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"
go build -o "$WORK/warden" ./cmd/warden
"$WORK/warden" keys init --dir "$WORK/keys" >/dev/null

# Workload 1: `go build -a` of go.etcd.io/bbolt (vendored from the module
# cache), a fresh GOCACHE per iteration.
MOD=$(go env GOMODCACHE)/go.etcd.io/bbolt@v1.5.0
cp -r "$MOD" "$WORK/proj"
chmod -R u+w "$WORK/proj"
(cd "$WORK/proj" && GOFLAGS=-mod=mod go mod vendor)
chown -R $AGENT_UID:$AGENT_UID "$WORK/proj"
GO=$(readlink -f "$(command -v go)")
GOROOT_DIR=$(go env GOROOT)
GREP=$(readlink -f "$(command -v grep)")
TRUE=$(readlink -f /bin/true)
cat > "$WORK/bench.yaml" <<YAML
name: bench
extends: generic
fs:
  exec: [$GOROOT_DIR]
approved_binaries:
  - {name: go, sha256: $(sha256sum "$GO" | cut -d' ' -f1)}
  - {name: grep, sha256: $(sha256sum "$GREP" | cut -d' ' -f1)}
  - {name: true, sha256: $(sha256sum "$TRUE" | cut -d' ' -f1)}
YAML

now() { date +%s.%N; }
# warden run with telemetry on and the durable exporter buffering (the
# collector port is closed, so every event is written to the disk buffer).
wrun() {
  "$WORK/warden" run --user $AGENT_UID --profile "$WORK/bench.yaml" --project "$WORK/proj" \
    --keys "$WORK/keys" --collector http://127.0.0.1:9 --buffer-dir "$WORK/buf" "$@"
}
bare() {
  setpriv --reuid=$AGENT_UID --regid=$AGENT_UID --clear-groups env -i -C "$WORK/proj" \
    HOME=/nonexistent PATH=$GOROOT_DIR/bin:/usr/bin:/bin "$@"
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
: > "$WORK/build.bare"; : > "$WORK/build.warden"; : > "$WORK/walk.bare"; : > "$WORK/walk.warden"; : > "$WORK/walk.enforce"
for i in $(seq 1 "$N"); do
  if [ -z "${SKIP_BUILD:-}" ]; then
  t=$(now); bare GOCACHE="$WORK/proj/.cache-b$i" GOFLAGS=-mod=vendor "$GO" build -a -o /dev/null . ; echo "$(now) - $t" | bc >> "$WORK/build.bare"
  t=$(now); wrun --env GOCACHE="$WORK/proj/.cache-w$i" --env GOFLAGS=-mod=vendor -- "$GO" build -a -o /dev/null . ; echo "$(now) - $t" | bc >> "$WORK/build.warden"
  fi
  # Workload 2: a file walk that opens and reads every file.
  t=$(now); bare "$GREP" -r -c WARDEN_NO_MATCH_ZZ /usr/share /usr/lib/x86_64-linux-gnu >/dev/null 2>&1 || true; echo "$(now) - $t" | bc >> "$WORK/walk.bare"
  t=$(now); wrun -- "$GREP" -r -c WARDEN_NO_MATCH_ZZ /usr/share /usr/lib/x86_64-linux-gnu >/dev/null 2>&1 || true; echo "$(now) - $t" | bc >> "$WORK/walk.warden"
  # Enforcement only (sandbox + egress allowlist, no exec/open telemetry).
  t=$(now); wrun --no-telemetry -- "$GREP" -r -c WARDEN_NO_MATCH_ZZ /usr/share /usr/lib/x86_64-linux-gnu >/dev/null 2>&1 || true; echo "$(now) - $t" | bc >> "$WORK/walk.enforce"
done
: > "$WORK/start.bare"; : > "$WORK/start.warden"
for i in $(seq 1 15); do
  t=$(now); bare "$TRUE"; echo "$(now) - $t" | bc >> "$WORK/start.bare"
  t=$(now); wrun -- "$TRUE"; echo "$(now) - $t" | bc >> "$WORK/start.warden"
done
files=$(find /usr/share /usr/lib/x86_64-linux-gnu -type f 2>/dev/null | wc -l)
echo "endpoint overhead, N=$N per mode, interleaved, medians (seconds); load: $(cut -d' ' -f1-3 /proc/loadavg)"
for w in build walk start; do
  [ -s "$WORK/$w.bare" ] || continue
  b=$(median < "$WORK/$w.bare"); s=$(median < "$WORK/$w.warden")
  printf '%-6s bare %8.3f  warden %8.3f  overhead %+6.1f %%   (bare: %s | warden: %s)\n' "$w" "$b" "$s" \
    "$(echo "($s - $b) * 100 / $b" | bc -l)" "$(tr '\n' ' ' < "$WORK/$w.bare")" "$(tr '\n' ' ' < "$WORK/$w.warden")"
done
b=$(median < "$WORK/walk.bare"); s=$(median < "$WORK/walk.enforce")
printf '%-6s bare %8.3f  enforce-only %8.3f  overhead %+6.1f %%   (enforce-only: %s)\n' walk "$b" "$s" \
  "$(echo "($s - $b) * 100 / $b" | bc -l)" "$(tr '\n' ' ' < "$WORK/walk.enforce")"
echo "walk: $files files under /usr/share and /usr/lib/x86_64-linux-gnu"
