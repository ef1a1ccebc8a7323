/*
 * parts.c — a plain file read in parts by the workers themselves
 * (atfh_par_file, see parallel.h): each part is the records that start in
 * a byte range of about a block; its worker reads the range with pread(2)
 * into its own buffer, learns where its first record starts from the part
 * before it (the chain), finds its whole records, hands the chain on and
 * runs them.  What it cannot cut plainly it leaves to the reader, which
 * reads that in order as one thread does (atfh_par_part_rest).
 */
#include "parallel_int.h"
#include "cli.h"
#include "input.h"
#include "util.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define PART_AHEAD (64u << 10) /* read past hi at most at once */

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

void atfh_par_publish(struct atfh_par *p, uint64_t next, uint64_t off, uint64_t index, bool cancel)
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

void atfh_par_run_part(struct worker *wk, struct chunk *c)
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
	/* past hi, what the last record is likely to need (no more than the
	 * part: tests cut parts of a few dozen bytes) */
	uint64_t ahead = c->hi - c->lo < PART_AHEAD ? c->hi - c->lo : PART_AHEAD;
	c->dbase = c->lo;
	c->dlen = 0;
	c->at_eof = false;
	part_fill(c, c->hi + ahead);
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
		atfh_par_publish(p, c->seq + 1, pos, index, true);
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
		uint64_t from = c->hi - 1, reach = part_fill(c, c->hi + ahead);
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
		/* the lines are counted as they run (c->rel_index), except
		 * for a rest, whose index the reader needs */
		index = 0;
		c->rel_index = true;
		if (c->rest) {
			const uint8_t *b = c->data + (start - c->dbase);
			n = atfh_input_count_newlines(b, (size_t)(pos - start));
		}
	}
	c->end_off = pos;
	if (c->rest) {
		c->rest_off = pos;
		c->rest_index = index + n;
	} else {
		atfh_par_publish(p, c->seq + 1, pos, index + n, false);
	}
	if (pos == start)
		return;
	atfh_grow_array((void **)&c->recs, &c->rcap, 1, sizeof *c->recs);
	c->recs[0] = (struct rec){ (size_t)(start - c->dbase), (size_t)(pos - start), index, start };
	c->nrec = 1;
	if (c->lines)
		atfh_par_run_block(wk, c);
	else
		atfh_par_run_frames(wk, c);
}

/* The rest of part C, which its worker left at rest_off: read in order
 * with the reader's own context, as one thread does, up to the first
 * record that starts at hi or later; then the chain goes on from there.
 * Anything that ends reading in parts (an I/O error, NDJSON after frames,
 * a stop) cancels the parts after it: the reader goes on in order. */
void atfh_par_part_rest(struct atfh_par *p, struct chunk *c)
{
	struct atfh_loop *l = p->l;
	struct atfh_input *in = &l->in;
	bool cancel = true;
	uint64_t hi = c->zstd ? c->uhi : c->hi; /* decoded, for a zstd part */
	if (p->halted ||
	    (c->zstd ? atfh_input_reposition_zstd(in, c->zorigin, c->uorigin, c->rest_off, c->rest_index)
		     : atfh_input_reposition(in, c->rest_off, c->rest_index))) {
		atfh_par_publish(p, c->seq + 1, c->rest_off, c->rest_index, true);
		p->parts_cancelled = true;
		return;
	}
	for (;;) {
		if (in->next_offset >= hi) {
			cancel = false;
			break;
		}
		if (atfh_par_out_gone(l) || atfh_interrupted)
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
	/* its frames did not decompress, or the reader met the end of what
	 * decompresses (a zstd error ends the stream, as in one thread):
	 * what follows is the reader's, in order */
	if (c->zbad || (c->zstd && in->eof))
		cancel = true;
	if (c->zstd)
		atfh_par_publish_zrest(p, c, in->next_offset, in->index, cancel);
	else
		atfh_par_publish(p, c->seq + 1, in->next_offset, in->index, cancel);
	p->line_base = in->index; /* the next part's lines go on from here */
	if (cancel)
		p->parts_cancelled = true;
}

struct chunk *atfh_par_part_at(struct atfh_par *p, uint64_t lo, uint64_t hi)
{
	struct atfh_loop *l = p->l;
	if (l->between_chunks)
		l->between_chunks(l);
	struct chunk *c = &p->ring[p->fill % p->nring];
	c->part = true;
	c->lines = l->in_lines;
	c->is_reg = true;
	c->name = l->in.name;
	c->max_frame = l->in.max_frame;
	c->fd = l->in.fd;
	c->base = l->in.base;
	c->seq = p->fill;
	c->lo = lo;
	c->hi = hi;
	c->nrec = 1; /* for dispatch: the worker finds its records */
	return c;
}

bool atfh_par_part_go(struct atfh_par *p)
{
	struct atfh_loop *l = p->l;
	atfh_par_dispatch(p);
	if (l->stopped || atfh_par_out_gone(l) || atfh_interrupted || p->halted)
		return false;
	atfh_stats_poll(&l->stats); /* the progress line */
	return true;
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
	atfh_par_publish(p, p->fill, lo, in->index, false);
	p->line_base = in->index;
	while (lo < size && !p->parts_cancelled) {
		uint64_t hi = size - lo > step ? lo + step : size;
		atfh_par_part_at(p, lo, hi);
		lo = hi;
		if (!atfh_par_part_go(p))
			break;
	}
	bool go_on = atfh_par_drain(p);
	p->wake_batch = 1;
	if (p->parts_cancelled) /* the reader is where it stopped */
		return go_on && !in->fatal;
	pthread_mutex_lock(&p->mu);
	uint64_t off = p->chain_off, index = l->in_lines ? p->line_base : p->chain_index;
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
