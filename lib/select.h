/*
 * select.h — deciding whether an event is wanted: the selectors of
 * atfh-grep (DID set, kind, action, collection globs, time range, record
 * text regex, jq expression, deterministic sample), combined with AND, on
 * NDJSON lines and on frames.  A commit frame is wanted when any of its
 * ops is; cheap selectors run first and the CAR is decoded only for --text
 * and -e.  The DID set can be swapped between events (live reload).
 */
#ifndef ATFH_SELECT_H
#define ATFH_SELECT_H

#include "didset.h"
#include "event.h"
#include "evpath.h"
#include "glob.h"
#include "jqexpr.h"
#include "jqhint.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

enum {
	ATFH_ACT_CREATE = 1,
	ATFH_ACT_UPDATE = 2,
	ATFH_ACT_DELETE = 4,
};

struct atfh_select {
	struct atfh_didset *dids;    /* NULL: any DID */
	uint32_t kinds;              /* bit per enum atfh_kind; 0: any */
	uint32_t actions;            /* ATFH_ACT_*; 0: any */
	struct atfh_globs collections; /* none: any */
	struct atfh_globs ignore;      /* collections to leave out */
	bool has_since, has_until;
	int64_t since_us, until_us;  /* [since, until) */
	pcre2_code *text;
	pcre2_match_data *text_md;
	struct atfh_jqexpr *jq;
	struct atfh_jqhint jqhint;   /* read off jq's text: see jqhint.h */
	bool sample;
	uint64_t sample_below;       /* keep when hash < this; UINT64_MAX: all */
	uint64_t sample_seed;
	bool invert;

	/* scratch */
	struct atfh_ev ev;
	struct atfh_evpath p_collection, p_operation, p_rkey, p_text;
	struct atfh_out buf;
};

void atfh_select_init(struct atfh_select *s);
void atfh_select_free(struct atfh_select *s);
/* Compile a --text pattern (PCRE2, UTF-8; CASELESS with ICASE).  0, or -1
 * with a message in ERR. */
int atfh_select_text(struct atfh_select *s, const char *re, bool icase, char *err, size_t errlen);
/* Does a kind / action name exist?  Returns its bit, or 0. */
uint32_t atfh_select_kind_bit(const char *name);
uint32_t atfh_select_action_bit(const char *name);
/* Is a frame (already parsed into M) / an NDJSON line wanted?  1 yes, 0 no,
 * -1 malformed with *err. */
int atfh_select_frame(struct atfh_select *s, struct atfh_msg *m, const char **err);
int atfh_select_line(struct atfh_select *s, const char *p, size_t n, const char **err);
/* Do only cheap selectors apply (no CAR decoding needed on frames)? */
bool atfh_select_cheap(const struct atfh_select *s);

/* RFC 3339 time, a date (YYYY-MM-DD, UTC midnight) or -DURATION (ago)
 * into µs since the epoch (digits below a µs round up).  0; -1 not a
 * time or an impossible date; -2 a -DURATION reaching before year 0000. */
int atfh_parse_when(const char *s, int64_t *us);

#endif
