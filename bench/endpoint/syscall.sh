#!/usr/bin/env bash
# Per-syscall cost of the sandbox and of the telemetry in the agent's own
# context (needs root): a python3 loop of 1,000,000 getppid() calls, minus
# the same empty loop, run bare, under `warden run --no-telemetry` (cgroup,
# Landlock, seccomp, egress programs) and under `warden run` (plus the
# catch-all sys_exit telemetry program), interleaved, medians of N.
#
#   sudo bench/endpoint/syscall.sh        # N=5
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "bench/endpoint: needs root (cgroups, eBPF)"; exit 1; }
N=${N:-5}
AGENT_UID=65534
WORK=$(mktemp -d /var/tmp/warden-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"
mkdir "$WORK/proj"; chown $AGENT_UID "$WORK/proj"
go build -o "$WORK/warden" ./cmd/warden
"$WORK/warden" keys init --dir "$WORK/keys" >/dev/null
PY=$(readlink -f /usr/bin/python3) # the system one: the agent user must be able to run it
cat > "$WORK/bench.yaml" <<YAML
name: bench
extends: generic
approved_binaries:
  - {name: python3, sha256: $(sha256sum "$PY" | cut -d' ' -f1)}
YAML
LOOP='import os, time
t = time.perf_counter()
for _ in range(1000000): os.getppid()
a = time.perf_counter() - t
t = time.perf_counter()
for _ in range(1000000): pass
b = time.perf_counter() - t
print("%.1f" % ((a - b) * 1000))'
wrun() { "$WORK/warden" run --user $AGENT_UID --profile "$WORK/bench.yaml" --project "$WORK/proj" --keys "$WORK/keys" --collector "" --buffer-dir "$WORK/buf" "$@"; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
: > "$WORK/bare"; : > "$WORK/enforce"; : > "$WORK/telemetry"
for i in $(seq 1 "$N"); do
  setpriv --reuid=$AGENT_UID --regid=$AGENT_UID --clear-groups "$PY" -c "$LOOP" >> "$WORK/bare"
  wrun --no-telemetry -- "$PY" -c "$LOOP" >> "$WORK/enforce"
  wrun -- "$PY" -c "$LOOP" >> "$WORK/telemetry"
done
b=$(median < "$WORK/bare")
echo "getppid() in a python loop, ns per call (loop overhead subtracted), N=$N, medians; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for m in bare enforce telemetry; do
  v=$(median < "$WORK/$m")
  printf '%-10s %6.1f ns  (+%5.1f ns)   (%s)\n' "$m" "$v" "$(echo "$v - $b" | bc -l)" "$(tr '\n' ' ' < "$WORK/$m")"
done
