/*
 * dagcbor.h — DAG-CBOR as atproto uses it, read with libcbor's streaming
 * decoder (no item tree is built).  Owns the data model check: maps with
 * text keys, arrays, text (valid UTF-8), bytes, integers over the whole
 * int64 range, booleans, null and tag-42 CID links.  Anything else —
 * floats, indefinite lengths, other tags, non-text keys, nesting deeper
 * than ATFH_MAX_DEPTH, lengths beyond the buffer — is an error with a
 * message, never a crash or an allocation.  Also converts a value to the
 * atproto JSON form ({"$link"}, {"$bytes"}) without recursion.
 */
#ifndef ATFH_DAGCBOR_H
#define ATFH_DAGCBOR_H

#include "atfh.h"
#include "out.h"

enum atfh_cbor_kind {
	ATFH_CB_INT,
	ATFH_CB_BYTES,
	ATFH_CB_TEXT,
	ATFH_CB_ARRAY,
	ATFH_CB_MAP,
	ATFH_CB_LINK, /* tag 42: p/n is the binary CID (multibase prefix dropped) */
	ATFH_CB_BOOL,
	ATFH_CB_NULL,
};

struct atfh_cbor_item {
	enum atfh_cbor_kind kind;
	int64_t i;      /* INT value, BOOL 0/1 */
	uint64_t count; /* ARRAY items, MAP pairs */
	const uint8_t *p;
	size_t n;
};

struct atfh_cbor {
	const uint8_t *p, *end;
	const char *err; /* set on failure; static or errbuf */
	char errbuf[80];
};

static inline void atfh_cbor_init(struct atfh_cbor *c, const uint8_t *p, size_t n)
{
	c->p = p;
	c->end = p + n;
	c->err = NULL;
}

/* Read the next item header (a whole scalar, or the head of an array/map). */
int atfh_cbor_next(struct atfh_cbor *c, struct atfh_cbor_item *it);
/* Read one complete value, checking all of it (UTF-8 included). */
int atfh_cbor_skip(struct atfh_cbor *c);
/* Pass over one value checking only its structure (lengths, counts, item
 * types), not its text or links: for fields nobody will look at. */
int atfh_cbor_skip_unchecked(struct atfh_cbor *c);
/* Convert one complete value to JSON; on error the output is partial and
 * the caller rolls it back. */
int atfh_cbor_to_json(struct atfh_cbor *c, struct atfh_out *o);
/* Convert one map to JSON leaving out the entry named SKIP. */
int atfh_cbor_map_to_json_except(struct atfh_cbor *c, struct atfh_out *o,
				 const char *skip);
/* Read a text string / an integer / a boolean or fail with a message
 * naming WHAT. */
int atfh_cbor_text(struct atfh_cbor *c, struct atfh_str *s, const char *what);
int atfh_cbor_int(struct atfh_cbor *c, int64_t *v, const char *what);
int atfh_cbor_bool(struct atfh_cbor *c, bool *v, const char *what);
/* Write a CID link's string form. */
void atfh_json_cid(struct atfh_out *o, const uint8_t *cid, size_t n);

int atfh_cbor_fail(struct atfh_cbor *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
