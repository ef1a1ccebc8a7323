#!/bin/bash
# tests/bench/identity.sh -- atfh-grep --pds with a warm identity cache
# against plain atfh-grep on the same frames (target: < 10 % more time).
# The cache file (--identity-cache) is made here for every DID of the
# slice (run.sh's cached bench-100k.atfh), each account on one of ten
# PDSes; --plc points at a closed port, so a request would fail the row.
# Rows: plain (every frame kept), --pds matching every account, --pds
# matching half, --ignore-pds matching half.  The cache is read at the
# start and written back at the end of each run, both inside the time.
# Prints a table and BENCH lines like run.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
bench_setup atfh-grep
slice=$cache/bench-100k.atfh
RUNS=${BENCH_RUNS:-3}
[ -x "$tools/atfh-grep" ] || { echo "identity bench: atfh-grep not built, skipped"; exit 0; }
[ -s "$slice" ] || { echo "identity bench: run tests/bench/run.sh first (no cached capture)"; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

ids=$cache/identity-100k.cache
if [ ! -s "$ids" ] || [ "$slice" -nt "$ids" ]; then
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
' >"$ids.tmp" && mv "$ids.tmp" "$ids"
fi
naccounts=$(wc -l <"$ids")

best() { # CMD... -> secs (best of RUNS), rss (KB, max); the cache copied fresh each run
	secs= rss=0
	for ((r = 0; r < RUNS; r++)); do
		cat "$slice" >/dev/null
		cp "$ids" "$tmp/ids"
		/usr/bin/time -f '%e %M' -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err"
		read -r s m < <(tail -n 1 "$tmp/time") || { s=; m=0; }
		[ -n "$s" ] || continue
		[ -z "$secs" ] || awk -v a="$s" -v b="$secs" 'BEGIN{exit !(a<b)}' && secs=$s
		[ "$m" -gt "$rss" ] && rss=$m
	done
}
ID=(--identity-cache "$tmp/ids" --plc http://127.0.0.1:9 --identity-ttl 3650d)
rows=()
row() { rows+=("$(printf '%-44s %8s %9s  %s' "$1" "$2" "$3" "$4")"); }

best "$tools/atfh-grep" "$slice"; plain=$secs
row "atfh-grep (no selector)" "$plain" "$rss" "every frame"
best "$tools/atfh-grep" --pds '*.example.com' "${ID[@]}" /dev/null; load=$secs
row "atfh-grep --pds, empty input" "$load" "$rss" "reading the cache file (a fixed cost per run)"
for v in "--pds *.example.com|every account" "--pds pds[0-4].example.com|half" \
	 "--ignore-pds pds[0-4].example.com|half"; do
	opt=${v%%|*} what=${v#*|}
	best "$tools/atfh-grep" ${opt%% *} "${opt#* }" "${ID[@]}" "$slice"
	s=$secs
	req=$(cp "$ids" "$tmp/ids" && "$tools/atfh-grep" ${opt%% *} "${opt#* }" "${ID[@]}" --metrics "$tmp/m" \
		-o /dev/null "$slice" 2>/dev/null; sed -n 's/^atfh_grep_identity_requests_total //p' "$tmp/m")
	pct=$(awk -v a="$s" -v b="$plain" 'BEGIN{printf "%.1f", (a-b)/b*100}')
	stream=$(awk -v a="$s" -v b="$plain" -v l="$load" 'BEGIN{printf "%.1f", (a-l-b)/b*100}')
	note=$(awk -v p="$pct" 'BEGIN{print (p < 10) ? "target met (< 10 %)" : "target missed (>= 10 %)"}')
	row "atfh-grep $opt" "$s" "$rss" "$what; +$pct % over plain ($stream % without the cache load), $req requests; $note"
	echo "BENCH name=atfh-grep-pds-warm@100k case=\"$opt\" pct_over_plain=$pct pct_without_load=$stream requests=$req"
done

echo
echo "identity cache: $naccounts accounts ($(stat -c %s "$ids") bytes)"
printf '%-44s %8s %9s\n' program seconds "rss(KB)"
printf '%s\n' "${rows[@]}"
