/*
 * evpath.c — see evpath.h.
 */
#include "evpath.h"
#include "cid.h"
#include "json.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

enum {
	CHEAP_NONE,
	CHEAP_DID,
	CHEAP_TIME,
	CHEAP_KIND,
	CHEAP_SEQ,
	CHEAP_REV,
	CHEAP_OPERATION,
	CHEAP_COLLECTION,
	CHEAP_RKEY,
	CHEAP_CID,
};

/* ---- path syntax -------------------------------------------------------- */

static int perr(char *err, size_t errlen, const char *src, size_t at, const char *what)
{
	snprintf(err, errlen, "bad path '%s' at character %zu: %s", src, at + 1, what);
	return -1;
}

static void add_seg(struct atfh_evpath *p, size_t *cap, char *key, size_t kn, long long idx)
{
	atfh_grow_array((void **)&p->seg, cap, p->nseg + 1, sizeof *p->seg);
	p->seg[p->nseg++] = (struct atfh_evseg){ key, kn, idx };
}

static bool seg_is(const struct atfh_evseg *s, const char *lit)
{
	return s->key && s->key_len == strlen(lit) && memcmp(s->key, lit, s->key_len) == 0;
}

int atfh_evpath_parse(struct atfh_evpath *p, const char *src, char *err, size_t errlen)
{
	size_t cap = 0, i = 0, n = strlen(src);
	memset(p, 0, sizeof *p);
	if (n && src[0] == '.' && n > 1 && src[1] != '.')
		i = 1; /* jq style: .commit.collection */
	if (i == n)
		return perr(err, errlen, src, i, "empty path");
	bool need_name = true; /* at the start or after a '.' */
	while (i < n) {
		char c = src[i];
		if (c == '[') {
			size_t j = i + 1;
			if (j < n && src[j] == '"') {
				/* ["key"]: a member name with any characters */
				struct atfh_out k = { .fd = -1 };
				j++;
				while (j < n && src[j] != '"') {
					if (src[j] == '\\' && j + 1 < n)
						j++;
					atfh_out_c(&k, src[j]);
					j++;
				}
				if (j + 1 >= n || src[j] != '"' || src[j + 1] != ']') {
					atfh_out_free(&k);
					goto fail_brk;
				}
				char *key = atfh_xmalloc(k.len + 1);
				if (k.len)
					memcpy(key, k.buf, k.len);
				key[k.len] = '\0';
				add_seg(p, &cap, key, k.len, 0);
				atfh_out_free(&k);
				i = j + 2;
			} else {
				bool neg = j < n && src[j] == '-';
				if (neg)
					j++;
				size_t d0 = j;
				long long v = 0;
				while (j < n && src[j] >= '0' && src[j] <= '9') {
					if (v > 100000000000LL) {
						atfh_evpath_free(p);
						return perr(err, errlen, src, j, "index too large");
					}
					v = v * 10 + (src[j] - '0');
					j++;
				}
				if (j == d0 || j >= n || src[j] != ']')
					goto fail_brk;
				if (neg && v == 0) {
					atfh_evpath_free(p);
					return perr(err, errlen, src, d0, "index -0");
				}
				add_seg(p, &cap, NULL, 0, neg ? -v : v);
				i = j + 1;
			}
			need_name = false;
			continue;
		}
		if (c == '.') {
			if (need_name) {
				atfh_evpath_free(p);
				return perr(err, errlen, src, i, "empty name");
			}
			need_name = true;
			i++;
			if (i == n) {
				atfh_evpath_free(p);
				return perr(err, errlen, src, i - 1, "ends with '.'");
			}
			if (src[i] == '[' || src[i] == '.') {
				if (src[i] == '.') {
					atfh_evpath_free(p);
					return perr(err, errlen, src, i, "empty name");
				}
				need_name = false; /* .["key"] */
			}
			continue;
		}
		if (!need_name) {
			atfh_evpath_free(p);
			return perr(err, errlen, src, i, "expected '.' or '['");
		}
		size_t j = i;
		while (j < n && src[j] != '.' && src[j] != '[') {
			unsigned char u = (unsigned char)src[j];
			if (u <= ' ' || src[j] == ']' || src[j] == '"' || src[j] == '=' || u == 0x7f) {
				atfh_evpath_free(p);
				return perr(err, errlen, src, j,
					    "unexpected character (quote odd names: [\"name\"])");
			}
			j++;
		}
		char *key = atfh_xmalloc(j - i + 1);
		memcpy(key, src + i, j - i);
		key[j - i] = '\0';
		add_seg(p, &cap, key, j - i, 0);
		need_name = false;
		i = j;
	}
	p->src = atfh_xstrdup(src);

	/* what a frame gives without decoding */
	const struct atfh_evseg *s = p->seg;
	if (p->nseg == 1 && seg_is(s, "did"))
		p->cheap = CHEAP_DID;
	else if (p->nseg == 1 && seg_is(s, "time_us"))
		p->cheap = CHEAP_TIME;
	else if (p->nseg == 1 && seg_is(s, "kind"))
		p->cheap = CHEAP_KIND;
	else if (p->nseg == 1 && seg_is(s, "seq"))
		p->cheap = CHEAP_SEQ;
	else if (p->nseg == 2 && seg_is(s, "commit")) {
		if (seg_is(s + 1, "rev"))
			p->cheap = CHEAP_REV;
		else if (seg_is(s + 1, "operation"))
			p->cheap = CHEAP_OPERATION;
		else if (seg_is(s + 1, "collection"))
			p->cheap = CHEAP_COLLECTION;
		else if (seg_is(s + 1, "rkey"))
			p->cheap = CHEAP_RKEY;
		else if (seg_is(s + 1, "cid"))
			p->cheap = CHEAP_CID;
	}
	p->record = seg_is(s, "commit") && (p->nseg == 1 || seg_is(s + 1, "record"));
	return 0;
fail_brk:
	atfh_evpath_free(p);
	return perr(err, errlen, src, i, "expected [N], [-N] or [\"name\"]");
}

void atfh_evpath_free(struct atfh_evpath *p)
{
	for (size_t i = 0; i < p->nseg; i++)
		free(p->seg[i].key);
	free(p->seg);
	free(p->src);
	memset(p, 0, sizeof *p);
}

/* ---- walking JSON text that has been checked ---------------------------- */

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* At the opening quote; returns the position after the closing one. */
static const char *skip_str(const char *p, const char *end)
{
	p++;
	for (;;) {
		const char *q = p < end ? memchr(p, '"', (size_t)(end - p)) : NULL;
		if (!q)
			return end;
		/* escaped if an odd number of backslashes stands before it */
		const char *b = q;
		while (b > p && b[-1] == '\\')
			b--;
		if ((q - b) % 2 == 0)
			return q + 1;
		p = q + 1;
	}
}

static const char *skip_value(const char *p, const char *end)
{
	if (p >= end)
		return end;
	if (*p == '"')
		return skip_str(p, end);
	if (*p == '{' || *p == '[') {
		int depth = 0;
		while (p < end) {
			char c = *p;
			if (c == '"') {
				p = skip_str(p, end);
				continue;
			}
			if (c == '{' || c == '[')
				depth++;
			else if (c == '}' || c == ']') {
				if (--depth == 0)
					return p + 1;
			}
			p++;
		}
		return end;
	}
	while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t' &&
	       *p != '\n' && *p != '\r')
		p++;
	return p;
}

static void make_val(struct atfh_evval *v, const char *p, const char *e)
{
	switch (*p) {
	case '"':
		v->type = ATFH_EV_STR;
		v->s = (struct atfh_str){ p + 1, (size_t)(e - p) - 2, true };
		return;
	case '{': v->type = ATFH_EV_OBJ; break;
	case '[': v->type = ATFH_EV_ARR; break;
	case 't':
	case 'f': v->type = ATFH_EV_BOOL; break;
	case 'n': v->type = ATFH_EV_NULL; break;
	default: v->type = ATFH_EV_NUM;
	}
	v->s = (struct atfh_str){ p, (size_t)(e - p), true };
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

static unsigned hex4(const char *p)
{
	return (unsigned)(hexval(p[0]) << 12 | hexval(p[1]) << 8 | hexval(p[2]) << 4 | hexval(p[3]));
}

/* One unit of an escaped string at *P: either a raw byte (returns -1, the
 * byte in *byte) or a decoded escape (returns the code point, 0xFFFD for a
 * lone surrogate). */
static long next_unit(const char **pp, const char *end, unsigned char *byte)
{
	const char *p = *pp;
	if (*p != '\\' || end - p < 2) {
		*byte = (unsigned char)*p;
		*pp = p + 1;
		return -1;
	}
	char e = p[1];
	*pp = p + 2;
	switch (e) {
	case 'b': return '\b';
	case 'f': return '\f';
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	case 'u': break;
	default: return (unsigned char)e; /* " \ / */
	}
	if (end - p < 6) {
		*pp = end;
		return 0xFFFD;
	}
	unsigned cp = hex4(p + 2);
	*pp = p + 6;
	if (cp >= 0xD800 && cp < 0xDC00) {
		if (end - p >= 12 && p[6] == '\\' && p[7] == 'u') {
			unsigned lo = hex4(p + 8);
			if (lo >= 0xDC00 && lo < 0xE000) {
				*pp = p + 12;
				return 0x10000 + ((long)(cp - 0xD800) << 10) + (lo - 0xDC00);
			}
		}
		return 0xFFFD;
	}
	if (cp >= 0xDC00 && cp < 0xE000)
		return 0xFFFD;
	return (long)cp;
}

static size_t utf8_put(char *d, unsigned long cp)
{
	if (cp < 0x80) {
		d[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (char)(0xC0 | cp >> 6);
		d[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (char)(0xE0 | cp >> 12);
		d[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		d[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	d[0] = (char)(0xF0 | cp >> 18);
	d[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	d[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	d[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

void atfh_json_unescape(struct atfh_out *o, const char *p, size_t n)
{
	const char *end = p + n;
	const char *bs = memchr(p, '\\', n);
	if (!bs) {
		atfh_out_put(o, p, n);
		return;
	}
	/* unescaping never lengthens text: one reservation (which also gives
	 * a fresh buffer its memory before the first copy) */
	atfh_out_reserve(o, n);
	atfh_out_put(o, p, (size_t)(bs - p));
	p = bs;
	while (p < end) {
		unsigned char b;
		long cp = next_unit(&p, end, &b);
		atfh_out_reserve(o, 4);
		if (cp < 0)
			o->buf[o->len++] = (char)b;
		else
			o->len += utf8_put(o->buf + o->len, (unsigned long)cp);
	}
}

/* Does the escaped key text K equal the raw bytes R?  K is checked JSON,
 * where every escape is longer than the bytes it stands for: a K no longer
 * than R matches only byte for byte and without escapes (R itself may hold
 * a backslash), and only a longer K can hold escapes worth undoing.  The
 * usual miss costs a length compare, no scan of K. */
static bool key_eq(const char *k, size_t kn, const char *r, size_t rn)
{
	if (kn <= rn)
		return kn == rn && memcmp(k, r, rn) == 0 && !memchr(k, '\\', kn);
	if (!memchr(k, '\\', kn))
		return false;
	const char *p = k, *end = k + kn;
	size_t i = 0;
	while (p < end) {
		unsigned char b;
		char tmp[4];
		long cp = next_unit(&p, end, &b);
		size_t len = 1;
		if (cp < 0)
			tmp[0] = (char)b;
		else
			len = utf8_put(tmp, (unsigned long)cp);
		if (i + len > rn || memcmp(r + i, tmp, len) != 0)
			return false;
		i += len;
	}
	return i == rn;
}

/* Past the value that ends at VE and the comma after it, if any: the next
 * member or element, or the closing bracket. */
static const char *next_item(const char *ve, const char *end)
{
	const char *p = skip_ws(ve, end);
	if (p < end && *p == ',')
		p = skip_ws(p + 1, end);
	return p;
}

/* Member KEY of the object text [p, end). */
static bool obj_member(const char *p, const char *end, const char *key, size_t kn,
		       struct atfh_evval *v)
{
	p = skip_ws(p, end);
	if (p >= end || *p != '{')
		return false;
	p = skip_ws(p + 1, end);
	while (p < end && *p == '"') {
		const char *ks = p + 1, *ke = skip_str(p, end) - 1;
		p = skip_ws(ke + 1, end);
		if (p >= end || *p != ':')
			return false;
		p = skip_ws(p + 1, end);
		const char *ve = skip_value(p, end);
		if (key_eq(ks, (size_t)(ke - ks), key, kn)) {
			make_val(v, p, ve);
			return true;
		}
		p = next_item(ve, end);
	}
	return false;
}

/* Element IDX (negative: from the end) of the array text [p, end). */
static bool arr_elem(const char *p, const char *end, long long idx, struct atfh_evval *v)
{
	p = skip_ws(p, end);
	if (p >= end || *p != '[')
		return false;
	const char *first = skip_ws(p + 1, end);
	if (idx < 0) {
		long long len = 0;
		for (const char *q = first; q < end && *q != ']'; len++)
			q = next_item(skip_value(q, end), end);
		idx += len;
		if (idx < 0)
			return false;
	}
	p = first;
	for (long long i = 0; p < end && *p != ']'; i++) {
		const char *ve = skip_value(p, end);
		if (i == idx) {
			make_val(v, p, ve);
			return true;
		}
		p = next_item(ve, end);
	}
	return false;
}

/* Walk segments FROM.. of P starting at the value V (in place). */
static void walk(const struct atfh_evpath *p, size_t from, struct atfh_evval *v)
{
	for (size_t i = from; i < p->nseg && v->type != ATFH_EV_MISSING; i++) {
		const struct atfh_evseg *s = &p->seg[i];
		const char *b = v->s.p, *e = v->s.p + v->s.n;
		bool found;
		if (s->key)
			found = v->type == ATFH_EV_OBJ && obj_member(b, e, s->key, s->key_len, v);
		else
			found = v->type == ATFH_EV_ARR && arr_elem(b, e, s->index, v);
		if (!found)
			v->type = ATFH_EV_MISSING;
	}
}

/* ---- events ------------------------------------------------------------- */

void atfh_ev_init(struct atfh_ev *e)
{
	memset(e, 0, sizeof *e);
	e->render.fd = -1;
}

void atfh_ev_free(struct atfh_ev *e)
{
	atfh_out_free(&e->render);
	free(e->line_off);
	memset(e, 0, sizeof *e);
}

int atfh_ev_set_line(struct atfh_ev *e, const char *p, size_t n, const char **err)
{
	e->msg = NULL;
	e->line = p;
	e->line_len = n;
	e->top_ok = false;
	if (atfh_jobj_parse(&e->top, p, n, err))
		return -1;
	e->top_ok = true;
	return 0;
}

size_t atfh_ev_frame_events(const struct atfh_msg *m)
{
	return m->kind == ATFH_K_COMMIT ? m->nops : 1;
}

void atfh_ev_set_frame(struct atfh_ev *e, struct atfh_msg *m)
{
	e->msg = m;
	e->op = 0;
	e->rendered = 0;
	e->top_ok = false;
	e->line = NULL;
}

void atfh_ev_set_op(struct atfh_ev *e, size_t i)
{
	e->op = i;
	e->top_ok = false;
}

static int render(struct atfh_ev *e, bool records, const char **err)
{
	int want = records ? 2 : 1;
	if (e->rendered >= want)
		return 0;
	struct atfh_format_opts fo = { .format = ATFH_FMT_JETSTREAM, .no_record = !records };
	e->render.len = 0;
	e->top_ok = false;
	e->rendered = 0;
	if (atfh_format_msg(&e->render, e->msg, &fo, err)) {
		e->render.len = 0;
		return -1;
	}
	e->nlines = 0;
	const char *b = e->render.buf, *p = b, *end = b + e->render.len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		atfh_grow_array((void **)&e->line_off, &e->line_cap, e->nlines + 2, sizeof *e->line_off);
		e->line_off[e->nlines++] = (size_t)(p - b);
		p = nl ? nl + 1 : end;
	}
	atfh_grow_array((void **)&e->line_off, &e->line_cap, e->nlines + 1, sizeof *e->line_off);
	e->line_off[e->nlines] = e->render.len;
	e->rendered = want;
	return 0;
}

/* Make e->line/top describe the current event's JSON. */
static int ensure_json(struct atfh_ev *e, bool records, const char **err)
{
	if (!e->msg)
		return 0;
	int before = e->rendered;
	if (render(e, records, err))
		return -1;
	if (e->rendered != before)
		e->top_ok = false;
	if (e->top_ok && e->top_line == e->op)
		return 0;
	if (e->op >= e->nlines) {
		e->line = "{}";
		e->line_len = 2;
	} else {
		e->line = e->render.buf + e->line_off[e->op];
		e->line_len = e->line_off[e->op + 1] - e->line_off[e->op] - 1;
	}
	if (atfh_jobj_parse(&e->top, e->line, e->line_len, err))
		return -1;
	e->top_ok = true;
	e->top_line = e->op;
	return 0;
}

int atfh_ev_prepare(struct atfh_ev *e, bool records, const char **err)
{
	return ensure_json(e, records, err);
}

int atfh_ev_json(struct atfh_ev *e, const char **p, size_t *n, const char **err)
{
	if (ensure_json(e, true, err))
		return -1;
	*p = e->line;
	*n = e->line_len;
	return 0;
}

static size_t i64_text(char *buf, int64_t v)
{
	struct atfh_out o = { .fd = -1, .buf = buf, .cap = 24 };
	atfh_json_i64(&o, v);
	return o.len;
}

static bool raw_str(struct atfh_evval *v, struct atfh_str s)
{
	v->type = ATFH_EV_STR;
	if (!s.p)
		s = (struct atfh_str){ "", 0, false };
	v->s = s;
	return true;
}

/* A path answered from the frame's fields; false: read the JSON. */
static bool eval_cheap(const struct atfh_evpath *p, struct atfh_ev *e, struct atfh_evval *v)
{
	const struct atfh_msg *m = e->msg;
	bool commit = m->kind == ATFH_K_COMMIT && e->op < m->nops;
	const struct atfh_op *op = commit ? &m->ops[e->op] : NULL;
	v->type = ATFH_EV_MISSING;
	switch (p->cheap) {
	case CHEAP_DID:
		return !m->did.p || raw_str(v, m->did);
	case CHEAP_TIME:
		if (m->has_time) {
			v->type = ATFH_EV_NUM;
			v->s = (struct atfh_str){ e->timebuf, i64_text(e->timebuf, m->time_us), true };
		}
		return true;
	case CHEAP_SEQ:
		if (m->has_seq) {
			v->type = ATFH_EV_NUM;
			v->s = (struct atfh_str){ e->seqbuf, i64_text(e->seqbuf, m->seq), true };
		}
		return true;
	case CHEAP_KIND:
		if (m->kind == ATFH_K_OTHER && m->type.n > 1 && m->type.p[0] == '#')
			return raw_str(v, (struct atfh_str){ m->type.p + 1, m->type.n - 1, false });
		return raw_str(v, (struct atfh_str){ atfh_kind_names[m->kind],
						     strlen(atfh_kind_names[m->kind]), false });
	case CHEAP_REV:
		return !commit || raw_str(v, m->rev);
	case CHEAP_OPERATION:
		return !commit || raw_str(v, op->action);
	case CHEAP_COLLECTION:
		return !commit || raw_str(v, op->collection);
	case CHEAP_RKEY:
		return !commit || raw_str(v, op->rkey);
	case CHEAP_CID: {
		if (!commit || !op->cid)
			return true;
		struct atfh_cid cid;
		if (op->cid_len > 64 || atfh_cid_parse(op->cid, op->cid_len, &cid) != op->cid_len)
			return false;
		size_t n = atfh_cid_str(&cid, e->cidbuf);
		return raw_str(v, (struct atfh_str){ e->cidbuf, n, false });
	}
	}
	return false;
}

int atfh_evpath_eval(const struct atfh_evpath *p, struct atfh_ev *e,
		     struct atfh_evval *v, const char **err)
{
	if (e->msg && p->cheap && eval_cheap(p, e, v))
		return 0;
	if (ensure_json(e, p->record, err))
		return -1;
	v->type = ATFH_EV_MISSING;
	const struct atfh_evseg *s = &p->seg[0];
	if (!s->key)
		return 0; /* an event is an object */
	/* the first level from the scanned fields */
	bool found = false;
	for (size_t i = 0; i < e->top.n && !found; i++) {
		const struct atfh_jfield *f = &e->top.f[i];
		if (key_eq(f->key.p, f->key.n, s->key, s->key_len)) {
			const char *b = f->val.type == ATFH_J_STR ? f->val.p - 1 : f->val.p;
			size_t n = f->val.type == ATFH_J_STR ? f->val.n + 2 : f->val.n;
			make_val(v, b, b + n);
			found = true;
		}
	}
	if (!found && e->top.n == ATFH_JFIELDS_MAX)
		found = obj_member(e->line, e->line + e->line_len, s->key, s->key_len, v);
	if (!found)
		return 0;
	walk(p, 1, v);
	return 0;
}

int atfh_ev_time_us(struct atfh_ev *e, int64_t *us, const char **err)
{
	if (e->msg) {
		*us = e->msg->time_us;
		return e->msg->has_time;
	}
	const struct atfh_jval *t = e->top_ok ? atfh_jobj_get(&e->top, "time_us") : NULL;
	if (!t || t->type == ATFH_J_NULL)
		return 0;
	if (!atfh_jval_i64(t, us)) {
		*err = "time_us is not an integer in the int64 range";
		return -1;
	}
	return 1;
}

/* ---- values out --------------------------------------------------------- */

/* Write the escaped string text P canonically (without quotes): decoded,
 * then escaped again by the one JSON string writer, so a value reads the
 * same whether it came from a frame or from NDJSON. */
static void canonical_str(struct atfh_out *o, const char *p, size_t n)
{
	if (!memchr(p, '\\', n)) {
		atfh_out_put(o, p, n); /* no escapes: already canonical */
		return;
	}
	struct atfh_out raw = { .fd = -1 };
	atfh_json_unescape(&raw, p, n);
	atfh_json_part(o, (struct atfh_str){ raw.buf, raw.len, false });
	atfh_out_free(&raw);
}

void atfh_json_canonical(struct atfh_out *o, const char *p, size_t n)
{
	const char *end = p + n;
	while (p < end) {
		char c = *p;
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			p++;
			continue;
		}
		if (c == '"') {
			const char *e = skip_str(p, end);
			atfh_out_c(o, '"');
			canonical_str(o, p + 1, (size_t)(e - p) - 2);
			atfh_out_c(o, '"');
			p = e;
			continue;
		}
		const char *q = p + 1;
		while (q < end && *q != '"' && *q != ' ' && *q != '\t' && *q != '\n' && *q != '\r')
			q++;
		atfh_out_put(o, p, (size_t)(q - p));
		p = q;
	}
}

/* Nothing in P needs escaping: printable ASCII without '"' and '\\'. */
static bool plain_ascii(const char *p, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w, q, e;
		memcpy(&w, p + i, 8);
		q = w ^ 0x2222222222222222ull;
		e = w ^ 0x5c5c5c5c5c5c5c5cull;
		if ((((w - 0x2020202020202020ull) | (q - 0x0101010101010101ull) |
		      (e - 0x0101010101010101ull)) & ~w & 0x8080808080808080ull) ||
		    (w & 0x8080808080808080ull))
			return false;
	}
	for (; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\')
			return false;
	}
	return true;
}

void atfh_evval_json(struct atfh_out *o, const struct atfh_evval *v)
{
	switch (v->type) {
	case ATFH_EV_MISSING:
		atfh_out_lit(o, "null");
		return;
	case ATFH_EV_STR:
		if (!v->s.json) {
			if (plain_ascii(v->s.p, v->s.n)) { /* DIDs, NSIDs, rkeys: copy */
				atfh_out_reserve(o, v->s.n + 2);
				o->buf[o->len++] = '"';
				memcpy(o->buf + o->len, v->s.p, v->s.n);
				o->len += v->s.n;
				o->buf[o->len++] = '"';
				return;
			}
			atfh_json_str(o, v->s.p, v->s.n);
			return;
		}
		atfh_out_c(o, '"');
		canonical_str(o, v->s.p, v->s.n);
		atfh_out_c(o, '"');
		return;
	case ATFH_EV_NULL:
	case ATFH_EV_BOOL:
	case ATFH_EV_NUM:
		atfh_out_put(o, v->s.p, v->s.n);
		return;
	case ATFH_EV_ARR:
	case ATFH_EV_OBJ:
		atfh_json_canonical(o, v->s.p, v->s.n);
		return;
	}
}

void atfh_evval_text(struct atfh_out *o, const struct atfh_evval *v)
{
	if (v->type != ATFH_EV_STR) {
		atfh_evval_json(o, v);
		return;
	}
	if (v->s.json)
		atfh_json_unescape(o, v->s.p, v->s.n);
	else
		atfh_out_put(o, v->s.p, v->s.n);
}
