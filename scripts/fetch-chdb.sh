#!/usr/bin/env bash
# Fetches the embedded ClickHouse engine, libchdb.so, from the npm package
# @chdb/lib-linux-x64-gnu at a pinned version, checks the tarball against its
# pinned sha512 and the library against its pinned sha256, and installs it as
# $CHDB_DIR/libchdb.so. Idempotent: does nothing when the right file is there.
set -euo pipefail
VERSION=26.5.3
TGZ_SHA512=fPrLmRt5Moor9yGz4mazbrNje4t7X9KB2mTGkXFWRxRBs2iKy8yh6jx11xsa0Qr3iDFMU/yHqd+bVdYJXu3QaQ==
LIB_SHA256=4330da79405733f7572f27c1442f46c03a08301f00859dce0368645731b1e1dc
CHDB_DIR=${CHDB_DIR:-$(cd "$(dirname "$0")/.." && pwd)/lib/chdb}
lib="$CHDB_DIR/libchdb.so"

if [ -f "$lib" ] && echo "$LIB_SHA256  $lib" | sha256sum -c --quiet - 2>/dev/null; then
  exit 0
fi
command -v npm >/dev/null || { echo "fetch-chdb: npm is required (apt-get install npm)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "@chdb/lib-linux-x64-gnu@$VERSION" >/dev/null 2>&1)
tgz=$(ls "$tmp"/*.tgz)
got=$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)
if [ "$got" != "$TGZ_SHA512" ]; then
  echo "fetch-chdb: sha512 mismatch for @chdb/lib-linux-x64-gnu@$VERSION: got $got" >&2
  exit 1
fi
tar -xzf "$tgz" -C "$tmp" package/libchdb.so
echo "$LIB_SHA256  $tmp/package/libchdb.so" | sha256sum -c --quiet - || {
  echo "fetch-chdb: libchdb.so sha256 mismatch" >&2; exit 1; }
mkdir -p "$CHDB_DIR"
mv "$tmp/package/libchdb.so" "$lib.tmp"
mv "$lib.tmp" "$lib"
echo "fetch-chdb: installed $lib (chDB $VERSION)"
