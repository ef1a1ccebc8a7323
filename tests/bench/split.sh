#!/bin/bash
# atfh-split benchmarks (called by run.sh, or alone):
#  - uncompressed frames into one file vs `cat > file` (target >= 50 %);
#  - a .zst file vs the `zstd -3` CLI on the same frames (target >= 1x);
#  - many files: NDJSON by {did} with --max-open 256 (files/s, events/s).
# The input is the cached synthetic capture when run.sh built it, else the
# bundled sample repeated BENCH_SPLIT_COPIES times (default 8).  Every run
# writes to a fresh directory next to the others, on the same file system.
# Prints a table and BENCH lines like run.sh.  Seconds are wall-clock (best
# of BENCH_RUNS); cpu is user + system seconds of that run: on a loaded
# machine the scheduler favours programs whose threads sleep often (the
# zstd CLI reads and writes in threads of their own), so the .zst row
# gives both ratios.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
bench_setup atfh-split
RUNS=${BENCH_RUNS:-3}
[ -x "$tools/atfh-split" ] || { echo "split bench: atfh-split not built, skipped"; exit 0; }
tmp=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/atfh-split-bench.XXXXXX"); trap 'rm -rf "$tmp"' EXIT

in=$tmp/in.atfh
if [ -s "$cache/bench-100k.atfh" ]; then
	cp "$cache/bench-100k.atfh" "$in"
else
	zstd -dcq "$top_srcdir/tests/data/sample.atfh.zst" >"$tmp/one.atfh"
	for _ in $(seq "${BENCH_SPLIT_COPIES:-8}"); do cat "$tmp/one.atfh"; done >"$in"
	rm -f "$tmp/one.atfh"
fi
nd=$tmp/in.ndjson
"$tools/atfh-decode" "$in" >"$nd"
events=$(wc -l <"$nd")

best() { # CMD... (run in a fresh $tmp/o) -> secs (best of RUNS), cpu (its
	# user + system seconds), rss (KB, max)
	secs= cpu= rss=0
	for ((r = 0; r < RUNS; r++)); do
		rm -rf "$tmp/o"; mkdir "$tmp/o"
		cat "$in" "$nd" >/dev/null
		bench_time -f '%e %M %U %S' -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err" || true
		read -r s m u y < <(tail -n 1 "$tmp/time") || { s=; m=0; }
		[ -n "$s" ] || continue
		awk -v s="$s" 'BEGIN{exit !(s < 0.01)}' && s=0.01
		c=$(awk -v u="$u" -v y="$y" 'BEGIN{c = u + y; if (c < 0.01) c = 0.01; printf "%.2f", c}')
		if [ -z "$secs" ] || awk -v a="$s" -v b="$secs" 'BEGIN{exit !(a<b)}'; then
			secs=$s cpu=$c
		fi
		[ "$m" -gt "$rss" ] && rss=$m
	done
}
mbps() { awk -v b="$(stat -c %s "$1")" -v s="$2" 'BEGIN{printf "%.1f", b/s/1e6}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
rows=()
row() { rows+=("$(printf '%-40s %8s %6s %9s %9s  %s' "$1" "$2" "$cpu" "$3" "$4" "$5")"); }

best sh -c "cat '$in' >'$tmp/o/x.atfh' && sync -f '$tmp/o/x.atfh'"; cat_s=$secs
row "cat > file (+ fsync)" "$cat_s" "$(mbps "$in" "$cat_s")" "$rss" ""
best "$tools/atfh-split" -q -o "$tmp/o/x.atfh" "$in"; plain_s=$secs
pct=$(awk -v a="$cat_s" -v b="$plain_s" 'BEGIN{printf "%.0f", 100*a/b}')
row "atfh-split -o x.atfh" "$plain_s" "$(mbps "$in" "$plain_s")" "$rss" \
	"$pct % of cat; $(awk -v p="$pct" 'BEGIN{print (p>=50) ? "target met (>= 50 %)" : "target missed (< 50 %)"}')"

best sh -c "zstd -3 -q -c '$in' >'$tmp/o/x.atfh.zst' && sync -f '$tmp/o/x.atfh.zst'"; zstd_s=$secs zstd_c=$cpu
zstd_b=$(stat -c %s "$tmp/o/x.atfh.zst")
row "zstd -3 > file (+ fsync)" "$zstd_s" "$(mbps "$in" "$zstd_s")" "$rss" "$zstd_b bytes"
best "$tools/atfh-split" -q -o "$tmp/o/x.atfh.zst" "$in"; z_s=$secs z_c=$cpu
zx=$(ratio "$zstd_s" "$z_s") zc=$(ratio "$zstd_c" "$z_c")
row "atfh-split -o x.atfh.zst" "$z_s" "$(mbps "$in" "$z_s")" "$rss" \
	"${zx}x zstd -3 (cpu ${zc}x), $(stat -c %s "$tmp/o/x.atfh.zst") bytes; $(awk -v r="$zx" 'BEGIN{print (r>=1) ? "target met (>= 1x)" : "target missed (< 1x)"}')"

best "$tools/atfh-split" -q -o "$tmp/o/{did}.ndjson" --max-open 256 "$nd"; m_s=$secs
files=$(find "$tmp/o" -type f | wc -l)
row "atfh-split -o {did}.ndjson --max-open 256" "$m_s" "$(mbps "$nd" "$m_s")" "$rss" \
	"$files files, $(awk -v f="$files" -v s="$m_s" 'BEGIN{printf "%.0f", f/s}') files/s, $(awk -v e="$events" -v s="$m_s" 'BEGIN{printf "%.0f", e/s}') events/s"
best sh -c "cat '$nd' >'$tmp/o/x.ndjson' && sync -f '$tmp/o/x.ndjson'"; ndcat_s=$secs

echo
printf '%-40s %8s %6s %9s %9s  %s\n' program seconds cpu MB/s "rss(KB)" ""
printf '%s\n' "${rows[@]}"
echo "input: $(basename "$in") $(stat -c %s "$in") bytes, $events NDJSON events"
echo
echo "BENCH name=atfh-split-plain pct_of_cat=$pct mb_per_s=$(mbps "$in" "$plain_s")"
echo "BENCH name=atfh-split-zst ratio_vs_zstd3=$zx cpu_ratio_vs_zstd3=$zc mb_per_s=$(mbps "$in" "$z_s")"
echo "BENCH name=atfh-split-many files=$files seconds=$m_s ratio_vs_cat=$(ratio "$ndcat_s" "$m_s")"
