/*
 * jsonscan_scalar.h — lib/jsonscan.c built a second time with its portable
 * code (ATFH_JSONSCAN_SCALAR: no SSE2), every function renamed *_scalar
 * (tests/jsonscan_scalar.c), so that tests/unit and the ndjson fuzz
 * harness can compare the two builds on the same input.
 */
#ifndef ATFH_JSONSCAN_SCALAR_H
#define ATFH_JSONSCAN_SCALAR_H

#include "jsonscan.h"

int atfh_jobj_parse_scalar(struct atfh_jobj *o, const char *p, size_t n, const char **err);
int atfh_json_check_scalar(const char *p, size_t n, const char **err);
const struct atfh_jval *atfh_jobj_get_scalar(const struct atfh_jobj *o, const char *key);
int atfh_jarr_next_scalar(const struct atfh_jval *a, const char **pos, struct atfh_jval *v);
long atfh_jval_unescape_scalar(const struct atfh_jval *v, char *dst, size_t cap);
bool atfh_jval_i64_scalar(const struct atfh_jval *v, int64_t *out);

/* Whether the two builds agree on P: the same verdict and message from
 * atfh_json_check and atfh_jobj_parse, the same fields.  Fills *WHY with
 * what differs. */
static inline bool atfh_jsonscan_builds_agree(const char *p, size_t n, const char **why)
{
	const char *e1 = NULL, *e2 = NULL;
	int r1 = atfh_json_check(p, n, &e1), r2 = atfh_json_check_scalar(p, n, &e2);
	if (r1 != r2 || (r1 && strcmp(e1, e2) != 0)) {
		*why = "atfh_json_check";
		return false;
	}
	static struct atfh_jobj a, b; /* large: not on the stack */
	e1 = e2 = NULL;
	r1 = atfh_jobj_parse(&a, p, n, &e1);
	r2 = atfh_jobj_parse_scalar(&b, p, n, &e2);
	if (r1 != r2 || (r1 && strcmp(e1, e2) != 0)) {
		*why = "atfh_jobj_parse";
		return false;
	}
	if (r1)
		return true;
	if (a.n != b.n) {
		*why = "field count";
		return false;
	}
	for (size_t i = 0; i < a.n; i++) {
		const struct atfh_jfield *x = &a.f[i], *y = &b.f[i];
		if (x->key.p != y->key.p || x->key.n != y->key.n || x->key.json != y->key.json ||
		    x->val.type != y->val.type || x->val.p != y->val.p || x->val.n != y->val.n ||
		    (x->val.type == ATFH_J_BOOL && x->val.truth != y->val.truth)) {
			*why = "a field's span, type or value";
			return false;
		}
	}
	return true;
}

#endif
