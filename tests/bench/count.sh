#!/bin/bash
# tests/bench/count.sh -- atfh-count against the shell way of counting.
#
#   tests/bench/count.sh [SLICE [FULL]]
#
# SLICE is a frames capture (default: $BENCH_CACHE/bench-100k.atfh, as made
# by tests/bench/run.sh); it is decoded once to jetstream NDJSON (cached
# next to it as SLICE.ndjson), and on that same NDJSON
#
#   atfh-count --by commit.collection        vs  jq -r .commit.collection | sort | uniq -c | sort -rn | head
#   atfh-count --by did --top 10             vs  jq -r .did | sort | uniq -c | sort -rn | head
#
# are timed (best of BENCH_RUNS) and their results compared (the counts must
# agree, or the row FAILS).  The same two counts then run directly on the
# frames of SLICE and of FULL (default: $BENCH_CACHE/bench-1m.atfh when it
# exists), where only the cheap fields are read, plus a few heavier keys.
#
# Prints a table and one line per row in the format of tests/bench/run.sh:
#
#   BENCH name=… events_per_s=… mb_per_s=… ratio=… rss_kb=…
#
# where ratio is the speed over the shell pipeline on the same events: on
# NDJSON jq|sort|uniq -c|sort -rn|head, on frames the same behind
# atfh-decode (which is what it takes to count frames that way).
# The target is BENCH_COUNT_TARGET (10) times the pipeline; a missed target
# is reported, not an error.  Exit status 1 if a run fails or a result
# disagrees, 2 if there is no capture.
#
# Environment: top_builddir (where tools/atfh-count is), BENCH_CACHE,
# BENCH_RUNS (5), BENCH_COUNT_TARGET (10), BENCH_TIMEOUT (600).
#
# Wall time is what the ratio uses; on a busy machine it is noisy, so the
# table also shows the CPU time (user + system, of the whole pipeline) and
# its ratio, which load disturbs less.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
bench_setup atfh-count
RUNS=${BENCH_RUNS:-5}
TARGET=${BENCH_COUNT_TARGET:-10}
TIMEOUT=${BENCH_TIMEOUT:-600}
slice=${1:-$cache/bench-100k.atfh}
full=${2:-$cache/bench-1m.atfh}

say() { printf '%s\n' "$*" >&2; }
die() { say "bench count: $*"; exit 2; }
now() { printf '%s' "${EPOCHREALTIME/,/.}"; }

[ -x "$tools/atfh-count" ] || die "$tools/atfh-count is not built"
[ -x "$tools/atfh-decode" ] || die "$tools/atfh-decode is not built"
command -v jq >/dev/null || die "jq is not installed"
[ -s "$slice" ] || die "no capture $slice: run 'make bench' once (it makes the captures) or name one"
[ -s "$full" ] || full=

tmp=$(mktemp -d "${TMPDIR:-/tmp}/atfh-bench-count.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
timer=
if [ -x /usr/bin/time ] && /usr/bin/time -f %M -o "$tmp/probe" true 2>/dev/null; then
	timer=/usr/bin/time
fi

ndjson=$slice.ndjson
if [ ! -s "$ndjson" ] || [ "$slice" -nt "$ndjson" ] || [ "$tools/atfh-decode" -nt "$ndjson" ]; then
	say "bench count: decoding $slice to NDJSON"
	"$tools/atfh-decode" -q "$slice" >"$ndjson.tmp" && mv "$ndjson.tmp" "$ndjson" ||
		{ rm -f "$ndjson.tmp"; die "atfh-decode failed on $slice"; }
fi
events_of() { # FILE: events in a capture (cached next to it)
	local f=$1
	if [ ! -s "$f.events" ] || [ "$f" -nt "$f.events" ]; then
		"$tools/atfh-count" -q "$f" | sed 's/[^0-9]//g' >"$f.events.tmp" && mv "$f.events.tmp" "$f.events"
	fi
	cat "$f.events"
}
slice_events=$(wc -l <"$ndjson")
full_events=
[ -n "$full" ] && full_events=$(events_of "$full")

# run N OUT CMD...: best wall time of N runs in r_secs, least CPU time in
# r_cpu, peak RSS in r_rss, the output of the last run in OUT
run_best() {
	local n=$1 out=$2 i t0 t1 s rc
	shift 2
	r_secs= r_rss=- r_err= r_cpu=-
	for ((i = 0; i < n; i++)); do
		t0=$(now)
		if [ -n "$timer" ]; then
			timeout "$TIMEOUT" "$timer" -f '%M %U %S' -o "$tmp/rss" "$@" >"$out" 2>"$tmp/err"
		else
			timeout "$TIMEOUT" "$@" >"$out" 2>"$tmp/err"
		fi
		rc=$?
		t1=$(now)
		if [ "$rc" -ne 0 ]; then
			r_err="exit $rc: $(grep -v '^Command exited' "$tmp/err" | head -n 1 | cut -c1-100)"
			return 1
		fi
		s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
		if [ -z "$r_secs" ] || awk -v a="$s" -v b="$r_secs" 'BEGIN { exit !(a < b) }'; then
			r_secs=$s
		fi
		if [ -n "$timer" ]; then
			local m u y c
			read -r m u y <<<"$(tail -n 1 "$tmp/rss")"
			c=$(awk -v u="$u" -v y="$y" 'BEGIN { printf "%.3f", u + y }')
			if [ "$r_rss" = - ] || [ "$m" -gt "$r_rss" ]; then r_rss=$m; fi
			if [ "$r_cpu" = - ] || awk -v a="$c" -v b="$r_cpu" 'BEGIN { exit !(a < b) }'; then
				r_cpu=$c
			fi
		fi
	done
}

# the results, normalised: "count key" lines, largest first, ties by key
norm_uniq() { awk '{ c = $1; sub(/^ *[0-9]+ /, ""); print c " " $0 }' "$1" | sort -k1,1nr -k2; }
norm_tsv() { tail -n +2 "$1" | awk -F'\t' '{ print $2 " " $1 }' | sort -k1,1nr -k2; }

declare -a L IN EV SECS EPS MBPS RATIO RSS NOTE NAME CPU CRATIO
nrow=0
status=0
# row LABEL INPUT-NAME EVENTS BYTES REF-ROW NAME CMD...
row() {
	local label=$1 input=$2 events=$3 bytes=$4 refrow=$5 name=$6 ref= refcpu=
	shift 6
	if [ -n "$refrow" ] && [ "${SECS[refrow]}" != - ]; then
		ref=${SECS[refrow]} refcpu=${CPU[refrow]}
	fi
	say "bench count: $label < $input"
	L[nrow]=$label IN[nrow]=$input EV[nrow]=$events NAME[nrow]=$name NOTE[nrow]=
	if run_best "$RUNS" "$tmp/out.$nrow" "$@"; then
		SECS[nrow]=$r_secs RSS[nrow]=$r_rss CPU[nrow]=$r_cpu CRATIO[nrow]=-
		if [ -n "$refcpu" ] && [ "$refcpu" != - ] && [ "$r_cpu" != - ]; then
			CRATIO[nrow]=$(awk -v r="$refcpu" -v s="$r_cpu" 'BEGIN { if (s > 0) printf "%.1f", r / s; else print "-" }')
		fi
		EPS[nrow]=$(awk -v e="$events" -v s="$r_secs" 'BEGIN { printf "%.0f", e / s }')
		MBPS[nrow]=$(awk -v b="$bytes" -v s="$r_secs" 'BEGIN { printf "%.1f", b / s / 1e6 }')
		RATIO[nrow]=-
		if [ -n "$ref" ]; then
			RATIO[nrow]=$(awk -v r="$ref" -v s="$r_secs" 'BEGIN { printf "%.1f", r / s }')
			if awk -v x="${RATIO[nrow]}" -v t="$TARGET" 'BEGIN { exit !(x >= t) }'; then
				NOTE[nrow]="target met (>= ${TARGET}x)"
			elif awk -v x="${CRATIO[nrow]}" -v t="$TARGET" 'BEGIN { exit !(x + 0 >= t) }'; then
				NOTE[nrow]="target met by CPU time only (< ${TARGET}x wall: busy machine?)"
			else
				NOTE[nrow]="target missed (< ${TARGET}x)"
			fi
		fi
	else
		SECS[nrow]=- RSS[nrow]=- EPS[nrow]=- MBPS[nrow]=- RATIO[nrow]=- CPU[nrow]=- CRATIO[nrow]=-
		NOTE[nrow]="FAILED ($r_err)"
		status=1
	fi
	nrow=$((nrow + 1))
}
# agree ROW NORMALISED-EXPECTED: the row's result matches the pipeline's
agree() {
	local i=$1
	[ "${SECS[i]}" = - ] && return
	norm_tsv "$tmp/out.$i" >"$tmp/got"
	if ! cmp -s "$tmp/got" "$2"; then
		NOTE[i]="FAILED (result differs from the jq pipeline: $(diff "$tmp/got" "$2" | head -n 2 | tr '\n' ' '))"
		status=1
	fi
}

nd_bytes=$(stat -c %s "$ndjson")
sl_bytes=$(stat -c %s "$slice")
sl=$(basename "$slice")
nd=$(basename "$ndjson")
sn=$(basename "$slice" .atfh)

# the reference pipelines (the result of `head` is the top 10; for the
# collection the whole `uniq -c` list is kept to compare every count)
row "jq|sort|uniq -c (collection)" "$nd" "$slice_events" "$nd_bytes" "" "jq-collection@$sn" \
	bash -c 'jq -r .commit.collection "$1" | sort | uniq -c | sort -rn | head -n 1000000' - "$ndjson"
norm_uniq "$tmp/out.0" >"$tmp/want.col"
row "jq|sort|uniq -c|head (did)" "$nd" "$slice_events" "$nd_bytes" "" "jq-did-top10@$sn" \
	bash -c 'jq -r .did "$1" | sort | uniq -c | sort -rn | head' - "$ndjson"
norm_uniq "$tmp/out.1" | cut -d' ' -f1 >"$tmp/want.did"
# on frames the shell way needs atfh-decode in front
row "atfh-decode|jq|sort|uniq -c (coll.)" "$sl" "$slice_events" "$sl_bytes" "" "decode-jq-collection@$sn" \
	bash -c '"$2" -q "$1" | jq -r .commit.collection | sort | uniq -c | sort -rn | head -n 1000000' - "$slice" "$tools/atfh-decode"
row "atfh-decode|jq|sort|uniq -c|head (did)" "$sl" "$slice_events" "$sl_bytes" "" "decode-jq-did-top10@$sn" \
	bash -c '"$2" -q "$1" | jq -r .did | sort | uniq -c | sort -rn | head' - "$slice" "$tools/atfh-decode"
ref_col=0 ref_did=1 ref_fcol=2 ref_fdid=3

# the top 10 are compared by their counts (ties at the cut may differ)
agree_top() {
	local i=$1
	[ "${SECS[i]}" = - ] && return
	norm_tsv "$tmp/out.$i" | cut -d' ' -f1 >"$tmp/got"
	if ! cmp -s "$tmp/got" "$tmp/want.did"; then
		NOTE[i]="FAILED (top-10 counts differ from the jq pipeline)"
		status=1
	fi
}

row "atfh-count --by commit.collection" "$nd" "$slice_events" "$nd_bytes" "$ref_col" "count-collection@$sn.ndjson" \
	"$tools/atfh-count" -q --tsv --by commit.collection "$ndjson"
agree $((nrow - 1)) "$tmp/want.col"
row "atfh-count --by did --top 10" "$nd" "$slice_events" "$nd_bytes" "$ref_did" "count-did-top10@$sn.ndjson" \
	"$tools/atfh-count" -q --tsv --by did --top 10 "$ndjson"
agree_top $((nrow - 1))
row "atfh-count --by commit.collection" "$sl" "$slice_events" "$sl_bytes" "$ref_fcol" "count-collection@$sn" \
	"$tools/atfh-count" -q --tsv --by commit.collection "$slice"
agree $((nrow - 1)) "$tmp/want.col"
row "atfh-count --by did --top 10" "$sl" "$slice_events" "$sl_bytes" "$ref_fdid" "count-did-top10@$sn" \
	"$tools/atfh-count" -q --tsv --by did --top 10 "$slice"
agree_top $((nrow - 1))
# heavier keys, no reference
row "atfh-count --by commit.record.langs[0]" "$sl" "$slice_events" "$sl_bytes" "" "count-langs@$sn" \
	"$tools/atfh-count" -q --tsv --by 'commit.record.langs[0]' "$slice"
row "atfh-count ... --distinct did" "$sl" "$slice_events" "$sl_bytes" "" "count-collection-distinct@$sn" \
	"$tools/atfh-count" -q --tsv --by commit.collection --distinct did "$slice"
row "atfh-count --by did --approx 1000" "$sl" "$slice_events" "$sl_bytes" "" "count-did-approx@$sn" \
	"$tools/atfh-count" -q --tsv --by did --approx 1000 --top 10 "$slice"
row "atfh-count --by-jq .did --top 10" "$nd" "$slice_events" "$nd_bytes" "$ref_did" "count-byjq-did@$sn.ndjson" \
	"$tools/atfh-count" -q --tsv --by-jq .did --top 10 "$ndjson"
agree_top $((nrow - 1))
NOTE[nrow - 1]="${NOTE[nrow - 1]/target missed*/libjq-bound, no target}"
NOTE[nrow - 1]="${NOTE[nrow - 1]/target met*/libjq-bound, no target}"
if [ -n "$full" ]; then
	fb=$(stat -c %s "$full")
	fl=$(basename "$full")
	fn=$(basename "$full" .atfh)
	row "atfh-count --by commit.collection" "$fl" "$full_events" "$fb" "" "count-collection@$fn" \
		"$tools/atfh-count" -q --tsv --by commit.collection "$full"
	row "atfh-count --by did --top 10" "$fl" "$full_events" "$fb" "" "count-did-top10@$fn" \
		"$tools/atfh-count" -q --tsv --by did --top 10 "$full"
fi

echo
echo "atfh-count bench: $slice_events events ($sl frames, $sl_bytes bytes; as NDJSON $nd_bytes bytes); best of $RUNS; $(nproc 2>/dev/null || echo '?') CPUs"
echo "ratio: speed over the shell pipeline on the same input (target >= ${TARGET}x), by wall time and by CPU time"
echo
fmt='%-40s %-22s %8s %7s %10s %7s %6s %6s %6s %8s  %s\n'
printf "$fmt" program input events seconds events/s MB/s ratio "cpu(s)" ratio "rss(KB)" ""
for ((i = 0; i < nrow; i++)); do
	printf "$fmt" "${L[i]}" "${IN[i]}" "${EV[i]}" "${SECS[i]}" "${EPS[i]}" "${MBPS[i]}" \
		"${RATIO[i]}" "${CPU[i]}" "${CRATIO[i]}" "${RSS[i]}" "${NOTE[i]}"
done
echo
for ((i = 0; i < nrow; i++)); do
	echo "BENCH name=${NAME[i]} events_per_s=${EPS[i]} mb_per_s=${MBPS[i]} ratio=${RATIO[i]} rss_kb=${RSS[i]} cpu_s=${CPU[i]} cpu_ratio=${CRATIO[i]}"
done
exit $status
