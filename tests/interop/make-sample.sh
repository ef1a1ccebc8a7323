#!/bin/sh
# Regenerate the interop sample capture from the reference PDS:
#   tests/data/sample.atfh.zst          frames, zstd -19 (every event kind)
#   tests/interop/sample.ref.ndjson.zst its reference jetstream NDJSON
# Usage: tests/interop/make-sample.sh   (ATFH_SAMPLE_SEED, ATFH_SAMPLE_SIZE)
# Takes about 2 minutes; needs node and the packages of tests/interop.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
seed=${ATFH_SAMPLE_SEED:-sample}
size=${ATFH_SAMPLE_SIZE:-400}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/atfh-sample.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' INT TERM HUP

node "$here/run-scenario.js" --seed "$seed" --size "$size" --extras \
	--timeout-s 1200 --verbose --capture "$tmp/sample.atfh"
node "$here/refdecode.js" "$tmp/sample.atfh" >"$tmp/sample.ndjson"

mkdir -p "$top/tests/data"
zstd -19 -q -f "$tmp/sample.atfh" -o "$tmp/sample.atfh.zst"
zstd -19 -q -f "$tmp/sample.ndjson" -o "$tmp/sample.ref.ndjson.zst"
mv -f "$tmp/sample.atfh.zst" "$top/tests/data/sample.atfh.zst"
mv -f "$tmp/sample.ref.ndjson.zst" "$here/sample.ref.ndjson.zst"

ls -l "$top/tests/data/sample.atfh.zst" "$here/sample.ref.ndjson.zst" >&2
echo "lines by kind/operation/collection:" >&2
jq -r '[.kind, .commit.operation // "-", .commit.collection // "-"] | @tsv' \
	"$tmp/sample.ndjson" | sort | uniq -c | sort -rn >&2
