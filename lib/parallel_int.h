/*
 * parallel_int.h — lib/parallel's insides, shared by parallel.c (workers,
 * the ring of chunks, the reorder) and parts.c (a plain file read in parts
 * by the workers themselves).  Programs use parallel.h.
 */
#ifndef ATFH_PARALLEL_INT_H
#define ATFH_PARALLEL_INT_H

#include "parallel.h"
#include "loop.h"

#include <pthread.h>

struct rec {
	size_t off;          /* of its bytes from the chunk's base */
	size_t n;
	uint64_t index, offset;
};

/* A chunk is either records the reader cut, or one block of whole lines
 * (atfh_input_lines_block) that its worker cuts into lines: the reader
 * then only counts them, and a block is copied once, not line by line. */

struct note {
	bool malformed;      /* a record to report and count, else a line of text */
	uint64_t index, offset;
	size_t off, len;     /* its text in the chunk's notes */
};

struct chunk {
	/* filled by the reader */
	bool lines, is_reg;
	const char *name;
	uint8_t *data;       /* copies of the records, or the block */
	size_t dlen, dcap;
	struct rec *recs;
	size_t nrec, rcap;
	uint64_t start_off;  /* byte offset of the first record */
	bool block;          /* recs[0] is a block of lines */
	size_t max_frame;
	uint64_t block_records; /* found in it by its worker */
	/* results, filled by a worker */
	char *out;
	size_t out_len, out_cap;
	struct note *notes;
	size_t nnotes, ncap;
	char *text;
	size_t tlen, tcap;
	uint64_t events;
	bool stop, io_failed, done;
	/* a part of a plain file its worker reads itself (atfh_par_file):
	 * the records that start in [lo, hi), from where the chunk before
	 * ended (the chain) */
	bool part;
	int fd;
	off_t base;          /* the file's position at input offset 0 */
	uint64_t lo, hi, seq;
	uint64_t dbase;      /* input offset of data[0] */
	bool at_eof;         /* a read met the end of the file */
	uint64_t s_off;      /* its first record (from the chain) */
	uint64_t end_off;    /* past its last record */
	bool rel_index;      /* lines: indices counted from 0 at s_off (the
			      * reader adds the lines before it as it takes the
			      * chunk back), so that no worker counts a part's
			      * newlines before handing the chain on */
	uint64_t index_advance; /* lines (blank ones too) it went through */
	bool rest;           /* left to the reader from rest_off on */
	uint64_t rest_off, rest_index;
	bool cancelled;      /* a reader's stop before it: nothing done */
	/* a part of a zstd file (lib/zparts): the whole frames in [lo, hi)
	 * of the compressed file, whose data reach uhi in the decoded
	 * stream; a rest is read again from a frame that starts at or before
	 * it, at compressed offset zorigin (decoded offset uorigin) */
	bool zstd, zlast, zbad;
	uint64_t uhi, zorigin, uorigin;
};

struct worker {
	struct atfh_par *par;
	struct atfh_loop *w;
	pthread_t tid;
	struct chunk *cur;   /* for notes from atfh_input_error */
	uint8_t *buf;        /* what it reads parts into: the same memory
			      * each time, so it is in this core's cache */
	size_t cap;
	void *zd;            /* ZSTD_DCtx for parts of a zstd file */
	uint8_t *zbuf;       /* their compressed bytes */
	size_t zcap;
};

struct atfh_par {
	struct atfh_loop *l;
	size_t chunk_recs;   /* records a chunk holds at most */
	struct worker *workers;
	unsigned nworkers;
	struct chunk *ring;
	size_t nring;
	uint64_t fill, dispatched, next_work, emit;
	bool quit, halted;
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	/* parts of a file: where part number chain_next starts (offset and
	 * record index), set by the part before it once it has found its
	 * records, or by the reader */
	pthread_cond_t chain;
	uint64_t chain_next, chain_off, chain_index;
	bool chain_cancel;
	uint64_t line_base;  /* the index before the next part of lines taken back */
	/* parts of a zstd file: where part chain_next's data start in the
	 * decoded stream, a frame at or before chain_off (compressed and
	 * decoded offsets), and the head of a record that the part before
	 * could not finish (the decoded bytes from chain_off to chain_ubase) */
	uint64_t chain_ubase, chain_zorigin, chain_uorigin;
	uint8_t *carry;
	size_t carry_len, carry_cap;
	/* threads asleep on each condition: a change nobody waits for costs
	 * no futex call (each is a system call, dear in a VM) */
	unsigned idle_workers, chain_waiters;
	bool reader_waits;
	size_t wake_batch;   /* chunks done in a row that wake the reader */
	bool parts_cancelled; /* the reader went back to reading in order */
	/* the chunk being taken back: its reports made so far (chunk_out
	 * makes them in step with its own, atfh_loop_chunk_notes) */
	struct chunk *emitting;
	size_t notes_done;
};

/* parallel.c */
/* A block of whole frames or lines (recs[0]): run them as one thread
 * reads them, reports kept in the chunk. */
void atfh_par_run_frames(struct worker *wk, struct chunk *c);
void atfh_par_run_block(struct worker *wk, struct chunk *c);
/* Hand the chunk being filled to the workers. */
void atfh_par_dispatch(struct atfh_par *p);
bool atfh_par_out_gone(const struct atfh_loop *l);

/* parts.c */
/* Part C, in its worker: read, cut at the chain's start, run. */
void atfh_par_run_part(struct worker *wk, struct chunk *c);
/* In the reader, as C is taken back: what its worker left to it. */
void atfh_par_part_rest(struct atfh_par *p, struct chunk *c);
/* The next chunk of the ring made a part of the reader's file, [LO, HI)
 * (between_chunks called first). */
struct chunk *atfh_par_part_at(struct atfh_par *p, uint64_t lo, uint64_t hi);
/* Hand it to the workers; false when reading in parts must stop. */
bool atfh_par_part_go(struct atfh_par *p);
/* Where part NEXT starts (under p->mu, waking the workers waiting). */
void atfh_par_publish(struct atfh_par *p, uint64_t next, uint64_t off, uint64_t index, bool cancel);

/* zparts.c */
/* Part C of a zstd file, in its worker: decompress, cut, run. */
void atfh_par_run_zpart(struct worker *wk, struct chunk *c);
/* The chain after a zstd part's rest, read by the reader up to the first
 * record at C->uhi or later, or cancelled. */
void atfh_par_publish_zrest(struct atfh_par *p, const struct chunk *c, uint64_t off,
			    uint64_t index, bool cancel);

#endif
