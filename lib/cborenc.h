/*
 * cborenc.h — writing canonical DAG-CBOR: the shortest head for every
 * integer and length, map keys sorted length-first then bytewise, CID
 * links as tag 42 over a byte string with the 0x00 multibase prefix.  And
 * re-encoding a value read by dagcbor.h into that form (what a filter
 * needs to rewrite part of a message and keep the rest as it was).
 */
#ifndef ATFH_CBORENC_H
#define ATFH_CBORENC_H

#include "atfh.h"
#include "dagcbor.h"
#include "out.h"

/* One map entry being sorted: key and value as spans of the input. */
struct atfh_cbe_entry {
	const uint8_t *key, *val;
	size_t key_len, val_len;
	size_t index; /* position in the input: equal keys keep their order */
};

/* Scratch reused from value to value (entries of the maps being sorted). */
struct atfh_cbenc {
	struct atfh_cbe_entry *v;
	size_t n, cap;
};

void atfh_cbe_free(struct atfh_cbenc *e);

/* A head of major type MAJOR (0..7) with argument V, shortest form. */
void atfh_cbe_head(struct atfh_out *o, unsigned major, uint64_t v);
void atfh_cbe_int(struct atfh_out *o, int64_t v);
void atfh_cbe_text(struct atfh_out *o, const void *p, size_t n);
void atfh_cbe_bytes(struct atfh_out *o, const void *p, size_t n);
/* A CID link; CID is the binary CID without the multibase prefix. */
void atfh_cbe_link(struct atfh_out *o, const uint8_t *cid, size_t n);

/* Canonical order of two map keys: length first, then bytewise.  <0, 0, >0. */
int atfh_cbe_key_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn);

/* Read the map at C into entries E->v[base .. base + count) sorted
 * canonically (E->n grows by count); the caller drops them with
 * E->n = base.  0, or -1 with c->err. */
int atfh_cbe_map_entries(struct atfh_cbenc *e, struct atfh_cbor *c, size_t *base,
			 size_t *count);

/* Read one value at C and write it to O in canonical form.  Items are
 * read by atfh_cbor_next (the atproto data model; text is copied as it
 * is).  0, or -1 with c->err; O then holds a partial value the caller
 * rolls back. */
int atfh_cbe_canon(struct atfh_cbenc *e, struct atfh_cbor *c, struct atfh_out *o);

#endif
