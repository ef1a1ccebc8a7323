/*
 * evpath.h — field access on jetstream events, the same from NDJSON lines
 * and from frames.  Owns the path syntax (`did`, `commit.collection`,
 * `commit.record.langs[0]`, `commit.record["$type"]`, `[-1]` from the end;
 * a leading `.` is allowed; `=` only inside ["…"], so tools can accept
 * NAME=PATH), its evaluation, and the canonical JSON text
 * of a value (compact; strings escaped the way atfh writes them), so that
 * the same value gives the same bytes from either input.
 *
 * An event (struct atfh_ev) is one NDJSON line, or one op of a frame's
 * commit (any other frame is one event).  From frames the cheap fields —
 * did, time_us, kind, seq, commit.rev/operation/collection/rkey/cid — come
 * straight from struct atfh_msg without touching the CAR; any other path
 * renders the frame's jetstream lines with lib/format once (records
 * decoded only when a path reaches into commit.record) and reads them like
 * NDJSON.  Used by atfh-count (--by, --distinct, templates) and atfh-grep.
 */
#ifndef ATFH_EVPATH_H
#define ATFH_EVPATH_H

#include "event.h"
#include "format.h"
#include "jsonscan.h"
#include "out.h"

enum atfh_evtype {
	ATFH_EV_MISSING, /* the path leads nowhere */
	ATFH_EV_NULL,
	ATFH_EV_BOOL,
	ATFH_EV_NUM,
	ATFH_EV_STR,
	ATFH_EV_ARR,
	ATFH_EV_OBJ,
};

/* A value found by a path.  STR: s is the string (s.json: the escaped text
 * between the quotes; else raw UTF-8).  Other types: s is the JSON text
 * (as it appears in the input: may hold white space and escapes).  The
 * bytes belong to the event and live until it changes. */
struct atfh_evval {
	enum atfh_evtype type;
	struct atfh_str s;
};

struct atfh_evseg {
	char *key;      /* member name (unescaped), or NULL for an index */
	size_t key_len;
	long long index;
};

struct atfh_evpath {
	char *src;      /* as given */
	struct atfh_evseg *seg;
	size_t nseg;
	int cheap;      /* which struct atfh_msg field, 0 = read the JSON */
	bool record;    /* from frames: needs the commit records decoded */
};

/* Parse SRC.  0, or -1 with a message in ERR. */
int atfh_evpath_parse(struct atfh_evpath *p, const char *src, char *err, size_t errlen);
void atfh_evpath_free(struct atfh_evpath *p);
/* How far a frame must be decoded for P: 0 only its cheap fields, 1 its
 * jetstream lines, 2 with the records. */
static inline int atfh_evpath_depth(const struct atfh_evpath *p)
{
	return p->record ? 2 : p->cheap ? 0 : 1;
}

struct atfh_ev {
	/* an NDJSON line */
	const char *line;
	size_t line_len;
	struct atfh_jobj top;
	bool top_ok;
	/* or an op of a frame */
	struct atfh_msg *msg;
	size_t op;
	struct atfh_out render;    /* the frame's jetstream lines */
	size_t *line_off;          /* start of line i in render; [nlines] = end */
	size_t nlines, line_cap;
	int rendered;              /* 0 not yet, 1 without records, 2 with */
	size_t top_line;           /* which rendered line `top` describes */
	char seqbuf[24], timebuf[24], cidbuf[ATFH_CID_STRMAX(64)];
};

void atfh_ev_init(struct atfh_ev *e);
void atfh_ev_free(struct atfh_ev *e);
/* The event is the NDJSON line P: checked (valid JSON, an object).  0, or
 * -1 with *err. */
int atfh_ev_set_line(struct atfh_ev *e, const char *p, size_t n, const char **err);
/* The events of frame M (parsed): how many, and choose one. */
size_t atfh_ev_frame_events(const struct atfh_msg *m);
void atfh_ev_set_frame(struct atfh_ev *e, struct atfh_msg *m);
void atfh_ev_set_op(struct atfh_ev *e, size_t i);
/* Decode a frame's events now (as far as RECORDS says) rather than on the
 * first path that needs it, so that a bad frame shows before any of its
 * events is used.  0, or -1 with *err.  Nothing to do for a line. */
int atfh_ev_prepare(struct atfh_ev *e, bool records, const char **err);
/* Evaluate P on the event.  0 with *v (ATFH_EV_MISSING when absent), or
 * -1 with *err when the frame had to be decoded and is malformed. */
int atfh_evpath_eval(const struct atfh_evpath *p, struct atfh_ev *e,
		     struct atfh_evval *v, const char **err);
/* The event as one jetstream line, records included (no newline).  0, or
 * -1 with *err for a frame that does not decode. */
int atfh_ev_json(struct atfh_ev *e, const char **p, size_t *n, const char **err);
/* The event's time_us: 1 it has one; 0 it has none; -1 (with *err) an
 * NDJSON time_us that is there but not an integer in int64 range (a
 * float, a string…), which must be reported rather than taken as absent. */
int atfh_ev_time_us(struct atfh_ev *e, int64_t *us, const char **err);

/* The canonical JSON text of V (null when missing). */
void atfh_evval_json(struct atfh_out *o, const struct atfh_evval *v);
/* V as text: a string without quotes or escapes, anything else as JSON. */
void atfh_evval_text(struct atfh_out *o, const struct atfh_evval *v);
/* The canonical form of the JSON text P (compact, strings re-escaped). */
void atfh_json_canonical(struct atfh_out *o, const char *p, size_t n);
/* Decode the escaped inside of a JSON string literal into raw UTF-8 (lone
 * surrogates become U+FFFD). */
void atfh_json_unescape(struct atfh_out *o, const char *p, size_t n);

#endif
