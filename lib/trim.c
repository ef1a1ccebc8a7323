/*
 * trim.c — commit frames with some of their ops; see trim.h.
 */
#include "trim.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

void atfh_trim_free(struct atfh_trim *t)
{
	atfh_cbe_free(&t->enc);
	atfh_out_free(&t->car);
	free(t->keep_block);
	memset(t, 0, sizeof *t);
}

static int fail(struct atfh_trim *t, const char **err, const char *what, const char *why)
{
	snprintf(t->errbuf, sizeof t->errbuf, "%s: %s", what, why ? why : "malformed");
	*err = t->errbuf;
	return -1;
}

/* The CAR of the trimmed commit into t->car. */
static int build_car(struct atfh_trim *t, struct atfh_msg *m, const bool *keep,
		     const uint8_t *commit, size_t commit_len, const char **err)
{
	if (atfh_msg_load_blocks(m, false)) {
		*err = m->err;
		return -1;
	}
	struct atfh_car *car = &m->car;
	atfh_grow_array((void **)&t->keep_block, &t->keep_cap, car->n + 1, 1);
	memset(t->keep_block, 0, car->n + 1);
	t->car.len = 0;
	if (!m->blocks) /* no blocks field: nothing to write */
		return 0;
	atfh_car_mark_roots(car, t->keep_block);
	const struct atfh_block *b;
	if (commit && (b = atfh_car_get(car, commit, commit_len)))
		t->keep_block[b - car->blocks] = 1;
	for (size_t i = 0; i < m->nops; i++)
		if (keep[i] && (b = atfh_msg_record(m, i)))
			t->keep_block[b - car->blocks] = 1;
	atfh_car_write(car, t->keep_block, &t->car);
	return 0;
}

/* The ops array with only the kept ops, each canonical. */
static int put_ops(struct atfh_trim *t, struct atfh_msg *m, const bool *keep,
		   struct atfh_out *o, const char **err)
{
	struct atfh_cbor c;
	struct atfh_cbor_item it;
	size_t kept = 0;
	for (size_t i = 0; i < m->nops; i++)
		kept += keep[i];
	atfh_cbor_init(&c, m->ops_cbor, m->ops_len);
	if (atfh_cbor_next(&c, &it) || it.kind != ATFH_CB_ARRAY || it.count != m->nops)
		return fail(t, err, "ops", c.err);
	atfh_cbe_head(o, 4, kept);
	for (size_t i = 0; i < m->nops; i++) {
		int r = keep[i] ? atfh_cbe_canon(&t->enc, &c, o) : atfh_cbor_skip_unchecked(&c);
		if (r) {
			snprintf(t->errbuf, sizeof t->errbuf, "op %zu: %s", i + 1, c.err);
			*err = t->errbuf;
			return -1;
		}
	}
	return 0;
}

int atfh_trim_commit(struct atfh_trim *t, struct atfh_msg *m, const bool *keep,
		     struct atfh_out *o, const char **err)
{
	size_t mark = o->len;
	struct atfh_cbor c;
	size_t base, n;
	const uint8_t *commit = NULL;
	size_t commit_len = 0;

	if (m->kind != ATFH_K_COMMIT || !m->ops_cbor || (m->lazy_ops && !m->ops_parsed)) {
		*err = "trim: not a commit with parsed ops";
		return -1;
	}
	atfh_cbor_init(&c, m->body, m->body_len);
	if (atfh_cbe_map_entries(&t->enc, &c, &base, &n)) {
		t->enc.n = 0;
		return fail(t, err, "body", c.err);
	}
	/* the commit block's CID, to keep it even if the roots do not name it */
	for (size_t i = 0; i < n; i++) {
		const struct atfh_cbe_entry *e = &t->enc.v[base + i];
		struct atfh_cbor v;
		struct atfh_cbor_item it;
		atfh_cbor_init(&v, e->val, e->val_len);
		if (atfh_cbe_key_cmp(e->key, e->key_len, (const uint8_t *)"commit", 6) == 0 &&
		    atfh_cbor_next(&v, &it) == 0 && it.kind == ATFH_CB_LINK) {
			commit = it.p;
			commit_len = it.n;
		}
	}
	if (build_car(t, m, keep, commit, commit_len, err)) {
		t->enc.n = 0;
		return -1;
	}

	uint8_t len[4] = { 0 };
	atfh_out_put(o, len, 4);
	atfh_out_put(o, m->header, m->header_len);
	atfh_cbe_head(o, 5, n);
	for (size_t i = 0; i < n; i++) {
		const struct atfh_cbe_entry e = t->enc.v[base + i];
		int r = 0;
		atfh_cbe_text(o, e.key, e.key_len);
		if (e.val == m->ops_cbor) {
			r = put_ops(t, m, keep, o, err);
		} else if (m->blocks && e.val < m->blocks && m->blocks < e.val + e.val_len) {
			atfh_cbe_bytes(o, t->car.buf, t->car.len);
		} else {
			struct atfh_cbor v;
			atfh_cbor_init(&v, e.val, e.val_len);
			if (atfh_cbe_canon(&t->enc, &v, o)) {
				char what[80];
				snprintf(what, sizeof what, "body: %.*s", (int)(e.key_len > 40 ? 40 : e.key_len),
					 (const char *)e.key);
				r = fail(t, err, what, v.err);
			}
		}
		if (r) {
			t->enc.n = 0;
			o->len = mark;
			return -1;
		}
	}
	t->enc.n = 0;
	size_t total = o->len - mark - 4;
	if (total > UINT32_MAX) {
		o->len = mark;
		*err = "trim: frame too large";
		return -1;
	}
	uint8_t *lp = (uint8_t *)o->buf + mark;
	lp[0] = (uint8_t)(total >> 24);
	lp[1] = (uint8_t)(total >> 16);
	lp[2] = (uint8_t)(total >> 8);
	lp[3] = (uint8_t)total;
	return 0;
}
