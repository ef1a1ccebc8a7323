/*
 * jsonscan.h — reading NDJSON events: a validating JSON scanner (RFC 8259,
 * UTF-8 checked, nesting bounded by ATFH_MAX_JSON_DEPTH) that records where the
 * top-level fields of an object are without building a tree, and number /
 * string helpers over those spans.  grep, count, split and emit use it to
 * read jetstream events; decode uses it to convert them.
 */
#ifndef ATFH_JSONSCAN_H
#define ATFH_JSONSCAN_H

#include "atfh.h"

enum atfh_jtype { ATFH_J_NULL, ATFH_J_BOOL, ATFH_J_NUM, ATFH_J_STR, ATFH_J_ARR, ATFH_J_OBJ };

struct atfh_jval {
	enum atfh_jtype type;
	const char *p; /* the value's text; for strings the inside of the quotes */
	size_t n;
	bool truth;    /* BOOL value */
};

struct atfh_jfield {
	struct atfh_str key; /* inside of the quotes, escaped */
	struct atfh_jval val;
};

#define ATFH_JFIELDS_MAX 32

struct atfh_jobj {
	struct atfh_jfield f[ATFH_JFIELDS_MAX];
	size_t n;
};

/* Parse the object that is the whole of P (white space around it allowed).
 * Fields past ATFH_JFIELDS_MAX are checked but not recorded.  0, or -1 with
 * *err set to a static message. */
int atfh_jobj_parse(struct atfh_jobj *o, const char *p, size_t n, const char **err);
/* Check that P is exactly one JSON value. */
int atfh_json_check(const char *p, size_t n, const char **err);
const struct atfh_jval *atfh_jobj_get(const struct atfh_jobj *o, const char *key);
/* The elements of A, an array value from atfh_jobj_parse (so already
 * checked): *POS is NULL before the first call; 1 with *V set to the next
 * element, 0 after the last. */
int atfh_jarr_next(const struct atfh_jval *a, const char **pos, struct atfh_jval *v);
/* A string value's text with its escapes undone into DST (CAP bytes, NUL
 * added); \u escapes only for ASCII.  The length, or -1 when it does not
 * fit or holds an escape outside ASCII. */
long atfh_jval_unescape(const struct atfh_jval *v, char *dst, size_t cap);
/* An integer value that fits int64. */
bool atfh_jval_i64(const struct atfh_jval *v, int64_t *out);
/* A string value as an atfh_str (escaped JSON text). */
static inline struct atfh_str atfh_jval_str(const struct atfh_jval *v)
{
	return (struct atfh_str){ v->p, v->n, true };
}

#endif
