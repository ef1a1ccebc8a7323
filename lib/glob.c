/*
 * glob.c — see glob.h.
 */
#include "glob.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

enum tok_type { T_LIT, T_ANY, T_STAR, T_SET };

struct atfh_glob_tok {
	uint8_t type;
	uint8_t c;          /* T_LIT */
	uint64_t set[4];    /* T_SET: bit per byte value, negation applied */
};

static void set_add(uint64_t *set, unsigned lo, unsigned hi)
{
	for (unsigned b = lo; b <= hi; b++)
		set[b >> 6] |= 1ull << (b & 63);
}

/* The POSIX classes, in the C locale (plain ASCII, as fnmatch sees them
 * there: atfh never calls setlocale). */
enum char_class { CC_ALNUM, CC_ALPHA, CC_BLANK, CC_CNTRL, CC_DIGIT, CC_GRAPH,
		  CC_LOWER, CC_PRINT, CC_PUNCT, CC_SPACE, CC_UPPER, CC_XDIGIT, CC_NONE };

static const char *const class_names[CC_NONE] = {
	"alnum", "alpha", "blank", "cntrl", "digit", "graph",
	"lower", "print", "punct", "space", "upper", "xdigit",
};

static enum char_class class_lookup(const char *name)
{
	for (int i = 0; i < CC_NONE; i++)
		if (!strcmp(name, class_names[i]))
			return (enum char_class)i;
	return CC_NONE;
}

static bool in_class(enum char_class cc, unsigned c)
{
	bool upper = c >= 'A' && c <= 'Z', lower = c >= 'a' && c <= 'z';
	bool digit = c >= '0' && c <= '9', alpha = upper || lower;
	bool graph = c >= 0x21 && c <= 0x7e;
	switch (cc) {
	case CC_ALNUM: return alpha || digit;
	case CC_ALPHA: return alpha;
	case CC_BLANK: return c == ' ' || c == '\t';
	case CC_CNTRL: return c < 0x20 || c == 0x7f;
	case CC_DIGIT: return digit;
	case CC_GRAPH: return graph;
	case CC_LOWER: return lower;
	case CC_PRINT: return graph || c == ' ';
	case CC_PUNCT: return graph && !alpha && !digit;
	case CC_SPACE: return c == ' ' || (c >= '\t' && c <= '\r');
	case CC_UPPER: return upper;
	case CC_XDIGIT: return digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
	case CC_NONE: break;
	}
	return false;
}

/* Parse the bracket expression after '[' at *PP into T.  0, or -1 with
 * a message. */
static int parse_set(const char **pp, struct atfh_glob_tok *t, char *err, size_t errlen)
{
	const char *p = *pp;
	bool negate = *p == '!' || *p == '^';
	if (negate)
		p++;
	bool first = true;
	for (;; first = false) {
		unsigned c = (unsigned char)*p;
		if (!c) {
			snprintf(err, errlen, "'[' without a closing ']'");
			return -1;
		}
		if (c == ']' && !first)
			break;
		if (c == '\\') {
			snprintf(err, errlen, "'\\' inside [...] is not supported");
			return -1;
		}
		if (c == '[' && (p[1] == '=' || p[1] == '.')) {
			snprintf(err, errlen, "collating elements [%c...%c] are not supported", p[1], p[1]);
			return -1;
		}
		if (c == '[' && p[1] == ':') {
			const char *e = strstr(p + 2, ":]");
			char name[16];
			size_t len = e ? (size_t)(e - p - 2) : 0;
			if (!e || len >= sizeof name) {
				snprintf(err, errlen, "bad character class in [...]");
				return -1;
			}
			memcpy(name, p + 2, len);
			name[len] = '\0';
			enum char_class cc = class_lookup(name);
			if (cc == CC_NONE) {
				snprintf(err, errlen, "unknown character class [:%s:]", name);
				return -1;
			}
			for (unsigned b = 0; b < 256; b++)
				if (in_class(cc, b))
					set_add(t->set, b, b);
			p = e + 2;
			if (*p == '-' && p[1] != ']') {
				snprintf(err, errlen, "a range cannot start at a character class");
				return -1;
			}
			continue;
		}
		p++;
		if (*p == '-' && p[1] && p[1] != ']') {
			unsigned hi = (unsigned char)p[1];
			if (hi == '[' || hi == '\\') {
				snprintf(err, errlen, "range ending in '%c' is not supported", (int)hi);
				return -1;
			}
			if (hi < c) {
				snprintf(err, errlen, "range %c-%c is reversed", (int)c, (int)hi);
				return -1;
			}
			set_add(t->set, c, hi);
			p += 2;
		} else {
			set_add(t->set, c, c);
		}
	}
	if (negate)
		for (int i = 0; i < 4; i++)
			t->set[i] = ~t->set[i];
	*pp = p + 1;
	return 0;
}

int atfh_glob_compile(struct atfh_glob *g, const char *pat, char *err, size_t errlen)
{
	memset(g, 0, sizeof *g);
	g->text = pat;
	size_t cap = strlen(pat) + 1;
	g->tok = atfh_xcalloc(cap, sizeof *g->tok);
	g->literal = true;
	for (const char *p = pat; *p;) {
		struct atfh_glob_tok *t = &g->tok[g->ntok];
		switch (*p) {
		case '*':
			p++;
			g->literal = false;
			g->has_star = true;
			if (g->ntok && g->tok[g->ntok - 1].type == T_STAR)
				continue; /* ** is * */
			t->type = T_STAR;
			break;
		case '?':
			p++;
			g->literal = false;
			t->type = T_ANY;
			break;
		case '[':
			p++;
			g->literal = false;
			t->type = T_SET;
			if (parse_set(&p, t, err, errlen)) {
				atfh_glob_free(g);
				return -1;
			}
			break;
		case '\\':
			if (!p[1]) {
				snprintf(err, errlen, "pattern ends in '\\'");
				atfh_glob_free(g);
				return -1;
			}
			t->type = T_LIT;
			t->c = (uint8_t)p[1];
			p += 2;
			break;
		default:
			t->type = T_LIT;
			t->c = (uint8_t)*p++;
		}
		g->ntok++;
	}
	return 0;
}

void atfh_glob_free(struct atfh_glob *g)
{
	free(g->tok);
	g->tok = NULL;
	g->ntok = 0;
}

static inline bool tok_matches(const struct atfh_glob_tok *t, uint8_t c)
{
	switch (t->type) {
	case T_LIT: return t->c == c;
	case T_ANY: return true;
	case T_SET: return t->set[c >> 6] >> (c & 63) & 1;
	}
	return false;
}

bool atfh_glob_match(const struct atfh_glob *g, const char *str, size_t n)
{
	const uint8_t *s = (const uint8_t *)str;
	const struct atfh_glob_tok *tok = g->tok;
	if (g->literal) {
		if (n != g->ntok)
			return false;
		for (size_t i = 0; i < n; i++)
			if (tok[i].c != s[i])
				return false;
		return true;
	}
	/* one backtrack point is enough: a later star subsumes an earlier one */
	size_t ti = 0, si = 0, star_t = SIZE_MAX, star_s = 0;
	while (si < n) {
		if (ti < g->ntok) {
			if (tok[ti].type == T_STAR) {
				star_t = ti++;
				star_s = si;
				continue;
			}
			if (tok_matches(&tok[ti], s[si])) {
				ti++;
				si++;
				continue;
			}
		}
		if (star_t == SIZE_MAX)
			return false;
		ti = star_t + 1;
		si = ++star_s;
	}
	while (ti < g->ntok && tok[ti].type == T_STAR)
		ti++;
	return ti == g->ntok;
}

int atfh_globs_add(struct atfh_globs *l, const char *pat, char *err, size_t errlen)
{
	struct atfh_glob g;
	if (atfh_glob_compile(&g, pat, err, errlen))
		return -1;
	l->v = atfh_xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	l->v[l->n++] = g;
	return 0;
}

void atfh_globs_free(struct atfh_globs *l)
{
	for (size_t i = 0; i < l->n; i++)
		atfh_glob_free(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

bool atfh_globs_any(const struct atfh_globs *l, const char *s, size_t n)
{
	for (size_t i = 0; i < l->n; i++)
		if (atfh_glob_match(&l->v[i], s, n))
			return true;
	return false;
}
