/*
 * tally.h — the counts behind atfh-count.  Owns the key of an event (the
 * canonical JSON value of each --by path and every output of each --by-jq
 * expression, one key per combination, the values joined by NUL bytes:
 * compact JSON never holds one), counting keys exactly (lib/counter, with
 * a HyperLogLog per key for --distinct) or in bounded memory (lib/topk),
 * tumbling windows by event time with their watermark (late and future
 * events), and the result set: rows sorted by count
 * (then key), --min and --top applied.  Printing them is lib/tally_out's.
 */
#ifndef ATFH_TALLY_H
#define ATFH_TALLY_H

#include "counter.h"
#include "evpath.h"
#include "hll.h"
#include "jqexpr.h"
#include "topk.h"

#define ATFH_TALLY_BATCH 16
#define ATFH_TALLY_SETS 4 /* sets of exact counts kept apart (see below) */

struct atfh_tally_part {
	const char *name;   /* NAME of NAME=PATH, else the path as given */
	char *alloc_name;
	bool is_jq;
	struct atfh_evpath path;
	struct atfh_jqexpr jq;
};

/* A key with what is known of it. */
struct atfh_tally_row {
	const char *key;    /* the parts' values, joined by NUL */
	size_t klen;
	uint64_t count, error, distinct;
	size_t id;          /* in the counter or Space-Saving slots */
	size_t set;         /* exact: the first set holding the key */
};

/* Exact counts: a counter and, for --distinct, a HyperLogLog per key. */
struct atfh_tally_set {
	struct atfh_counter c;
	struct atfh_hll *hll;   /* parallel to c's indexes */
	size_t hll_cap;
};

struct atfh_tally {
	/* settings: fill in before atfh_tally_start */
	struct atfh_tally_part *parts;
	size_t nparts, parts_cap;
	struct atfh_evpath distinct;
	bool has_distinct;
	uint64_t top, min, approx, window_ms;
	uint64_t max_future_ms;  /* --max-future */
	bool live;               /* reading a pipe: the watermark keeps up with the clock */
	void *ctx;
	/* --live: each key as it is counted (with its distinct estimate) */
	void (*on_key)(void *ctx, const struct atfh_tally_row *r);
	/* a jq expression failed: the event is not counted */
	void (*on_jq_error)(void *ctx, const char *err);
	/* the window is about to close (and the counts to start again) */
	void (*on_window_end)(void *ctx);
	/* an event at TIME is too far ahead of REF, the watermark (or the
	 * clock): counted as future, not in a window */
	void (*on_future)(void *ctx, int64_t time, int64_t ref);

	/* exact counts: keys are counted into set[0]; the others are -T
	 * workers' counts taken over whole (atfh_tally_merge) and added up
	 * only when the rows are made.  A key may be in several sets: its
	 * count is the sum.  Merging would insert each key new to set[0]
	 * (most of them, when workers count different parts of the input),
	 * one by one in one thread; added up, --top looks at the few keys
	 * that can be among the best, and all rows are made by a thread a
	 * set. */
	struct atfh_tally_set set[ATFH_TALLY_SETS];
	size_t nsets;
	/* exact keys waiting to be counted, in a batch (atfh_counter_prefetch):
	 * their hashes, the HyperLogLog hash, the key in pend_keys */
	struct { uint64_t hash, dhash; size_t off, len; } pend[ATFH_TALLY_BATCH];
	size_t npend;
	struct atfh_out pend_keys;
	struct atfh_topk ss;
	struct atfh_out key, vals, scratch;
	size_t *val_off, *val_cnt, *val_idx;

	bool win_open;
	int64_t win_start, win_end;
	uint64_t late, future;   /* in the open window */
	/* the watermark: the latest event time accepted, and (live) the
	 * wall-clock time in microseconds when it was reached */
	bool have_wm;
	int64_t wm, wm_clock;
};

/* Add a --by PATH or --by-jq EXPR, either as NAME=…; 0, or -1 with ERR. */
int atfh_tally_add_part(struct atfh_tally *t, bool jq, const char *arg, char *err,
			size_t errlen);
void atfh_tally_start(struct atfh_tally *t);
/* Start T with the keys, --distinct and --approx of LIKE (a started tally
 * without --by-jq parts): a worker thread's tally, merged back later. */
void atfh_tally_start_like(struct atfh_tally *t, const struct atfh_tally *like);
/* Add what FROM counted (another part of the same input) to T and clear
 * FROM: exact counts add up (FROM's sets taken over while T has room, else
 * merged key by key), --distinct sketches merge (the same estimate as one
 * tally over everything), --approx summaries merge with their error
 * bounds kept (lib/topk). */
void atfh_tally_merge(struct atfh_tally *t, struct atfh_tally *from);
void atfh_tally_free(struct atfh_tally *t);
/* How far frames must be decoded for the keys: see atfh_evpath_depth. */
int atfh_tally_depth(const struct atfh_tally *t);

/* Count event E.  0, or -1 with *err when a frame cannot be decoded as far
 * as the keys need. */
int atfh_tally_event(struct atfh_tally *t, struct atfh_ev *e, const char **err);
/* Start again from zero. */
void atfh_tally_clear(struct atfh_tally *t);
/* Anything counted (or a window open) since the last clear. */
bool atfh_tally_any(const struct atfh_tally *t);

/* The rows to print: sorted, --min and --top applied, then the best LIMIT
 * (0: all); *more says how many LIMIT left out.  The caller frees them. */
struct atfh_tally_row *atfh_tally_rows(struct atfh_tally *t, size_t limit, size_t *n,
				       size_t *more);
/* Part I of KEY. */
const char *atfh_tally_key_part(const char *key, size_t klen, size_t i, size_t *n);

#endif
