#!/bin/bash
# tests/bench/subscribe.sh -- the atfh-subscribe rows of `make bench`:
# ingest from a websocket server on 127.0.0.1 that sends a large capture as
# fast as the socket takes it (tests/subscribe/wsblast.c), and report
# frames/s, MB/s, CPU time per frame and peak RSS.  Run by tests/bench/run.sh
# (or alone):
#
#   tests/bench/subscribe.sh [CAPTURE]
#
# CAPTURE defaults to the cached bench-1m.atfh of run.sh (else bench-100k.atfh;
# else one is generated with gencapture, as run.sh does).  Rows:
#   atfh-subscribe        stdout to /dev/null
#   atfh-subscribe -o     -o FILE --cursor-file (durable output, fsync each
#                         cursor update), on the first 100k frames
# Prints a table and one machine-readable line per row:
#   BENCH name=... frames_per_s=... mb_per_s=... cpu_us_per_frame=... rss_kb=... target=...
# Environment: top_srcdir, top_builddir, CC, BENCH_CACHE, BENCH_RUNS (3),
# BENCH_SUBSCRIBE_TARGET (100000 frames/s), BENCH_TIMEOUT (600).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
bench_setup atfh-subscribe
sub=$tools/atfh-subscribe
RUNS=${BENCH_RUNS:-3}
TARGET=${BENCH_SUBSCRIBE_TARGET:-100000}
TIMEOUT=${BENCH_TIMEOUT:-600}

say() { printf '%s\n' "$*" >&2; }
die() { say "bench subscribe: $*"; exit 2; }
[ -x "$sub" ] || die "$sub is not built"
[ -x /usr/bin/time ] || die "/usr/bin/time is needed (Debian package time)"
mkdir -p "$cache" || die "cannot create $cache"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/atfh-bench-sub.XXXXXX") || die "mktemp failed"
srv_pid=
trap '[ -n "$srv_pid" ] && kill $srv_pid 2>/dev/null; rm -rf "$tmp"' EXIT

# the server
blast=$cache/wsblast
if [ ! -x "$blast" ] || [ "$top_srcdir/tests/subscribe/wsblast.c" -nt "$blast" ]; then
	${CC:-cc} -O2 -o "$blast.tmp" "$top_srcdir/tests/subscribe/wsblast.c" -lcrypto &&
		mv "$blast.tmp" "$blast" || die "cannot build wsblast"
fi

# the capture
cap=${1:-}
if [ -z "$cap" ]; then
	for c in "$cache/bench-1m.atfh" "$cache/bench-100k.atfh"; do
		[ -s "$c" ] && { cap=$c; break; }
	done
fi
if [ -z "$cap" ]; then
	gen=$cache/gencapture
	if [ ! -x "$gen" ]; then
		${CC:-cc} -O2 -std=c11 -o "$gen" "$top_srcdir/tests/bench/gencapture.c" -lcrypto -lm ||
			die "cannot build gencapture"
	fi
	cap=$cache/bench-100k.atfh
	say "bench subscribe: generating $cap"
	"$gen" --frames 100000 --seed 1 --dids 200000 --events-file "$cap.events" >"$cap.tmp" &&
		mv "$cap.tmp" "$cap" && echo "frames=100000 seed=1 dids=200000" >"$cap.params" ||
		die "gencapture failed"
fi
[ -s "$cap" ] || die "$cap: no such capture"
frames_of() { # CAPTURE -> number of frames (from run.sh's .params, else counted)
	local n
	n=$(sed -n 's/.*frames=\([0-9]*\).*/\1/p' "$1.params" 2>/dev/null)
	[ -n "$n" ] || n=$("$sub" --replay "$1" --speed 0 --stats -o /dev/null 2>&1 |
		sed -n 's/^atfh-subscribe: \([0-9]*\) messages.*/\1/p')
	echo "$n"
}
nframes=$(frames_of "$cap")
bytes=$(stat -c %s "$cap")
slice=$tmp/slice.atfh
"$sub" --replay "$cap" --speed 0 -n 100000 -o "$slice" 2>/dev/null
nslice=100000
[ "$nframes" -lt "$nslice" ] && nslice=$nframes
slice_bytes=$(stat -c %s "$slice")

# one run: CAPTURE N ARGS... -> r_secs r_cpu r_rss (or r_err)
run_once() {
	local capf=$1 n=$2 line port
	shift 2
	r_err=
	exec {fd}< <(exec "$blast" "$capf")
	srv_pid=$!
	if ! IFS= read -r -t 20 -u "$fd" line || [ "${line%% *}" != ready ]; then
		r_err="wsblast did not start"
		return 1
	fi
	port=${line#ready }
	local t0 t1
	t0=$EPOCHREALTIME
	timeout "$TIMEOUT" /usr/bin/time -f '%U %S %M' -o "$tmp/time" \
		"$sub" --relay "ws://127.0.0.1:$port" -n "$n" "$@" >/dev/null 2>"$tmp/err"
	local rc=$?
	t1=$EPOCHREALTIME
	kill "$srv_pid" 2>/dev/null
	wait "$srv_pid" 2>/dev/null
	srv_pid=
	exec {fd}<&-
	if [ $rc -ne 0 ]; then
		r_err="exit $rc: $(grep -v 'seq gap\|more seq gaps' "$tmp/err" | head -1)"
		return 1
	fi
	read -r u s m <"$tmp/time"
	r_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
	r_cpu=$(awk -v u="$u" -v s="$s" 'BEGIN{printf "%.3f", u+s}')
	r_rss=$m
}

declare -a L N S C R E
row() { # LABEL CAPTURE N ARGS...
	local label=$1 capf=$2 n=$3 best= bcpu= brss=0 i
	shift 3
	say "bench subscribe: $label, $n frames (${RUNS}x)"
	for ((i = 0; i < RUNS; i++)); do
		rm -f "$tmp/out.atfh" "$tmp/cur"
		if ! run_once "$capf" "$n" "$@"; then
			L+=("$label") N+=("$n") S+=(-) C+=(-) R+=(-) E+=("FAILED ($r_err)")
			return
		fi
		if [ -z "$best" ] || awk -v a="$r_secs" -v b="$best" 'BEGIN{exit !(a<b)}'; then
			best=$r_secs bcpu=$r_cpu
		fi
		[ "$r_rss" -gt "$brss" ] && brss=$r_rss
	done
	L+=("$label") N+=("$n") S+=("$best") C+=("$bcpu") R+=("$brss") E+=("")
}

row "atfh-subscribe" "$cap" "$nframes"
row "atfh-subscribe -o --cursor-file" "$slice" "$nslice" -o "$tmp/out.atfh" --cursor-file "$tmp/cur"

echo
echo "atfh-subscribe bench: ingest over a loopback websocket from wsblast, $(basename "$cap") ($nframes frames, $bytes bytes); best of $RUNS; $(nproc) CPUs"
fmt='%-34s %8s %8s %11s %8s %12s %9s  %s\n'
printf "$fmt" program frames seconds frames/s MB/s "cpu us/frame" "rss(KB)" ""
for i in "${!L[@]}"; do
	fps=- mbs=- cpf=- note=${E[i]} tgt=-
	if [ -z "$note" ]; then
		b=$bytes
		[ "${N[i]}" = "$nslice" ] && [ "${L[i]}" != atfh-subscribe ] && b=$slice_bytes
		fps=$(awk -v n="${N[i]}" -v s="${S[i]}" 'BEGIN{printf "%.0f", n/s}')
		mbs=$(awk -v b="$b" -v s="${S[i]}" 'BEGIN{printf "%.1f", b/s/1e6}')
		cpf=$(awk -v c="${C[i]}" -v n="${N[i]}" 'BEGIN{printf "%.2f", c/n*1e6}')
		if [ "$i" -eq 0 ]; then
			if [ "$fps" -ge "$TARGET" ]; then tgt=met note="target met (>= $TARGET frames/s)"
			else tgt=missed note="target missed (< $TARGET frames/s)"; fi
		fi
	fi
	printf "$fmt" "${L[i]}" "${N[i]}" "${S[i]}" "$fps" "$mbs" "$cpf" "${R[i]}" "$note"
	name=$(printf '%s' "${L[i]}" | sed 's/[^A-Za-z0-9.]\{1,\}/-/g; s/^-//; s/-$//')
	BL+=("BENCH name=$name frames_per_s=$fps mb_per_s=$mbs cpu_us_per_frame=$cpf rss_kb=${R[i]} target=$tgt")
done
echo "rss: curl_ws_recv refills its queue until a socket read comes up short; for a"
echo "server on this host lib/ws.c keeps the socket's receive buffer small so that"
echo "happens at once and memory stays flat (see the comment above open_socket)."
echo
printf '%s\n' "${BL[@]}"
status=0
for e in "${E[@]}"; do [[ $e == FAILED* ]] && status=1; done
exit $status
