/*
 * loop.h — the read loop every event-reading program runs: open each input
 * in turn, detect its format, hand each frame or line to the program's
 * callback, and apply the shared rules — a malformed record is reported
 * with its position, counted and skipped (or stops the run with --strict),
 * output is flushed before blocking on input, a closed pipe ends the run
 * quietly, counters feed --stats/--metrics/progress — and turn the outcome
 * into the exit status.  SIGINT/SIGTERM stop the run at a record boundary:
 * for input that is all regular files (finite) the run is abandoned with
 * status 128 + the signal, so -o FILE is left as it was; for a pipe, FIFO,
 * socket or terminal (live) it is a clean stop, as at the end of input.
 */
#ifndef ATFH_LOOP_H
#define ATFH_LOOP_H

#include "input.h"
#include "out.h"
#include "stats.h"

enum { ATFH_REC_OK = 0, ATFH_REC_BAD = -1, ATFH_REC_STOP = 1 };

#define ATFH_ERRORS_SHOWN 20 /* messages per kind of malformed record */

struct atfh_loop {
	struct atfh_input in;
	struct atfh_stats stats;
	struct atfh_out *out;   /* flushed before blocking; may be NULL */
	bool strict;
	bool quiet;
	size_t max_frame;
	/* return ATFH_REC_OK, ATFH_REC_BAD with *err set, or ATFH_REC_STOP */
	int (*on_frame)(struct atfh_loop *l, const uint8_t *p, size_t n, const char **err);
	int (*on_line)(struct atfh_loop *l, const char *p, size_t n, const char **err);
	void *ctx;
	/* optional: called while the input is quiet (before each wait and
	 * after each wake-up); returns how long the wait may be in ms, -1
	 * for as long as it takes */
	int (*on_idle)(struct atfh_loop *l);
	/* optional: called once after the last record, before the output is
	 * flushed for the last time (records held back are written there) */
	void (*on_end)(struct atfh_loop *l);
	bool io_failed;         /* an input could not be read: exit 2 */
	/* malformed records by kind of message (its text up to the first
	 * number, quote or colon): the first ATFH_ERRORS_SHOWN of a kind are
	 * printed, then one line saying the rest are not; the count at the
	 * end covers them all */
	struct { char key[64]; uint64_t n; } err_kinds[16];
	size_t n_err_kinds;
	uint64_t err_hidden;
	bool stopped;
	bool abandoned;         /* SIGINT/SIGTERM before the end of a finite
				 * input: the status is 128 + the signal */
	/* set while a callback runs */
	bool in_lines;

	/* -T N (lib/parallel): 0 not given (the default: online CPUs, capped),
	 * 1 one thread.  Threads run only where the program says they may:
	 * worker_new set, and neither --strict nor --stats-interval (their
	 * stop points and timing are sequential). */
	unsigned threads;
	/* A new worker: a loop embedded in a context of the worker's own
	 * (parser, memory output as its `out`, tallies) with ctx, on_frame
	 * and on_line set.  Its callbacks run in the worker's thread; they
	 * report through atfh_input_error, which keeps the order. */
	struct atfh_loop *(*worker_new)(struct atfh_loop *l);
	/* a worker's results that are not output (count's tallies) into the
	 * program's, leaving the worker's empty; called with the workers idle */
	void (*worker_merge)(struct atfh_loop *l, struct atfh_loop *w);
	void (*worker_free)(struct atfh_loop *w);
	/* called in the reading thread before each chunk: may drain (grep's
	 * DID set reload swaps the set only with no chunk in flight) */
	void (*between_chunks)(struct atfh_loop *l);
	/* optional: a chunk's output (what its worker wrote to its `out`),
	 * handed over in the reading thread in input order instead of being
	 * written to `out` (atfh-emit produces its messages from it); false
	 * stops the run as a callback's ATFH_REC_STOP does */
	bool (*chunk_out)(struct atfh_loop *l, const char *p, size_t n);
	/* while a chunk is taken back (chunk_out runs): what to add to the
	 * line numbers its worker saw (NDJSON blocks are numbered from their
	 * start) */
	uint64_t chunk_index_base;
	/* the chunk's reports (the workers') are made before chunk_out, or
	 * with this set by chunk_out itself, in step with its own
	 * (atfh_loop_chunk_notes), and after it those left */
	bool chunk_out_notes;
	/* optional, on a worker's loop: called in its thread after the last
	 * record of each chunk, before its output is handed over (to end it
	 * with what chunk_out needs besides the bytes) */
	void (*worker_chunk_end)(struct atfh_loop *w);
	bool serial_lines;      /* NDJSON input is read in one thread */
	struct atfh_par *par;   /* the threads, while they run */
};

void atfh_loop_init(struct atfh_loop *l, const char *metrics_prefix);
/* In a program's worker_new: WL, a worker's loop like L (its stats
 * prefix, its callbacks), with context CTX and, when OUT is given, its
 * output into OUT (memory only: the reading thread writes it, in input
 * order). */
void atfh_loop_worker_init(struct atfh_loop *wl, const struct atfh_loop *l, void *ctx,
			   struct atfh_out *out);
/* Handle the shared input/stats options; 1 if ID was one of them, 0 if
 * not, -1 on a bad value (reported). */
int atfh_loop_option(struct atfh_loop *l, int id, const char *arg);
/* Report a malformed record that was held back and settled later, with
 * its own position (FILE, frame or line INDEX at byte OFFSET), and count
 * it as malformed records are; false when the run must stop (--strict). */
bool atfh_loop_malformed_at(struct atfh_loop *l, const char *file, bool lines,
			    uint64_t index, uint64_t offset, const char *err);
/* -T's value: 0, or -1 when ARG is not a number from 1 to
 * ATFH_PAR_MAX_THREADS (reported). */
int atfh_loop_threads_option(struct atfh_loop *l, const char *arg);
/* Report a malformed record at l->in's position, count it; false when
 * the run must stop (--strict). */
bool atfh_loop_malformed(struct atfh_loop *l, const char *err);
/* After atfh_input_frame or atfh_input_line returned -1, what l->in says:
 * an I/O error, said (the file is done with); NDJSON after frames, said,
 * and l->in_lines set (read lines from here); or a malformed record,
 * reported and counted (go on, unless --strict or the error limit stops
 * the run). */
enum atfh_read_fail { ATFH_READ_FATAL, ATFH_READ_TO_LINES, ATFH_READ_SKIPPED, ATFH_READ_STOP };
enum atfh_read_fail atfh_loop_read_failed(struct atfh_loop *l);
/* In chunk_out: make the chunk's reports of records before record
 * BEFORE (as the worker numbered it), in order; false when the run must
 * stop. */
bool atfh_loop_chunk_notes(struct atfh_loop *l, uint64_t before);
/* With threads: finish every record read so far (output written, reports
 * made, in order) and merge the workers' results (worker_merge).  Does
 * nothing in one thread. */
void atfh_loop_sync(struct atfh_loop *l);
/* Run over FILES (none = stdin).  Returns the exit status. */
int atfh_loop_run(struct atfh_loop *l, char **files, size_t nfiles);

#endif
