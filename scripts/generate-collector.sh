#!/usr/bin/env bash
# Runs the OpenTelemetry Collector Builder on builder-config.yaml into OUTDIR,
# keeping only the Go sources (Warden is one Go module at the root, whose
# go.mod pins the same versions as the manifest).
set -euo pipefail
builder=$1 outdir=$2
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s#^\(  output_path:\).*#\1 $tmp/out#" "$root/builder-config.yaml" > "$tmp/builder-config.yaml"
"$builder" --config "$tmp/builder-config.yaml" --skip-compilation --skip-get-modules >"$tmp/builder.log" 2>&1 || {
  cat "$tmp/builder.log" >&2; exit 1; }
mkdir -p "$root/$outdir"
for f in components.go main.go main_others.go main_windows.go; do
  cp "$tmp/out/$f" "$root/$outdir/$f"
done
