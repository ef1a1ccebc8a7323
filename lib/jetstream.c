/*
 * jetstream.c — see jetstream.h.
 */
#include "jetstream.h"
#include "jsonscan.h"
#include "didset.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

/* ---- filter values --------------------------------------------------------- */

static bool alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool alnum(char c)
{
	return alpha(c) || (c >= '0' && c <= '9');
}

/* A domain segment: 1..63 letters, digits and hyphens, no hyphen at
 * either end; FIRST: it must start with a letter. */
static bool domain_segment(const char *s, size_t n, bool first)
{
	if (n < 1 || n > 63 || !alnum(s[0]) || !alnum(s[n - 1]) || (first && !alpha(s[0])))
		return false;
	for (size_t i = 1; i + 1 < n; i++)
		if (!alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* The segments of S (N bytes) split on '.': COUNT of them, all domain
 * segments but the last when NAME (letter then letters and digits). */
static bool segments(const char *s, size_t n, size_t *count, bool name)
{
	size_t k = 0, i = 0;
	while (i <= n) {
		size_t j = i;
		while (j < n && s[j] != '.')
			j++;
		bool last = j == n;
		if (last && name) {
			size_t m = j - i;
			if (m < 1 || m > 63 || !alpha(s[i]))
				return false;
			for (size_t q = i; q < j; q++)
				if (!alnum(s[q]))
					return false;
		} else if (!domain_segment(s + i, j - i, k == 0)) {
			return false;
		}
		k++;
		i = j + 1;
	}
	*count = k;
	return true;
}

bool atfh_js_nsid_valid(const char *s, size_t n)
{
	size_t k;
	return n >= 1 && n <= 317 && segments(s, n, &k, true) && k >= 3;
}

bool atfh_js_collection_valid(const char *s, size_t n)
{
	if (n >= 2 && s[n - 2] == '.' && s[n - 1] == '*') {
		size_t k;
		return n - 2 >= 1 && n <= 317 && segments(s, n - 2, &k, false);
	}
	return atfh_js_nsid_valid(s, n);
}

/* ---- the filter -------------------------------------------------------------- */

struct keyed {
	uint64_t h;
	size_t i;
};

static int by_hash(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* L := V without repeats, first occurrences in order. */
static void unique(struct atfh_strv *l, char *const *v, size_t n)
{
	atfh_strv_free(l);
	memset(l, 0, sizeof *l);
	if (!n)
		return;
	struct keyed *k = atfh_xmalloc(n * sizeof *k);
	bool *dup = atfh_xmalloc(n);
	for (size_t i = 0; i < n; i++) {
		k[i].h = XXH3_64bits(v[i], strlen(v[i]));
		k[i].i = i;
		dup[i] = false;
	}
	qsort(k, n, sizeof *k, by_hash);
	for (size_t a = 0; a < n;) {
		size_t b = a + 1;
		while (b < n && k[b].h == k[a].h)
			b++;
		for (size_t x = a; x < b; x++)
			for (size_t y = a; y < x && !dup[k[x].i]; y++)
				if (!dup[k[y].i] && strcmp(v[k[x].i], v[k[y].i]) == 0)
					dup[k[x].i] = true;
		a = b;
	}
	for (size_t i = 0; i < n; i++)
		if (!dup[i])
			atfh_strv_push(l, v[i], strlen(v[i]));
	free(k);
	free(dup);
}

void atfh_js_filter_set(struct atfh_js_filter *f, char *const *cols, size_t ncol,
			char *const *dids, size_t ndid)
{
	unique(&f->collections, cols, ncol);
	unique(&f->dids, dids, ndid);
}

const char *atfh_js_filter_too_big(const struct atfh_js_filter *f, char *buf, size_t n)
{
	if (f->collections.n > ATFH_JS_MAX_COLLECTIONS) {
		snprintf(buf, n, "Jetstream takes at most %d collections (%zu given, repeats "
			 "not counted)", ATFH_JS_MAX_COLLECTIONS, f->collections.n);
		return buf;
	}
	if (f->dids.n > ATFH_JS_MAX_DIDS) {
		snprintf(buf, n, "Jetstream takes at most %d DIDs (%zu given, repeats not "
			 "counted)", ATFH_JS_MAX_DIDS, f->dids.n);
		return buf;
	}
	return NULL;
}

struct sbuf {
	char *s;
	size_t len, cap;
};

static void put(struct sbuf *b, const char *p, size_t n)
{
	atfh_grow_array((void **)&b->s, &b->cap, b->len + n + 1, 1);
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void puts_(struct sbuf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* RFC 3986 unreserved characters pass, everything else is %XX. */
static void put_escaped(struct sbuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (alnum((char)c) || c == '-' || c == '.' || c == '_' || c == '~') {
			put(b, (const char *)&c, 1);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			put(b, e, 3);
		}
	}
}

char *atfh_js_filter_query(const struct atfh_js_filter *f, bool v2)
{
	struct sbuf b = { 0 };
	puts_(&b, "");
	const char *cn = v2 ? "collections=" : "wantedCollections=";
	const char *dn = v2 ? "dids=" : "wantedDids=";
	for (size_t i = 0; i < f->collections.n; i++) {
		puts_(&b, b.len ? "&" : "");
		puts_(&b, cn);
		put_escaped(&b, f->collections.v[i]);
	}
	for (size_t i = 0; i < f->dids.n; i++) {
		puts_(&b, b.len ? "&" : "");
		puts_(&b, dn);
		put_escaped(&b, f->dids.v[i]);
	}
	if (f->max_message_size) {
		char num[48];
		snprintf(num, sizeof num, "%smaxMessageSizeBytes=%llu", b.len ? "&" : "",
			 (unsigned long long)f->max_message_size);
		puts_(&b, num);
	}
	return b.s;
}

char *atfh_js_filter_update(const struct atfh_js_filter *f)
{
	/* NSIDs and DIDs as checked hold nothing a JSON string escapes */
	struct sbuf b = { 0 };
	puts_(&b, "{\"type\":\"options_update\",\"payload\":{\"wantedCollections\":[");
	for (size_t i = 0; i < f->collections.n; i++) {
		puts_(&b, i ? ",\"" : "\"");
		puts_(&b, f->collections.v[i]);
		puts_(&b, "\"");
	}
	puts_(&b, "],\"wantedDids\":[");
	for (size_t i = 0; i < f->dids.n; i++) {
		puts_(&b, i ? ",\"" : "\"");
		puts_(&b, f->dids.v[i]);
		puts_(&b, "\"");
	}
	char num[64];
	snprintf(num, sizeof num, "],\"maxMessageSizeBytes\":%llu}}",
		 (unsigned long long)f->max_message_size);
	puts_(&b, num);
	return b.s;
}

void atfh_js_filter_free(struct atfh_js_filter *f)
{
	atfh_strv_free(&f->collections);
	atfh_strv_free(&f->dids);
	memset(f, 0, sizeof *f);
}

/* ---- positions --------------------------------------------------------------- */

uint64_t atfh_js_identity(const char *p, size_t n)
{
	XXH3_state_t st;
	XXH3_64bits_reset(&st);
	bool in_str = false;
	size_t run = 0; /* start of the bytes not yet hashed */
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			XXH3_64bits_update(&st, p + run, i - run);
			run = i + 1;
		}
	}
	if (run < n)
		XXH3_64bits_update(&st, p + run, n - run);
	return XXH3_64bits_digest(&st);
}

int atfh_js_line_pos(const char *p, size_t n, struct atfh_js_pos *pos, const char **err)
{
	struct atfh_jobj o;
	if (atfh_jobj_parse(&o, p, n, err))
		return -1;
	const struct atfh_jval *v = atfh_jobj_get(&o, "time_us");
	if (!v || !atfh_jval_i64(v, &pos->time_us)) {
		*err = "a Jetstream event without time_us";
		return -1;
	}
	v = atfh_jobj_get(&o, "cursor");
	pos->has_cursor = v != NULL;
	if (v && (!atfh_jval_i64(v, &pos->cursor) || pos->cursor < 0)) {
		*err = "its cursor is not an integer >= 0";
		return -1;
	}
	pos->id = atfh_js_identity(p, n);
	return 0;
}

/* ---- XRPC errors ------------------------------------------------------------- */

/* The JSON string span V (escaped) into BUF: simple escapes undone, \u
 * escapes and control characters as '?'. */
static void copy_str(const struct atfh_jval *v, char *buf, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < v->n && k + 1 < n; i++) {
		unsigned char c = (unsigned char)v->p[i];
		if (c == '\\' && i + 1 < v->n) {
			c = (unsigned char)v->p[++i];
			if (c == 'u') {
				i += 4 < v->n - i ? 4 : v->n - i - 1;
				c = '?';
			} else if (c != '"' && c != '\\' && c != '/') {
				c = '?';
			}
		}
		buf[k++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	buf[k] = '\0';
}

bool atfh_js_xrpc_error(const char *p, size_t n, char *name, size_t namen, char *msg,
			size_t msgn)
{
	struct atfh_jobj o;
	const char *err;
	if (!namen || !msgn || atfh_jobj_parse(&o, p, n, &err))
		return false;
	const struct atfh_jval *e = atfh_jobj_get(&o, "error");
	const struct atfh_jval *m = atfh_jobj_get(&o, "message");
	if (!e || e->type != ATFH_J_STR || e->n == 0 || (m && m->type != ATFH_J_STR))
		return false;
	copy_str(e, name, namen);
	msg[0] = '\0';
	if (m)
		copy_str(m, msg, msgn);
	return true;
}

bool atfh_js_last_number(const char *s, int64_t *v)
{
	const char *end = NULL;
	for (const char *q = s; *q; q++)
		if (*q >= '0' && *q <= '9')
			end = q;
	if (!end)
		return false;
	const char *b = end;
	while (b > s && b[-1] >= '0' && b[-1] <= '9')
		b--;
	int64_t x = 0;
	for (const char *q = b; q <= end; q++) {
		if (x > (INT64_MAX - (*q - '0')) / 10)
			return false;
		x = x * 10 + (*q - '0');
	}
	*v = x;
	return true;
}

bool atfh_js_v1_compress(const char *url)
{
	const char *q = strchr(url, '?');
	while (q) {
		q++;
		size_t n = strcspn(q, "&#");
		if (n >= 9 && strncmp(q, "compress=", 9) == 0 &&
		    !(n == 14 && strncmp(q + 9, "false", 5) == 0) && !(n == 10 && q[9] == '0'))
			return true;
		q = q[n] == '&' ? q + n : NULL;
	}
	return false;
}
