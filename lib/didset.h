/*
 * didset.h — DID files (one DID per line, `#` comments and blank lines
 * allowed, a malformed line reported with its number and skipped; lines up
 * to ATFH_DIDFILE_LINE_MAX, a longer one reported and skipped whole), read
 * into a list in file order or into a set for membership tests on the hot
 * path.  The set is added to one by one or from a file: a flat
 * open-addressing table of 16-byte keys (a did:plc: DID packed whole, any
 * other its xxh3 hash and the offset of its text in an arena), so a
 * million did:plc: DIDs take ~28 MB.  A big file is loaded by two threads,
 * one parsing its lines while the other inserts them.  In front of the table sits a blocked Bloom filter of
 * 16 bits a DID (2 MB for a million, cache-resident): a filter keeps ~1% of
 * events, so nearly every lookup is a DID not in the set, and those are
 * answered there without touching the table.
 */
#ifndef ATFH_DIDSET_H
#define ATFH_DIDSET_H

#include "atfh.h"
#include "util.h"

struct atfh_didslot {
	uint64_t a, b;   /* a == 0: an empty slot (see didset.c) */
};

struct atfh_didset {
	struct atfh_didslot *slot;
	size_t cap, n;
	size_t room;     /* DIDs the table is sized for (cap / 1.6) */
	uint32_t (*bloom)[8]; /* blocks of 256 bits, 8 set per DID */
	size_t bloom_mask;    /* blocks - 1 */
	char *arena;
	size_t arena_len, arena_cap;
};

void atfh_didset_init(struct atfh_didset *s);
void atfh_didset_free(struct atfh_didset *s);
/* Is S (N bytes) a syntactically valid DID?  (did:METHOD:ID, ≤ 2048
 * bytes, the characters the DID spec allows.) */
bool atfh_did_valid(const char *s, size_t n);
/* A did:plc: DID of 24 base32 characters packed, 5 bits a character:
 * the first twelve into *HI, the last twelve into *LO (60 bits each);
 * false for any other DID. */
bool atfh_did_plc_pack(const char *did, size_t n, uint64_t *hi, uint64_t *lo);
/* Add one DID; false if it is not valid. */
bool atfh_didset_add(struct atfh_didset *s, const char *did, size_t n);
bool atfh_didset_has(const struct atfh_didset *s, const char *did, size_t n);
/* Bring the filter bits atfh_didset_has will read for DID into the cache
 * (a DID read early, looked up a little later). */
void atfh_didset_prefetch(const struct atfh_didset *s, const char *did, size_t n);

/* Load PATH into S (which must be empty).  Malformed lines are reported
 * through WARN (line number and text) and skipped.  0, or -1 with errno
 * set when the file cannot be read. */
int atfh_didset_load(struct atfh_didset *s, const char *path,
		     void (*warn)(void *ctx, const char *path, size_t line, const char *why),
		     void *ctx);
/* The same file's DIDs appended to L in file order, repeats kept, for a
 * caller that hands the list on rather than looking DIDs up (a Jetstream
 * filter).  PATH "-" is stdin.  0, or -1 with errno set. */
int atfh_didlist_load(struct atfh_strv *l, const char *path,
		      void (*warn)(void *ctx, const char *path, size_t line, const char *why),
		      void *ctx);

#endif
