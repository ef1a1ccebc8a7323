#!/bin/bash
# tests/bench/threads.sh -- what -T buys (called by run.sh, or alone after it
# built the cache).  Each ratio is printed with the two commands that
# produced it and its target:
#
#  - atfh-count -T 2 on jetstream NDJSON (500k frames decoded, about 260 MB)
#    by commit.collection and by did --top 10, against DuckDB
#    (@duckdb/node-api from tests/interop, read_json_objects ... GROUP BY,
#    2 threads, the query's time inside the process: tests/bench/duckdb.js;
#    target >= 1.5x) and against atfh-count -T 1 (target >= 1.8x); the
#    results must agree with DuckDB's;
#  - atfh-decode -T 2 against -T 1 on the 1M-frame capture, plain and .zst
#    (target >= 1.8x): the .zst as atfh-split writes it (frames of about
#    1 MiB, decompressed by the workers at once); the same capture as one
#    zstd frame (zstd -T0) is shown too, without a target: one frame is
#    decompressed by one thread, which alone takes most of -T 1's time;
#  - peak RSS of atfh-decode -T 2 on the capture and on BENCH_PIPE_COPIES
#    (10) copies of it through a pipe: bounded memory means about the same.
#
# Wall time on a shared machine is noisy: the CPU time (user + system) is
# shown next to it.  Environment: BENCH_CACHE, BENCH_RUNS (3), BENCH_THREADS
# (2), BENCH_PIPE_COPIES (10; 0 skips the pipe run).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
bench_setup atfh-count
RUNS=${BENCH_RUNS:-3}
TH=${BENCH_THREADS:-2}
COPIES=${BENCH_PIPE_COPIES:-10}
full=$cache/bench-1m.atfh
say() { printf '%s\n' "$*" >&2; }
[ -x "$tools/atfh-count" ] && [ -x "$tools/atfh-decode" ] || { echo "threads bench: tools not built, skipped"; exit 0; }
[ -s "$full" ] && [ -x "$cache/gencapture" ] || { echo "threads bench: run tests/bench/run.sh first (no cached capture)"; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/atfh-bench-threads.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

# the NDJSON: the first 500k frames of the bench capture (same seed), decoded
nd=$cache/bench-500k.ndjson
if [ ! -s "$nd" ] || [ "$full" -nt "$nd" ]; then
	say "threads bench: making $nd"
	params=$(cat "$full.params" 2>/dev/null)
	seed=$(printf '%s\n' "$params" | sed -n 's/.*seed=\([0-9]*\).*/\1/p')
	dids=$(printf '%s\n' "$params" | sed -n 's/.*dids=\([0-9]*\).*/\1/p')
	"$cache/gencapture" --frames 500000 --seed "${seed:-1}" --dids "${dids:-200000}" |
		"$tools/atfh-decode" -q >"$nd.tmp" && mv "$nd.tmp" "$nd" || { rm -f "$nd.tmp"; exit 2; }
fi

# one CMD...: run it once: its wall and CPU time in secs and cpu, its peak
# RSS in rss (KB), its output in $tmp/out (or in $OUT when set: the decode
# rows write to /dev/null, as their commands say, not gigabytes to a file,
# which would time the file system); the file is read first so the page
# cache holds it
one() {
	local m u y
	bench_time -f '%e %M %U %S' -o "$tmp/time" "$@" >"${OUT:-$tmp/out}" 2>"$tmp/err" ||
		{ say "threads bench: failed: $* ($(head -n 1 "$tmp/err"))"; return 1; }
	read -r secs m u y < <(tail -n 1 "$tmp/time")
	cpu=$(awk -v u="$u" -v y="$y" 'BEGIN { printf "%.2f", u + y }')
	rss=$m
}

# pair CMD1... -- CMD2...: each run RUNS times, in turns (1 2 1 2 ...), so
# that both meet the same moments of a machine whose speed drifts; the
# best wall and CPU time and the largest RSS of each into s1 c1 r1 and
# s2 c2 r2 ("-" when a run failed)
pair() {
	local a=() b=() r
	while [ "$1" != -- ]; do a+=("$1"); shift; done
	shift
	b=("$@")
	s1= c1= r1=0 s2= c2= r2=0
	for ((r = 0; r < RUNS; r++)); do
		one "${a[@]}" || { s1=-; s2=-; return 1; }
		keep 1
		one "${b[@]}" || { s1=-; s2=-; return 1; }
		keep 2
	done
}
# keep N: the run just made into sN cN rN, if better
keep() {
	local s=s$1 c=c$1 r=r$1
	[ -z "${!s}" ] || awk -v a="$secs" -v b="${!s}" 'BEGIN { exit !(a < b) }' && printf -v "$s" %s "$secs"
	[ -z "${!c}" ] || awk -v a="$cpu" -v b="${!c}" 'BEGIN { exit !(a < b) }' && printf -v "$c" %s "$cpu"
	[ "$rss" -gt "${!r}" ] && printf -v "$r" %s "$rss"
	return 0
}

lines=()
status=0
# ratio LABEL TARGET A-SECS B-SECS A-CMD B-CMD: B is how many times faster
ratio() {
	local label=$1 target=$2 a=$3 b=$4 x note
	if [ "$a" = - ] || [ "$b" = - ]; then
		lines+=("$label: not measured (a run failed)")
		status=1
		return
	fi
	x=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')
	if [ "$target" = - ]; then
		lines+=("$(printf '%-44s %5sx  (no target: one zstd frame)' "$label" "$x")")
	else
		note=$(awk -v x="$x" -v t="$target" 'BEGIN { print (x >= t) ? "target met" : "target MISSED" }')
		lines+=("$(printf '%-44s %5sx  (>= %sx: %s)' "$label" "$x" "$target" "$note")")
	fi
	lines+=("    $5   # ${a} s")
	lines+=("    vs $6   # ${b} s")
}

cat "$nd" >/dev/null
nds=$(basename "$nd")
for what in collection did-top10; do
	if [ "$what" = collection ]; then args=(--by commit.collection); else args=(--by did --top 10); fi
	duck=-
	if command -v node >/dev/null && node "$here/duckdb.js" "$nd" "$what" "$TH" "$RUNS" >"$tmp/duck" 2>"$tmp/duck.err"; then
		duck=$(head -n 1 "$tmp/duck")
		tail -n +2 "$tmp/duck" >"$tmp/duck.rows"
	else
		say "threads bench: DuckDB failed or missing: $(head -n 1 "$tmp/duck.err" 2>/dev/null)"
	fi
	pair "$tools/atfh-count" -q --tsv -T 1 "${args[@]}" "$nd" -- \
		"$tools/atfh-count" -q --tsv -T "$TH" "${args[@]}" "$nd"
	sN=$s2 cN=$c2
	agree=
	if [ "$duck" != - ]; then
		# counts compared in order (ties at a cut may pick other keys)
		if cmp -s <(tail -n +2 "$tmp/out" | cut -f2) <(cut -f2 "$tmp/duck.rows"); then
			agree="same counts as DuckDB"
		else
			agree="counts DIFFER from DuckDB"
			status=1
		fi
	fi
	ratio "count ${args[*]} -T $TH vs DuckDB" 1.5 "$duck" "$sN" \
		"node tests/bench/duckdb.js $nds $what $TH $RUNS (query time)" \
		"atfh-count -q --tsv -T $TH ${args[*]} $nds"
	lines+=("    ($agree; CPU: atfh-count -T $TH ${cN} s)")
	ratio "count ${args[*]} -T $TH vs -T 1" 1.8 "$s1" "$sN" \
		"atfh-count -q --tsv -T 1 ${args[*]} $nds" "atfh-count -q --tsv -T $TH ${args[*]} $nds"
	lines+=("    (CPU: -T 1 ${c1} s, -T $TH ${cN} s)")
done

# the capture as atfh-split compresses it
split=$cache/bench-1m.split.atfh.zst
if [ ! -s "$split" ] || [ "$full" -nt "$split" ]; then
	say "threads bench: making $split"
	rm -rf "$tmp/split"
	"$tools/atfh-split" -q -o "$tmp/split/x.atfh.zst" "$full" >/dev/null &&
		mv "$tmp/split/x.atfh.zst" "$split" || say "threads bench: atfh-split failed"
fi
for f in "$full" "$split" "$full.zst"; do
	[ -s "$f" ] || continue
	cat "$f" >/dev/null
	OUT=/dev/null pair "$tools/atfh-decode" -q -T 1 "$f" -- "$tools/atfh-decode" -q -T "$TH" "$f"
	sN=$s2 cN=$c2 rN=$r2
	target=1.8
	[ "$f" = "$full.zst" ] && target=- # one frame: no target, see above
	ratio "decode -T $TH vs -T 1 on $(basename "$f")" "$target" "$s1" "$sN" \
		"atfh-decode -q -T 1 $(basename "$f") >/dev/null" "atfh-decode -q -T $TH $(basename "$f") >/dev/null"
	lines+=("    (CPU: -T 1 ${c1} s, -T $TH ${cN} s; peak RSS -T 1 ${r1} KB, -T $TH ${rN} KB)")
done

if [ "$COPIES" -gt 0 ]; then
	bench_time -f '%e %M' -o "$tmp/time" bash -c 'for ((i = 0; i < $1; i++)); do cat "$2"; done |
		"$3" -q -T "$4" >/dev/null' - "$COPIES" "$full" "$tools/atfh-decode" "$TH"
	read -r ps pm < <(tail -n 1 "$tmp/time")
	OUT=/dev/null one "$tools/atfh-decode" -q -T "$TH" "$full"
	lines+=("memory: atfh-decode -T $TH peak RSS $rss KB on $(basename "$full") ($(stat -c %s "$full") bytes),")
	lines+=("        $pm KB (bash and cat included) on $COPIES copies through a pipe ($ps s):")
	lines+=("        for i in 1..$COPIES; do cat $(basename "$full"); done | atfh-decode -q -T $TH >/dev/null")
fi

echo
echo "atfh threads bench: $TH threads, $(nproc 2>/dev/null || echo '?') CPUs, best of $RUNS; load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%s\n' "${lines[@]}"
exit $status
