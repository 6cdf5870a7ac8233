#!/usr/bin/env bash
# DLP throughput benchmark: Warden's dlp scanner beside gitleaks on the same
# generated files, one core (taskset -c 0, GOMAXPROCS=1), plus precision and
# recall of both on the labelled corpus. Results feed BENCHMARKS.md (DLP).
#
#   bench/dlp/run.sh                 # 100 MB dense + 100 MB typical
#   DLP_BENCH_MB=20 bench/dlp/run.sh # quicker
#
# Corpora are generated into $DLP_BENCH_DIR (default: a fresh /tmp dir) and
# never committed.
set -euo pipefail

GITLEAKS_VERSION=v8.30.1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
MB=${DLP_BENCH_MB:-100}
REPS=${DLP_BENCH_REPS:-5}
GL_REPS=${DLP_BENCH_GITLEAKS_REPS:-1}
OUT=${DLP_BENCH_DIR:-$(mktemp -d /tmp/warden-dlp-bench.XXXXXX)}
BIN="$ROOT/bin/bench"
mkdir -p "$BIN" "$OUT"

GOBIN="$BIN" go install "github.com/zricethezav/gitleaks/v8@${GITLEAKS_VERSION}"
go build -o "$BIN/dlpbench" ./bench/dlp/dlpbench

PIN=()
if command -v taskset >/dev/null; then PIN=(taskset -c 0); fi
export GOMAXPROCS=1

echo "== corpora ($MB MB each) in $OUT"
[ -d "$OUT/dense" ] || "$BIN/dlpbench" gen -out "$OUT/dense" -mb "$MB" -filler 0 -seed 1
[ -d "$OUT/typical" ] || "$BIN/dlpbench" gen -out "$OUT/typical" -mb "$MB" -filler 40 -seed 100000
[ -d "$OUT/labelled" ] || "$BIN/dlpbench" labelled -out "$OUT/labelled" -n 2000

echo "== host: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(go version | cut -d' ' -f3), gitleaks ${GITLEAKS_VERSION}"

for set in dense typical; do
	echo "== $set: warden dlp, whole ~1 MB files, $REPS reps"
	"${PIN[@]}" "$BIN/dlpbench" scan -dir "$OUT/$set" -reps "$REPS"
	echo "== $set: warden dlp, as 100 KB payloads (gateway budget 2 ms each), $REPS reps"
	"${PIN[@]}" "$BIN/dlpbench" scan -dir "$OUT/$set" -reps "$REPS" -chunk 102400
	for r in $(seq "$GL_REPS"); do
		echo "== $set: gitleaks dir (default config), run $r"
		/usr/bin/time -f "gitleaks set=$set wall_s=%e user_s=%U sys_s=%S maxrss_kb=%M" \
			"${PIN[@]}" "$BIN/gitleaks" dir --no-banner --log-level error --exit-code 0 \
			--report-format json --report-path "$OUT/gitleaks-$set.json" "$OUT/$set"
		bytes=$(du -sb "$OUT/$set" | cut -f1)
		echo "gitleaks set=$set MB=$(awk "BEGIN{printf \"%.1f\", $bytes/1048576}") findings=$(python3 -c "import json,sys;print(len(json.load(open(sys.argv[1]))))" "$OUT/gitleaks-$set.json" 2>/dev/null || echo '?')"
	done
done

echo "== precision / recall on the labelled set (2000 documents)"
"$BIN/gitleaks" dir --no-banner --log-level error --exit-code 0 --report-format json \
	--report-path "$OUT/gitleaks-labelled.json" "$OUT/labelled/docs"
"$BIN/dlpbench" score -dir "$OUT/labelled" -gitleaks "$OUT/gitleaks-labelled.json"
