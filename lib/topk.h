/*
 * topk.h — heavy hitters in bounded memory: the Space-Saving algorithm
 * (Metwally, Agrawal, El Abbadi 2005) with a fixed number of counters.  A
 * key that is not monitored takes over the smallest counter c, starting at
 * c + 1 with error c.  Owns the guarantees: for every monitored key,
 * count - error <= true count <= count; every key whose true count is above
 * total / capacity is monitored.  Counters sit in a min-heap (O(log N) per
 * update) and keys in a linear-probing table with backward-shift deletion.
 */
#ifndef ATFH_TOPK_H
#define ATFH_TOPK_H

#include "atfh.h"

struct atfh_topk_slot {
	char *key;
	size_t len, key_cap;
	uint64_t hash;
	uint64_t count, error;
	size_t heap_pos;
};

struct atfh_topk {
	size_t capacity, n;        /* counters allowed, in use */
	struct atfh_topk_slot *slot;
	size_t *heap;              /* slot indexes, min count at [0] */
	uint32_t *table;           /* slot index + 1, 0 = empty */
	size_t table_size;         /* a power of two, >= 2 * capacity */
	uint64_t total;            /* everything added */
};

void atfh_topk_init(struct atfh_topk *t, size_t capacity);
void atfh_topk_free(struct atfh_topk *t);
void atfh_topk_reset(struct atfh_topk *t);
/* Count KEY once; returns its slot index (valid until the next add). */
size_t atfh_topk_add(struct atfh_topk *t, const void *key, size_t n);
/* Add what SRC counted (another part of the same stream) to DST, as the
 * mergeable Space-Saving summaries do (Agarwal et al. 2012): a key's count
 * and error are the sums of its count and error in each, a summary that
 * does not monitor it contributing its smallest count (when full) to both;
 * the CAPACITY largest are kept.  The guarantees above still hold for the
 * whole stream: count - error <= true count <= count, and a key that is not
 * kept had a true count of at most the smallest kept count. */
void atfh_topk_merge(struct atfh_topk *dst, const struct atfh_topk *src);
/* The largest error of any counter: the smallest count once full. */
uint64_t atfh_topk_min_count(const struct atfh_topk *t);

#endif
