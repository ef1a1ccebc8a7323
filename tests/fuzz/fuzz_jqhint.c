/*
 * fuzz_jqhint.c — the jq pre-check of atfh-grep -e never leaves out an
 * event jq would select.  Input: EXPR NUL LINE.  Whenever the hint read
 * off EXPR says LINE cannot match, libjq itself must find that the first
 * output of EXPR on LINE is false, null, absent or an error.
 */
#include "fuzz.h"
#include "jqexpr.h"
#include "jqhint.h"

static struct atfh_jqexpr x;
static char *last;

/* Free the kept program (at exit too: libjq's state is not all visible to
 * the leak checker as reachable). */
static void forget(void)
{
	if (last)
		atfh_jqexpr_free(&x);
	free(last);
	last = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	if (!nul || size > 8192)
		return 0;
	const char *src = (const char *)data;
	const char *line = (const char *)nul + 1;
	size_t n = size - (size_t)(nul - data) - 1;
	struct atfh_jqhint h;
	atfh_jqhint_init(&h, src);
	if (!h.active || atfh_jqhint_line_may_match(&h, line, n)) {
		atfh_jqhint_free(&h);
		return 0;
	}
	/* atfh-grep hands jq only lines its own scanner accepted */
	const char *e;
	if (atfh_json_check(line, n, &e))
		goto out;
	/* compiling is the slow part: keep the last program */
	if (!last || strcmp(last, src) != 0) {
		char err[256];
		static bool registered;
		if (!registered)
			registered = atexit(forget) == 0;
		forget();
		if (atfh_jqexpr_compile(&x, src, err, sizeof err))
			goto out;
		last = strdup(src);
	}
	if (atfh_jqexpr_test(&x, line, n, &e) == 1) {
		fprintf(stderr, "hint left out a line jq selects: %s | %.*s\n", src, (int)n, line);
		abort();
	}
out:
	atfh_jqhint_free(&h);
	return 0;
}
