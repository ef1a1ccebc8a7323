# tests/subscribe/lib.sh — helpers of the atfh-subscribe tests (sourced
# after tests/lib/tap.sh): servers started with a readiness line, processes
# that are always stopped, bounded waits, frame files.
SUB="$top_srcdir/tests/subscribe"
NODE_WS="$top_srcdir/tests/interop/node_modules/ws"

_pids=()
_cleanup() {
	local p
	for p in "${_pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${_pids[@]}"; do
		# bounded: a process that ignores SIGTERM gets SIGKILL after 5 s
		for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap _cleanup EXIT
trap 'exit 1' HUP INT TERM

# track PID: stopped (TERM, then KILL) when the test ends
track() { _pids+=("$1"); }

# start_server NAME CMD... — runs CMD with its stdin on a pipe this shell
# holds open (so it exits when the test does, however that ends) and waits
# (60 s at most) for its first stdout line "ready ...".  Sets READY to the
# rest of that line and NAME_PID; the server's later stdout lines can be
# read from fd NAME_OUT.  Returns 1 if it never got ready.
start_server() {
	local name=$1 in out line ifd ofd
	shift
	in=$T/$name.stdin
	out=$T/$name.stdout
	rm -f "$in" "$out"
	mkfifo "$in" "$out"
	exec {ifd}<>"$in"
	exec {ofd}<>"$out"
	"$@" <"$in" >"$out" 2>"$T/$name.stderr" &
	local pid=$!
	track "$pid"
	printf -v "${name}_PID" '%s' "$pid"
	printf -v "${name}_OUT" '%s' "$ofd"
	READY=
	if IFS= read -r -t 60 -u "$ofd" line && [ "${line%% *}" = ready ]; then
		READY=${line#ready }
		return 0
	fi
	diag "$name did not start: $(tail -5 "$T/$name.stderr")"
	return 1
}

# stop PID — SIGTERM and wait (5 s at most, then SIGKILL)
stop() {
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# wait_for SECONDS CMD... — until CMD succeeds (polled every 50 ms); 1 on timeout
wait_for() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 20; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# seqs FILE — the seq of every frame, one a line ("-" for none)
seqs() {
	python3 - "$1" <<'PY'
import signal, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
sys.path.insert(0, __import__('os').environ['top_srcdir'] + '/tests/lib')
import atfhframes as A
for m in A.parse_frames(open(sys.argv[1], 'rb').read()):
    h, b = A.parse_message(m, strict=False)
    print(b.get('seq', '-') if isinstance(b, dict) else '-')
PY
}

# frames_with_seq CAPTURE OUT — the frames of CAPTURE that have a seq
frames_with_seq() {
	python3 - "$1" "$2" <<'PY'
import sys
sys.path.insert(0, __import__('os').environ['top_srcdir'] + '/tests/lib')
import atfhframes as A
out = [m for m in A.parse_frames(open(sys.argv[1], 'rb').read())
       if isinstance(A.parse_message(m, strict=False)[1], dict)
       and 'seq' in A.parse_message(m, strict=False)[1]]
open(sys.argv[2], 'wb').write(A.frames(out))
PY
}
