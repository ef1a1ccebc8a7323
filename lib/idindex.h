/*
 * idindex.h — the index of lib/identity's cache: DID → slot, open
 * addressing with linear probing (backward-shift deletion), 32-byte slots
 * two to a cache line, so that a lookup on the hot path costs one memory
 * access and writes nothing.  Owns:
 *  - the keys: a did:plc's key is the DID itself, packed (its 24 base-32
 *    characters in 120 bits), so equal keys are equal DIDs and a hit needs
 *    no other memory ("exact"); any other DID's key is a hash of it, and
 *    its owner compares the DID before trusting a hit;
 *  - the slots: key, PDS host number, fetch time (seconds) and the
 *    owner's reference (never 0: 0 marks a free slot); what they mean is
 *    lib/identity's;
 *  - the PDS hosts, interned as small numbers from 1 (at most
 *    ATFH_IDX_HOSTS; 0: not interned), so a host's verdict can be kept per
 *    number.
 */
#ifndef ATFH_IDINDEX_H
#define ATFH_IDINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ATFH_IDX_HOSTS (1u << 20)

struct atfh_idkey {
	uint64_t a, b; /* b's top 4 bits: 1 exact (did:plc), 2 a hash */
};

struct atfh_idslot {
	struct atfh_idkey k;
	uint32_t host;     /* the owner's: a host number and flags */
	uint32_t fetched;  /* the owner's: seconds since the epoch */
	uintptr_t ref;     /* the owner's, 0: the slot is free */
};

struct atfh_idindex {
	struct atfh_idslot *s;  /* large: mmap(2)ed, on huge pages if it can */
	size_t cap, mask, n;
	bool mapped;
	unsigned shift;
	/* hosts: names in one buffer, an open-addressing table of numbers */
	char *hbuf;
	size_t hbuf_len, hbuf_cap;
	uint32_t *hoff, *hlen;  /* by number (1..nhosts) */
	uint32_t *htab;         /* numbers, 0: free */
	size_t htab_cap, nhosts;
};

/* The key of DID (N bytes). */
void atfh_idkey_of(const char *did, size_t n, struct atfh_idkey *k);
static inline bool atfh_idkey_exact(const struct atfh_idkey *k)
{
	return k->b >> 60 == 1;
}

/* An empty index with room for about WANT slots (kept at most 3/4 full). */
void atfh_idindex_init(struct atfh_idindex *ix, size_t want);
void atfh_idindex_free(struct atfh_idindex *ix);

static inline size_t atfh_idindex_pos(const struct atfh_idindex *ix, const struct atfh_idkey *k)
{
	return (size_t)(((k->a ^ (k->b * 0xff51afd7ed558ccdull)) * 0x9e3779b97f4a7c15ull) >> ix->shift);
}

static inline void atfh_idindex_prefetch(const struct atfh_idindex *ix, const struct atfh_idkey *k)
{
	__builtin_prefetch(&ix->s[atfh_idindex_pos(ix, k)]);
}

/* The slot of K, or NULL. */
static inline struct atfh_idslot *atfh_idindex_get(const struct atfh_idindex *ix,
						   const struct atfh_idkey *k)
{
	for (size_t i = atfh_idindex_pos(ix, k);; i = (i + 1) & ix->mask) {
		struct atfh_idslot *s = &ix->s[i];
		if (!s->ref)
			return NULL;
		if (s->k.a == k->a && s->k.b == k->b)
			return s;
	}
}

/* The slot of K, a free one (ref 0, key set: the caller sets ref) when
 * there was none.  Slot pointers taken before are invalid after. */
struct atfh_idslot *atfh_idindex_put(struct atfh_idindex *ix, const struct atfh_idkey *k);
/* Free slot S (others may move into it). */
void atfh_idindex_del(struct atfh_idindex *ix, struct atfh_idslot *s);

/* The number of host H (N bytes), interned; 0 when there are too many. */
uint32_t atfh_idindex_host(struct atfh_idindex *ix, const char *h, size_t n);
/* The name of host number ID (1..nhosts) into *N. */
static inline const char *atfh_idindex_host_name(const struct atfh_idindex *ix, uint32_t id,
						 size_t *n)
{
	*n = ix->hlen[id];
	return ix->hbuf + ix->hoff[id];
}

#endif
