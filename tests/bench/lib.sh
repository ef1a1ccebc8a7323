# tests/bench/lib.sh -- sourced by every bench script (after it has made
# sure bash runs it): the C locale, and where things are.
#
#   bench_setup PROG   sets here (this directory), top_srcdir, top_builddir
#                      (the current directory when tools/PROG is built there,
#                      else the source tree), tools, and cache (BENCH_CACHE,
#                      else tests/bench/cache of the build tree)
set -u
export LC_ALL=C

bench_setup() {
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
	if [ -z "${top_builddir:-}" ]; then
		if [ -x "$PWD/tools/$1" ]; then top_builddir=$PWD; else top_builddir=$top_srcdir; fi
	fi
	tools=$top_builddir/tools
	cache=${BENCH_CACHE:-$top_builddir/tests/bench/cache}
}

# bench_time -f FMT -o FILE CMD...: /usr/bin/time, but with %e (wall
# seconds) to the tenth of a millisecond, not the hundredth of a second:
# at the 0.1 s many rows take, /usr/bin/time's own %e would be a ratio's
# whole margin.  The wall time is read around /usr/bin/time (its fork and
# exec included, about a millisecond, alike for every row).
bench_time() {
	local fmt=$2 file=$4 t0 t1 rc w
	shift 4
	t0=$EPOCHREALTIME
	/usr/bin/time -f "${fmt//%e/@WALL@}" -o "$file" "$@"
	rc=$?
	t1=$EPOCHREALTIME
	w=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
	sed -i "s/@WALL@/$w/" "$file"
	return $rc
}
