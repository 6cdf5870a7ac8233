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
#   WALK_PASSES=3 (default): grep walks the tree that many times per run
#   HASH_MAX=256KiB: the profile's telemetry.hash_max (default 1MiB)
#   WARDEN_BEFORE=/path/to/older/warden: also walk under that build (A/B)
#   ALT_FLAGS="--sensor-nice 0": also walk under this build with these flags
# Each mode runs the same bash script that times the workload itself
# ("in session": no warden start-up/teardown) beside the end-to-end time.
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
BASH_BIN=$(readlink -f "$(command -v bash)")
TELEM=""
[ -z "${HASH_MAX:-}" ] || TELEM="telemetry: {hash_max: $HASH_MAX}"
cat > "$WORK/bench.yaml" <<YAML
name: bench
extends: generic
fs:
  exec: [$GOROOT_DIR]
$TELEM
approved_binaries:
  - {name: go, sha256: $(sha256sum "$GO" | cut -d' ' -f1)}
  - {name: grep, sha256: $(sha256sum "$GREP" | cut -d' ' -f1)}
  - {name: true, sha256: $(sha256sum "$TRUE" | cut -d' ' -f1)}
  - {name: bash, sha256: $(sha256sum "$BASH_BIN" | cut -d' ' -f1)}
YAML

now() { date +%s.%N; }
# warden run with telemetry on and the durable exporter buffering (the
# collector port is closed, so every event is written to the disk buffer).
# WARDEN_RUN_TIMING=1 makes warden print its own CPU (the sensor's) at exit.
wrun() {
  WARDEN_RUN_TIMING=1 "$WORK/warden" run --user $AGENT_UID --profile "$WORK/bench.yaml" --project "$WORK/proj" \
    --keys "$WORK/keys" --collector http://127.0.0.1:9 --buffer-dir "$WORK/buf" "$@"
}
wbefore() {
  "$WARDEN_BEFORE" run --user $AGENT_UID --profile "$WORK/bench.yaml" --project "$WORK/proj" \
    --keys "$WORK/keys" --collector http://127.0.0.1:9 --buffer-dir "$WORK/buf" "$@"
}
# The bare agent gets what warden run passes through from the caller's
# environment (TERM, LANG, LC_ALL, COLORTERM: endpoint/run.go agentEnv), so
# both run under the same locale (grep under C.UTF-8 and under C differ).
PASS_ENV=()
for k in TERM LANG LC_ALL COLORTERM; do [ -z "${!k+x}" ] || PASS_ENV+=("$k=${!k}"); done
bare() {
  setpriv --reuid=$AGENT_UID --regid=$AGENT_UID --clear-groups env -i -C "$WORK/proj" \
    HOME=/nonexistent PATH=$GOROOT_DIR/bin:/usr/bin:/bin "${PASS_ENV[@]}" "$@"
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# The agent is the same bash script in every mode; it times the workload
# itself (bash's `time`, appended to $WORK/proj/inner), so the in-session
# time leaves out warden's start-up and teardown. The outside time is the
# whole `warden run` (or the bare bash), end to end. "agent CPU" is the
# workload's own user + sys time (less sensitive to other load on the box:
# it shows the in-context kernel cost of the sandbox and the eBPF programs).
INNER="$WORK/proj/inner"
timed() { # timed MODE-FILE PREFIX... -- SCRIPT: runs bash -c SCRIPT under PREFIX
  local out=$1; shift
  local pre=()
  while [ "$1" != -- ]; do pre+=("$1"); shift; done; shift
  : > "$INNER"; chown $AGENT_UID "$INNER"
  rm -rf "$WORK/buf"
  local t; t=$(now)
  "${pre[@]}" "$BASH_BIN" -c "TIMEFORMAT='%R %U %S'; { time { $1 ; } >/dev/null 2>&1 ; } 2>>$INNER" 2>>"$WORK/stderr.log" || true
  echo "$(now) - $t" | bc >> "$WORK/$out"
  awk '{print $1}' "$INNER" >> "$WORK/$out.inner"
  awk '{print $2 + $3}' "$INNER" >> "$WORK/$out.cpu" # the agent's own CPU (user + sys)
}
WALK_PASSES=${WALK_PASSES:-3}
WALK="for p in \$(seq $WALK_PASSES); do $GREP -r -c WARDEN_NO_MATCH_ZZ /usr/share /usr/lib/x86_64-linux-gnu; done"
for m in build.bare build.warden walk.bare walk.warden walk.enforce walk.alt walk.before; do : > "$WORK/$m"; : > "$WORK/$m.inner"; : > "$WORK/$m.cpu"; done
: > "$WORK/stderr.log"
LOADS=""
for i in $(seq 1 "$N"); do
  LOADS="$LOADS $(cut -d' ' -f1 /proc/loadavg)"
  if [ -z "${SKIP_BUILD:-}" ]; then
    BUILD="GOCACHE=$WORK/proj/.cache-b$i GOFLAGS=-mod=vendor $GO build -a -o /dev/null ."
    timed build.bare bare -- "$BUILD"
    BUILD="GOCACHE=$WORK/proj/.cache-w$i GOFLAGS=-mod=vendor $GO build -a -o /dev/null ."
    timed build.warden wrun -- "$BUILD"
  fi
  # Workload 2: a file walk that opens and reads every file, WALK_PASSES times.
  timed walk.bare bare -- "$WALK"
  timed walk.warden wrun -- "$WALK"
  # Enforcement only (sandbox + egress allowlist, no exec/open telemetry).
  timed walk.enforce wrun --no-telemetry -- "$WALK"
  # The same build with other flags, same run: ALT_FLAGS="--sensor-nice 0".
  if [ -n "${ALT_FLAGS:-}" ]; then
    timed walk.alt wrun $ALT_FLAGS -- "$WALK"
  fi
  # An earlier build, same run (before/after): WARDEN_BEFORE=path/to/warden.
  if [ -n "${WARDEN_BEFORE:-}" ]; then
    timed walk.before wbefore -- "$WALK"
  fi
done
: > "$WORK/start.bare"; : > "$WORK/start.warden"
for i in $(seq 1 15); do
  t=$(now); bare "$TRUE"; echo "$(now) - $t" | bc >> "$WORK/start.bare"
  t=$(now); wrun -- "$TRUE" 2>/dev/null; echo "$(now) - $t" | bc >> "$WORK/start.warden"
done
files=$(find /usr/share /usr/lib/x86_64-linux-gnu -type f 2>/dev/null | wc -l)
echo "endpoint overhead, N=$N per mode, interleaved, medians (seconds); load at end: $(cut -d' ' -f1-3 /proc/loadavg); loads during the run: $LOADS"
row() { # row LABEL BARE-FILE OTHER-FILE
  local b s
  b=$(median < "$WORK/$2"); s=$(median < "$WORK/$3")
  local l=${3#*.}; l=${l%.inner}; l=${l%.cpu}
  printf '%-22s bare %8.3f  %-8s %8.3f  overhead %+6.1f %%   (bare: %s| %s)\n' "$1" "$b" "$l" "$s" \
    "$(echo "($s - $b) * 100 / $b" | bc -l)" "$(tr '\n' ' ' < "$WORK/$2")" "$(tr '\n' ' ' < "$WORK/$3")"
}
if [ -s "$WORK/build.bare" ]; then
  row "build, end to end" build.bare build.warden
  row "build, in session" build.bare.inner build.warden.inner
  row "build, agent CPU" build.bare.cpu build.warden.cpu
fi
row "walk, end to end" walk.bare walk.warden
row "walk, in session" walk.bare.inner walk.warden.inner
row "walk, agent CPU" walk.bare.cpu walk.warden.cpu
row "walk enforce, e2e" walk.bare walk.enforce
row "walk enforce, in" walk.bare.inner walk.enforce.inner
row "walk enforce, CPU" walk.bare.cpu walk.enforce.cpu
if [ -s "$WORK/walk.alt" ]; then
  row "walk alt, e2e" walk.bare walk.alt
  row "walk alt, in" walk.bare.inner walk.alt.inner
  row "walk alt, CPU" walk.bare.cpu walk.alt.cpu
  echo "alt: $ALT_FLAGS"
fi
if [ -s "$WORK/walk.before" ]; then
  row "walk before, e2e" walk.bare walk.before
  row "walk before, in" walk.bare.inner walk.before.inner
  row "walk before, CPU" walk.bare.cpu walk.before.cpu
fi
row "start-up /bin/true" start.bare start.warden
echo "walk: $WALK_PASSES passes over $files files under /usr/share and /usr/lib/x86_64-linux-gnu"
echo "sensor CPU per telemetry session (user, sys s):" $(grep -o 'sensor cpu user [0-9.]* s sys [0-9.]* s, [0-9]* events' "$WORK/stderr.log" | awk '{printf "%s/%s/%s ", $4, $7, $9}')
grep -h 'events lost' "$WORK/stderr.log" | sort | uniq -c || echo "lost kernel events: none reported"
