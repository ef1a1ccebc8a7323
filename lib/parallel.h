/*
 * parallel.h — the read loop in threads (-T N).  Owns the chunks, the
 * workers and the reorder: the reading thread (lib/loop) cuts the input at
 * record boundaries into chunks (records copied into them, lines a block
 * at a time), worker threads run the program's callbacks on whole chunks
 * with contexts of their own, and the reading thread takes the chunks back
 * strictly in input order: their output is written (or handed to the
 * program, l->chunk_out), their malformed-record
 * reports are made (with file, frame and byte positions, through the loop's
 * usual counting), their events counted, exactly as one thread would have.
 * At most ATFH_PAR_INFLIGHT chunks per worker are in flight, so memory is
 * bounded whatever the input.  A program's per-worker results that are not
 * output (count's tallies) are merged back on demand (atfh_par_sync).
 */
#ifndef ATFH_PARALLEL_H
#define ATFH_PARALLEL_H

#include "atfh.h"

struct atfh_loop;
struct atfh_par;

#define ATFH_PAR_INFLIGHT 4          /* chunks per worker */
#define ATFH_PAR_CHUNK (1u << 20)    /* bytes of input a chunk aims at */
#define ATFH_PAR_CHUNK_RECS 16384    /* records a chunk holds at most (the
				      * environment's ATFH_TEST_CHUNK_RECORDS
				      * sets fewer, for tests) */
#define ATFH_PAR_MAX_THREADS 64      /* -T limit */
#define ATFH_PAR_DEFAULT_MAX 8       /* the default: online CPUs, at most this */

/* The default -T: online CPUs, at most ATFH_PAR_DEFAULT_MAX. */
unsigned atfh_par_default_threads(void);
/* Start N workers for L (each gets its own context from l->worker_new). */
struct atfh_par *atfh_par_new(struct atfh_loop *l, unsigned n);
/* Take the record just read by l->in (P, N: its bytes, valid until the
 * next read). */
void atfh_par_record(struct atfh_par *p, const uint8_t *rec, size_t n);
/* Take a block of whole LINES (atfh_input_lines_block) or frames
 * (atfh_input_frames_block) l->in has read, its first record the one after
 * INDEX: a worker cuts it into records, with the reports and positions
 * atfh_input_line and atfh_input_frame give. */
void atfh_par_block(struct atfh_par *p, const uint8_t *b, size_t n, uint64_t index, bool lines);
/* The bytes a block should hold at least. */
size_t atfh_par_block_size(const struct atfh_par *p);
/* Finish every chunk read so far and take them back in order.  Returns
 * false when the run must stop (a callback asked to, --strict, the output
 * is gone). */
bool atfh_par_drain(struct atfh_par *p);
/* Drain, then hand each worker's results to l->worker_merge. */
void atfh_par_sync(struct atfh_par *p);
/* Sync, stop the workers and free everything. */
void atfh_par_free(struct atfh_par *p);

#endif
