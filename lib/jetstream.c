/*
 * jetstream.c — see jetstream.h.
 */
#include "jetstream.h"
#include "jsonscan.h"
#include "didset.h"
#include "event.h"

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
	static const char *const kind_names[] = { "commit", "identity", "account", "sync" };
	for (unsigned k = 0; v2 && k < 4; k++) {
		if (!(f->kinds & (1u << k)))
			continue;
		puts_(&b, b.len ? "&kinds=" : "kinds=");
		puts_(&b, kind_names[k]);
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

unsigned atfh_js_kind(const char *s)
{
	return strcmp(s, "commit") == 0     ? ATFH_JS_KIND_COMMIT
	       : strcmp(s, "identity") == 0 ? ATFH_JS_KIND_IDENTITY
	       : strcmp(s, "account") == 0  ? ATFH_JS_KIND_ACCOUNT
	       : strcmp(s, "sync") == 0     ? ATFH_JS_KIND_SYNC
					    : 0;
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

bool atfh_js_url_has(const char *url, const char *name)
{
	size_t k = strlen(name);
	const char *q = strchr(url, '?');
	while (q) {
		q++;
		size_t n = strcspn(q, "&#");
		if (n > k && strncmp(q, name, k) == 0 && q[k] == '=')
			return true;
		q = q[n] == '&' ? q + n : NULL;
	}
	return false;
}

/* ---- v2 frames --------------------------------------------------------------- */

static void vput(struct atfh_js_v2 *v, const char *p, size_t n)
{
	atfh_grow_array((void **)&v->line, &v->cap, v->len + n + 1, 1);
	memcpy(v->line + v->len, p, n);
	v->len += n;
	v->line[v->len] = '\0';
}

static void vputs(struct atfh_js_v2 *v, const char *s)
{
	vput(v, s, strlen(s));
}

static bool key_is(const struct atfh_jfield *f, const char *k)
{
	size_t n = strlen(k);
	return f->key.n == n && memcmp(f->key.p, k, n) == 0;
}

#define V2_PREFIX "network.bsky.jetstream.subscribeEvents#"

int atfh_js_v2_frame(const char *p, size_t n, struct atfh_js_v2 *out, const char **err)
{
	struct atfh_jobj o, pl;
	out->len = 0;
	out->name[0] = out->message[0] = '\0';
	if (atfh_jobj_parse(&o, p, n, err))
		return -1;
	const struct atfh_jval *t = atfh_jobj_get(&o, "$type");
	if (!t || t->type != ATFH_J_STR) {
		*err = "a frame without a $type";
		return -1;
	}
	if (t->n == 5 && memcmp(t->p, "error", 5) == 0) {
		const struct atfh_jval *e = atfh_jobj_get(&o, "error");
		const struct atfh_jval *m = atfh_jobj_get(&o, "message");
		if (!e || e->type != ATFH_J_STR || e->n == 0 || (m && m->type != ATFH_J_STR)) {
			*err = "an error frame without an error name";
			return -1;
		}
		out->type = ATFH_JS_ERROR;
		copy_str(e, out->name, sizeof out->name);
		if (m)
			copy_str(m, out->message, sizeof out->message);
		return 0;
	}
	if (!(t->n == 7 && memcmp(t->p, "message", 7) == 0)) {
		*err = "a frame whose $type is neither message nor error";
		return -1;
	}
	const struct atfh_jval *pv = atfh_jobj_get(&o, "payload");
	if (!pv || pv->type != ATFH_J_OBJ || atfh_jobj_parse(&pl, pv->p, pv->n, err)) {
		*err = "a message frame without a payload object";
		return -1;
	}
	t = atfh_jobj_get(&pl, "$type");
	size_t pn = sizeof V2_PREFIX - 1;
	if (!t || t->type != ATFH_J_STR || t->n <= pn || memcmp(t->p, V2_PREFIX, pn) != 0) {
		*err = "a message whose payload $type is not network.bsky.jetstream.subscribeEvents#...";
		return -1;
	}
	char kind[16];
	size_t kn = t->n - pn;
	if (kn >= sizeof kind) {
		*err = "a message of an unknown kind";
		return -1;
	}
	memcpy(kind, t->p + pn, kn);
	kind[kn] = '\0';
	if (strcmp(kind, "info") == 0) {
		const struct atfh_jval *nm = atfh_jobj_get(&pl, "name");
		const struct atfh_jval *m = atfh_jobj_get(&pl, "message");
		if (!nm || nm->type != ATFH_J_STR || (m && m->type != ATFH_J_STR)) {
			*err = "an #info message without a name";
			return -1;
		}
		out->type = ATFH_JS_INFO;
		copy_str(nm, out->name, sizeof out->name);
		if (m)
			copy_str(m, out->message, sizeof out->message);
		return 0;
	}
	unsigned bit = atfh_js_kind(kind);
	if (!bit) {
		*err = "a message of an unknown kind";
		return -1;
	}
	const struct atfh_jval *seq = atfh_jobj_get(&pl, "seq");
	const struct atfh_jval *did = atfh_jobj_get(&pl, "did");
	const struct atfh_jval *tm = atfh_jobj_get(&pl, "time");
	int64_t s, us;
	if (!seq || !atfh_jval_i64(seq, &s) || s < 0) {
		*err = "an event without a seq >= 0";
		return -1;
	}
	if (!did || did->type != ATFH_J_STR || did->n == 0) {
		*err = "an event without a did";
		return -1;
	}
	if (!tm || tm->type != ATFH_J_STR || atfh_parse_time_us(tm->p, tm->n, &us) || us < 0) {
		*err = "an event without an RFC 3339 time";
		return -1;
	}
	const struct atfh_jval *body = NULL;
	if (bit != ATFH_JS_KIND_COMMIT) {
		body = atfh_jobj_get(&pl, kind);
		if (!body || body->type != ATFH_J_OBJ) {
			*err = "an identity, account or sync event without its wrapped event";
			return -1;
		}
	}
	out->type = ATFH_JS_EVENT;
	char num[80];
	vputs(out, "{\"did\":\"");
	vput(out, did->p, did->n);
	snprintf(num, sizeof num, "\",\"time_us\":%lld,\"cursor\":%lld,\"kind\":\"", (long long)us,
		 (long long)s);
	vputs(out, num);
	vputs(out, kind);
	vputs(out, "\",\"");
	vputs(out, kind);
	vputs(out, "\":");
	if (body) {
		vput(out, body->p, body->n);
	} else {
		bool first = true;
		vputs(out, "{");
		for (size_t i = 0; i < pl.n; i++) {
			const struct atfh_jfield *fl = &pl.f[i];
			if (key_is(fl, "$type") || key_is(fl, "seq") || key_is(fl, "did") ||
			    key_is(fl, "time"))
				continue;
			vputs(out, first ? "\"" : ",\"");
			first = false;
			vput(out, fl->key.p, fl->key.n);
			vputs(out, "\":");
			if (fl->val.type == ATFH_J_STR) {
				vputs(out, "\"");
				vput(out, fl->val.p, fl->val.n);
				vputs(out, "\"");
			} else {
				vput(out, fl->val.p, fl->val.n);
			}
		}
		vputs(out, "}");
	}
	vputs(out, "}");
	return 0;
}

void atfh_js_v2_free(struct atfh_js_v2 *v)
{
	free(v->line);
	v->line = NULL;
	v->len = v->cap = 0;
}
