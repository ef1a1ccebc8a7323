/*
 * tally_out.h — writing count results (lib/tally rows): a line per row as
 * NDJSON, TSV (header first) or a --format template, or a block of rows as
 * an aligned table titled with its snapshot or window.  Owns the template
 * syntax ({NAME}, {{ and }}, \n \t \\), the cell forms (TSV escapes; table
 * cells keep JSON escapes so that control characters never reach the
 * terminal) and the time stamps (ISO 8601, UTC).
 */
#ifndef ATFH_TALLY_OUT_H
#define ATFH_TALLY_OUT_H

#include "tally.h"

enum atfh_tally_fmt { ATFH_TALLY_AUTO, ATFH_TALLY_NDJSON, ATFH_TALLY_TABLE, ATFH_TALLY_TSV };

enum atfh_tally_tkind {
	ATFH_T_LIT, ATFH_T_PART, ATFH_T_COUNT, ATFH_T_ERROR, ATFH_T_DISTINCT,
	ATFH_T_WSTART, ATFH_T_WEND, ATFH_T_LATE, ATFH_T_FUTURE, ATFH_T_SNAPSHOT, ATFH_T_PATH,
};

struct atfh_tally_tpiece {
	enum atfh_tally_tkind kind;
	char *lit;
	size_t lit_len;
	size_t part;
	struct atfh_evpath path;
};

struct atfh_tally_out {
	const struct atfh_tally *t;  /* the parts, the window, what a row carries */
	enum atfh_tally_fmt fmt;
	struct atfh_tally_tpiece *tmpl;  /* NULL: fmt says */
	size_t ntmpl;
	bool every;           /* snapshots: TSV has a column for them */
	bool snapfile;        /* each block replaces a file: whole, at once */
	bool redraw;          /* each block replaces the screen */
	bool header_done;     /* TSV header written */
	bool block_done;      /* something printed before (blank line between) */
	const char *snapshot; /* the current block is a snapshot taken then */
};

/* Parse --format TEMPLATE; exits with a usage error.  LIVE: event fields
 * ({PATH}) are allowed. */
void atfh_tally_tmpl_parse(struct atfh_tally_out *w, const char *src, bool live);
/* How far frames must be decoded for the template: see atfh_evpath_depth. */
int atfh_tally_out_depth(const struct atfh_tally_out *w);
void atfh_tally_out_free(struct atfh_tally_out *w);

/* One line for R; EV is the event (--live) or NULL. */
void atfh_tally_line(struct atfh_tally_out *w, struct atfh_out *o, const struct atfh_tally_row *r,
		     struct atfh_ev *ev);
/* A block of N rows (MORE left out for the screen); EVENTS for a
 * snapshot's title. */
void atfh_tally_block(struct atfh_tally_out *w, struct atfh_out *o,
		      const struct atfh_tally_row *rows, size_t n, size_t more, uint64_t events);
/* US (microseconds since the epoch) as 2024-11-19T08:00:00.123Z. */
void atfh_tally_fmt_time(char *buf, size_t size, int64_t us);

#endif
