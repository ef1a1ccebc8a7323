/*
 * trim.h — a commit frame cut down to some of its ops, so that a filter
 * that selects ops writes frames meaning what it selected.  The header is
 * kept as sent; the body is re-encoded as canonical DAG-CBOR with the same
 * keys, `ops` holding only the kept ops and `blocks` a CAR v1 with the
 * original header, the commit block (the CAR's roots and the body's
 * `commit`, byte for byte, so its signature still holds) and the record
 * blocks the kept ops point at, in their original order.
 */
#ifndef ATFH_TRIM_H
#define ATFH_TRIM_H

#include "cborenc.h"
#include "event.h"
#include "out.h"

struct atfh_trim {
	struct atfh_cbenc enc;
	struct atfh_out car;   /* the new CAR, before it goes into the body */
	uint8_t *keep_block;   /* per CAR block */
	size_t keep_cap;
	char errbuf[120];
};

void atfh_trim_free(struct atfh_trim *t);
/* Append to O the frame record (4-byte big-endian length, then the
 * message) of commit M (parsed, ops parsed) holding only the ops I with
 * KEEP[i] set.  0, or -1 with *err (O unchanged): the body or its CAR is
 * malformed. */
int atfh_trim_commit(struct atfh_trim *t, struct atfh_msg *m, const bool *keep,
		     struct atfh_out *o, const char **err);

#endif
