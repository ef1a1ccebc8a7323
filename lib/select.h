/*
 * select.h — deciding whether an event is wanted: the selectors of
 * atfh-grep (DID set, kind, action, collection globs, time range, record
 * text regex, jq expression, deterministic sample), combined with AND, on
 * NDJSON lines and on frames.  Selection is per event on both: a commit
 * frame is one event per op, so the verdict on a frame says which of its
 * ops are wanted (all of them, as for repo-level selectors, lets the frame
 * pass whole).  Cheap selectors run first and the CAR is decoded only for
 * --text and -e.  The DID set can be swapped between events (live reload).
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

	/* the verdict of atfh_select_frame: ATFH_SEL_SOME keeps the ops I
	 * with keep[i]; events is how many events the frame's kept part is */
	bool *keep;
	size_t keep_cap, nkeep;
	uint64_t events;

	/* scratch */
	struct atfh_ev ev;
	struct atfh_evpath p_collection, p_operation, p_rkey, p_text;
	struct atfh_out buf;
};

void atfh_select_init(struct atfh_select *s);
void atfh_select_free(struct atfh_select *s);
/* With a DID set: have M's parser prefetch its filter bits as soon as it
 * reads a #commit's repo (M's on_did, when nothing else uses it). */
void atfh_select_prefetch_hook(struct atfh_select *s, struct atfh_msg *m);
/* Compile a --text pattern (PCRE2, UTF-8; CASELESS with ICASE).  0, or -1
 * with a message in ERR. */
int atfh_select_text(struct atfh_select *s, const char *re, bool icase, char *err, size_t errlen);
/* Does a kind / action name exist?  Returns its bit, or 0. */
uint32_t atfh_select_kind_bit(const char *name);
uint32_t atfh_select_action_bit(const char *name);
enum {
	ATFH_SEL_NONE = 0,  /* nothing of the frame */
	ATFH_SEL_WHOLE = 1, /* all of it: the frame as it is */
	ATFH_SEL_SOME = 2,  /* a commit of which only the ops with keep[i] */
};
/* Which part of a frame (already parsed into M) is wanted: ATFH_SEL_*,
 * with s->events (and for SOME s->keep, s->nkeep) set; -1 malformed with
 * *err.  -v inverts per event: per op for commits. */
int atfh_select_frame(struct atfh_select *s, struct atfh_msg *m, const char **err);
/* After a verdict V of atfh_select_frame: keep no more than the first
 * LEFT events of the frame (-m), turning WHOLE into SOME when that cuts a
 * commit.  The new verdict, or -1 with *err. */
int atfh_select_frame_limit(struct atfh_select *s, struct atfh_msg *m, int v, uint64_t left,
			    const char **err);
/* The events of a whole frame: its ops for a commit, else 1. */
uint64_t atfh_select_frame_events(struct atfh_msg *m);
/* Is an NDJSON line (one event) wanted?  1 yes, 0 no, -1 malformed with *err. */
int atfh_select_line(struct atfh_select *s, const char *p, size_t n, const char **err);
/* Do only cheap selectors apply (no CAR decoding needed on frames)? */
bool atfh_select_cheap(const struct atfh_select *s);

/* RFC 3339 time, a date (YYYY-MM-DD, UTC midnight) or -DURATION (ago)
 * into µs since the epoch (digits below a µs round up).  0; -1 not a
 * time or an impossible date; -2 a -DURATION reaching before year 0000. */
int atfh_parse_when(const char *s, int64_t *us);

#endif
