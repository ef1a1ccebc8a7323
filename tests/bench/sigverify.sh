#!/bin/bash
# tests/bench/sigverify.sh -- commit signature verification (lib/sigverify)
# with keys parsed once, the hot path of --verify-sig with a warm cache.
#
#   tests/bench/sigverify.sh
#
# Rows (each BENCH_SIG_SECONDS, default 3, best of BENCH_RUNS, default 3):
#   k256 / p256   the commits of tests/data/sigcases.txt that verify (signed
#                 by @atproto/crypto keypairs), by key type
#   pds           every commit of a fresh dev-env scenario capture, keys from
#                 its PLC directory (needs the npm stack; cached in
#                 BENCH_CACHE as sig-pds.atfh and sig-pds.keys)
# The rate is verifications per CPU second of the process (one core's
# throughput, steady on a busy machine); wall-clock rates are in the
# detail.  Target: BENCH_SIG_TARGET (20000) per core.  Prints the command
# of each row and one line per row in the format of tests/bench/run.sh:
#
#   BENCH name=sigverify-… events_per_s=… mb_per_s=- ratio=- rss_kb=-
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
bench_setup atfh-decode
RUNS=${BENCH_RUNS:-3}
SECS=${BENCH_SIG_SECONDS:-3}
TARGET=${BENCH_SIG_TARGET:-20000}
sigcheck=$top_builddir/tests/sigcheck
cases=$top_srcdir/tests/data/sigcases.txt
if [ ! -x "$sigcheck" ]; then
	make -C "$top_builddir" -s tests/sigcheck >/dev/null 2>&1 ||
		{ echo "sigverify bench: tests/sigcheck not built (make tests/sigcheck), skipped"; exit 0; }
fi

declare -a NAME CMD RATE DETAIL
add() { NAME+=("$1"); CMD+=("$2"); }
add k256 "$sigcheck --bench-cases $cases k256 $SECS"
add p256 "$sigcheck --bench-cases $cases p256 $SECS"
iop=$top_srcdir/tests/interop
if [ -d "$iop/node_modules/@atproto/dev-env" ] && command -v node >/dev/null; then
	mkdir -p "$cache"
	cap=$cache/sig-pds.atfh keys=$cache/sig-pds.keys
	if [ ! -s "$cap" ] || [ ! -s "$keys" ]; then
		echo "sigverify bench: recording a dev-env scenario (size 3) with its keys" >&2
		node "$iop/run-scenario.js" --seed 11 --size 3 --capture "$cap.tmp" \
			--keys "$keys.tmp" 2>/dev/null && mv "$cap.tmp" "$cap" && mv "$keys.tmp" "$keys" ||
			{ rm -f "$cap.tmp" "$keys.tmp"; echo "sigverify bench: scenario failed, no pds row" >&2; }
	fi
	[ -s "$cap" ] && add pds "$sigcheck --bench $cap $keys $SECS"
else
	echo "sigverify bench: no npm stack, no pds row" >&2
fi

status=0
for i in "${!NAME[@]}"; do
	best=0 detail=
	for ((r = 0; r < RUNS; r++)); do
		# shellcheck disable=SC2086
		line=$(${CMD[i]}) || { status=1; detail="FAILED: $line"; break; }
		rate=${line%% *}
		if [ "$rate" -gt "$best" ]; then best=$rate detail=$line; fi
	done
	RATE[i]=$best DETAIL[i]=$detail
done

# OpenSSL's own P-256 verify rate on this machine now: the ceiling of the p256 row
ossl=
if command -v openssl >/dev/null; then
	ossl=$(openssl speed -seconds 1 ecdsap256 2>/dev/null | awk '/nistp256/ {print int($NF)}')
fi

echo "sigverify bench: commit signatures verified with parsed keys (lib/sigverify), per core; target >= $TARGET/s"
fmt='%-6s %12s  %s\n'
printf "$fmt" row "verifies/s" ""
for i in "${!NAME[@]}"; do
	if [ "${RATE[i]}" -ge "$TARGET" ]; then note="target met"; else note="target missed"; fi
	[ "${NAME[i]}" = p256 ] && [ -n "$ossl" ] && note="$note (openssl speed ecdsap256: $ossl verify/s)"
	printf "$fmt" "${NAME[i]}" "${RATE[i]}" "$note"
	printf '       %s\n       $ %s\n' "${DETAIL[i]}" "${CMD[i]}"
done
echo
for i in "${!NAME[@]}"; do
	echo "BENCH name=sigverify-${NAME[i]} events_per_s=${RATE[i]} mb_per_s=- ratio=- rss_kb=-"
done
exit $status
