/*
 * counter.c — see counter.h.
 */
#include "counter.h"
#include "util.h"

#include <stdlib.h>
#include <xxhash.h>

#define INITIAL_SLOTS 1024

void atfh_counter_init(struct atfh_counter *c)
{
	memset(c, 0, sizeof *c);
}

void atfh_counter_free(struct atfh_counter *c)
{
	free(c->slots);
	free(c->ent);
	free(c->count);
	free(c->keys);
	memset(c, 0, sizeof *c);
}

void atfh_counter_reset(struct atfh_counter *c)
{
	if (c->slots)
		memset(c->slots, 0, c->nslots * sizeof *c->slots);
	c->n = 0;
	c->keys_len = 0;
	c->total = 0;
}

static void rehash(struct atfh_counter *c, size_t nslots)
{
	uint64_t *slots = atfh_xcalloc(nslots, sizeof *slots);
	size_t mask = nslots - 1;
	for (size_t i = 0; i < c->n; i++) {
		uint64_t h = c->ent[i].hash;
		size_t s = (size_t)h & mask;
		while (slots[s])
			s = (s + 1) & mask;
		slots[s] = (h & 0xffffffff00000000ull) | (uint64_t)(i + 1);
	}
	free(c->slots);
	c->slots = slots;
	c->nslots = nslots;
}

size_t atfh_counter_index(struct atfh_counter *c, const void *key, size_t n, bool *added)
{
	if (!c->slots)
		rehash(c, INITIAL_SLOTS);
	uint64_t h = XXH3_64bits(key, n);
	uint64_t tag = h & 0xffffffff00000000ull;
	size_t mask = c->nslots - 1;
	size_t s = (size_t)h & mask;
	for (;;) {
		uint64_t v = c->slots[s];
		if (!v)
			break;
		if ((v & 0xffffffff00000000ull) == tag) {
			size_t i = (size_t)(v & 0xffffffffu) - 1;
			if (c->ent[i].hash == h && c->ent[i].len == n &&
			    memcmp(c->keys + c->ent[i].off, key, n) == 0) {
				if (added)
					*added = false;
				return i;
			}
		}
		s = (s + 1) & mask;
	}
	/* a new key */
	if (c->n >= 0xfffffffeu)
		atfh_die_oom(); /* the slot format holds 2^32 - 2 keys */
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		c->ent = atfh_xrealloc(c->ent, cap * sizeof *c->ent);
		c->count = atfh_xrealloc(c->count, cap * sizeof *c->count);
		c->cap = cap;
	}
	if (!c->keys || c->keys_cap - c->keys_len < n) {
		size_t cap = c->keys_cap ? c->keys_cap : 4096;
		while (cap - c->keys_len < n) {
			if (cap > SIZE_MAX / 2)
				atfh_die_oom();
			cap *= 2;
		}
		c->keys = atfh_xrealloc(c->keys, cap);
		c->keys_cap = cap;
	}
	size_t i = c->n++;
	if (n)
		memcpy(c->keys + c->keys_len, key, n);
	c->ent[i] = (struct atfh_counter_ent){ h, c->keys_len, n };
	c->keys_len += n;
	c->count[i] = 0;
	c->slots[s] = tag | (uint64_t)(i + 1);
	if (added)
		*added = true;
	/* keep the load under 0.7 */
	if (c->n * 10 > c->nslots * 7)
		rehash(c, c->nslots * 2);
	return i;
}
