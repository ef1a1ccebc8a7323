/*
 * idqueue.c — see idqueue.h.
 */
#include "idqueue.h"
#include "signals.h"
#include "util.h"

#include <stdlib.h>

#define POLL_EVERY 64   /* records between two looks at the requests */
#define WAIT_MS 50      /* one wait for the head, between signal checks */

void atfh_idq_init(struct atfh_idq *q, struct atfh_resolver *r, struct atfh_loop *l)
{
	memset(q, 0, sizeof *q);
	q->r = r;
	q->loop = l;
	q->cap = 64;
	q->v = atfh_xcalloc(q->cap, sizeof *q->v);
}

static void item_free(struct atfh_idq_item *it)
{
	free(it->data);
	free(it->did);
	memset(it, 0, sizeof *it);
}

void atfh_idq_free(struct atfh_idq *q)
{
	for (size_t i = 0; i < q->count; i++)
		item_free(&q->v[(q->head + i) % q->cap]);
	free(q->v);
	q->v = NULL;
	q->count = 0;
}

static void push(struct atfh_idq *q, const struct atfh_idq_item *src)
{
	if (q->count == q->cap) {
		size_t cap = q->cap * 2;
		struct atfh_idq_item *v = atfh_xcalloc(cap, sizeof *v);
		for (size_t i = 0; i < q->count; i++)
			v[i] = q->v[(q->head + i) % q->cap];
		free(q->v);
		q->v = v;
		q->cap = cap;
		q->head = 0;
	}
	struct atfh_idq_item *it = &q->v[(q->head + q->count) % q->cap];
	*it = *src;
	it->data = atfh_xmalloc(src->n ? src->n : 1);
	memcpy(it->data, src->data, src->n);
	if (src->did) {
		it->did = atfh_xmalloc(src->did_len + 1);
		memcpy(it->did, src->did, src->did_len);
		it->did[src->did_len] = '\0';
	}
	q->count++;
	q->bytes += src->n;
}

static bool full(const struct atfh_idq *q)
{
	return q->count >= ATFH_IDQ_ITEMS || q->bytes >= ATFH_IDQ_BYTES;
}

/* Settle the head while its account is known. */
static void settle_head(struct atfh_idq *q)
{
	while (q->count && !q->stop) {
		struct atfh_idq_item *it = &q->v[q->head];
		struct atfh_identity *e = NULL;
		if (it->did && it->resolvable) {
			e = atfh_resolver_peek(q->r, it->did, it->did_len);
			if (!e) /* evicted while it waited */
				e = atfh_resolver_lookup(q->r, it->did, it->did_len);
			if (e && e->state == ATFH_ID_PENDING)
				return;
		}
		const char *err = NULL;
		int rc = q->settle(q->ctx, it, e, true, &err);
		if (rc == ATFH_IDQ_RETRY) {
			if (!it->retried && e) {
				it->retried = true;
				atfh_resolver_refresh(q->r, e);
				continue; /* pending again: returns above */
			}
			rc = ATFH_REC_OK; /* a broken callback: never loop */
		}
		if (rc == ATFH_REC_BAD &&
		    !atfh_loop_malformed_at(q->loop, it->file, it->line, it->index, it->offset,
					    err ? err : "malformed"))
			q->stop = true;
		if (rc == ATFH_REC_STOP)
			q->stop = true;
		q->bytes -= it->n;
		item_free(it);
		q->head = (q->head + 1) % q->cap;
		q->count--;
	}
}

int atfh_idq_drain(struct atfh_idq *q, bool all)
{
	atfh_resolver_poll(q->r, 0);
	settle_head(q);
	while (all && q->count && !q->stop && !atfh_interrupted) {
		atfh_resolver_poll(q->r, WAIT_MS);
		settle_head(q);
		atfh_stats_poll(&q->loop->stats);
	}
	if (q->stop) { /* what is left is not wanted any more */
		while (q->count) {
			q->bytes -= q->v[q->head].n;
			item_free(&q->v[q->head]);
			q->head = (q->head + 1) % q->cap;
			q->count--;
		}
		return ATFH_REC_STOP;
	}
	return ATFH_REC_OK;
}

int atfh_idq_submit_item(struct atfh_idq *q, struct atfh_idq_item *it, const char **err)
{
	if (q->stop)
		return ATFH_REC_STOP;
	struct atfh_identity *e = NULL;
	if (it->did) {
		e = atfh_resolver_lookup(q->r, it->did, it->did_len);
		it->resolvable = e != NULL;
	}
	if (!q->count && (!e || e->state != ATFH_ID_PENDING)) {
		int rc = q->settle(q->ctx, it, e, false, err);
		if (rc != ATFH_IDQ_RETRY || !e)
			return rc == ATFH_IDQ_RETRY ? ATFH_REC_OK : rc;
		it->retried = true;
		atfh_resolver_refresh(q->r, e);
	}
	push(q, it);
	if (++q->since_poll >= POLL_EVERY || full(q)) {
		q->since_poll = 0;
		atfh_resolver_poll(q->r, 0);
		settle_head(q);
	}
	while (full(q) && !q->stop && !atfh_interrupted) {
		atfh_resolver_poll(q->r, WAIT_MS);
		settle_head(q);
		atfh_stats_poll(&q->loop->stats);
	}
	return q->stop ? ATFH_REC_STOP : ATFH_REC_OK;
}

int atfh_idq_submit(struct atfh_idq *q, const void *data, size_t n, bool line,
		    const char *did, size_t did_len, const char **err)
{
	const struct atfh_input *in = &q->loop->in;
	struct atfh_idq_item it = {
		.data = (uint8_t *)data, .n = n, .line = line,
		.did = (char *)did, .did_len = did_len,
		.file = in->name, .index = in->index, .offset = in->offset,
	};
	return atfh_idq_submit_item(q, &it, err);
}

int atfh_idq_idle(struct atfh_idq *q)
{
	if (!q->count)
		return -1;
	atfh_resolver_poll(q->r, 0);
	settle_head(q);
	return q->count ? 20 : -1;
}
