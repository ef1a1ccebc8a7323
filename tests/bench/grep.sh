#!/bin/bash
# atfh-grep benchmarks (called by run.sh, or alone after it built the cache):
#  - DID filter over frames with a 1M-DID set matching ~1% of events:
#    MB/s vs cat (target >= 50 % of cat, threads at their default; -T 1
#    shown too) and vs the reference JS decoder +
#    Set lookup (target >= 50x; also shown: a leaner JS baseline that
#    decodes only header and body);
#  - -e EXPR vs jq -c 'select(EXPR)' on the same NDJSON (target >= 1x);
#  - loading a 1M-DID file: time and peak RSS.
# Prints a table and BENCH lines like run.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
bench_setup atfh-grep
full=$cache/bench-1m.atfh
slice=$cache/bench-100k.atfh
RUNS=${BENCH_RUNS:-3}
[ -x "$tools/atfh-grep" ] || { echo "grep bench: atfh-grep not built, skipped"; exit 0; }
[ -s "$full" ] && [ -s "$slice" ] || { echo "grep bench: run tests/bench/run.sh first (no cached capture)"; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# The input is read into the page cache before every timed run: the kernel
# may reclaim a 2 GB file between runs (seen here: DAMON reclaim), and then
# cat and atfh-grep alike would time the disk.
# Output goes to $sink: /dev/null where only the time counts, so cat is
# timed reading (as atfh-grep is), not writing 2 GB; $tmp/out where a row
# compares its output.
warm= sink=/dev/null
best() { # CMD... -> sets secs (best of RUNS) and rss (KB, max)
	secs= rss=0
	for ((r = 0; r < RUNS; r++)); do
		[ -z "$warm" ] || cat "$warm" >/dev/null
		bench_time -f '%e %M' -o "$tmp/time" "$@" >"$sink" 2>"$tmp/err" || true
		read -r s m < <(tail -n 1 "$tmp/time") || { s=; m=0; }
		[ -n "$s" ] || continue
		[ -z "$secs" ] || awk -v a="$s" -v b="$secs" 'BEGIN{exit !(a<b)}' && secs=$s
		[ "$m" -gt "$rss" ] && rss=$m
	done
}
mbps() { awk -v b="$(stat -c %s "$1")" -v s="$2" 'BEGIN{printf "%.1f", b/s/1e6}'; }

# a 1M-DID set of which the slice's most active DIDs match ~1% of events
dids=$cache/dids-1m.txt
if [ ! -s "$dids" ] || [ "$slice" -nt "$dids" ]; then
	"$tools/atfh-decode" --no-record "$slice" | python3 -c '
import json, random, sys, collections
c = collections.Counter(json.loads(l).get("did") for l in sys.stdin)
total = sum(c.values()); r = random.Random(1); pick = []; n = 0
dids = [d for d in c if d]; r.shuffle(dids)
for d in dids:
    if n + c[d] > total * 0.01: continue
    pick.append(d); n += c[d]
    if n >= total * 0.0095: break
a = "abcdefghijklmnopqrstuvwxyz234567"
out = ["did:plc:" + "".join(r.choice(a) for _ in range(24)) for _ in range(1000000 - len(pick))] + pick
r.shuffle(out)
print("\n".join(out))' >"$dids.tmp" && mv "$dids.tmp" "$dids"
fi

rows=()
row() { rows+=("$(printf '%-34s %-16s %8s %9s %9s  %s' "$@")"); }

# cat and atfh-grep -D in turns (cat grep cat grep ...), so that both meet
# the same moments of a machine whose speed drifts between minutes
warm=$full cat_s= g_s= g_rss=0
for ((i = 0; i < RUNS; i++)); do
	RUNS=1 best cat "$full"
	[ -z "$cat_s" ] || awk -v a="$secs" -v b="$cat_s" 'BEGIN{exit !(a<b)}' && cat_s=$secs
	RUNS=1 best "$tools/atfh-grep" -D "$dids" "$full"
	[ -z "$g_s" ] || awk -v a="$secs" -v b="$g_s" 'BEGIN{exit !(a<b)}' && g_s=$secs
	[ "$rss" -gt "$g_rss" ] && g_rss=$rss
done
cat_mb=$(mbps "$full" "$cat_s") g_mb=$(mbps "$full" "$g_s")
row cat "$(basename "$full")" "$cat_s" "$cat_mb" - ""
kept=$("$tools/atfh-grep" -D "$dids" --count "$full")
pct=$(awk -v a="$cat_s" -v b="$g_s" 'BEGIN{printf "%.0f", a/b*100}')
note=$(awk -v p="$pct" 'BEGIN{print (p>=50) ? "target met (>= 50% of cat)" : "target missed (< 50% of cat)"}')
row "atfh-grep -D 1M-dids" "$(basename "$full")" "$g_s" "$g_mb" "$g_rss" "$pct% of cat, kept $kept frames; $note"
cmds=("$pct% of cat: atfh-grep -D $(basename "$dids") $(basename "$full") >/dev/null  vs  cat $(basename "$full") >/dev/null")
best "$tools/atfh-grep" -T 1 -D "$dids" "$full"; g1_s=$secs
pct1=$(awk -v a="$cat_s" -v b="$g1_s" 'BEGIN{printf "%.0f", a/b*100}')
row "atfh-grep -T 1 -D 1M-dids" "$(basename "$full")" "$g1_s" "$(mbps "$full" "$g1_s")" "$rss" "$pct1% of cat (one thread)"

warm=$slice
best "$tools/atfh-grep" -D "$dids" "$slice"; gs_s=$secs; gs_mb=$(mbps "$slice" "$secs")
row "atfh-grep -D 1M-dids" "$(basename "$slice")" "$gs_s" "$gs_mb" "$rss" ""
if command -v node >/dev/null && [ -d "$top_srcdir/tests/interop/node_modules" ]; then
	RUNS_SAVE=$RUNS; RUNS=1 sink=$tmp/out
	# The issue's reference: the reference decoder (every frame to its
	# events) and a Set lookup, on the slice (it runs at a few MB/s) against
	# atfh-grep on the same slice.
	best node "$here/refgrep.js" --decode "$dids" "$slice"; d_s=$secs; d_mb=$(mbps "$slice" "$secs")
	same=$(cmp -s "$tmp/out" <("$tools/atfh-grep" -D "$dids" "$slice") && echo "same frames" || echo "DIFFERENT frames")
	ratio=$(awk -v a="$d_s" -v b="$gs_s" 'BEGIN{printf "%.0f", a/b}')
	note=$(awk -v r="$ratio" 'BEGIN{print (r>=50) ? "target met (>= 50x)" : "target missed (< 50x)"}')
	row "refgrep.js --decode (ref + Set)" "$(basename "$slice")" "$d_s" "$d_mb" "$rss" "atfh-grep is ${ratio}x; $same; $note"
	# A stronger baseline than the issue asks for: header and body decoded
	# with cborg, no records, no CAR; on the whole capture (about a minute)
	# so startup and the 1M-entry Set are amortised as for atfh-grep.
	warm=$full
	best node "$here/refgrep.js" "$dids" "$full"; r_s=$secs; r_mb=$(mbps "$full" "$secs")
	RUNS=$RUNS_SAVE sink=/dev/null
	same=$(cmp -s "$tmp/out" <("$tools/atfh-grep" -D "$dids" "$full") && echo "same frames" || echo "DIFFERENT frames")
	lean=$(awk -v a="$r_s" -v b="$g_s" 'BEGIN{printf "%.0f", a/b}')
	row "refgrep.js (cborg body + Set)" "$(basename "$full")" "$r_s" "$r_mb" "$rss" "atfh-grep is ${lean}x; $same (no target: leaner than the reference)"
fi

# -e against jq on the same NDJSON
nd=$cache/bench-100k.ndjson
[ -s "$nd" ] && [ ! "$slice" -nt "$nd" ] || "$tools/atfh-decode" "$slice" >"$nd"
expr='.commit.collection == "app.bsky.feed.post" and (.commit.record.langs // [] | index("en"))'
warm=$nd
best jq -c "select($expr)" "$nd"; jq_s=$secs
best "$tools/atfh-grep" -e "$expr" "$nd"; e_s=$secs
best "$tools/atfh-grep" -c app.bsky.feed.post -e "$expr" "$nd"; ec_s=$secs
n_jq=$(jq -c "select($expr)" "$nd" | wc -l); n_e=$("$tools/atfh-grep" -e "$expr" --count "$nd")
row "jq -c 'select(EXPR)'" "$(basename "$nd")" "$jq_s" "$(mbps "$nd" "$jq_s")" - "$n_jq events"
for v in "$e_s|-e EXPR" "$ec_s|-c app.bsky.feed.post -e EXPR"; do
	s=${v%%|*} l=${v#*|}
	x=$(awk -v a="$jq_s" -v b="$s" 'BEGIN{printf "%.1f", a/b}')
	note=$(awk -v r="$x" 'BEGIN{print (r>=1) ? "target met (>= 1x jq)" : "target missed (< 1x jq)"}')
	row "atfh-grep $l" "$(basename "$nd")" "$s" "$(mbps "$nd" "$s")" - "${x}x jq, $n_e events; $note"
done

# loading 1M DIDs
warm=$dids
best "$tools/atfh-grep" -D "$dids" /dev/null
row "atfh-grep -D 1M-dids (load only)" "-" "$secs" - "$rss" "$(wc -l <"$dids") DIDs"
load_s=$secs load_rss=$rss

echo
printf '%-34s %-16s %8s %9s %9s  %s\n' program input seconds MB/s "rss(KB)" ""
printf '%s\n' "${rows[@]}"
printf '%s\n' "${cmds[@]}"
echo
echo "BENCH name=atfh-grep-D-1M@1m mb_per_s=$g_mb pct_of_cat=$pct rss_kb=$g_rss"
[ -n "${d_s:-}" ] && echo "BENCH name=atfh-grep-D-1M@100k ratio_vs_ref=$ratio"
[ -n "${r_s:-}" ] && echo "BENCH name=atfh-grep-D-1M@1m ratio_vs_lean_js=$lean"
echo "BENCH name=atfh-grep-e@100k ratio_vs_jq=$(awk -v a="$jq_s" -v b="$e_s" 'BEGIN{printf "%.1f", a/b}')"
echo "BENCH name=atfh-grep-didload seconds=$load_s rss_kb=$load_rss"
