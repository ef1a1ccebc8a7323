/*
 * zparts.c — a regular zstd file of several frames read in parts by the
 * workers themselves (atfh_par_zfile, see parallel.h), as parts.c reads a
 * plain one: the reader finds where the frames lie from their headers
 * (lib/zframe) and hands each worker whole frames, about a block of them;
 * the worker reads and decompresses them while the parts before it are
 * cut, then learns from the chain where its first record starts.  Frames
 * need not end where records do (pzstd, zstd -T cut anywhere): the part
 * before hands on the head of the record it could not finish (the carry).
 * What cannot be cut plainly (a bad length, a record cut by the end of
 * the frames, a frame that does not decompress, a part that inflates past
 * ZPART_MAX) is read by the reader in order as one thread does, from a
 * frame at or before it (atfh_input_reposition_zstd).
 */
#include "parallel_int.h"
#include "cli.h"
#include "input.h"
#include "util.h"
#include "zframe.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#define ZRESERVE (64u << 10)  /* room before the data for a carry */
#define ZPART_MAX (64u << 20) /* decoded bytes a part may hold */
/* A frame larger than this, compressed, or whose header says it holds
 * more than ZPART_MAX, ends the parts: the reader reads on in order. */
#define ZFRAME_MAX (16u << 20)

static uint32_t be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void publish_z(struct atfh_par *p, uint64_t next, uint64_t off, uint64_t index,
		      bool cancel, uint64_t ubase, uint64_t zorigin, uint64_t uorigin,
		      const uint8_t *carry, size_t carry_len)
{
	pthread_mutex_lock(&p->mu);
	p->chain_ubase = ubase;
	p->chain_zorigin = zorigin;
	p->chain_uorigin = uorigin;
	if (p->carry_cap < carry_len)
		atfh_grow_array((void **)&p->carry, &p->carry_cap, carry_len, 1);
	if (carry_len)
		memcpy(p->carry, carry, carry_len);
	p->carry_len = carry_len;
	pthread_mutex_unlock(&p->mu);
	atfh_par_publish(p, next, off, index, cancel);
}

void atfh_par_publish_zrest(struct atfh_par *p, const struct chunk *c, uint64_t off,
			    uint64_t index, bool cancel)
{
	/* the reader stopped at a record at uhi or later: the next part's
	 * first frame starts at hi, before it */
	publish_z(p, c->seq + 1, off, index, cancel, c->uhi, c->hi, c->uhi, NULL, 0);
}

/* Read and decompress C's frames into the worker's buffer from ZRESERVE
 * on.  Returns the decoded length, or sets c->zbad. */
static size_t inflate_part(struct worker *wk, struct chunk *c)
{
	size_t zn = (size_t)(c->hi - c->lo), got = 0;
	if (wk->zcap < zn)
		atfh_grow_array((void **)&wk->zbuf, &wk->zcap, zn, 1);
	while (got < zn) {
		ssize_t r = pread(c->fd, wk->zbuf + got, zn - got, c->base + (off_t)(c->lo + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			c->zbad = true; /* the reader meets it again and says why */
			return 0;
		}
		got += (size_t)r;
	}
	if (!wk->zd && !(wk->zd = ZSTD_createDCtx()))
		atfh_die_oom();
	ZSTD_DCtx_reset(wk->zd, ZSTD_reset_session_only);
	ZSTD_inBuffer zi = { wk->zbuf, zn, 0 };
	size_t at = ZRESERVE, left = 0;
	for (;;) {
		if (at - ZRESERVE >= ZPART_MAX) {
			c->zbad = true;
			return 0;
		}
		if (wk->cap < at + ZSTD_BLOCKSIZE_MAX) {
			size_t want = at > ZRESERVE ? 2 * at : ZRESERVE + 2 * zn + ZSTD_BLOCKSIZE_MAX;
			if (want > ZRESERVE + ZPART_MAX + ZSTD_BLOCKSIZE_MAX)
				want = ZRESERVE + ZPART_MAX + ZSTD_BLOCKSIZE_MAX;
			atfh_grow_array((void **)&wk->buf, &wk->cap, want, 1);
		}
		ZSTD_outBuffer zo = { wk->buf + at, wk->cap - at, 0 };
		left = ZSTD_decompressStream(wk->zd, &zo, &zi);
		if (ZSTD_isError(left)) {
			c->zbad = true;
			return 0;
		}
		at += zo.pos;
		if (zi.pos == zi.size && zo.pos < zo.size)
			break;
	}
	if (left)
		c->zbad = true; /* a frame cut short */
	return at - ZRESERVE;
}

/* Where the records of lines or frames from POS stop being whole before
 * END in B (decoded offsets from B's BASE); *REST when what follows is
 * not plain: a bad length, or a line longer than any allowed. */
static uint64_t whole_records(const struct chunk *c, const uint8_t *b, uint64_t base,
			      uint64_t pos, uint64_t end, uint64_t *n, bool *rest)
{
	if (c->lines) {
		const uint8_t *from = b + (pos - base);
		const uint8_t *nl = memrchr(from, '\n', (size_t)(end - pos));
		uint64_t stop = nl ? pos + (uint64_t)(nl - from) + 1 : pos;
		if (end - stop > c->max_frame + 2)
			*rest = true;
		return stop;
	}
	while (end - pos >= 4) {
		uint32_t len = be32(b + (pos - base));
		if (len < 4 || len > c->max_frame) {
			*rest = true;
			break;
		}
		if (end - pos - 4 < len)
			break;
		pos += 4 + (uint64_t)len;
		(*n)++;
	}
	return pos;
}

static void run_zpart_records(struct worker *wk, struct chunk *c);

void atfh_par_run_zpart(struct worker *wk, struct chunk *c)
{
	uint8_t *b = c->data;
	size_t cap = c->dcap;
	run_zpart_records(wk, c);
	c->data = b;
	c->dcap = cap;
	c->dlen = 0;
}

static void run_zpart_records(struct worker *wk, struct chunk *c)
{
	struct atfh_par *p = wk->par;
	size_t dlen = inflate_part(wk, c);
	pthread_mutex_lock(&p->mu);
	while (p->chain_next != c->seq) {
		p->chain_waiters++;
		pthread_cond_wait(&p->chain, &p->mu);
		p->chain_waiters--;
	}
	uint64_t pos = p->chain_off, index = p->chain_index, ubase = p->chain_ubase;
	uint64_t zorigin = p->chain_zorigin, uorigin = p->chain_uorigin;
	size_t carry = p->carry_len;
	bool cancel = p->chain_cancel;
	pthread_mutex_unlock(&p->mu);
	c->s_off = c->end_off = pos;
	if (cancel) {
		c->cancelled = true;
		atfh_par_publish(p, c->seq + 1, pos, index, true);
		return;
	}
	if (c->zbad) { /* the reader reads on in order from the chain */
		c->uhi = UINT64_MAX;
		c->rest = true;
		c->rest_off = pos;
		c->rest_index = index;
		if (c->lines) { /* lines count from the reader's line_base */
			c->rel_index = true;
			c->rest_index = 0;
		}
		c->zorigin = zorigin;
		c->uorigin = uorigin;
		return;
	}
	/* the carry (only this worker's successor publishes again, so
	 * p->carry holds still) goes just before the data */
	if (carry > ZRESERVE) {
		atfh_grow_array((void **)&wk->buf, &wk->cap, carry + dlen, 1);
		memmove(wk->buf + carry, wk->buf + ZRESERVE, dlen);
		memcpy(wk->buf, p->carry, carry);
	} else if (carry) {
		memcpy(wk->buf + ZRESERVE - carry, p->carry, carry);
	}
	size_t lead = carry > ZRESERVE ? carry : ZRESERVE; /* buf index of ubase */
	uint64_t base = ubase - lead, uend = ubase + dlen; /* buf[0] as an offset */
	c->uhi = uend;
	c->data = wk->buf;
	c->dcap = wk->cap;
	uint64_t start = pos, stop = pos, n = 0;
	bool rest = false;
	if (c->lines) {
		index = 0;
		c->rel_index = true;
	}
	if (pos < uend) /* else a record before ran past this part */
		stop = whole_records(c, wk->buf, base, start, uend, &n, &rest);
	if (!rest && stop < uend && c->zlast)
		rest = true; /* cut by the end of the frames: the reader's to say */
	/* a frame at or before STOP, for a rest or the reader at the end */
	if (stop >= uend)
		zorigin = c->hi, uorigin = uend;
	else if (stop >= ubase)
		zorigin = c->lo, uorigin = ubase;
	c->end_off = stop;
	if (rest) {
		if (c->lines)
			n = atfh_input_count_newlines(wk->buf + (start - base), (size_t)(stop - start));
		c->rest = true;
		c->rest_off = stop;
		c->rest_index = index + n;
		c->zorigin = zorigin;
		c->uorigin = uorigin;
	} else {
		size_t tail = stop < uend ? (size_t)(uend - stop) : 0;
		publish_z(p, c->seq + 1, stop, index + n, false, uend, zorigin, uorigin,
			  tail ? wk->buf + (stop - base) : NULL, tail);
	}
	if (stop <= start) {
		wk->buf = c->data;
		wk->cap = c->dcap;
		return;
	}
	atfh_grow_array((void **)&c->recs, &c->rcap, 1, sizeof *c->recs);
	c->recs[0] = (struct rec){ (size_t)(start - base), (size_t)(stop - start), index, start };
	c->nrec = 1;
	if (c->lines)
		atfh_par_run_block(wk, c);
	else
		atfh_par_run_frames(wk, c);
	wk->buf = c->data;
	wk->cap = c->dcap;
}

/* The end of the frame at OFF, 0 when there is none or it is too big
 * for a part; *DATA: what it holds, as its header says, else twice its
 * compressed size. */
static uint64_t zframe_next(const struct atfh_input *in, uint64_t off, uint64_t zsize,
			    uint64_t *data)
{
	uint64_t content, end = atfh_zframe_end(in->fd, in->base, off, zsize, &content);
	if (end && (end - off > ZFRAME_MAX || (content != UINT64_MAX && content > ZPART_MAX)))
		return 0;
	*data = content != UINT64_MAX ? content : 2 * (end - off);
	return end;
}

int atfh_par_zfile(struct atfh_par *p)
{
	struct atfh_loop *l = p->l;
	struct atfh_input *in = &l->in;
	/* from the first record: the reader has only looked at the start */
	if (!in->is_reg || !in->zstd || in->next_offset || in->index || in->size < in->base)
		return 1;
	uint64_t zsize = (uint64_t)(in->size - in->base);
	uint64_t data, nend = zframe_next(in, 0, zsize, &data);
	if (!nend || nend >= zsize)
		return 1; /* one frame: decompressed in order by the reader */
	if (!atfh_par_drain(p))
		return 0;
	size_t step = atfh_par_block_size(p);
	p->parts_cancelled = false;
	p->wake_batch = p->nring / 2;
	publish_z(p, p->fill, 0, 0, false, 0, 0, 0, NULL, 0);
	p->line_base = 0;
	uint64_t lo = 0;
	while (nend && !p->parts_cancelled) {
		/* whole frames to about a block of data */
		uint64_t hi = nend, part = data;
		nend = zframe_next(in, hi, zsize, &data);
		while (nend && part < step) {
			part += data;
			hi = nend;
			nend = zframe_next(in, hi, zsize, &data);
		}
		struct chunk *c = atfh_par_part_at(p, lo, hi);
		c->zstd = true;
		c->zlast = !nend;
		lo = hi;
		if (!atfh_par_part_go(p))
			break;
	}
	bool go_on = atfh_par_drain(p);
	p->wake_batch = 1;
	if (p->parts_cancelled)
		return go_on && !in->fatal;
	pthread_mutex_lock(&p->mu);
	uint64_t off = p->chain_off, index = l->in_lines ? p->line_base : p->chain_index;
	uint64_t zorigin = p->chain_zorigin, uorigin = p->chain_uorigin;
	bool cancel = p->chain_cancel;
	pthread_mutex_unlock(&p->mu);
	if (cancel || !go_on)
		return 0;
	/* the reader goes on after the last part: the end of the file, or
	 * what follows the frames (which it reports as one thread does);
	 * where it read the last rest itself, it is there already (and has
	 * said what it met at the end) */
	if (in->next_offset == off) {
		in->index = index;
		return 1;
	}
	if (atfh_input_reposition_zstd(in, zorigin, uorigin, off, index)) {
		atfh_err("%s: %s", in->name, in->err);
		l->io_failed = true;
		return 0;
	}
	return 1;
}
