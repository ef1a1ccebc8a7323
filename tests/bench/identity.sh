#!/bin/bash
# tests/bench/identity.sh -- atfh-grep --pds with a warm identity cache
# against plain atfh-grep on the same frames (target: < 10 % more time).
# For each capture (run.sh's cached bench-100k.atfh, and bench-1m.atfh when
# it is there: the cache read is a fixed cost per run, so the longer stream
# shows what a frame costs) the cache file (--identity-cache) is made here
# for every DID of the capture, each account on one of ten PDSes, written
# in the old format 1 and rewritten by atfh-grep itself (the file as atfh
# keeps it); --plc points at a closed port, so a request would fail the
# row.  Rows: plain (every frame kept), --pds over an empty input (the
# cache read alone), --pds matching every account, --pds matching half,
# --ignore-pds matching half.  Both run in threads (-T's default: with
# --pds the workers select and the reading thread judges the accounts); a
# plain -T 1 row shows the cost in one thread.
# The cache is read at the start of each run (and written back at the end
# when it changed), inside the time.
# Seconds are the best wall-clock time of BENCH_RUNS runs; cpu is
# user+system of that run (the machine may be shared).  Percentages are
# over plain's wall time.  Prints a table and BENCH lines like run.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
bench_setup atfh-grep
RUNS=${BENCH_RUNS:-3}
[ -x "$tools/atfh-grep" ] || { echo "identity bench: atfh-grep not built, skipped"; exit 0; }
[ -s "$cache/bench-100k.atfh" ] || { echo "identity bench: run tests/bench/run.sh first (no cached capture)"; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

make_cache() { # CAPTURE IDS: a cache of every DID of CAPTURE
	local slice=$1 ids=$2
	if [ -s "$ids" ] && [ "$ids" -nt "$slice" ] && [ "$(head -c 7 "$ids")" = '{"v":2,' ]; then
		return
	fi
	"$tools/atfh-decode" -f frame --no-record "$slice" | python3 -c '
import json, sys, time, zlib
seen = set(); now = int(time.time())
for l in sys.stdin:
    b = json.loads(l).get("body", {})
    d = b.get("repo") or b.get("did")
    if not d or d in seen: continue
    seen.add(d)
    n = zlib.crc32(d.encode()) % 10
    doc = {"@context": ["https://www.w3.org/ns/did/v1"], "id": d, "alsoKnownAs": ["at://u%d.example.com" % len(seen)],
           "verificationMethod": [{"id": d + "#atproto", "type": "Multikey", "controller": d,
                                   "publicKeyMultibase": "zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF"}],
           "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer",
                        "serviceEndpoint": "https://pds%d.example.com" % n}]}
    print(json.dumps({"did": d, "fetched": now, "doc": doc}, separators=(",", ":")))
' >"$ids.tmp" &&
	"$tools/atfh-grep" --pds '*' --identity-cache "$ids.tmp" --identity-cache-size 10000000 \
		--plc http://127.0.0.1:9 --identity-ttl 3650d /dev/null
	[ "$(head -c 7 "$ids.tmp")" = '{"v":2,' ] && mv "$ids.tmp" "$ids"
}

best() { # CMD... -> secs (best of RUNS), cpu (of that run), rss (KB, max); the cache copied fresh each run
	secs= cpu= rss=0
	local r s u k m
	for ((r = 0; r < RUNS; r++)); do
		cat "$slice" >/dev/null
		cp "$ids" "$tmp/ids"
		bench_time -f '%e %U %S %M' -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err"
		read -r s u k m < <(tail -n 1 "$tmp/time") || { s=; m=0; }
		[ -n "$s" ] || continue
		if [ -z "$secs" ] || awk -v a="$s" -v b="$secs" 'BEGIN{exit !(a<b)}'; then
			secs=$s cpu=$(awk -v a="$u" -v b="$k" 'BEGIN{printf "%.2f", a+b}')
		fi
		[ "$m" -gt "$rss" ] && rss=$m
	done
}
rows=()
row() { rows+=("$(printf '%-46s %8s %6s %9s  %s' "$1" "$2" "$3" "$4" "$5")"); }

for label in 100k 1m; do
	slice=$cache/bench-$label.atfh
	[ -s "$slice" ] || { rows+=("(no bench-$label.atfh: run tests/bench/run.sh for that row)"); continue; }
	ids=$cache/identity-$label.cache
	make_cache "$slice" "$ids" || { echo "identity bench: cannot make $ids"; exit 2; }
	naccounts=$(wc -l <"$ids")
	ID=(--identity-cache "$tmp/ids" --identity-cache-size 10000000 --plc http://127.0.0.1:9 --identity-ttl 3650d)
	rows+=("[$label frames; identity cache: $naccounts accounts, $(stat -c %s "$ids") bytes]")

	best "$tools/atfh-grep" "$slice"; plain=$secs
	row "atfh-grep (no selector)" "$plain" "$cpu" "$rss" "every frame"
	best "$tools/atfh-grep" -T 1 "$slice"; plain1=$secs
	row "atfh-grep -T 1 (no selector)" "$plain1" "$cpu" "$rss" "every frame, one thread"
	best "$tools/atfh-grep" --pds '*.example.com' "${ID[@]}" /dev/null; load=$secs
	row "atfh-grep --pds, empty input" "$load" "$cpu" "$rss" "reading the cache file (a fixed cost per run)"
	for v in "--pds *.example.com|every account" "--pds pds[0-4].example.com|half" \
		 "--ignore-pds pds[0-4].example.com|half"; do
		opt=${v%%|*} what=${v#*|}
		best "$tools/atfh-grep" ${opt%% *} "${opt#* }" "${ID[@]}" "$slice"
		s=$secs
		req=$(cp "$ids" "$tmp/ids" && "$tools/atfh-grep" ${opt%% *} "${opt#* }" "${ID[@]}" --metrics "$tmp/m" \
			-o /dev/null "$slice" 2>/dev/null; sed -n 's/^atfh_grep_identity_requests_total //p' "$tmp/m")
		pct=$(awk -v a="$s" -v b="$plain" 'BEGIN{printf "%.1f", (a-b)/b*100}')
		stream=$(awk -v a="$s" -v b="$plain" -v l="$load" 'BEGIN{printf "%.1f", (a-l-b)/b*100}')
		pct1=$(awk -v a="$s" -v b="$plain1" 'BEGIN{printf "%.1f", (a-b)/b*100}')
		note=$(awk -v p="$pct" 'BEGIN{print (p < 10) ? "target met (< 10 %)" : "target missed (>= 10 %)"}')
		row "atfh-grep $opt" "$s" "$cpu" "$rss" "$what; $(printf %+.1f "$pct") % ($(printf %+.1f "$stream") % without the cache read; $(printf %+.1f "$pct1") % over -T 1), $req requests; $note"
		echo "BENCH name=atfh-grep-pds-warm@$label case=\"$opt\" pct_over_plain=$pct pct_without_load=$stream pct_over_plain_t1=$pct1 requests=$req"
	done
	# the same in one thread: what the workers take off the reading thread
	best "$tools/atfh-grep" -T 1 --pds 'pds[0-4].example.com' "${ID[@]}" "$slice"
	pct1=$(awk -v a="$secs" -v b="$plain1" 'BEGIN{printf "%.1f", (a-b)/b*100}')
	row "atfh-grep -T 1 --pds pds[0-4].example.com" "$secs" "$cpu" "$rss" "half, one thread; $(printf %+.1f "$pct1") % over -T 1"
	echo "BENCH name=atfh-grep-pds-warm-t1@$label case=\"--pds pds[0-4].example.com\" pct_over_plain_t1=$pct1"
done

echo
printf '%-46s %8s %6s %9s\n' program seconds cpu "rss(KB)"
printf '%s\n' "${rows[@]}"
