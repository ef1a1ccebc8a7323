/*
 * jqhint.c — see jqhint.h.  A deliberately small reading of jq's
 * grammar: whatever it is unsure of yields no hint, never a wrong one.
 */
#include "jqhint.h"
#include "util.h"

#include <stdlib.h>

static bool ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool ident_char(char c)
{
	return ident_start(c) || (c >= '0' && c <= '9');
}

static const char *ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* Is the keyword KW at P (and not the start of a longer name)? */
static bool keyword(const char *p, const char *kw)
{
	size_t n = strlen(kw);
	return strncmp(p, kw, n) == 0 && !ident_char(p[n]);
}

/* Does the rest of a program, after `FIRST and`, keep `and` the loosest
 * operator at its top level? */
static bool rest_binds_tighter(const char *p)
{
	static const char *const looser[] = { "or", "as", "def", "label", "import", "include" };
	int depth = 0;
	for (; *p; p++) {
		char c = *p;
		if (c == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p != '\\')
					continue;
				if (p[1] == '(' || !p[1])
					return false; /* interpolation: not followed */
				p++;
			}
			if (!*p)
				return false;
			continue;
		}
		if (c == '#')
			return false; /* a comment: not followed */
		if (c == '(' || c == '[' || c == '{') {
			depth++;
			continue;
		}
		if (c == ')' || c == ']' || c == '}') {
			if (--depth < 0)
				return false;
			continue;
		}
		if (depth)
			continue;
		if (c == '|' || c == ',' || (c == '/' && p[1] == '/'))
			return false;
		/* p[-1] exists: the rest starts after `and` */
		if (c == '=' && p[1] != '=' && !strchr("=!<>", p[-1]))
			return false; /* =, |=, += …: assignments */
		if (ident_start(c)) {
			bool field_or_var = p[-1] == '.' || p[-1] == '$';
			for (size_t i = 0; !field_or_var && i < sizeof looser / sizeof looser[0]; i++)
				if (keyword(p, looser[i]))
					return false;
			while (ident_char(p[1]))
				p++;
		}
	}
	return depth == 0;
}

void atfh_jqhint_init(struct atfh_jqhint *h, const char *src)
{
	memset(h, 0, sizeof *h);
	/* .ident(.ident)* */
	const char *p = ws(src);
	char path[256];
	size_t plen = 0;
	while (*p == '.' && ident_start(p[1])) {
		const char *s = ++p;
		while (ident_char(*p))
			p++;
		if (plen + (size_t)(p - s) + 2 > sizeof path)
			return;
		if (plen)
			path[plen++] = '.';
		memcpy(path + plen, s, (size_t)(p - s));
		plen += (size_t)(p - s);
	}
	if (!plen)
		return;
	path[plen] = '\0';
	/* == "string without escapes" */
	p = ws(p);
	if (p[0] != '=' || p[1] != '=')
		return;
	p = ws(p + 2);
	if (*p != '"')
		return;
	const char *s = ++p;
	while (*p && *p != '"' && *p != '\\' && *p != '/' && (unsigned char)*p >= 0x20)
		p++;
	if (*p != '"')
		return;
	size_t slen = (size_t)(p - s);
	/* then the end, or `and` and a rest that binds tighter */
	p = ws(p + 1);
	if (*p) {
		if (!keyword(p, "and") || !rest_binds_tighter(p + 3))
			return;
	}
	char err[128];
	if (atfh_evpath_parse(&h->path, path, err, sizeof err))
		return;
	h->quoted = atfh_xmalloc(slen + 3);
	h->quoted[0] = '"';
	memcpy(h->quoted + 1, s, slen);
	h->quoted[slen + 1] = '"';
	h->quoted[slen + 2] = '\0';
	h->want = h->quoted + 1;
	h->want_len = slen;
	h->active = true;
}

void atfh_jqhint_free(struct atfh_jqhint *h)
{
	if (h->active)
		atfh_evpath_free(&h->path);
	free(h->quoted);
	memset(h, 0, sizeof *h);
}

bool atfh_jqhint_line_may_match(const struct atfh_jqhint *h, const char *p, size_t n)
{
	if (!h->active)
		return true;
	/* The string can only be spelled "want" or with \u escapes (it has no
	 * quote, backslash, slash or control character): when neither is in
	 * the line, no value of it equals the string, however the line is
	 * laid out (duplicate keys, escaped keys, nesting). */
	return memmem(p, n, h->quoted, h->want_len + 2) || memmem(p, n, "\\u", 2);
}

bool atfh_jqhint_event_may_match(const struct atfh_jqhint *h, struct atfh_ev *e)
{
	/* only the fields read straight off the message: one value each */
	if (!h->active || atfh_evpath_depth(&h->path) != 0)
		return true;
	struct atfh_evval v;
	const char *err;
	if (atfh_evpath_eval(&h->path, e, &v, &err))
		return true; /* let jq have its say */
	if (v.type != ATFH_EV_STR)
		return false; /* in jq a string equals only a string */
	if (v.s.json)
		return true; /* not from a frame's fields after all */
	return v.s.n == h->want_len && memcmp(v.s.p, h->want, v.s.n) == 0;
}
