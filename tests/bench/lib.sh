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
