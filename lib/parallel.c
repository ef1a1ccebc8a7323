/*
 * parallel.c — see parallel.h.
 *
 * Chunks sit in a ring of ATFH_PAR_INFLIGHT * workers slots, numbered by
 * sequence: the reader fills chunk `fill`, workers take them in sequence
 * from `next_work` up to `dispatched`, and the reader takes them back from
 * `emit` on, each once its worker has marked it done.  One mutex guards
 * the sequence numbers and the done flags; a chunk's contents belong to
 * the reader while it fills or emits it and to one worker in between.
 */
#include "parallel.h"
#include "cli.h"
#include "loop.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	bool rest;           /* left to the reader from rest_off on */
	uint64_t rest_off, rest_index;
	bool cancelled;      /* a reader's stop before it: nothing done */
};

struct worker {
	struct atfh_par *par;
	struct atfh_loop *w;
	pthread_t tid;
	struct chunk *cur;   /* for notes from atfh_input_error */
	uint8_t *buf;        /* what it reads parts into: the same memory
			      * each time, so it is in this core's cache */
	size_t cap;
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
	/* threads asleep on each condition: a change nobody waits for costs
	 * no futex call (each is a system call, dear in a VM) */
	unsigned idle_workers, chain_waiters;
	bool reader_waits;
	size_t wake_batch;   /* chunks done in a row that wake the reader */
	bool parts_cancelled; /* the reader went back to reading in order */
};

unsigned atfh_par_default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > ATFH_PAR_DEFAULT_MAX)
		n = ATFH_PAR_DEFAULT_MAX;
	return (unsigned)n;
}

static void add_note(struct chunk *c, bool malformed, uint64_t index, uint64_t offset,
		     const char *text)
{
	size_t len = strlen(text);
	atfh_grow_array((void **)&c->notes, &c->ncap, c->nnotes + 1, sizeof *c->notes);
	if (c->tcap - c->tlen < len + 1)
		atfh_grow_array((void **)&c->text, &c->tcap, c->tlen + len + 1, 1);
	memcpy(c->text + c->tlen, text, len + 1);
	c->notes[c->nnotes++] = (struct note){ malformed, index, offset, c->tlen, len };
	c->tlen += len + 1;
}

/* atfh_input_error from a worker: kept for the reader, in order */
static void defer_text(void *arg, const char *line)
{
	struct worker *wk = arg;
	add_note(wk->cur, false, 0, 0, line);
}

/* The frames of a block: each a length prefix and its bytes, all whole. */
static void run_frames(struct worker *wk, struct chunk *c)
{
	struct atfh_loop *w = wk->w;
	const struct rec *r = &c->recs[0];
	const uint8_t *b = c->data + r->off;
	uint64_t index = r->index;
	for (size_t pos = 0; pos + 4 <= r->n;) {
		size_t len = (size_t)b[pos] << 24 | (size_t)b[pos + 1] << 16 |
			     (size_t)b[pos + 2] << 8 | b[pos + 3];
		const char *err = NULL;
		w->in.index = ++index;
		w->in.offset = r->offset + pos;
		c->block_records++;
		int rv = w->on_frame(w, b + pos + 4, len, &err);
		if (rv == ATFH_REC_BAD)
			add_note(c, true, index, r->offset + pos, err ? err : "malformed record");
		else if (rv == ATFH_REC_STOP) {
			c->stop = true;
			break;
		}
		pos += 4 + len;
	}
}

/* The lines of a block, as atfh_input_line would read them one by one. */
static void run_block(struct worker *wk, struct chunk *c)
{
	struct atfh_loop *w = wk->w;
	const struct rec *r = &c->recs[0];
	const uint8_t *b = c->data + r->off;
	size_t pos = 0;
	uint64_t index = r->index, records = 0;
	while (pos < r->n) {
		size_t at = pos, len;
		const uint8_t *line;
		int k = atfh_input_split_line(b, r->n, &pos, c->max_frame, &line, &len);
		index++;
		if (k == 0)
			continue;
		const char *err = NULL;
		int rv = ATFH_REC_BAD;
		if (k < 0) {
			char msg[96];
			snprintf(msg, sizeof msg, "line longer than the maximum frame size %zu",
				 c->max_frame);
			add_note(c, true, index, r->offset + at, msg);
			continue;
		}
		records++;
		w->in.index = index;
		w->in.offset = r->offset + at;
		rv = w->on_line(w, (const char *)line, len, &err);
		if (rv == ATFH_REC_BAD)
			add_note(c, true, index, r->offset + at, err ? err : "malformed record");
		else if (rv == ATFH_REC_STOP) {
			c->stop = true;
			break;
		}
	}
	c->block_records = records;
}

/* ---- parts of a plain file, each read by its worker -------------------- */

#define PART_AHEAD (64u << 10) /* read past hi at once: the last record */

static uint32_t be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Bytes of the file in C's buffer up to input offset UPTO at least (fewer
 * at the end of the file, or after a read error: the reader meets it
 * again and reports it).  Returns the offset the buffer reaches. */
static uint64_t part_fill(struct chunk *c, uint64_t upto)
{
	while (c->dbase + c->dlen < upto && !c->at_eof) {
		size_t need = (size_t)(upto - c->dbase);
		if (c->dcap < need)
			atfh_grow_array((void **)&c->data, &c->dcap, need, 1);
		ssize_t r = pread(c->fd, c->data + c->dlen, need - c->dlen,
				  c->base + (off_t)(c->dbase + c->dlen));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			c->at_eof = true;
			break;
		}
		c->dlen += (size_t)r;
	}
	return c->dbase + c->dlen;
}

static void publish(struct atfh_par *p, uint64_t next, uint64_t off, uint64_t index, bool cancel)
{
	pthread_mutex_lock(&p->mu);
	p->chain_next = next;
	p->chain_off = off;
	p->chain_index = index;
	p->chain_cancel = cancel;
	if (p->chain_waiters)
		pthread_cond_broadcast(&p->chain);
	pthread_mutex_unlock(&p->mu);
}

/* Part C: read it (the first bytes before its start is known, so that
 * the reads of the workers overlap), find its whole records from the
 * chain's start, hand the chain on, then run them as a block.  What is
 * not plain (a length out of bounds, a record cut by the end of the file,
 * a line too long to buffer) is left to the reader from there on
 * (c->rest), which reads it as one thread does and reports it. */
static void run_part_records(struct worker *wk, struct chunk *c);

static void run_part(struct worker *wk, struct chunk *c)
{
	/* the part's bytes are needed only while it runs: in the worker's
	 * own buffer */
	uint8_t *b = c->data;
	size_t cap = c->dcap;
	c->data = wk->buf;
	c->dcap = wk->cap;
	run_part_records(wk, c);
	wk->buf = c->data;
	wk->cap = c->dcap;
	c->data = b;
	c->dcap = cap;
	c->dlen = 0;
}

static void run_part_records(struct worker *wk, struct chunk *c)
{
	struct atfh_par *p = wk->par;
	c->dbase = c->lo;
	c->dlen = 0;
	c->at_eof = false;
	part_fill(c, c->hi + PART_AHEAD);
	pthread_mutex_lock(&p->mu);
	while (p->chain_next != c->seq) {
		p->chain_waiters++;
		pthread_cond_wait(&p->chain, &p->mu);
		p->chain_waiters--;
	}
	uint64_t pos = p->chain_off, index = p->chain_index;
	bool cancel = p->chain_cancel;
	pthread_mutex_unlock(&p->mu);
	c->s_off = pos;
	if (cancel) {
		c->cancelled = true;
		publish(p, c->seq + 1, pos, index, true);
		return;
	}
	if (pos < c->dbase || pos > c->dbase + c->dlen) { /* a record ran far past lo */
		c->dbase = pos;
		c->dlen = 0;
		c->at_eof = false;
	}
	uint64_t start = pos, n = 0;
	if (!c->lines) {
		while (pos < c->hi) {
			if (part_fill(c, pos + 4) < pos + 4) {
				if (part_fill(c, pos + 1) > pos)
					c->rest = true; /* a length prefix cut short */
				break;
			}
			uint32_t len = be32(c->data + (pos - c->dbase));
			if (len < 4 || len > c->max_frame ||
			    part_fill(c, pos + 4 + len) < pos + 4 + len) {
				c->rest = true;
				break;
			}
			pos += 4 + (uint64_t)len;
			n++;
		}
	} else if (pos < c->hi) {
		/* to the newline that ends the line holding byte hi - 1 */
		uint64_t from = c->hi - 1, reach = part_fill(c, c->hi + PART_AHEAD);
		const uint8_t *nl = NULL;
		for (;;) {
			if (from < reach)
				nl = memchr(c->data + (from - c->dbase), '\n', (size_t)(reach - from));
			if (nl || c->at_eof)
				break;
			if (reach - c->hi > c->max_frame + 2) {
				/* a line longer than any allowed: the reader's */
				const uint8_t *b = c->data + (start - c->dbase);
				const uint8_t *last = memrchr(b, '\n', (size_t)(c->hi - 1 - start));
				pos = last ? start + (uint64_t)(last - b) + 1 : start;
				c->rest = true;
				break;
			}
			from = reach;
			reach = part_fill(c, reach + (reach - c->dbase));
		}
		if (!c->rest)
			pos = nl ? c->dbase + (uint64_t)(nl - c->data) + 1 : reach;
		const uint8_t *b = c->data + (start - c->dbase);
		n = atfh_input_count_newlines(b, (size_t)(pos - start));
		if (pos > start && b[pos - start - 1] != '\n')
			n++; /* the last line, at the end of the file */
	}
	c->end_off = pos;
	if (c->rest) {
		c->rest_off = pos;
		c->rest_index = index + n;
	} else {
		publish(p, c->seq + 1, pos, index + n, false);
	}
	if (pos == start)
		return;
	atfh_grow_array((void **)&c->recs, &c->rcap, 1, sizeof *c->recs);
	c->recs[0] = (struct rec){ (size_t)(start - c->dbase), (size_t)(pos - start), index, start };
	c->nrec = 1;
	if (c->lines)
		run_block(wk, c);
	else
		run_frames(wk, c);
}

static void run_chunk(struct worker *wk, struct chunk *c)
{
	struct atfh_loop *w = wk->w;
	wk->cur = c;
	w->in.name = c->name;
	w->in.is_reg = c->is_reg;
	w->in_lines = c->lines;
	uint64_t ev0 = w->stats.events;
	if (c->part)
		run_part(wk, c);
	else if (c->block && c->lines)
		run_block(wk, c);
	else if (c->block)
		run_frames(wk, c);
	for (size_t i = 0; i < c->nrec && !c->block && !c->part; i++) {
		const struct rec *r = &c->recs[i];
		const char *err = NULL;
		w->in.index = r->index;
		w->in.offset = r->offset;
		int rv = c->lines ? w->on_line(w, (const char *)c->data + r->off, r->n, &err)
				  : w->on_frame(w, c->data + r->off, r->n, &err);
		if (rv == ATFH_REC_BAD)
			add_note(c, true, r->index, r->offset, err ? err : "malformed record");
		else if (rv == ATFH_REC_STOP) {
			c->stop = true;
			break;
		}
	}
	c->events = w->stats.events - ev0;
	c->io_failed = w->io_failed;
	w->io_failed = false;
	if (w->out) { /* hand the output over, keep the chunk's old buffer */
		char *b = c->out;
		size_t cap = c->out_cap;
		c->out = w->out->buf;
		c->out_cap = w->out->cap;
		c->out_len = w->out->len;
		w->out->buf = b;
		w->out->cap = cap;
		w->out->len = 0;
	}
}

/* Is it worth waking the reader (under p->mu)?  Chunks done at the head:
 * as many as wake_batch, every one in flight, or one the reader must
 * finish (a part's rest).  Each wake-up is a futex call and an
 * interrupt for the core woken, so a reader with nothing else to do is
 * woken for a batch, not for each chunk. */
static bool head_ready(const struct atfh_par *p)
{
	size_t n = 0;
	uint64_t s = p->emit;
	for (; s < p->dispatched; s++, n++) {
		const struct chunk *c = &p->ring[s % p->nring];
		if (!c->done)
			break;
		if (c->part && c->rest)
			return true;
	}
	return n && (n >= p->wake_batch || s == p->dispatched);
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct atfh_par *p = wk->par;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->next_work == p->dispatched && !p->quit) {
			p->idle_workers++;
			pthread_cond_wait(&p->work, &p->mu);
			p->idle_workers--;
		}
		if (p->next_work == p->dispatched)
			break; /* quit, nothing left */
		struct chunk *c = &p->ring[p->next_work++ % p->nring];
		pthread_mutex_unlock(&p->mu);
		run_chunk(wk, c);
		pthread_mutex_lock(&p->mu);
		c->done = true;
		if (p->reader_waits && head_ready(p))
			pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct atfh_par *atfh_par_new(struct atfh_loop *l, unsigned n)
{
	struct atfh_par *p = atfh_xcalloc(1, sizeof *p);
	p->l = l;
	p->nworkers = n;
	/* tests and the fuzz harness cut chunks of a few records, so that
	 * every kind of record meets a chunk boundary */
	const char *e = getenv("ATFH_TEST_CHUNK_RECORDS");
	p->chunk_recs = e && atoi(e) > 0 ? (size_t)atoi(e) : ATFH_PAR_CHUNK_RECS;
	p->nring = (size_t)n * ATFH_PAR_INFLIGHT;
	p->wake_batch = 1;
	p->ring = atfh_xcalloc(p->nring, sizeof *p->ring);
	p->workers = atfh_xcalloc(n, sizeof *p->workers);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	pthread_cond_init(&p->chain, NULL);
	/* signals are the reading thread's: its reads and polls wake up */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned i = 0; i < n; i++) {
		struct worker *wk = &p->workers[i];
		wk->par = p;
		wk->w = l->worker_new(l);
		wk->w->in.report = defer_text;
		wk->w->in.report_arg = wk;
		wk->w->stats.events = 0;
		if (wk->w->out) { /* memory only: the reader writes it */
			wk->w->out->fd = -1;
			wk->w->out->flush_at = SIZE_MAX;
		}
		if (pthread_create(&wk->tid, NULL, worker_main, wk)) {
			atfh_err("cannot start a thread");
			exit(ATFH_EXIT_FAIL);
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return p;
}

static bool out_gone(const struct atfh_loop *l)
{
	return l->out && (l->out->broken_pipe || l->out->error);
}

/* The rest of part C, which its worker left at rest_off: read in order
 * with the reader's own context, as one thread does, up to the first
 * record that starts at hi or later; then the chain goes on from there.
 * Anything that ends reading in parts (an I/O error, NDJSON after frames,
 * a stop) cancels the parts after it: the reader goes on in order. */
static void part_rest(struct atfh_par *p, struct chunk *c)
{
	struct atfh_loop *l = p->l;
	struct atfh_input *in = &l->in;
	bool cancel = true;
	if (p->halted || atfh_input_reposition(in, c->rest_off, c->rest_index)) {
		publish(p, c->seq + 1, c->rest_off, c->rest_index, true);
		p->parts_cancelled = true;
		return;
	}
	for (;;) {
		if (in->next_offset >= c->hi) {
			cancel = false;
			break;
		}
		if (out_gone(l) || atfh_interrupted)
			break;
		uint64_t before = in->next_offset;
		const uint8_t *rp;
		size_t rn;
		const char *err = NULL;
		int r = c->lines ? atfh_input_line(in, (const char **)&rp, &rn)
				 : atfh_input_frame(in, &rp, &rn);
		l->stats.bytes += in->next_offset - before;
		l->stats.raw_bytes = in->raw_total;
		if (r == 0) {
			cancel = false; /* the end of the file */
			break;
		}
		if (r < 0) {
			/* an I/O error or NDJSON after frames: the reader's
			 * loop goes on in order from here */
			enum atfh_read_fail f = atfh_loop_read_failed(l);
			if (f == ATFH_READ_SKIPPED)
				continue;
			if (f == ATFH_READ_STOP)
				p->halted = true;
			break;
		}
		l->stats.records++;
		r = c->lines ? l->on_line(l, (const char *)rp, rn, &err) : l->on_frame(l, rp, rn, &err);
		if (r == ATFH_REC_BAD && !atfh_loop_malformed(l, err)) {
			p->halted = true;
			break;
		}
		if (r == ATFH_REC_STOP) {
			l->stopped = true;
			p->halted = true;
			break;
		}
	}
	publish(p, c->seq + 1, in->next_offset, in->index, cancel);
	if (cancel)
		p->parts_cancelled = true;
}

/* Take chunk C back: its reports, output and counts, in input order. */
static void emit_chunk(struct atfh_par *p, struct chunk *c)
{
	struct atfh_loop *l = p->l;
	if (!p->halted) {
		uint64_t index = l->in.index, offset = l->in.offset;
		bool lines = l->in_lines;
		l->in_lines = c->lines;
		for (size_t i = 0; i < c->nnotes && !p->halted; i++) {
			const struct note *nt = &c->notes[i];
			if (!nt->malformed) {
				fputs(c->text + nt->off, stderr);
				continue;
			}
			l->in.index = nt->index;
			l->in.offset = nt->offset;
			if (!atfh_loop_malformed(l, c->text + nt->off))
				p->halted = true;
		}
		l->in.index = index;
		l->in.offset = offset;
		l->in_lines = lines;
		l->stats.records += c->block_records;
		if (c->part && !c->cancelled)
			l->stats.bytes += c->end_off - c->s_off;
		if (l->out && c->out_len && !out_gone(l))
			atfh_out_put_events(l->out, c->out, c->out_len);
		l->stats.events += c->events;
		if (c->io_failed)
			l->io_failed = true;
		if (c->stop) {
			l->stopped = true;
			p->halted = true;
		}
		if (out_gone(l))
			p->halted = true;
	}
	if (c->part && c->rest)
		part_rest(p, c);
	c->nrec = c->dlen = c->nnotes = c->tlen = c->out_len = 0;
	c->events = c->block_records = 0;
	c->block = c->part = c->rest = c->cancelled = false;
	c->stop = c->io_failed = c->done = false;
}

/* Wait for the oldest chunk in flight and take it back. */
static void emit_one(struct atfh_par *p)
{
	struct chunk *c = &p->ring[p->emit % p->nring];
	pthread_mutex_lock(&p->mu);
	/* a head already done is taken at once; else wait for a batch */
	while (!c->done && !head_ready(p)) {
		p->reader_waits = true;
		pthread_cond_wait(&p->done, &p->mu);
		p->reader_waits = false;
	}
	pthread_mutex_unlock(&p->mu);
	emit_chunk(p, c);
	p->emit++;
}

/* Take back the chunks at the head that are done, without waiting. */
static void emit_ready(struct atfh_par *p)
{
	for (;;) {
		if (p->emit == p->dispatched)
			return;
		struct chunk *c = &p->ring[p->emit % p->nring];
		pthread_mutex_lock(&p->mu);
		bool done = c->done;
		pthread_mutex_unlock(&p->mu);
		if (!done)
			return;
		emit_chunk(p, c);
		p->emit++;
	}
}

/* Hand the chunk being filled to the workers; make the next slot free. */
static void dispatch(struct atfh_par *p)
{
	struct chunk *c = &p->ring[p->fill % p->nring];
	if (c->nrec == 0)
		return;
	pthread_mutex_lock(&p->mu);
	p->dispatched = ++p->fill;
	if (p->idle_workers)
		pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
	emit_ready(p);
	while (p->fill - p->emit >= p->nring)
		emit_one(p);
}

void atfh_par_record(struct atfh_par *p, const uint8_t *rec, size_t n)
{
	struct atfh_loop *l = p->l;
	struct chunk *c = &p->ring[p->fill % p->nring];
	if (c->nrec == 0) {
		if (l->between_chunks)
			l->between_chunks(l);
		c = &p->ring[p->fill % p->nring];
		c->lines = l->in_lines;
		c->is_reg = l->in.is_reg;
		c->name = l->in.name;
		c->start_off = l->in.offset;
		}
	if (c->dcap - c->dlen < n)
		atfh_grow_array((void **)&c->data, &c->dcap, c->dlen + n, 1);
	if (n)
		memcpy(c->data + c->dlen, rec, n);
	size_t off = c->dlen;
	c->dlen += n;
	atfh_grow_array((void **)&c->recs, &c->rcap, c->nrec + 1, sizeof *c->recs);
	c->recs[c->nrec++] = (struct rec){ off, n, l->in.index, l->in.offset };
	if (l->in.offset + n - c->start_off >= ATFH_PAR_CHUNK || c->nrec >= p->chunk_recs)
		dispatch(p);
}

void atfh_par_block(struct atfh_par *p, const uint8_t *b, size_t n, uint64_t index, bool lines)
{
	struct atfh_loop *l = p->l;
	dispatch(p); /* records read before it, if any */
	struct chunk *c = &p->ring[p->fill % p->nring];
	if (l->between_chunks)
		l->between_chunks(l);
	c = &p->ring[p->fill % p->nring];
	c->lines = lines;
	c->block = true;
	c->max_frame = l->in.max_frame;
	c->is_reg = l->in.is_reg;
	c->name = l->in.name;
	c->start_off = l->in.offset;
	/* the block stays where it was read: the chunk takes the reader's
	 * buffer and hands it its own for what comes next */
	size_t off = (size_t)(b - l->in.buf), cap;
	c->data = atfh_input_swap_buf(&l->in, c->data, c->dcap, &cap);
	c->dcap = cap;
	c->dlen = off + n;
	atfh_grow_array((void **)&c->recs, &c->rcap, 1, sizeof *c->recs);
	c->recs[0] = (struct rec){ off, n, index, l->in.offset };
	c->nrec = 1;
	dispatch(p);
}

size_t atfh_par_block_size(const struct atfh_par *p)
{
	/* tests cut chunks of a few records: blocks of a line or two */
	return p->chunk_recs < ATFH_PAR_CHUNK_RECS ? p->chunk_recs * 16 : ATFH_PAR_CHUNK;
}

int atfh_par_file(struct atfh_par *p)
{
	struct atfh_loop *l = p->l;
	struct atfh_input *in = &l->in;
	if (!in->is_reg || in->zstd || in->size < in->base)
		return 1;
	uint64_t size = (uint64_t)(in->size - in->base), lo = in->next_offset;
	if (lo >= size)
		return 1;
	if (!atfh_par_drain(p))
		return 0;
	size_t step = atfh_par_block_size(p);
	p->parts_cancelled = false;
	p->wake_batch = p->nring / 2; /* nothing waits on the output but the end */
	publish(p, p->fill, lo, in->index, false);
	while (lo < size && !p->parts_cancelled) {
		if (l->between_chunks)
			l->between_chunks(l);
		struct chunk *c = &p->ring[p->fill % p->nring];
		c->part = true;
		c->lines = l->in_lines;
		c->is_reg = true;
		c->name = in->name;
		c->max_frame = in->max_frame;
		c->fd = in->fd;
		c->base = in->base;
		c->seq = p->fill;
		c->lo = lo;
		c->hi = size - lo > step ? lo + step : size;
		c->start_off = lo;
		c->nrec = 1; /* for dispatch: the worker finds its records */
		lo = c->hi;
		dispatch(p);
		if (l->stopped || out_gone(l) || atfh_interrupted || p->halted)
			break;
	}
	bool go_on = atfh_par_drain(p);
	p->wake_batch = 1;
	if (p->parts_cancelled) /* the reader is where it stopped */
		return go_on && !in->fatal;
	pthread_mutex_lock(&p->mu);
	uint64_t off = p->chain_off, index = p->chain_index;
	bool cancel = p->chain_cancel;
	pthread_mutex_unlock(&p->mu);
	if (cancel || !go_on)
		return 0;
	if (atfh_input_reposition(in, off, index)) {
		atfh_err("%s: %s", in->name, in->err);
		l->io_failed = true;
		return 0;
	}
	return 1;
}

bool atfh_par_drain(struct atfh_par *p)
{
	dispatch(p);
	while (p->emit < p->fill)
		emit_one(p);
	return !p->halted;
}

void atfh_par_sync(struct atfh_par *p)
{
	atfh_par_drain(p);
	if (p->l->worker_merge)
		for (unsigned i = 0; i < p->nworkers; i++)
			p->l->worker_merge(p->l, p->workers[i].w);
}

void atfh_par_free(struct atfh_par *p)
{
	if (!p)
		return;
	atfh_par_sync(p);
	pthread_mutex_lock(&p->mu);
	p->quit = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nworkers; i++) {
		pthread_join(p->workers[i].tid, NULL);
		free(p->workers[i].buf);
		if (p->l->worker_free)
			p->l->worker_free(p->workers[i].w);
	}
	for (size_t i = 0; i < p->nring; i++) {
		struct chunk *c = &p->ring[i];
		free(c->data);
		free(c->recs);
		free(c->out);
		free(c->notes);
		free(c->text);
	}
	free(p->ring);
	free(p->workers);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->chain);
	free(p);
}
