/*
 * cborenc.c — canonical DAG-CBOR writing; see cborenc.h.
 */
#include "cborenc.h"
#include "util.h"

#include <stdlib.h>

void atfh_cbe_free(struct atfh_cbenc *e)
{
	free(e->v);
	memset(e, 0, sizeof *e);
}

void atfh_cbe_head(struct atfh_out *o, unsigned major, uint64_t v)
{
	uint8_t b[9];
	size_t n;
	uint8_t m = (uint8_t)(major << 5);
	if (v < 24) {
		b[0] = m | (uint8_t)v;
		n = 1;
	} else if (v <= 0xff) {
		b[0] = m | 24;
		b[1] = (uint8_t)v;
		n = 2;
	} else if (v <= 0xffff) {
		b[0] = m | 25;
		n = 3;
	} else if (v <= 0xffffffffu) {
		b[0] = m | 26;
		n = 5;
	} else {
		b[0] = m | 27;
		n = 9;
	}
	if (n > 2)
		for (size_t i = 1; i < n; i++)
			b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	atfh_out_put(o, b, n);
}

void atfh_cbe_int(struct atfh_out *o, int64_t v)
{
	if (v >= 0)
		atfh_cbe_head(o, 0, (uint64_t)v);
	else
		atfh_cbe_head(o, 1, (uint64_t)(-1 - v));
}

void atfh_cbe_text(struct atfh_out *o, const void *p, size_t n)
{
	atfh_cbe_head(o, 3, n);
	atfh_out_put(o, p, n);
}

void atfh_cbe_bytes(struct atfh_out *o, const void *p, size_t n)
{
	atfh_cbe_head(o, 2, n);
	atfh_out_put(o, p, n);
}

void atfh_cbe_link(struct atfh_out *o, const uint8_t *cid, size_t n)
{
	static const uint8_t tag42[2] = { 0xd8, 42 };
	atfh_out_put(o, tag42, 2);
	atfh_cbe_head(o, 2, (uint64_t)n + 1);
	atfh_out_c(o, 0);
	atfh_out_put(o, cid, n);
}

int atfh_cbe_key_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	if (an != bn)
		return an < bn ? -1 : 1;
	return an ? memcmp(a, b, an) : 0;
}

static int entry_cmp(const void *x, const void *y)
{
	const struct atfh_cbe_entry *a = x, *b = y;
	int r = atfh_cbe_key_cmp(a->key, a->key_len, b->key, b->key_len);
	if (r)
		return r;
	return a->index < b->index ? -1 : a->index > b->index;
}

int atfh_cbe_map_entries(struct atfh_cbenc *e, struct atfh_cbor *c, size_t *base,
			 size_t *count)
{
	struct atfh_cbor_item it;
	if (atfh_cbor_next(c, &it))
		return -1;
	if (it.kind != ATFH_CB_MAP)
		return atfh_cbor_fail(c, "not a map");
	/* atfh_cbor_next keeps the count within the bytes left (2 a pair) */
	size_t n = (size_t)it.count;
	*base = e->n;
	*count = n;
	atfh_grow_array((void **)&e->v, &e->cap, e->n + n, sizeof *e->v);
	for (size_t i = 0; i < n; i++) {
		struct atfh_cbor_item k;
		if (atfh_cbor_next(c, &k))
			return -1;
		if (k.kind != ATFH_CB_TEXT)
			return atfh_cbor_fail(c, "map key is not a text string");
		const uint8_t *v = c->p;
		if (atfh_cbor_skip_unchecked(c))
			return -1;
		e->v[e->n++] = (struct atfh_cbe_entry){ k.p, v, k.n, (size_t)(c->p - v), i };
	}
	if (n > 1) /* an empty map may have no array yet: no NULL + 0 */
		qsort(e->v + *base, n, sizeof *e->v, entry_cmp);
	return 0;
}

static int canon(struct atfh_cbenc *e, struct atfh_cbor *c, struct atfh_out *o, int depth)
{
	struct atfh_cbor_item it;
	const uint8_t *save = c->p;
	if (depth >= ATFH_MAX_DEPTH)
		return atfh_cbor_fail(c, "nesting deeper than %d levels", ATFH_MAX_DEPTH);
	if (atfh_cbor_next(c, &it))
		return -1;
	switch (it.kind) {
	case ATFH_CB_INT:
		atfh_cbe_int(o, it.i);
		return 0;
	case ATFH_CB_BYTES:
		atfh_cbe_bytes(o, it.p, it.n);
		return 0;
	case ATFH_CB_TEXT:
		atfh_cbe_text(o, it.p, it.n);
		return 0;
	case ATFH_CB_LINK:
		atfh_cbe_link(o, it.p, it.n);
		return 0;
	case ATFH_CB_BOOL:
		atfh_out_c(o, it.i ? (char)0xf5 : (char)0xf4);
		return 0;
	case ATFH_CB_NULL:
		atfh_out_c(o, (char)0xf6);
		return 0;
	case ATFH_CB_ARRAY:
		atfh_cbe_head(o, 4, it.count);
		for (uint64_t i = 0; i < it.count; i++)
			if (canon(e, c, o, depth + 1))
				return -1;
		return 0;
	case ATFH_CB_MAP:
		break;
	}
	size_t base, n;
	c->p = save;
	if (atfh_cbe_map_entries(e, c, &base, &n))
		return -1;
	atfh_cbe_head(o, 5, n);
	for (size_t i = 0; i < n; i++) {
		/* e->v may move as inner maps push entries: index, never hold */
		struct atfh_cbe_entry en = e->v[base + i];
		struct atfh_cbor vc;
		atfh_cbe_text(o, en.key, en.key_len);
		atfh_cbor_init(&vc, en.val, en.val_len);
		if (canon(e, &vc, o, depth + 1)) {
			c->err = vc.err == vc.errbuf ? strcpy(c->errbuf, vc.errbuf) : vc.err;
			return -1;
		}
	}
	e->n = base;
	return 0;
}

int atfh_cbe_canon(struct atfh_cbenc *e, struct atfh_cbor *c, struct atfh_out *o)
{
	size_t base = e->n;
	int r = canon(e, c, o, 0);
	e->n = base;
	return r;
}
