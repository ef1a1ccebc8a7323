/*
 * fuzz_template.c — atfh-split's file name templates: any template either
 * parses or is refused with a message; a parsed one renders without
 * overflowing; and no data, however hostile, makes a path leave the
 * template's directory: every field value is sanitized (no '/', no '..',
 * no control character, no leading '-' or '.', never empty), and a
 * rendered path has exactly as many '/' as the template renders with
 * harmless values.
 * Input: TEMPLATE NUL COLLECTION NUL DID NUL KIND NUL ACTION (missing
 * parts are empty; then the fixed templates below are rendered too).
 */
#include "fuzz.h"
#include "template.h"

#include <string.h>

static const char *const fixed[] = {
	"out/{collection}/{did}.ndjson",
	"posts/%Y-%m-%d/%H.{kind}-{action}.ndjson.zst",
	"{did}",
	"a/{did}{collection}/b",
};

static size_t slashes(const char *p)
{
	size_t n = 0;
	for (; *p; p++)
		n += *p == '/';
	return n;
}

static void check_field(const char *s, size_t n)
{
	if (n == 0 || s[0] == '-' || s[0] == '.' || strstr(s, "..") || memchr(s, '/', n) ||
	    n > ATFH_TEMPLATE_FIELD_MAX) {
		fprintf(stderr, "unsafe field '%s'\n", s);
		abort();
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			abort();
}

static void render(const struct atfh_template *t, const struct atfh_tvalues *v)
{
	static const struct atfh_tvalues harmless = {
		{ "c", 1, false }, { "d", 1, false }, { "k", 1, false }, { "a", 1, false },
	};
	char a[ATFH_TEMPLATE_PATH_MAX], b[ATFH_TEMPLATE_PATH_MAX];
	time_t when = 1732000000;
	int na = atfh_template_render(t, when, v, a, sizeof a);
	int nb = atfh_template_render(t, when, &harmless, b, sizeof b);
	if (na < 0 || nb < 0)
		return;
	if ((size_t)na != strlen(a))
		abort();
	if (slashes(a) != slashes(b)) {
		fprintf(stderr, "path '%s' escapes the template's shape '%s'\n", a, b);
		abort();
	}
	/* every path component that differs from the harmless rendering
	 * came from data: it must not be '..' */
	for (char *c = strtok(a, "/"); c; c = strtok(NULL, "/"))
		if (!strcmp(c, ".."))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 8192)
		return 0;
	char *buf = malloc(size + 1);
	memcpy(buf, data, size);
	buf[size] = '\0';
	const char *part[5] = { "", "", "", "", "" };
	size_t plen[5] = { 0 };
	size_t k = 0, start = 0;
	for (size_t i = 0; i <= size && k < 5; i++) {
		if (i == size || data[i] == '\0') {
			part[k] = buf + start;
			plen[k] = i - start;
			k++;
			start = i + 1;
		}
	}
	struct atfh_tvalues v = {
		{ part[1], plen[1], false }, { part[2], plen[2], false },
		{ part[3], plen[3], false }, { part[4], plen[4], false },
	};
	for (int i = 1; i < 5; i++) {
		char s[ATFH_TEMPLATE_FIELD_MAX + 1];
		size_t n = atfh_template_sanitize((struct atfh_str){ part[i], plen[i], false }, s);
		if (n != strlen(s))
			abort();
		check_field(s, n);
	}
	struct atfh_template t;
	char err[128] = "";
	if (atfh_template_parse(&t, part[0], err, sizeof err)) {
		if (!err[0])
			abort();
	} else {
		if (!t.dir || !t.glob)
			abort();
		render(&t, &v);
		atfh_template_free(&t);
	}
	if (k > 1) {
		for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
			if (atfh_template_parse(&t, fixed[i], err, sizeof err))
				abort();
			render(&t, &v);
			atfh_template_free(&t);
		}
	}
	free(buf);
	return 0;
}
