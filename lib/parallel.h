/*
 * parallel.h — the read loop in threads (-T N).  Owns the chunks, the
 * workers and the reorder: a plain file is cut into parts of about a block
 * that the workers read themselves (pread(2), into their own caches), each
 * part's records starting where the part before it ended (a chain the
 * parts hand on as soon as they have found their records); other input is
 * cut by the reading thread (lib/loop) at record boundaries into chunks
 * (records copied into them, lines or frames a block at a time).  Worker
 * threads run the program's callbacks on whole chunks
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
/* Read the rest of l->in's current file, a plain regular one, in parts
 * of about a block each that the workers read themselves (pread(2)), so
 * that reading is spread over the threads and each reads into its own
 * cache; records are run and taken back in order as with blocks.  What a
 * worker cannot cut plainly is read by the reader, in order, with its own
 * context.  Returns 1 with l->in where the parts ended (the file's end as
 * it was when they started, or a change of format): go on reading there;
 * 0: the file is done with (a stop, an I/O error said). */
int atfh_par_file(struct atfh_par *p);
/* The same for a regular zstd file of several frames, from its first
 * record: each worker decompresses whole frames itself.  A file of one
 * frame is left to the reader (returns 1 at once). */
int atfh_par_zfile(struct atfh_par *p);
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
