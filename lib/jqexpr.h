/*
 * jqexpr.h — jq expressions on events, through libjq (jq 1.6): an
 * expression is compiled once, then run on each event's jetstream JSON
 * text; its outputs come back as canonical compact JSON (the form
 * lib/evpath writes, so `.did` here and the path `did` give the same
 * bytes) or as raw text, or as one truth value the way select() sees it.
 * Compile and runtime errors come back as messages, never on stderr.
 * Used by atfh-count --by-jq and atfh-grep -e.
 */
#ifndef ATFH_JQEXPR_H
#define ATFH_JQEXPR_H

#include "atfh.h"
#include "out.h"

struct atfh_jqexpr {
	void *jq;        /* jq_state */
	char *src;
	bool running;    /* started and not yet exhausted */
	char err[512];
};

/* Compile SRC.  0, or -1 with the first compile error in ERR. */
int atfh_jqexpr_compile(struct atfh_jqexpr *x, const char *src, char *err, size_t errlen);
void atfh_jqexpr_free(struct atfh_jqexpr *x);
/* Run on the JSON text P.  0, or -1 with *err if P does not parse. */
int atfh_jqexpr_start(struct atfh_jqexpr *x, const char *p, size_t n, const char **err);
/* The next output appended to O: compact canonical JSON, or with RAW a
 * string's text without quotes (other values still as JSON).  1: one
 * output; 0: no more; -1: a runtime error (*err), which ends the run. */
int atfh_jqexpr_next(struct atfh_jqexpr *x, struct atfh_out *o, bool raw, const char **err);
/* Run on P and judge the first output as select() does: 1 when it is
 * neither false nor null, 0 when it is or there is none, -1 on an error. */
int atfh_jqexpr_test(struct atfh_jqexpr *x, const char *p, size_t n, const char **err);

#endif
