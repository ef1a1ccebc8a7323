#!/bin/bash
# tests/bench/emit.sh -- atfh-emit against kcat on the same NDJSON to the
# same Kafka (librdkafka's mock cluster, tests/kafka/mockcluster, 3 brokers
# on 127.0.0.1), both with idempotence and acks=all:
#
#   produce:  atfh-emit -b B -t T FILE   vs  kcat -P -b B -t T -l FILE
#             (atfh-emit as deployed: keyed by did, with headers; and -k none)
#   consume:  atfh-emit -C -o beginning -e  vs  kcat -C -o beginning -e
#
# FILE is BENCH_EMIT_LINES (200000) lines of tests/interop/sample.ref.ndjson.zst
# repeated.  Best of BENCH_RUNS (3).  Prints a table and, per row,
#
#   BENCH name=… events_per_s=… mb_per_s=… ratio=… rss_kb=…
#
# with ratio = messages/s over kcat's.  The produce target is
# BENCH_EMIT_TARGET (1.2) times kcat; a miss is reported, not an error.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
bench_setup atfh-emit
LINES=${BENCH_EMIT_LINES:-200000}
RUNS=${BENCH_RUNS:-3}
TARGET=${BENCH_EMIT_TARGET:-1.2}
command -v kcat >/dev/null || { echo "emit.sh: kcat not installed, skipped"; exit 0; }
mc=$top_builddir/tests/kafka/mockcluster
[ -x "$mc" ] || { echo "emit.sh: $mc not built (make check builds it)"; exit 2; }
mkdir -p "$cache"
in=$cache/emit-$LINES.ndjson
if [ ! -s "$in" ]; then
	zstd -dcq "$top_srcdir/tests/interop/sample.ref.ndjson.zst" >"$in.one"
	while [ "$(wc -l <"$in.one")" -lt "$LINES" ]; do cat "$in.one" "$in.one" >"$in.two"; mv "$in.two" "$in.one"; done
	head -n "$LINES" "$in.one" >"$in" && rm -f "$in.one"
fi
mb=$(awk -v b="$(wc -c <"$in")" 'BEGIN { printf "%.3f", b / 1e6 }')
tmp=$(mktemp -d)
"$mc" -t p:6 -t c:6 >"$tmp/bs" & mcpid=$!
trap 'kill $mcpid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do [ -s "$tmp/bs" ] && break; sleep 0.1; done
B=$(cat "$tmp/bs")
P="-X enable.idempotence=true -X acks=all"

# best NAME CMD...: best wall time of RUNS runs, and max RSS
best() {
	local name=$1 t bt= rss=0
	shift
	for _ in $(seq "$RUNS"); do
		/usr/bin/time -f '%e %M' -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err" </dev/null ||
			{ echo "emit.sh: $name failed:"; cat "$tmp/err"; return 1; }
		read -r t r <"$tmp/time"
		[ "$r" -gt "$rss" ] && rss=$r
		if [ -z "$bt" ] || awk -v a="$t" -v b="$bt" 'BEGIN { exit !(a < b) }'; then bt=$t; fi
	done
	echo "$name $bt $rss"
}
{
	best kcat-P kcat -P -b "$B" -t p $P -l "$in"
	best atfh-emit "$tools/atfh-emit" -b "$B" -t p "$in"
	best atfh-emit-k-none "$tools/atfh-emit" -b "$B" -t p -k none "$in"
	kcat -P -b "$B" -t c -l "$in" 2>/dev/null
	best kcat-C kcat -C -b "$B" -t c -o beginning -e -q
	best atfh-emit-C "$tools/atfh-emit" -C -b "$B" -t c -o beginning -e
} >"$tmp/rows" || exit 1
# the mock cluster keeps a bounded log, so consumers read what it kept: count it
kept=$(kcat -C -b "$B" -t c -o beginning -e -q 2>/dev/null | wc -l)
awk -v n="$LINES" -v kept="$kept" -v mb="$mb" -v target="$TARGET" '
	{ name[NR] = $1; t[NR] = $2; rss[NR] = $3 }
	END {
		printf "%-20s %12s %8s %7s %9s\n", "emit bench", "msgs/s", "MB/s", "ratio", "rss_kb"
		for (i = 1; i <= NR; i++) {
			m = name[i] ~ /-C$/ ? kept : n
			r = m / t[i]
			if (name[i] == "kcat-P" || name[i] == "kcat-C") base = r
			printf "%-20s %12.0f %8.1f %7.2f %9d\n", name[i], r, mb * m / n / t[i], r / base, rss[i]
			printf "BENCH name=emit-%s events_per_s=%.0f mb_per_s=%.1f ratio=%.2f rss_kb=%d\n",
				name[i], r, mb * m / n / t[i], r / base, rss[i] > "/dev/stderr"
			if (name[i] == "atfh-emit") pr = r / base
		}
		if (pr < target) printf "emit: produce %.2fx kcat, below the %.1fx target\n", pr, target
	}' "$tmp/rows" 2>&1
