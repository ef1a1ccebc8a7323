/*
 * counter.c — see counter.h.
 */
#include "counter.h"
#include "util.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <xxhash.h>

#define INITIAL_SLOTS 1024

void atfh_counter_init(struct atfh_counter *c)
{
	memset(c, 0, sizeof *c);
}

void atfh_counter_free(struct atfh_counter *c)
{
	free(c->slots);
	free(c->off);
	if (c->arena_mapped)
		munmap(c->arena, c->arena_cap);
	else
		free(c->arena);
	memset(c, 0, sizeof *c);
}

void atfh_counter_reset(struct atfh_counter *c)
{
	if (c->slots)
		memset(c->slots, 0, c->nslots * sizeof *c->slots);
	c->n = 0;
	c->arena_len = 0;
	c->total = 0;
}

/* Big tables on transparent huge pages: their slots and keys are read
 * at random, and a TLB miss costs as much as the cache miss. */
#define HUGE_PAGE ((size_t)2 << 20)

static void *table_alloc(size_t n)
{
	void *p = NULL;
	if (n >= HUGE_PAGE && posix_memalign(&p, HUGE_PAGE, n) == 0) {
#ifdef MADV_HUGEPAGE
		madvise(p, n, MADV_HUGEPAGE);
#endif
		return p;
	}
	return atfh_xmalloc(n);
}

static void rehash(struct atfh_counter *c, size_t nslots)
{
	uint64_t *slots = table_alloc(nslots * sizeof *slots);
	memset(slots, 0, nslots * sizeof *slots);
	size_t mask = nslots - 1;
	for (size_t i = 0; i < c->n; i++) {
		uint64_t h = atfh_counter_rec(c, i)->hash;
		size_t s = (size_t)h & mask;
		while (slots[s])
			s = (s + 1) & mask;
		slots[s] = (h & 0xffffffff00000000ull) | (uint64_t)(i + 1);
	}
	free(c->slots);
	c->slots = slots;
	c->nslots = nslots;
}

/* Room for NEED more bytes in the arena.  A big arena is a mapping of
 * its own that grows by mremap(2): its pages move by their page tables,
 * where a copy into a new block would write every key again into pages
 * that must first be faulted in and cleared (a tenth of count --by did's
 * time in two threads, each with its arena). */
static void arena_grow(struct atfh_counter *c, size_t need)
{
	size_t cap = c->arena_cap ? c->arena_cap : 4096;
	while (cap - c->arena_len < need) {
		if (cap > SIZE_MAX / 2)
			atfh_die_oom();
		cap *= 2;
	}
#ifdef MREMAP_MAYMOVE
	if (cap >= HUGE_PAGE) {
		void *a = c->arena_mapped
				  ? mremap(c->arena, c->arena_cap, cap, MREMAP_MAYMOVE)
				  : mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (a == MAP_FAILED)
			atfh_die_oom();
#ifdef MADV_HUGEPAGE
		madvise(a, cap, MADV_HUGEPAGE);
#endif
		if (!c->arena_mapped) { /* from the heap, once */
			if (c->arena_len)
				memcpy(a, c->arena, c->arena_len);
			free(c->arena);
		}
		c->arena = a;
		c->arena_cap = cap;
		c->arena_mapped = true;
		return;
	}
#endif
	char *a = table_alloc(cap);
	if (c->arena_len)
		memcpy(a, c->arena, c->arena_len);
	free(c->arena);
	c->arena = a;
	c->arena_cap = cap;
}

/* The index of KEY (hash H) in C (which has slots), or SIZE_MAX with *EMPTY
 * the empty slot where it would go. */
static inline size_t probe(const struct atfh_counter *c, const void *key, size_t n, uint64_t h,
			   size_t *empty)
{
	uint64_t tag = h & 0xffffffff00000000ull;
	size_t mask = c->nslots - 1;
	for (size_t s = (size_t)h & mask;; s = (s + 1) & mask) {
		uint64_t v = c->slots[s];
		if (!v) {
			*empty = s;
			return SIZE_MAX;
		}
		if ((v & 0xffffffff00000000ull) != tag)
			continue;
		size_t i = (size_t)(v & 0xffffffffu) - 1;
		const struct atfh_counter_rec *r = atfh_counter_rec(c, i);
		if (r->hash == h && r->len == n && (n == 0 || memcmp(r + 1, key, n) == 0))
			return i;
	}
}

size_t atfh_counter_find(const struct atfh_counter *c, const void *key, size_t n, uint64_t h)
{
	size_t empty;
	return c->slots ? probe(c, key, n, h, &empty) : SIZE_MAX;
}

size_t atfh_counter_index_hashed(struct atfh_counter *c, const void *key, size_t n,
				 uint64_t h, bool *added)
{
	if (!c->slots)
		rehash(c, INITIAL_SLOTS);
	size_t s = 0;
	size_t found = probe(c, key, n, h, &s);
	if (found != SIZE_MAX) {
		if (added)
			*added = false;
		return found;
	}
	/* a new key */
	if (c->n >= 0xfffffffeu)
		atfh_die_oom(); /* the slot format holds 2^32 - 2 keys */
	if (c->n == c->cap)
		atfh_grow_array((void **)&c->off, &c->cap, c->n + 1, sizeof *c->off);
	if (n > SIZE_MAX / 2)
		atfh_die_oom();
	size_t need = (sizeof(struct atfh_counter_rec) + n + 7) & ~(size_t)7;
	if (c->arena_cap - c->arena_len < need)
		arena_grow(c, need);
	size_t i = c->n++;
	struct atfh_counter_rec *r = (struct atfh_counter_rec *)(void *)(c->arena + c->arena_len);
	*r = (struct atfh_counter_rec){ 0, h, n };
	if (n)
		memcpy(r + 1, key, n);
	c->off[i] = c->arena_len;
	c->arena_len += need;
	c->slots[s] = (h & 0xffffffff00000000ull) | (uint64_t)(i + 1);
	if (added)
		*added = true;
	/* keep the load under 0.7 */
	if (c->n * 10 > c->nslots * 7)
		rehash(c, c->nslots * 2);
	return i;
}

size_t atfh_counter_index(struct atfh_counter *c, const void *key, size_t n, bool *added)
{
	return atfh_counter_index_hashed(c, key, n, XXH3_64bits(key, n), added);
}
