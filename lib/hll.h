/*
 * hll.h — approximate distinct counting (HyperLogLog).  Owns the sketch:
 * 2^14 one-byte registers fed by 64-bit hashes, read with Ertl's improved
 * estimator (no bias tables; relative standard error 1.04/sqrt(2^14) =
 * 0.81 %, so 2 % is about 2.5 standard errors), and a sparse start: up to
 * 1536 distinct hashes are kept exactly in a small set (the count is then
 * exact) and only a sketch that outgrows it takes the 16 KB of registers.
 * A zeroed struct is an empty sketch.
 */
#ifndef ATFH_HLL_H
#define ATFH_HLL_H

#include "atfh.h"

#define ATFH_HLL_P 14
#define ATFH_HLL_M (1u << ATFH_HLL_P)

struct atfh_hll {
	uint8_t *reg;    /* ATFH_HLL_M registers once dense, else NULL */
	uint64_t *set;   /* sparse: open-addressing set of hashes, 0 = empty */
	uint32_t n, cap; /* hashes in the set, its size */
	bool zero;       /* the hash 0 was added (sparse) */
};

static inline void atfh_hll_init(struct atfh_hll *h)
{
	memset(h, 0, sizeof *h);
}
void atfh_hll_free(struct atfh_hll *h);
void atfh_hll_add_hash(struct atfh_hll *h, uint64_t hash);
/* Hash P (XXH3-64) and add it. */
void atfh_hll_add(struct atfh_hll *h, const void *p, size_t n);
/* Add everything SRC holds. */
void atfh_hll_merge(struct atfh_hll *dst, const struct atfh_hll *src);
uint64_t atfh_hll_estimate(const struct atfh_hll *h);

#endif
