#!/bin/bash
# tests/bench/run.sh -- what `make bench` runs.
#
# Builds tests/bench/gencapture.c and a synthetic firehose capture once
# (cached under tests/bench/cache/ of the build tree: bench-1m.atfh, its .zst
# and a 100k-frame slice, the same seed's first 100k frames), checks that
# atfh-decode agrees with the reference decoder on a small capture, then times
# every row of ROWS below on the same data and prints one table plus one
# machine-readable line per row:
#
#   BENCH name=… events_per_s=… mb_per_s=… ratio=… rss_kb=…
#
# ratio is events/s over the reference decoder's (node
# tests/interop/refdecode.js, run on the slice because it is slow), so rows on
# different inputs stay comparable.  MB/s is over the uncompressed frames, also
# for .zst input.
#
# Environment: top_srcdir, top_builddir (derived from this script and the
# current directory when unset), CC, BENCH_FRAMES (1000000), BENCH_SLICE
# (100000), BENCH_SEED (1), BENCH_DIDS (200000), BENCH_RUNS (3: best of N for
# each row but the reference, which runs once), BENCH_CACHE (cache directory),
# BENCH_ONLY (extended regex: run only rows whose label matches),
# BENCH_TIMEOUT (seconds per run, 600), BENCH_TARGET (25).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
bench_setup atfh-decode
src=$top_srcdir/tests/bench/gencapture.c
refjs=$top_srcdir/tests/interop/refdecode.js

FRAMES=${BENCH_FRAMES:-1000000}
SLICE=${BENCH_SLICE:-100000}
SEED=${BENCH_SEED:-1}
DIDS=${BENCH_DIDS:-200000}
RUNS=${BENCH_RUNS:-3}
TIMEOUT=${BENCH_TIMEOUT:-600}
TARGET=${BENCH_TARGET:-25}
ONLY=${BENCH_ONLY:-}

# ---- rows ------------------------------------------------------------------
# label | input | target | command (the input file is appended)
#   input:   full, full.zst or slice
#   target:  "target" = compare with BENCH_TARGET, "ref" = the reference
#            (ratio 1), empty = no target
#   command: "@prog" runs $top_builddir/tools/prog (row skipped when missing);
#            other commands must be on PATH.  "{dids}" becomes a file of 1000
#            DIDs from the capture.  Words are split on blanks, no quoting.
ROWS=(
	"cat|full||cat"
	"atfh-decode|full|target|@atfh-decode"
	"atfh-decode|slice|target|@atfh-decode"
	"atfh-decode|full.zst|target|@atfh-decode"
	"atfh-decode --verify|full||@atfh-decode --verify"
	"atfh-decode --no-record|full||@atfh-decode --no-record"
	"atfh-decode -f frame|slice||@atfh-decode -f frame"
	"atfh-decode -f cloudevents|slice||@atfh-decode -f cloudevents"
	"atfh-grep -D|full||@atfh-grep -D {dids}"
	"atfh-count --by|full||@atfh-count --by commit.collection --top 10"
	"refdecode.js|slice|ref|node $refjs"
)

# ---- helpers ---------------------------------------------------------------
say() { printf '%s\n' "$*" >&2; }
die() { say "bench: $*"; exit 2; }
now() { printf '%s' "${EPOCHREALTIME/,/.}"; }
label_of() { # 1000000 -> 1m, 100000 -> 100k
	local n=$1
	if ((n % 1000000 == 0)); then echo "$((n / 1000000))m"
	elif ((n % 1000 == 0)); then echo "$((n / 1000))k"
	else echo "$n"; fi
}

mkdir -p "$cache" || die "cannot create $cache"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/atfh-bench.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
t_start=$(now)

timer=
if [ -x /usr/bin/time ] && /usr/bin/time -f %M -o "$tmp/probe" true 2>/dev/null; then
	timer=/usr/bin/time
fi

# ---- data ------------------------------------------------------------------
gen=$cache/gencapture
if [ ! -x "$gen" ] || [ "$src" -nt "$gen" ]; then
	say "bench: building gencapture"
	${CC:-cc} -O2 -std=c11 -o "$gen.tmp" "$src" -lcrypto -lm && mv "$gen.tmp" "$gen" ||
		die "cannot build $src"
fi

# capture FRAMES -> path of a cached capture (plus .events with its event count)
capture() {
	local n=$1 f
	f=$cache/bench-$(label_of "$n").atfh
	local params="frames=$n seed=$SEED dids=$DIDS"
	if [ ! -s "$f" ] || [ ! -s "$f.events" ] || [ "$src" -nt "$f" ] ||
		[ "$(cat "$f.params" 2>/dev/null)" != "$params" ]; then
		say "bench: generating $f ($n frames)"
		local t0; t0=$(now)
		"$gen" --frames "$n" --seed "$SEED" --dids "$DIDS" \
			--events-file "$f.events.tmp" > "$f.tmp" ||
			{ rm -f "$f.tmp" "$f.events.tmp"; die "gencapture failed"; }
		mv "$f.tmp" "$f" && mv "$f.events.tmp" "$f.events" &&
			echo "$params" > "$f.params" || die "cannot write $f"
		say "bench:   $(stat -c %s "$f") bytes in $(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}') s"
	fi
	echo "$f"
}

full=$(capture "$FRAMES") || exit 2
slice=$(capture "$SLICE") || exit 2
fullzst=
if command -v zstd >/dev/null; then
	fullzst=$full.zst
	if [ ! -s "$fullzst" ] || [ "$full" -nt "$fullzst" ]; then
		say "bench: compressing $full"
		zstd -q -T0 -f "$full" -o "$fullzst.tmp" && mv "$fullzst.tmp" "$fullzst" ||
			{ rm -f "$fullzst.tmp"; fullzst=; say "bench: zstd failed, no .zst rows"; }
	fi
fi

dids=
dids_file() {
	if [ -z "$dids" ]; then
		dids=$cache/dids-1k.txt
		if [ ! -s "$dids" ] || [ "$slice" -nt "$dids" ]; then
			"$tools/atfh-decode" --no-record "$slice" |
				grep -o '^{"did":"[^"]*"' | cut -d'"' -f4 | awk '!s[$0]++' |
				head -n 1000 > "$dids.tmp" && mv "$dids.tmp" "$dids"
		fi
	fi
	echo "$dids"
}

# ---- correctness check ----------------------------------------------------
# atfh-decode --verify vs the reference on a small capture (the first 3000
# frames of the bench data), compared as JSON; and atfh-decode's line count on
# the slice vs the events gencapture wrote.
check_note="check skipped"
if [ -x "$tools/atfh-decode" ] && [ -z "$ONLY" ]; then
	cf=$cache/check-3k.atfh
	if [ ! -s "$cf" ] || [ "$src" -nt "$cf" ] || [ "$gen" -nt "$cf" ]; then
		"$gen" --frames 3000 --seed "$SEED" --dids "$DIDS" > "$cf.tmp" && mv "$cf.tmp" "$cf"
	fi
	"$tools/atfh-decode" --verify "$cf" > "$tmp/check.atfh.json" 2> "$tmp/check.err"
	rc=$?
	lines=$("$tools/atfh-decode" "$slice" 2>/dev/null | wc -l)
	want=$(cat "$slice.events")
	if [ "$rc" -ne 0 ]; then
		check_note="check FAILED: atfh-decode --verify exit $rc: $(head -n 1 "$tmp/check.err")"
	elif [ "$lines" -ne "$want" ]; then
		check_note="check FAILED: atfh-decode printed $lines lines for the slice, expected $want events"
	elif command -v node >/dev/null && [ -f "$refjs" ] && [ -d "$(dirname "$refjs")/node_modules" ] &&
		command -v python3 >/dev/null; then
		if node "$refjs" "$cf" > "$tmp/check.ref.json" 2> "$tmp/check.ref.err"; then
			if python3 "$here/jsoncmp.py" "$tmp/check.ref.json" "$tmp/check.atfh.json" > "$tmp/cmp" 2>&1; then
				check_note="check ok: --verify passes, output agrees with the reference ($(tail -n 1 "$tmp/cmp" | sed 's/^jsoncmp: //')), slice line count = $want events"
			else
				check_note="check FAILED: output differs from the reference: $(head -n 1 "$tmp/cmp") ($(tail -n 1 "$tmp/cmp"))"
			fi
		else
			check_note="check: the reference decoder failed: $(head -n 1 "$tmp/check.ref.err")"
		fi
	else
		check_note="check ok: --verify passes, slice line count = $want events (no node/python3: not compared with the reference)"
	fi
fi

# ---- measure ---------------------------------------------------------------
# run N CMD... -> sets r_secs (best), r_rss (max over runs), r_err
run_row() {
	local n=$1; shift
	r_secs= r_rss=- r_err=
	local i t0 t1 rc s
	for ((i = 0; i < n; i++)); do
		t0=$(now)
		if [ -n "$timer" ]; then
			timeout "$TIMEOUT" "$timer" -f %M -o "$tmp/rss" "$@" > /dev/null 2> "$tmp/err"
		else
			timeout "$TIMEOUT" "$@" > /dev/null 2> "$tmp/err"
		fi
		rc=$?
		t1=$(now)
		if [ "$rc" -ne 0 ]; then
			r_err="exit $rc: $(grep -v '^Command exited' "$tmp/err" | head -n 1 | cut -c1-120)"
			[ "$rc" -eq 124 ] && r_err="timed out after ${TIMEOUT}s"
			return 1
		fi
		s=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
		if [ -z "$r_secs" ] || awk -v a="$s" -v b="$r_secs" 'BEGIN{exit !(a<b)}'; then
			r_secs=$s
		fi
		if [ -n "$timer" ]; then
			local m; m=$(tail -n 1 "$tmp/rss")
			if [ "$r_rss" = - ] || [ "$m" -gt "$r_rss" ]; then r_rss=$m; fi
		fi
	done
}

declare -a R_LABEL R_INPUT R_FRAMES R_EVENTS R_SECS R_EPS R_MBPS R_RSS R_TARGET R_NOTE R_NAME
ref_eps=
nrow=0
for spec in "${ROWS[@]}"; do
	IFS='|' read -r label input target cmd <<< "$spec"
	if [ -n "$ONLY" ] && ! [[ $label =~ $ONLY ]]; then continue; fi
	case $input in
	full) file=$full; frames=$FRAMES; data=$full ;;
	full.zst) file=$fullzst; frames=$FRAMES; data=$full ;;
	slice) file=$slice; frames=$SLICE; data=$slice ;;
	*) die "row '$label': unknown input '$input'" ;;
	esac
	[ -n "$file" ] || { say "bench: skip $label ($input): no such input"; continue; }
	read -r -a argv <<< "$cmd"
	prog=${argv[0]}
	if [[ $prog == @* ]]; then
		prog=$tools/${prog#@}
		[ -x "$prog" ] || { say "bench: skip $label: $prog not built"; continue; }
		argv[0]=$prog
	elif ! command -v "$prog" >/dev/null; then
		say "bench: skip $label: $prog not found"
		continue
	fi
	if [ "$target" = ref ] && { [ ! -f "$refjs" ] || [ ! -d "$(dirname "$refjs")/node_modules" ]; }; then
		say "bench: skip $label: $refjs or its node_modules missing"
		continue
	fi
	for i in "${!argv[@]}"; do
		[ "${argv[$i]}" = "{dids}" ] && argv[$i]=$(dids_file)
	done
	runs=$RUNS
	[ "$target" = ref ] && runs=1
	say "bench: $label < $(basename "$file") (${runs}x)"
	events=$(cat "$data.events")
	bytes=$(stat -c %s "$data")
	name=$(printf '%s' "$label" | sed 's/[^A-Za-z0-9.]\{1,\}/-/g; s/^-//; s/-$//')@$(label_of "$frames")
	[ "$input" = full.zst ] && name=$name.zst
	R_LABEL[nrow]=$label R_INPUT[nrow]=$(basename "$file") R_FRAMES[nrow]=$frames
	R_EVENTS[nrow]=$events R_TARGET[nrow]=$target R_NAME[nrow]=$name
	if run_row "$runs" "${argv[@]}" "$file"; then
		R_SECS[nrow]=$r_secs R_RSS[nrow]=$r_rss R_NOTE[nrow]=
		R_EPS[nrow]=$(awk -v e="$events" -v s="$r_secs" 'BEGIN{printf "%.0f", e/s}')
		R_MBPS[nrow]=$(awk -v b="$bytes" -v s="$r_secs" 'BEGIN{printf "%.1f", b/s/1e6}')
		[ "$target" = ref ] && ref_eps=${R_EPS[nrow]}
	else
		R_SECS[nrow]=- R_RSS[nrow]=- R_EPS[nrow]=- R_MBPS[nrow]=- R_NOTE[nrow]="FAILED ($r_err)"
	fi
	nrow=$((nrow + 1))
done

# ---- report ----------------------------------------------------------------
echo
echo "atfh bench: $FRAMES-frame capture ($(stat -c %s "$full") bytes, $(cat "$full.events") events), slice $SLICE frames; seed $SEED; best of $RUNS; $(nproc 2>/dev/null || echo '?') CPUs"
echo "$check_note"
echo
fmt='%-28s %-20s %8s %9s %8s %10s %8s %8s %9s  %s\n'
printf "$fmt" program input frames events seconds events/s MB/s ratio "rss(KB)" ""
for ((i = 0; i < nrow; i++)); do
	ratio=- note=${R_NOTE[i]}
	if [ -n "$ref_eps" ] && [ "${R_EPS[i]}" != - ]; then
		ratio=$(awk -v a="${R_EPS[i]}" -v b="$ref_eps" 'BEGIN{printf "%.1f", a/b}')
	fi
	if [ "${R_TARGET[i]}" = target ] && [ -z "$note" ]; then
		if [ "$ratio" = - ]; then
			note="no reference: target (>= ${TARGET}x) not checked"
		elif awk -v r="$ratio" -v t="$TARGET" 'BEGIN{exit !(r>=t)}'; then
			note="target met (>= ${TARGET}x)"
		else
			note="target missed (< ${TARGET}x)"
		fi
	fi
	[ "${R_TARGET[i]}" = ref ] && [ -z "$note" ] && note="reference"
	printf "$fmt" "${R_LABEL[i]}" "${R_INPUT[i]}" "${R_FRAMES[i]}" "${R_EVENTS[i]}" \
		"${R_SECS[i]}" "${R_EPS[i]}" "${R_MBPS[i]}" "$ratio" "${R_RSS[i]}" "$note"
	R_RATIO[i]=$ratio
done

# memory stays flat: atfh-decode on the slice vs the full capture
rss_small= rss_big=
for ((i = 0; i < nrow; i++)); do
	[ "${R_LABEL[i]}" = atfh-decode ] || continue
	case ${R_INPUT[i]} in
	"$(basename "$slice")") rss_small=${R_RSS[i]} ;;
	"$(basename "$full")") rss_big=${R_RSS[i]} ;;
	esac
done
echo
if [ -n "$rss_small" ] && [ -n "$rss_big" ] && [ "$rss_small" != - ] && [ "$rss_big" != - ]; then
	if awk -v s="$rss_small" -v b="$rss_big" 'BEGIN{exit !(b <= s * 1.25 + 2048)}'; then
		verdict="flat"
	else
		verdict="NOT flat"
	fi
	echo "memory: atfh-decode peak RSS $rss_small KB on $SLICE frames, $rss_big KB on $FRAMES frames: $verdict"
else
	echo "memory: not measured"
fi
echo "total bench time: $(awk -v a="$t_start" -v b="$(now)" 'BEGIN{printf "%.0f", b-a}') s"
echo
for ((i = 0; i < nrow; i++)); do
	echo "BENCH name=${R_NAME[i]} events_per_s=${R_EPS[i]} mb_per_s=${R_MBPS[i]} ratio=${R_RATIO[i]} rss_kb=${R_RSS[i]}"
done
# per-program benches with their own comparisons (grep.sh, count.sh, …)
for extra in "$here"/grep.sh "$here"/count.sh "$here"/threads.sh "$here"/subscribe.sh "$here"/split.sh "$here"/sigverify.sh "$here"/identity.sh "$here"/emit.sh; do
	[ -f "$extra" ] || continue
	[ -n "$ONLY" ] && ! [[ $(basename "$extra" .sh) =~ $ONLY ]] && continue
	echo
	top_srcdir=$top_srcdir top_builddir=$top_builddir bash "$extra" || say "bench: $(basename "$extra") failed"
done

# a missed target is reported, not an error; a failed run or check is
status=0
[[ $check_note == *FAILED* ]] && status=1
for ((i = 0; i < nrow; i++)); do
	[[ ${R_NOTE[i]} == FAILED* ]] && status=1
done
exit $status
