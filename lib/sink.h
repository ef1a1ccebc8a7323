/*
 * sink.h — where a subscription's messages end up, and the cursor file
 * that says how far that is.  Owns the output (frames, or Jetstream's
 * NDJSON lines, to stdout or appended to -o FILE: locked against a second
 * writer, and on start cut back to its last complete record, whose
 * position a resumed run must not write again), where the run starts (the
 * cursor file, else --cursor), flushing, and the cursor file, which names
 * a message only once it has reached the output and, for a file, the disk,
 * and is rewritten at most every cursor interval.  --limit and --duration
 * live here too: they are checked where messages are written.
 *
 * atfh_sink_attach makes it the firehose's (or replay's) write and idle
 * callbacks.
 */
#ifndef ATFH_SINK_H
#define ATFH_SINK_H

#include "firehose.h"
#include "out.h"
#include "stats.h"

struct atfh_sink {
	/* settings */
	const char *path;            /* -o FILE; NULL or "-" for stdout */
	const char *cursor_file;     /* NULL: none */
	uint64_t cursor_interval_ms;
	uint64_t limit;              /* stop after this many messages, 0 = never */
	uint64_t duration_ms;        /* stop after this long, 0 = never */
	struct atfh_stats *stats;    /* its counters kept current, its timer polled */
	volatile uint64_t raw_read;  /* a replay's bytes read, for the progress bar */

	/* what has been written */
	struct atfh_out out;
	uint64_t frames, bytes;
	bool has_buffered;           /* position of the last message in the buffer */
	int64_t buffered;
	bool has_flushed;            /* ... of the last one that reached the output */
	int64_t flushed;
	bool has_time;               /* event time of the last message, for the lag */
	int64_t last_time_us;

	/* internal */
	bool sync;                   /* fsync the output before the cursor names it */
	bool created;                /* -o FILE did not exist before this run */
	uint64_t start_after;        /* frames without a seq the output holds after the start's */
	uint64_t *start_ids;         /* Jetstream lines without a cursor at the start's
				      * time_us that the output holds (their identities) */
	size_t nstart_ids;
	bool has_saved;              /* the number in the cursor file */
	int64_t saved;
	bool cursor_failing;
	double last_save, deadline;
};

/* Read the cursor file and open the output.  *HAS_START and *START come in
 * as --cursor and go out as the position to resume after: the cursor
 * file's when it exists, moved on to the last message the output file
 * already holds when that is further.  LINES: NDJSON, else frames of up
 * to MAX_FRAME bytes.  0, or -1 after reporting. */
int atfh_sink_open(struct atfh_sink *k, bool lines, size_t max_frame, bool *has_start,
		   int64_t *start);
/* Become F's write and idle callbacks; --duration and the cursor interval
 * count from now. */
void atfh_sink_attach(struct atfh_sink *k, struct atfh_firehose *f);
/* Make everything written so far durable now: flushed, and fsynced when
 * the output is a file (and named in the cursor file, if there is one).
 * false if the output failed. */
bool atfh_sink_sync(struct atfh_sink *k);
/* The run is over: flush, make it durable, name it in the cursor file.
 * Returns STATUS, or ATFH_EXIT_FAIL after reporting a write error or a
 * cursor file that could not be kept current.  A run that fails having
 * written nothing removes the -o FILE it created. */
int atfh_sink_finish(struct atfh_sink *k, int status);
void atfh_sink_free(struct atfh_sink *k);

#endif
