/*
 * seqwin.h — which of the recent seqs have been written: a bitmap over the
 * last ATFH_SEQWIN seqs up to the highest one written, so that a seq that
 * arrives late (after a higher one) is written if it was not and dropped if
 * it was.  Fixed memory (8 KiB); a seq older than the window counts as
 * written.
 */
#ifndef ATFH_SEQWIN_H
#define ATFH_SEQWIN_H

#include "atfh.h"

#define ATFH_SEQWIN (64u << 10)

struct atfh_seqwin {
	bool has_top;
	int64_t top;                         /* the highest seq marked */
	uint64_t bits[ATFH_SEQWIN / 64];     /* seq s at bit s mod ATFH_SEQWIN */
};

/* Start with everything up to TOP written (a cursor from an earlier run),
 * or, when !HAS_TOP, nothing. */
void atfh_seqwin_init(struct atfh_seqwin *w, bool has_top, int64_t top);
/* Was SEQ written?  A seq above the top was not; one below the window was
 * (as far as anyone can tell). */
bool atfh_seqwin_has(const struct atfh_seqwin *w, int64_t seq);
/* SEQ is written; the window moves up when it is above the top. */
void atfh_seqwin_mark(struct atfh_seqwin *w, int64_t seq);

#endif
