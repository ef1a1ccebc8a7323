/*
 * seqwin.c — see seqwin.h.
 */
#include "seqwin.h"

static size_t slot(int64_t seq)
{
	return (size_t)((uint64_t)seq % ATFH_SEQWIN);
}

void atfh_seqwin_init(struct atfh_seqwin *w, bool has_top, int64_t top)
{
	w->has_top = has_top;
	w->top = top;
	memset(w->bits, has_top ? 0xff : 0, sizeof w->bits);
}

bool atfh_seqwin_has(const struct atfh_seqwin *w, int64_t seq)
{
	if (!w->has_top || seq > w->top)
		return false;
	if (((uint64_t)w->top - (uint64_t)seq) >= ATFH_SEQWIN)
		return true;
	size_t i = slot(seq);
	return (w->bits[i / 64] >> (i % 64)) & 1;
}

void atfh_seqwin_mark(struct atfh_seqwin *w, int64_t seq)
{
	if (!w->has_top) {
		w->has_top = true;
		w->top = seq;
		memset(w->bits, 0, sizeof w->bits);
	} else if (seq > w->top) {
		/* the slots of the seqs between the old top and SEQ held seqs
		 * that fall out of the window now: not written (yet) */
		if (((uint64_t)seq - (uint64_t)w->top) >= ATFH_SEQWIN) {
			memset(w->bits, 0, sizeof w->bits);
		} else {
			for (int64_t s = w->top + 1; s < seq; s++) {
				size_t i = slot(s);
				w->bits[i / 64] &= ~((uint64_t)1 << (i % 64));
			}
		}
		w->top = seq;
	} else if (((uint64_t)w->top - (uint64_t)seq) >= ATFH_SEQWIN) {
		return;
	}
	size_t i = slot(seq);
	w->bits[i / 64] |= (uint64_t)1 << (i % 64);
}
