#!/bin/bash
# tests/bench/emit.sh -- atfh-emit against kcat on the same NDJSON to the
# same Kafka (librdkafka's mock cluster, tests/kafka/mockcluster, 3 brokers
# on 127.0.0.1, topics of 6 partitions), both idempotent with acks=all:
#
#   produce, keyed (atfh-emit as deployed: key = the event's did):
#     atfh-emit -b B -t T FILE
#       vs kcat -P -b B -t T -X enable.idempotence=true -X acks=all
#               -K '\t' -l FILE.keyed           (the same did as key)
#   produce, keyed, JSON checks and field look-ups in two worker threads:
#     atfh-emit -T 2 -b B -t T FILE   vs the same kcat
#   produce, unkeyed:   atfh-emit -k none  vs  kcat -P -l FILE
#   consume:            atfh-emit -C -o beginning -e  vs  kcat -C -o beginning -e
#
# FILE is BENCH_EMIT_LINES (200000) lines of
# tests/interop/sample.ref.ndjson.zst repeated; FILE.keyed is each line
# prefixed with its did and a tab (lines without one unchanged: no key, as
# atfh-emit sends them).  Both clients get the same messages, keys and
# partitions; the differences, stated here and in the table:
#   - atfh-emit checks every line as JSON and adds the headers seq, kind
#     and collection to each message (kcat sends the bytes as they are);
#   - atfh-emit runs with its documented defaults (atfh-emit(1): linger.ms
#     20, message.copy.max.bytes 0, ...), kcat with librdkafka's; the row
#     kcat-P-keyed-atfh-conf gives kcat atfh-emit's settings, so the ratio
#     can be read without them too.
#
# Best of BENCH_RUNS (3) by wall time; prints each command, a table (with
# every run's wall time, so that a run that stalled shows) and, per row,
#
#   BENCH name=… events_per_s=… mb_per_s=… ratio=… rss_kb=… cpu_s=… cpu_ratio=…
#
# ratio = messages/s over the row's kcat baseline (its "vs" column),
# cpu_ratio = the baseline's CPU seconds (user+system) over the row's.  The
# produce target is BENCH_EMIT_TARGET (1.2) times kcat; a miss is reported,
# not an error.
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
kin=$cache/emit-$LINES.keyed
[ -s "$kin" ] || sed 's/^{"did":"\([^"]*\)".*/\1\t&/' "$in" >"$kin"
mb=$(awk -v b="$(wc -c <"$in")" 'BEGIN { printf "%.3f", b / 1e6 }')
tmp=$(mktemp -d)
"$mc" -t p:6 -t c:6 >"$tmp/bs" & mcpid=$!
trap 'kill $mcpid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do [ -s "$tmp/bs" ] && break; sleep 0.1; done
B=$(cat "$tmp/bs")
P="-X enable.idempotence=true -X acks=all"
ATFH_CONF="-X linger.ms=20 -X message.copy.max.bytes=0"
emit=$tools/atfh-emit

# best NAME BASE CMD...: the best wall time of RUNS runs, its CPU time, the
# largest RSS, every run's wall time; one row "NAME BASE wall rss cpu w1/w2/..."
best() {
	local name=$1 base=$2 t u s r bt= bc= rss=0 walls=
	shift 2
	local a shown=()
	for a; do
		a=${a//"$B"/B}
		a=${a//"$top_builddir/"/}
		shown+=("${a//"$cache/"/}")
	done
	{ printf '%s:' "$name"; printf ' %q' "${shown[@]}"; echo; } >&2
	for _ in $(seq "$RUNS"); do
		bench_time -f '%e %M %U %S' -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err" </dev/null ||
			{ echo "emit.sh: $name failed:" >&2; cat "$tmp/err" >&2; return 1; }
		read -r t r u s <"$tmp/time"
		walls=${walls:+$walls/}$t
		[ "$r" -gt "$rss" ] && rss=$r
		if [ -z "$bt" ] || awk -v a="$t" -v b="$bt" 'BEGIN { exit !(a < b) }'; then
			bt=$t
			bc=$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')
		fi
	done
	echo "$name $base $bt $rss $bc $walls"
}
{
	# the first producer into a fresh cluster pays for its start: warm up
	kcat -P -b "$B" -t p -l "$in" 2>/dev/null
	best kcat-P-keyed - kcat -P -b "$B" -t p $P -K '\t' -l "$kin"
	best atfh-emit kcat-P-keyed "$emit" -b "$B" -t p "$in"
	best atfh-emit-T2 kcat-P-keyed "$emit" -T 2 -b "$B" -t p "$in"
	best kcat-P-keyed-atfh-conf kcat-P-keyed kcat -P -b "$B" -t p $P $ATFH_CONF -K '\t' -l "$kin"
	best kcat-P - kcat -P -b "$B" -t p $P -l "$in"
	best atfh-emit-k-none kcat-P "$emit" -b "$B" -t p -k none "$in"
	kcat -P -b "$B" -t c -l "$in" 2>/dev/null
	best kcat-C - kcat -C -b "$B" -t c -o beginning -e -q
	best atfh-emit-C kcat-C "$emit" -C -b "$B" -t c -o beginning -e
} >"$tmp/rows" 2>"$tmp/cmds" || { cat "$tmp/cmds"; exit 1; }
echo "commands (B: the mock cluster's bootstrap address; the files in $cache):"
sed 's/^/  /' "$tmp/cmds"
# the mock cluster keeps a bounded log, so consumers read what it kept: count it
kept=$(kcat -C -b "$B" -t c -o beginning -e -q 2>/dev/null | wc -l)
awk -v n="$LINES" -v kept="$kept" -v mb="$mb" -v target="$TARGET" '
	{ name[NR] = $1; base[NR] = $2; t[NR] = $3; rss[NR] = $4; cpu[NR] = $5; walls[NR] = $6; row[$1] = NR }
	END {
		printf "%-24s %-14s %9s %7s %6s %6s %6s %8s  %s\n", "emit bench", "vs", "msgs/s", "MB/s",
			"ratio", "cpu_s", "cpu_r", "rss_kb", "runs_s"
		for (i = 1; i <= NR; i++) {
			m = name[i] ~ /-C$/ ? kept : n
			r = m / t[i]
			b = base[i] == "-" ? i : row[base[i]]
			br = (name[b] ~ /-C$/ ? kept : n) / t[b]
			cr = cpu[i] > 0 ? cpu[b] / cpu[i] : 0
			printf "%-24s %-14s %9.0f %7.1f %6.2f %6.2f %6.2f %8d  %s\n", name[i], base[i], r,
				mb * m / n / t[i], r / br, cpu[i], cr, rss[i], walls[i]
			printf "BENCH name=emit-%s events_per_s=%.0f mb_per_s=%.1f ratio=%.2f rss_kb=%d cpu_s=%.2f cpu_ratio=%.2f\n",
				name[i], r, mb * m / n / t[i], r / br, rss[i], cpu[i], cr > "/dev/stderr"
			if (name[i] == "atfh-emit") pr = r / br
			if (name[i] == "atfh-emit-C") cons = r / br
		}
		printf "emit: produce %.2fx kcat -P (keyed alike), consume %.2fx kcat -C\n", pr, cons
		if (pr < target) printf "emit: produce %.2fx kcat, below the %.1fx target\n", pr, target
	}' "$tmp/rows" 2>&1
