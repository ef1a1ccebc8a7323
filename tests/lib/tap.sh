# tap.sh — tiny TAP producer for atfh's shell tests (sourced).
# Every test gets a private scratch directory $T, removed on exit.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
PATH="$top_builddir/tools:$PATH"
export PATH LC_ALL=C.UTF-8
FIX="python3 $top_srcdir/tests/lib/mkfixture.py"
DATA="$top_srcdir/tests/data"
T=$(mktemp -d "${TMPDIR:-/tmp}/atfh-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
# make check-valgrind: every program runs under valgrind, each run's
# report in $ATFH_VALGRIND (a directory); the target fails on any report.
if [ -n "${ATFH_VALGRIND:-}" ]; then
	mkdir -p "$T/.vg"
	for _p in "$top_builddir"/tools/atfh-*; do
		[ -x "$_p" ] && [ -f "$_p" ] || continue
		printf '#!/bin/sh\nexec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --track-fds=no --log-file=%s/%s.%%p.log %s "$@"\n' \
			"$ATFH_VALGRIND" "$(basename "$_p")" "$_p" >"$T/.vg/$(basename "$_p")"
		chmod +x "$T/.vg/$(basename "$_p")"
	done
	PATH="$T/.vg:$PATH"
fi
_n=0
_failed=0

plan() { echo "1..$1"; }
diag() { printf '# %s\n' "$@"; }
pass() { _n=$((_n + 1)); echo "ok $_n - $1"; }
fail() {
	_n=$((_n + 1)); _failed=$((_failed + 1))
	echo "not ok $_n - $1"
	shift
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/#   /'; done
}
# ok DESCRIPTION COMMAND... : passes when COMMAND exits 0
ok() {
	local d=$1; shift
	if "$@" >"$T/.ok.out" 2>&1; then pass "$d"; else fail "$d" "command: $*" "$(head -c 2000 "$T/.ok.out")"; fi
}
# is DESCRIPTION GOT EXPECTED
is() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got:      $2" "expected: $3"; fi
}
# like DESCRIPTION GOT GREP-PATTERN
like() {
	if printf '%s' "$2" | grep -qE -- "$3"; then pass "$1"; else fail "$1" "got: $2" "expected to match: $3"; fi
}
# unlike DESCRIPTION GOT ERE : GOT does not match ERE
unlike() {
	if printf '%s' "$2" | grep -qE -- "$3"; then fail "$1" "got: $2" "expected not to match: $3"; else pass "$1"; fi
}
# same_json DESCRIPTION FILE-GOT FILE-EXPECTED : NDJSON equal line by line, key order aside
same_json() {
	if python3 - "$2" "$3" >"$T/.diff" 2>&1 <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1], encoding='utf-8') if l.strip()]
b = [json.loads(l) for l in open(sys.argv[2], encoding='utf-8') if l.strip()]
bad = 0
if len(a) != len(b):
    print(f"{len(a)} lines, expected {len(b)}"); bad = 1
for i, (x, y) in enumerate(zip(a, b)):
    if x != y:
        print(f"line {i+1}:\n got      {json.dumps(x)[:400]}\n expected {json.dumps(y)[:400]}")
        bad = 1
        break
sys.exit(bad)
PY
	then pass "$1"; else fail "$1" "$(head -c 3000 "$T/.diff")"; fi
}
# run CMD...: sets $out, $err, $rc
run() {
	"$@" >"$T/.out" 2>"$T/.err"
	rc=$?
	out=$(tr -d '\000' <"$T/.out") # binary output: compare text only
	err=$(cat "$T/.err")
}
done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}
# The npm reference stack (tests/interop/node_modules: the reference PDS and
# node ws) is installed by ./setup in a git checkout; a tarball build may not
# have it.  have_reference_stack [PACKAGE] is true when PACKAGE (default
# @atproto/dev-env) is there, and otherwise sets $no_stack to the reason.
# skip_without_reference_stack [PACKAGE] ends a whole test file when it is
# missing: skipped with that reason, or failed when ATFH_REQUIRE_INTEROP=1
# (CI sets it: from git, after ./setup, these tests must run).
have_reference_stack() {
	local pkg=${1:-@atproto/dev-env}
	[ -d "$top_srcdir/tests/interop/node_modules/$pkg" ] && return 0
	no_stack="the npm reference stack is not installed (no tests/interop/node_modules/$pkg): run ./setup, or: cd tests/interop && npm ci"
	return 1
}
# skip_stack DESCRIPTION: one skipped (or, under ATFH_REQUIRE_INTEROP=1,
# failed) assertion for a part of a test that needs the stack
skip_stack() {
	if [ "${ATFH_REQUIRE_INTEROP:-0}" = 1 ]; then
		fail "$1" "$no_stack" "ATFH_REQUIRE_INTEROP=1: the interop tests must run here"
	else
		pass "$1 # SKIP $no_stack"
	fi
}
skip_without_reference_stack() {
	have_reference_stack "$@" && return 0
	if [ "${ATFH_REQUIRE_INTEROP:-0}" = 1 ]; then
		skip_stack "reference stack installed"
		done_testing
		exit 1
	fi
	echo "1..0 # SKIP $no_stack"
	exit 0
}
