/*
 * hll.c — see hll.h.  The estimator is the "improved raw estimator" of
 * O. Ertl, New cardinality estimation algorithms for HyperLogLog sketches
 * (2017), algorithm 6: unbiased from empty to 2^64 without the empirical
 * corrections of HyperLogLog++.
 */
#include "hll.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <xxhash.h>

#define Q (64 - ATFH_HLL_P)  /* hash bits left for the register value */
#define SPARSE_MAX_CAP 2048u /* 16 KB of set, as much as the registers */

void atfh_hll_free(struct atfh_hll *h)
{
	free(h->reg);
	free(h->set);
	atfh_hll_init(h);
}

static void reg_add(uint8_t *reg, uint64_t hash)
{
	uint32_t idx = (uint32_t)(hash >> Q);
	uint64_t w = hash << ATFH_HLL_P;
	uint8_t rho = w ? (uint8_t)(__builtin_clzll(w) + 1) : (uint8_t)(Q + 1);
	if (reg[idx] < rho)
		reg[idx] = rho;
}

static void set_insert(uint64_t *set, uint32_t cap, uint64_t hash, uint32_t *n)
{
	uint32_t mask = cap - 1;
	uint32_t s = (uint32_t)(hash ^ (hash >> 32)) & mask;
	while (set[s]) {
		if (set[s] == hash)
			return;
		s = (s + 1) & mask;
	}
	set[s] = hash;
	(*n)++;
}

static bool set_has(const uint64_t *set, uint32_t cap, uint64_t hash)
{
	uint32_t mask = cap - 1;
	for (uint32_t s = (uint32_t)(hash ^ (hash >> 32)) & mask; cap && set[s]; s = (s + 1) & mask)
		if (set[s] == hash)
			return true;
	return false;
}

static void densify(struct atfh_hll *h)
{
	h->reg = atfh_xcalloc(ATFH_HLL_M, 1);
	for (uint32_t i = 0; i < h->cap; i++)
		if (h->set[i])
			reg_add(h->reg, h->set[i]);
	if (h->zero)
		reg_add(h->reg, 0);
	free(h->set);
	h->set = NULL;
	h->n = h->cap = 0;
	h->zero = false;
}

void atfh_hll_add_hash(struct atfh_hll *h, uint64_t hash)
{
	if (h->reg) {
		reg_add(h->reg, hash);
		return;
	}
	if (hash == 0) {
		h->zero = true;
		return;
	}
	if ((h->n + 1) * 4 > h->cap * 3) {
		/* full: a hash seen already changes nothing (else the sketch
		 * would turn estimated or not by the order values come in, and
		 * -T workers' merged sketches would differ from one thread's) */
		if (set_has(h->set, h->cap, hash))
			return;
		if (h->cap >= SPARSE_MAX_CAP) {
			densify(h);
			reg_add(h->reg, hash);
			return;
		}
		uint32_t cap = h->cap ? h->cap * 2 : 8;
		uint64_t *set = atfh_xcalloc(cap, sizeof *set);
		uint32_t n = 0;
		for (uint32_t i = 0; i < h->cap; i++)
			if (h->set[i])
				set_insert(set, cap, h->set[i], &n);
		free(h->set);
		h->set = set;
		h->cap = cap;
		h->n = n;
	}
	set_insert(h->set, h->cap, hash, &h->n);
}

void atfh_hll_add(struct atfh_hll *h, const void *p, size_t n)
{
	atfh_hll_add_hash(h, XXH3_64bits(p, n));
}

void atfh_hll_merge(struct atfh_hll *dst, const struct atfh_hll *src)
{
	if (src->reg) {
		if (!dst->reg)
			densify(dst);
		for (uint32_t i = 0; i < ATFH_HLL_M; i++)
			if (dst->reg[i] < src->reg[i])
				dst->reg[i] = src->reg[i];
		return;
	}
	for (uint32_t i = 0; i < src->cap; i++)
		if (src->set[i])
			atfh_hll_add_hash(dst, src->set[i]);
	if (src->zero)
		atfh_hll_add_hash(dst, 0);
}

static double sigma(double x)
{
	if (x == 1)
		return INFINITY;
	double y = 1, z = x, zp;
	do {
		x *= x;
		zp = z;
		z += x * y;
		y += y;
	} while (z != zp);
	return z;
}

static double tau(double x)
{
	if (x == 0 || x == 1)
		return 0;
	double y = 1, z = 1 - x, zp;
	do {
		x = sqrt(x);
		zp = z;
		y *= 0.5;
		z -= (1 - x) * (1 - x) * y;
	} while (z != zp);
	return z / 3;
}

uint64_t atfh_hll_estimate(const struct atfh_hll *h)
{
	if (!h->reg)
		return (uint64_t)h->n + h->zero;
	uint32_t c[Q + 2] = { 0 };
	for (uint32_t i = 0; i < ATFH_HLL_M; i++)
		c[h->reg[i]]++;
	if (c[0] == ATFH_HLL_M)
		return 0;
	const double m = ATFH_HLL_M;
	double z = m * tau((m - c[Q + 1]) / m);
	for (int k = Q; k >= 1; k--)
		z = 0.5 * (z + c[k]);
	z += m * sigma(c[0] / m);
	double e = (m / (2 * log(2))) * m / z;
	return (uint64_t)llround(e);
}
