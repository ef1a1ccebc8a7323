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
#include "parallel_int.h"
#include "cli.h"
#include "loop.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

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
void atfh_par_run_frames(struct worker *wk, struct chunk *c)
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
void atfh_par_run_block(struct worker *wk, struct chunk *c)
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
	c->index_advance = index - r->index;
}
static void run_chunk(struct worker *wk, struct chunk *c)
{
	struct atfh_loop *w = wk->w;
	wk->cur = c;
	w->in.name = c->name;
	w->in.is_reg = c->is_reg;
	w->in_lines = c->lines;
	uint64_t ev0 = w->stats.events;
	if (c->part && c->zstd)
		atfh_par_run_zpart(wk, c);
	else if (c->part)
		atfh_par_run_part(wk, c);
	else if (c->block && c->lines)
		atfh_par_run_block(wk, c);
	else if (c->block)
		atfh_par_run_frames(wk, c);
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
	if (w->worker_chunk_end)
		w->worker_chunk_end(w);
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
		/* signals are the reading thread's: its reads and polls wake up */
		if (atfh_thread_start(&wk->tid, worker_main, wk)) {
			atfh_err("cannot start a thread");
			exit(ATFH_EXIT_FAIL);
		}
	}
	return p;
}

bool atfh_par_out_gone(const struct atfh_loop *l)
{
	return l->out && (l->out->broken_pipe || l->out->error);
}
/* The reports of the chunk being taken back, from the first not made yet
 * up to those of records before record BEFORE (its index in the chunk's
 * numbering); a report without a position goes with the one before it.
 * False once one stops the run. */
static bool emit_notes(struct atfh_par *p, uint64_t before)
{
	struct atfh_loop *l = p->l;
	struct chunk *c = p->emitting;
	for (; p->notes_done < c->nnotes && !p->halted; p->notes_done++) {
		const struct note *nt = &c->notes[p->notes_done];
		if (!nt->malformed) {
			fputs(c->text + nt->off, stderr);
			continue;
		}
		if (nt->index >= before)
			break;
		if (!atfh_loop_malformed_at(l, l->in.name, c->lines, nt->index + l->chunk_index_base,
					    nt->offset, c->text + nt->off))
			p->halted = true;
	}
	return !p->halted;
}

bool atfh_loop_chunk_notes(struct atfh_loop *l, uint64_t before)
{
	return emit_notes(l->par, before);
}

/* Take chunk C back: its reports, output and counts, in input order. */
static void emit_chunk(struct atfh_par *p, struct chunk *c)
{
	struct atfh_loop *l = p->l;
	uint64_t base = 0;
	if (c->rel_index) {
		base = p->line_base;
		p->line_base += c->index_advance;
		if (c->rest)
			c->rest_index += base;
	}
	if (!p->halted) {
		p->emitting = c;
		p->notes_done = 0;
		l->chunk_index_base = base;
		if (!l->chunk_out_notes)
			emit_notes(p, UINT64_MAX);
		l->stats.records += c->block_records;
		if (c->part && !c->cancelled) {
			l->stats.bytes += c->end_off - c->s_off;
			/* the file read up to its end, for the progress line */
			l->stats.raw_bytes = l->in.raw_total - l->in.raw_read +
					     (c->zstd ? c->hi : c->end_off);
		}
		if (l->chunk_out) {
			if (c->out_len && !l->chunk_out(l, c->out, c->out_len)) {
				l->stopped = true;
				p->halted = true;
			}
			if (l->chunk_out_notes)
				emit_notes(p, UINT64_MAX);
		} else if (l->out && c->out_len && !atfh_par_out_gone(l))
			atfh_out_put_events(l->out, c->out, c->out_len);
		l->stats.events += c->events;
		if (c->io_failed)
			l->io_failed = true;
		if (c->stop) {
			l->stopped = true;
			p->halted = true;
		}
		if (atfh_par_out_gone(l))
			p->halted = true;
	}
	if (c->part && c->rest)
		atfh_par_part_rest(p, c);
	c->nrec = c->dlen = c->nnotes = c->tlen = c->out_len = 0;
	c->events = c->block_records = 0;
	c->block = c->part = c->rest = c->cancelled = c->rel_index = false;
	c->zstd = c->zlast = c->zbad = false;
	c->index_advance = 0;
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
void atfh_par_dispatch(struct atfh_par *p)
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
		atfh_par_dispatch(p);
}

void atfh_par_block(struct atfh_par *p, const uint8_t *b, size_t n, uint64_t index, bool lines)
{
	struct atfh_loop *l = p->l;
	atfh_par_dispatch(p); /* records read before it, if any */
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
	atfh_par_dispatch(p);
}

size_t atfh_par_block_size(const struct atfh_par *p)
{
	/* tests cut chunks of a few records: blocks of a line or two */
	return p->chunk_recs < ATFH_PAR_CHUNK_RECS ? p->chunk_recs * 16 : ATFH_PAR_CHUNK;
}

bool atfh_par_drain(struct atfh_par *p)
{
	atfh_par_dispatch(p);
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
		free(p->workers[i].zbuf);
		ZSTD_freeDCtx(p->workers[i].zd);
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
	free(p->carry);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->chain);
	free(p);
}
