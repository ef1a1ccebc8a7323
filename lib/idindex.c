/*
 * idindex.c — see idindex.h.
 */
#include "idindex.h"
#include "didset.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <xxhash.h>

void atfh_idkey_of(const char *did, size_t n, struct atfh_idkey *k)
{
	uint64_t hi, lo;
	if (atfh_did_plc_pack(did, n, &hi, &lo)) {
		k->a = hi;
		k->b = lo | 1ull << 60;
		return;
	}
	k->a = XXH3_64bits(did, n);
	k->b = (XXH3_64bits_withSeed(did, n, 0x1d1d) & 0x0fffffffffffffffull) | 2ull << 60;
}

#define HUGE (2u << 20)

static void free_slots(struct atfh_idindex *ix)
{
	if (ix->mapped)
		munmap(ix->s, ix->cap * sizeof *ix->s);
	else
		free(ix->s);
	ix->s = NULL;
}

/* Zeroed slots; a large table on huge pages where the kernel gives them
 * (a lookup is a random access: one TLB entry per 2 MB, not per 4 KB). */
static void alloc_slots(struct atfh_idindex *ix, size_t cap)
{
	size_t bytes = cap * sizeof *ix->s;
	ix->mapped = false;
	if (bytes >= HUGE) {
		char *m = mmap(NULL, bytes + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);
		if (m != MAP_FAILED) {
			char *a = (char *)(((uintptr_t)m + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
			if (a > m)
				munmap(m, (size_t)(a - m));
			munmap(a + bytes, (size_t)(m + bytes + HUGE - (a + bytes)));
			madvise(a, bytes, MADV_HUGEPAGE);
			ix->s = (struct atfh_idslot *)a;
			ix->mapped = true;
		}
	}
	if (!ix->mapped)
		ix->s = atfh_xcalloc(cap, sizeof *ix->s);
	ix->cap = cap;
	ix->mask = cap - 1;
	unsigned bits = 0;
	while (((size_t)1 << bits) < cap)
		bits++;
	ix->shift = 64 - bits;
}

void atfh_idindex_init(struct atfh_idindex *ix, size_t want)
{
	memset(ix, 0, sizeof *ix);
	size_t cap = 1024;
	while (cap / 4 * 3 < want)
		cap *= 2;
	alloc_slots(ix, cap);
}

void atfh_idindex_free(struct atfh_idindex *ix)
{
	free_slots(ix);
	free(ix->hbuf);
	free(ix->hoff);
	free(ix->hlen);
	free(ix->htab);
	memset(ix, 0, sizeof *ix);
}

static void grow(struct atfh_idindex *ix)
{
	struct atfh_idindex was = *ix;
	struct atfh_idslot *old = ix->s;
	size_t oldcap = ix->cap;
	alloc_slots(ix, oldcap * 2);
	for (size_t i = 0; i < oldcap; i++) {
		if (!old[i].ref)
			continue;
		size_t j = atfh_idindex_pos(ix, &old[i].k);
		while (ix->s[j].ref)
			j = (j + 1) & ix->mask;
		ix->s[j] = old[i];
	}
	free_slots(&was);
}

struct atfh_idslot *atfh_idindex_put(struct atfh_idindex *ix, const struct atfh_idkey *k)
{
	struct atfh_idslot *s = atfh_idindex_get(ix, k);
	if (s)
		return s;
	if (ix->n + 1 > ix->cap / 4 * 3) /* at most 3/4 full */
		grow(ix);
	size_t i = atfh_idindex_pos(ix, k);
	while (ix->s[i].ref)
		i = (i + 1) & ix->mask;
	s = &ix->s[i];
	memset(s, 0, sizeof *s);
	s->k = *k;
	ix->n++;
	return s;
}

void atfh_idindex_del(struct atfh_idindex *ix, struct atfh_idslot *s)
{
	size_t i = (size_t)(s - ix->s), j = i;
	ix->n--;
	for (;;) {
		j = (j + 1) & ix->mask;
		if (!ix->s[j].ref)
			break;
		/* can the slot at J move to I (is I cyclically in [home, J))? */
		size_t home = atfh_idindex_pos(ix, &ix->s[j].k);
		if (((j - home) & ix->mask) >= ((j - i) & ix->mask)) {
			ix->s[i] = ix->s[j];
			i = j;
		}
	}
	memset(&ix->s[i], 0, sizeof ix->s[i]);
}

uint32_t atfh_idindex_host(struct atfh_idindex *ix, const char *h, size_t n)
{
	if (ix->htab_cap == 0 || (ix->nhosts + 1) * 2 > ix->htab_cap) {
		if (ix->nhosts >= ATFH_IDX_HOSTS)
			goto find_only;
		size_t cap = ix->htab_cap ? ix->htab_cap * 2 : 64;
		uint32_t *t = atfh_xcalloc(cap, sizeof *t);
		for (size_t i = 0; i < ix->htab_cap; i++) {
			uint32_t id = ix->htab[i];
			if (!id)
				continue;
			size_t j = XXH3_64bits(ix->hbuf + ix->hoff[id], ix->hlen[id]) & (cap - 1);
			while (t[j])
				j = (j + 1) & (cap - 1);
			t[j] = id;
		}
		free(ix->htab);
		ix->htab = t;
		ix->htab_cap = cap;
		ix->hoff = atfh_xrealloc(ix->hoff, (cap / 2 + 1) * sizeof *ix->hoff);
		ix->hlen = atfh_xrealloc(ix->hlen, (cap / 2 + 1) * sizeof *ix->hlen);
	}
find_only:;
	size_t j = XXH3_64bits(h, n) & (ix->htab_cap - 1);
	for (; ix->htab[j]; j = (j + 1) & (ix->htab_cap - 1)) {
		uint32_t id = ix->htab[j];
		if (ix->hlen[id] == n && memcmp(ix->hbuf + ix->hoff[id], h, n) == 0)
			return id;
	}
	if (ix->nhosts >= ATFH_IDX_HOSTS || (ix->nhosts + 1) * 2 > ix->htab_cap)
		return 0;
	if (ix->hbuf_len + n > ix->hbuf_cap) {
		while (ix->hbuf_len + n > ix->hbuf_cap)
			ix->hbuf_cap = ix->hbuf_cap ? ix->hbuf_cap * 2 : 4096;
		ix->hbuf = atfh_xrealloc(ix->hbuf, ix->hbuf_cap);
	}
	uint32_t id = (uint32_t)++ix->nhosts;
	memcpy(ix->hbuf + ix->hbuf_len, h, n);
	ix->hoff[id] = (uint32_t)ix->hbuf_len;
	ix->hlen[id] = (uint32_t)n;
	ix->hbuf_len += n;
	ix->htab[j] = id;
	return id;
}
