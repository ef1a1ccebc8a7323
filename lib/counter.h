/*
 * counter.h — exact counting by key: a hash table (XXH3, open addressing,
 * linear probing) that maps byte-string keys to dense indexes 0..n-1 and
 * keeps a count per key.  Keys are copied into one arena; indexes stay
 * valid until atfh_counter_reset, so callers keep their own per-key data
 * (HyperLogLogs, …) in parallel arrays.  About 40 bytes per key plus the
 * key itself: a million 32-byte keys take well under 100 MB.
 */
#ifndef ATFH_COUNTER_H
#define ATFH_COUNTER_H

#include "atfh.h"

struct atfh_counter_ent {
	uint64_t hash;
	size_t off;   /* of the key in the arena */
	size_t len;
};

struct atfh_counter {
	uint64_t *slots;   /* high 32 bits: hash; low 32: index + 1; 0 = empty */
	size_t nslots;     /* a power of two */
	struct atfh_counter_ent *ent;
	uint64_t *count;
	size_t n, cap;     /* keys, room in ent/count */
	char *keys;        /* the arena */
	size_t keys_len, keys_cap;
	uint64_t total;    /* sum of the counts */
};

void atfh_counter_init(struct atfh_counter *c);
void atfh_counter_free(struct atfh_counter *c);
/* Forget every key (the memory is kept for reuse). */
void atfh_counter_reset(struct atfh_counter *c);
/* The index of KEY, added with count 0 when new (*ADDED set if non-NULL). */
size_t atfh_counter_index(struct atfh_counter *c, const void *key, size_t n, bool *added);
/* Add INC to KEY's count; returns the key's index. */
static inline size_t atfh_counter_add(struct atfh_counter *c, const void *key, size_t n,
				      uint64_t inc)
{
	size_t i = atfh_counter_index(c, key, n, NULL);
	c->count[i] += inc;
	c->total += inc;
	return i;
}
static inline const char *atfh_counter_key(const struct atfh_counter *c, size_t i, size_t *n)
{
	*n = c->ent[i].len;
	return c->keys + c->ent[i].off;
}

#endif
