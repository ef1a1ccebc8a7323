/*
 * fuzz_glob.c — collection globs: any pattern either compiles or is
 * refused with a message, and a compiled pattern matches exactly the
 * names fnmatch(3) (flags 0, C locale) matches, the oracle it documents.
 * Input: PATTERN NUL NAME NUL NAME ...; without a NUL the whole input is
 * the pattern, matched against itself.
 */
#include "fuzz.h"
#include "glob.h"

#include <fnmatch.h>
#include <string.h>

static void check(const struct atfh_glob *g, const char *pat, const char *name, size_t n)
{
	bool ours = atfh_glob_match(g, name, n);
	bool ref = fnmatch(pat, name, 0) == 0;
	if (ours != ref) {
		fprintf(stderr, "glob '%s' vs '%s': atfh %d, fnmatch %d\n", pat, name, ours, ref);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1024)
		return 0; /* NSIDs are short; matching is O(pattern * name) */
	char *buf = malloc(size + 1);
	memcpy(buf, data, size);
	buf[size] = '\0';
	const char *pat = buf;
	size_t plen = strlen(pat);
	char err[128] = "";
	struct atfh_glob g;
	if (atfh_glob_compile(&g, pat, err, sizeof err)) {
		if (!err[0] || !memchr(err, '\0', sizeof err))
			abort(); /* refused without saying why */
		free(buf);
		return 0;
	}
	if (plen == size) {
		check(&g, pat, pat, plen);
	} else {
		const char *p = buf + plen + 1, *end = buf + size;
		while (p <= end) {
			size_t n = strlen(p);
			check(&g, pat, p, n);
			p += n + 1;
		}
	}
	/* the empty name, and the pattern's own text */
	check(&g, pat, "", 0);
	check(&g, pat, pat, plen);
	atfh_glob_free(&g);
	free(buf);
	return 0;
}
