/*
 * topk.c — see topk.h.
 */
#include "topk.h"
#include "util.h"

#include <stdlib.h>
#include <xxhash.h>

void atfh_topk_init(struct atfh_topk *t, size_t capacity)
{
	memset(t, 0, sizeof *t);
	if (capacity < 1)
		capacity = 1;
	t->capacity = capacity;
	t->slot = atfh_xcalloc(capacity, sizeof *t->slot);
	t->heap = atfh_xcalloc(capacity, sizeof *t->heap);
	size_t ts = 16;
	while (ts < capacity * 2)
		ts *= 2;
	t->table_size = ts;
	t->table = atfh_xcalloc(ts, sizeof *t->table);
}

void atfh_topk_free(struct atfh_topk *t)
{
	if (t->slot)
		for (size_t i = 0; i < t->capacity; i++)
			free(t->slot[i].key);
	free(t->slot);
	free(t->heap);
	free(t->table);
	memset(t, 0, sizeof *t);
}

void atfh_topk_reset(struct atfh_topk *t)
{
	t->n = 0;
	t->total = 0;
	memset(t->table, 0, t->table_size * sizeof *t->table);
}

static void heap_swap(struct atfh_topk *t, size_t a, size_t b)
{
	size_t sa = t->heap[a], sb = t->heap[b];
	t->heap[a] = sb;
	t->heap[b] = sa;
	t->slot[sb].heap_pos = a;
	t->slot[sa].heap_pos = b;
}

/* A count went up: move it towards the leaves. */
static void sift_down(struct atfh_topk *t, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < t->n && t->slot[t->heap[l]].count < t->slot[t->heap[m]].count)
			m = l;
		if (r < t->n && t->slot[t->heap[r]].count < t->slot[t->heap[m]].count)
			m = r;
		if (m == i)
			return;
		heap_swap(t, i, m);
		i = m;
	}
}

static void sift_up(struct atfh_topk *t, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (t->slot[t->heap[p]].count <= t->slot[t->heap[i]].count)
			return;
		heap_swap(t, i, p);
		i = p;
	}
}

/* Position of HASH/KEY in the table: its entry, or the empty one ending
 * its probe sequence. */
static size_t probe(const struct atfh_topk *t, uint64_t hash, const void *key, size_t n)
{
	size_t mask = t->table_size - 1, s = (size_t)hash & mask;
	while (t->table[s]) {
		const struct atfh_topk_slot *sl = &t->slot[t->table[s] - 1];
		if (sl->hash == hash && sl->len == n && memcmp(sl->key, key, n) == 0)
			return s;
		s = (s + 1) & mask;
	}
	return s;
}

/* Remove the table entry at S, shifting later entries of the run back. */
static void table_delete(struct atfh_topk *t, size_t s)
{
	size_t mask = t->table_size - 1;
	size_t hole = s;
	size_t j = s;
	for (;;) {
		j = (j + 1) & mask;
		if (!t->table[j])
			break;
		size_t home = (size_t)t->slot[t->table[j] - 1].hash & mask;
		/* can the entry at j move to the hole? yes unless its home lies
		 * cyclically in (hole, j] */
		bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
		if (stays)
			continue;
		t->table[hole] = t->table[j];
		hole = j;
	}
	t->table[hole] = 0;
}

static void set_key(struct atfh_topk_slot *sl, const void *key, size_t n, uint64_t hash)
{
	if (!sl->key || sl->key_cap < n) {
		size_t cap = n < 32 ? 32 : n;
		free(sl->key);
		sl->key = atfh_xmalloc(cap);
		sl->key_cap = cap;
	}
	if (n)
		memcpy(sl->key, key, n);
	sl->len = n;
	sl->hash = hash;
}

size_t atfh_topk_add(struct atfh_topk *t, const void *key, size_t n)
{
	uint64_t hash = XXH3_64bits(key, n);
	size_t s = probe(t, hash, key, n);
	t->total++;
	if (t->table[s]) {
		size_t i = t->table[s] - 1;
		t->slot[i].count++;
		sift_down(t, t->slot[i].heap_pos);
		return i;
	}
	if (t->n < t->capacity) {
		size_t i = t->n++;
		struct atfh_topk_slot *sl = &t->slot[i];
		set_key(sl, key, n, hash);
		sl->count = 1;
		sl->error = 0;
		sl->heap_pos = i;
		t->heap[i] = i;
		t->table[s] = (uint32_t)(i + 1);
		sift_up(t, i);
		return i;
	}
	/* replace the smallest counter */
	size_t i = t->heap[0];
	struct atfh_topk_slot *sl = &t->slot[i];
	table_delete(t, probe(t, sl->hash, sl->key, sl->len));
	uint64_t min = sl->count;
	set_key(sl, key, n, hash);
	sl->error = min;
	sl->count = min + 1;
	t->table[probe(t, hash, key, n)] = (uint32_t)(i + 1);
	sift_down(t, 0);
	return i;
}

uint64_t atfh_topk_min_count(const struct atfh_topk *t)
{
	return t->n < t->capacity || t->n == 0 ? 0 : t->slot[t->heap[0]].count;
}

/* one entry of a merge: a key with its merged count and error */
struct merged {
	const char *key;
	size_t len;
	uint64_t hash, count, error;
};

static int merged_cmp(const void *pa, const void *pb)
{
	const struct merged *a = pa, *b = pb;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	size_t n = a->len < b->len ? a->len : b->len;
	int r = n ? memcmp(a->key, b->key, n) : 0;
	if (r)
		return r;
	return a->len < b->len ? -1 : a->len > b->len;
}

void atfh_topk_merge(struct atfh_topk *dst, const struct atfh_topk *src)
{
	if (src->n == 0)
		return;
	uint64_t min_d = atfh_topk_min_count(dst), min_s = atfh_topk_min_count(src);
	size_t n = 0;
	struct merged *m = atfh_xcalloc(dst->n + src->n, sizeof *m);
	for (size_t i = 0; i < dst->n; i++) {
		const struct atfh_topk_slot *a = &dst->slot[i];
		size_t s = probe(src, a->hash, a->key, a->len);
		const struct atfh_topk_slot *b = src->table[s] ? &src->slot[src->table[s] - 1] : NULL;
		m[n++] = (struct merged){ a->key, a->len, a->hash,
					  a->count + (b ? b->count : min_s),
					  a->error + (b ? b->error : min_s) };
	}
	for (size_t i = 0; i < src->n; i++) {
		const struct atfh_topk_slot *b = &src->slot[i];
		if (dst->table[probe(dst, b->hash, b->key, b->len)])
			continue; /* merged above */
		m[n++] = (struct merged){ b->key, b->len, b->hash, b->count + min_d,
					  b->error + min_d };
	}
	qsort(m, n, sizeof *m, merged_cmp);
	if (n > dst->capacity)
		n = dst->capacity;
	/* rebuild dst from the best; the keys of dst's own slots are copied
	 * out first, as the slots are rewritten */
	char **own = atfh_xcalloc(n + 1, sizeof *own);
	for (size_t i = 0; i < n; i++) {
		own[i] = atfh_xmalloc(m[i].len + 1);
		if (m[i].len)
			memcpy(own[i], m[i].key, m[i].len);
	}
	uint64_t total = dst->total + src->total;
	atfh_topk_reset(dst);
	for (size_t i = 0; i < n; i++) {
		size_t k = dst->n++;
		struct atfh_topk_slot *sl = &dst->slot[k];
		set_key(sl, own[i], m[i].len, m[i].hash);
		sl->count = m[i].count;
		sl->error = m[i].error;
		sl->heap_pos = k;
		dst->heap[k] = k;
		dst->table[probe(dst, m[i].hash, own[i], m[i].len)] = (uint32_t)(k + 1);
		sift_up(dst, k);
		free(own[i]);
	}
	dst->total = total;
	free(own);
	free(m);
}
