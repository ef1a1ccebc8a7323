/*
 * counter.h — exact counting by key: a hash table (XXH3, open addressing,
 * linear probing) that maps byte-string keys to dense indexes 0..n-1 and
 * keeps a count per key.  Each key sits in one arena next to its count and
 * hash, and a slot holds the full hash and the key's length, so a lookup
 * touches two places in memory: the slot and the key with its count (what
 * matters with hundreds of thousands of keys, far beyond the caches).
 * Indexes stay valid until atfh_counter_reset, so callers keep their own
 * per-key data (HyperLogLogs, …) in parallel arrays.  About 48 bytes per
 * key plus the key itself: a million 32-byte keys take about 100 MB.
 */
#ifndef ATFH_COUNTER_H
#define ATFH_COUNTER_H

#include "atfh.h"

/* A key in the arena: this head, then the key, padded to 8 bytes. */
struct atfh_counter_rec {
	uint64_t count;
	uint64_t hash;
	uint64_t len;
};

struct atfh_counter {
	uint64_t *slots;   /* high 32 bits: hash; low 32: index + 1; 0 = empty */
	size_t nslots;     /* a power of two */
	uint64_t *off;     /* of each key's record in the arena */
	size_t n, cap;     /* keys, room in off */
	char *arena;
	size_t arena_len, arena_cap;
	bool arena_mapped; /* mmap(2)ed: grows by mremap(2) */
	uint64_t total;    /* sum of the counts */
};

void atfh_counter_init(struct atfh_counter *c);
void atfh_counter_free(struct atfh_counter *c);
/* Forget every key (the memory is kept for reuse). */
void atfh_counter_reset(struct atfh_counter *c);
/* The index of KEY, added with count 0 when new (*ADDED set if non-NULL). */
size_t atfh_counter_index(struct atfh_counter *c, const void *key, size_t n, bool *added);
/* The same with the key's hash known (key I of another counter). */
size_t atfh_counter_index_hashed(struct atfh_counter *c, const void *key, size_t n,
				 uint64_t hash, bool *added);
/* The index of KEY with hash HASH, or SIZE_MAX when it is not there. */
size_t atfh_counter_find(const struct atfh_counter *c, const void *key, size_t n, uint64_t hash);
static inline struct atfh_counter_rec *atfh_counter_rec(const struct atfh_counter *c, size_t i)
{
	return (struct atfh_counter_rec *)(void *)(c->arena + c->off[i]);
}
/* Key I's count (valid until the next key is added). */
static inline uint64_t *atfh_counter_count(const struct atfh_counter *c, size_t i)
{
	return &atfh_counter_rec(c, i)->count;
}
static inline const char *atfh_counter_key(const struct atfh_counter *c, size_t i, size_t *n)
{
	const struct atfh_counter_rec *r = atfh_counter_rec(c, i);
	*n = (size_t)r->len;
	return (const char *)(r + 1);
}
/* Before looking up a key with hash H a little later: its slot into the
 * cache (atfh_counter_prefetch), then, once that is there, the key its
 * slot points to (atfh_counter_prefetch_key).  Keys looked up in batches
 * this way wait for memory once per batch, not once per key. */
static inline void atfh_counter_prefetch(const struct atfh_counter *c, uint64_t h)
{
	if (c->slots)
		__builtin_prefetch(&c->slots[(size_t)h & (c->nslots - 1)]);
}
static inline void atfh_counter_prefetch_key(const struct atfh_counter *c, uint64_t h)
{
	if (!c->slots)
		return;
	uint64_t v = c->slots[(size_t)h & (c->nslots - 1)];
	if (v && (v & 0xffffffff00000000ull) == (h & 0xffffffff00000000ull))
		__builtin_prefetch(c->arena + c->off[(size_t)(v & 0xffffffffu) - 1], 1);
}
/* Add INC to KEY's count; returns the key's index. */
static inline size_t atfh_counter_add(struct atfh_counter *c, const void *key, size_t n,
				      uint64_t inc)
{
	size_t i = atfh_counter_index(c, key, n, NULL);
	*atfh_counter_count(c, i) += inc;
	c->total += inc;
	return i;
}

#endif
