/*
 * jqhint.h — a cheap necessary condition read off the text of a jq
 * program, so atfh-grep -e can leave out most events without libjq.  When
 * the program is a chain of `and` whose first term compares a plain path
 * with a string (`.commit.collection == "app.bsky.feed.post" and …`), an
 * event on which that comparison is false gives false whatever follows,
 * because `and` stops there.  On NDJSON that is decided on the text (the
 * string is nowhere in the line), on frames from the message's fields.  Programs of any other shape, or with
 * anything at the top level that binds looser than `and` (`|`, `,`, `//`,
 * `or`, `as`, assignments, `def`) or that this reading does not follow
 * (comments, string interpolation, a string holding a quote, backslash,
 * slash or control character), get no hint.
 */
#ifndef ATFH_JQHINT_H
#define ATFH_JQHINT_H

#include "evpath.h"

struct atfh_jqhint {
	bool active;
	struct atfh_evpath path;
	char *quoted;        /* "want", as JSON text */
	const char *want;    /* the string the path must equal */
	size_t want_len;
};

/* Read a hint off SRC (inactive when there is none). */
void atfh_jqhint_init(struct atfh_jqhint *h, const char *src);
void atfh_jqhint_free(struct atfh_jqhint *h);
/* false: the program's output on the NDJSON line P is false, so the line
 * is not selected.  Decided on the text alone: the string does not occur. */
bool atfh_jqhint_line_may_match(const struct atfh_jqhint *h, const char *p, size_t n);
/* The same for an event of a frame, when the path is one of the fields
 * read straight off the message (kind, did, commit.collection …). */
bool atfh_jqhint_event_may_match(const struct atfh_jqhint *h, struct atfh_ev *e);

#endif
