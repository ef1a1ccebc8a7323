/*
 * loop.c — see loop.h.
 */
#include "loop.h"
#include "cli.h"
#include "parallel.h"
#include "signals.h"

#include <stdio.h>

void atfh_loop_init(struct atfh_loop *l, const char *metrics_prefix)
{
	memset(l, 0, sizeof *l);
	l->stats.prefix = metrics_prefix;
	l->max_frame = ATFH_MAX_FRAME_DEFAULT;
}

void atfh_loop_worker_init(struct atfh_loop *wl, const struct atfh_loop *l, void *ctx,
			   struct atfh_out *out)
{
	atfh_loop_init(wl, l->stats.prefix);
	wl->ctx = ctx;
	wl->on_frame = l->on_frame;
	wl->on_line = l->on_line;
	if (out) {
		atfh_out_init(out, -1, "(worker)");
		wl->out = out;
	}
}

int atfh_loop_option(struct atfh_loop *l, int id, const char *arg)
{
	struct atfh_common_opts c = { &l->strict, &l->quiet, &l->max_frame, &l->stats };
	if (id == ATFH_OPT_THREADS)
		return atfh_loop_threads_option(l, arg) < 0 ? -1 : 1;
	return atfh_common_option(&c, id, arg);
}

int atfh_loop_threads_option(struct atfh_loop *l, const char *arg)
{
	uint64_t v;
	if (atfh_parse_uint(arg, &v) || v < 1 || v > ATFH_PAR_MAX_THREADS) {
		atfh_err("-T: '%s' is not a number of threads from 1 to %d", arg,
			 ATFH_PAR_MAX_THREADS);
		return -1;
	}
	l->threads = (unsigned)v;
	return 0;
}

void atfh_loop_sync(struct atfh_loop *l)
{
	if (l->par)
		atfh_par_sync(l->par);
}

/* Before a read that may block: whatever is in flight goes out first. */
static void flush_before_block(void *arg)
{
	struct atfh_loop *l = arg;
	if (l->par)
		atfh_par_drain(l->par);
	if (l->out)
		atfh_out_flush(l->out);
}

/* The input is quiet: timers still run, on time, and say how long the
 * reader may wait. */
static int idle_wait(void *arg)
{
	struct atfh_loop *l = arg;
	int ms = atfh_stats_wait_ms(&l->stats);
	if (l->on_idle) {
		int mine = l->on_idle(l);
		if (mine >= 0 && (ms < 0 || mine < ms))
			ms = mine;
	}
	return ms;
}

/* How many messages of ERR's kind there were, this one included.  The kind
 * is the text before the first number, quote, parenthesis or colon, so
 * "frame length 123 exceeds…" and "frame length 456 exceeds…" are one. */
static uint64_t count_kind(struct atfh_loop *l, const char *err, const char **key)
{
	char k[sizeof l->err_kinds[0].key];
	size_t n = strcspn(err, "0123456789:'\"(");
	if (n >= sizeof k)
		n = sizeof k - 1;
	while (n > 0 && err[n - 1] == ' ')
		n--;
	memcpy(k, err, n);
	k[n] = '\0';
	size_t max = sizeof l->err_kinds / sizeof l->err_kinds[0], i;
	for (i = 0; i < l->n_err_kinds; i++)
		if (strcmp(l->err_kinds[i].key, k) == 0)
			break;
	if (i == l->n_err_kinds) {
		if (i == max)
			i = max - 1; /* the last slot takes every kind past the table */
		else
			l->n_err_kinds++;
		memcpy(l->err_kinds[i].key, k, n + 1);
	}
	*key = l->err_kinds[i].key;
	return ++l->err_kinds[i].n;
}

bool atfh_loop_malformed(struct atfh_loop *l, const char *err)
{
	const char *key;
	l->stats.malformed++;
	uint64_t n = count_kind(l, err, &key);
	if (n > ATFH_ERRORS_SHOWN) {
		l->err_hidden++;
		if (n == ATFH_ERRORS_SHOWN + 1)
			atfh_err("%s: more than %d errors like \"%s…\": the rest are not shown",
				 l->in.name, ATFH_ERRORS_SHOWN, key);
	} else {
		atfh_input_error(&l->in, l->in_lines, "%s", err);
	}
	if (l->strict) {
		l->stopped = true;
		return false;
	}
	return true;
}

bool atfh_loop_malformed_at(struct atfh_loop *l, const char *file, bool lines,
			    uint64_t index, uint64_t offset, const char *err)
{
	struct atfh_input *in = &l->in;
	const char *name = in->name;
	uint64_t i = in->index, o = in->offset;
	bool was = l->in_lines;
	in->name = file;
	in->index = index;
	in->offset = offset;
	l->in_lines = lines;
	bool go_on = atfh_loop_malformed(l, err);
	in->name = name;
	in->index = i;
	in->offset = o;
	l->in_lines = was;
	return go_on;
}

static bool out_gone(struct atfh_loop *l)
{
	return l->out && (l->out->broken_pipe || l->out->error);
}

/* The records of a file in threads: true if the run goes on. */
static bool par_drain(struct atfh_loop *l)
{
	return !l->par || atfh_par_drain(l->par);
}

enum atfh_read_fail atfh_loop_read_failed(struct atfh_loop *l)
{
	struct atfh_input *in = &l->in;
	if (in->fatal) {
		atfh_err("%s: %s", in->name, in->err);
		l->io_failed = true;
		return ATFH_READ_FATAL;
	}
	if (in->to_lines && l->on_line) {
		/* NDJSON after frames: said once, then read as lines, counted
		 * from there */
		in->to_lines = false;
		atfh_input_error(in, false, "%s (read as NDJSON from here)", in->err);
		l->in_lines = true;
		in->index = 0;
		return ATFH_READ_TO_LINES;
	}
	return atfh_loop_malformed(l, in->err) ? ATFH_READ_SKIPPED : ATFH_READ_STOP;
}

static void run_file(struct atfh_loop *l)
{
	struct atfh_input *in = &l->in;
	enum atfh_informat fmt = atfh_input_detect(in);
	const char *err = NULL;

	switch (fmt) {
	case ATFH_IN_EMPTY:
		return;
	case ATFH_IN_UNKNOWN:
		if (in->err[0] && in->fatal) {
			atfh_err("%s: %s", in->name, in->err);
			l->io_failed = true;
			return;
		}
		if (!in->err[0]) {
			/* a file that is not a stream at all (a text file given by
			 * mistake) is an input error like a missing one, not a
			 * malformed record */
			atfh_err("%s: not an atfh stream (neither frames, NDJSON nor zstd)",
				 in->name);
			l->io_failed = true;
			return;
		}
		l->stats.malformed++;
		atfh_err("%s: %s", in->name, in->err);
		if (l->strict)
			l->stopped = true;
		return;
	case ATFH_IN_FRAMES:
		l->in_lines = false;
		break;
	case ATFH_IN_NDJSON:
		l->in_lines = true;
		if (!l->on_line) {
			l->stats.malformed++;
			atfh_err("%s: NDJSON input is not accepted here", in->name);
			if (l->strict)
				l->stopped = true;
			return;
		}
		break;
	}
	/* a plain file: in parts its workers read themselves */
	if (l->par && !(l->in_lines && l->serial_lines) && in->is_reg &&
	    !(in->zstd ? atfh_par_zfile(l->par) : atfh_par_file(l->par)))
		return;
	for (;;) {
		int r;
		const uint8_t *p;
		size_t n;
		uint64_t before = in->next_offset;
		r = 2;
		if (l->par && !(l->in_lines && l->serial_lines) && in->is_reg && !in->zstd) {
			/* a plain file's lines or frames: cut by the workers */
			uint64_t index = in->index;
			size_t want = atfh_par_block_size(l->par);
			r = l->in_lines ? atfh_input_lines_block(in, &p, &n, want)
					: atfh_input_frames_block(in, &p, &n, want);
			l->stats.bytes += in->next_offset - before;
			l->stats.raw_bytes = in->raw_total;
			if (r == 0)
				return;
			if (r == 1) {
				atfh_par_block(l->par, p, n, index, l->in_lines);
				if (l->stopped || out_gone(l) || atfh_interrupted)
					return;
				atfh_stats_poll(&l->stats);
				continue;
			}
			/* one by one (r == 2): positions are the reader's
			 * again once the blocks are back */
			if (r == 2 && !par_drain(l))
				return;
		}
		if (r < 0)
			; /* a read or zstd error, below */
		else if (l->in_lines)
			r = atfh_input_line(in, (const char **)&p, &n);
		else
			r = atfh_input_frame(in, &p, &n);
		l->stats.bytes += in->next_offset - before;
		l->stats.raw_bytes = in->raw_total;
		if (r == 0)
			return;
		if (r < 0) {
			/* reports in input order: what is in flight goes first */
			if (!par_drain(l))
				return;
			enum atfh_read_fail f = atfh_loop_read_failed(l);
			if (f == ATFH_READ_FATAL || f == ATFH_READ_STOP)
				return;
			continue;
		}
		l->stats.records++;
		if (l->par && !(l->in_lines && l->serial_lines)) {
			atfh_par_record(l->par, p, n);
			if (l->stopped || out_gone(l) || atfh_interrupted)
				return;
			atfh_stats_poll(&l->stats);
			continue;
		}
		r = l->in_lines ? l->on_line(l, (const char *)p, n, &err)
				: l->on_frame(l, p, n, &err);
		if (r == ATFH_REC_BAD && !atfh_loop_malformed(l, err))
			return;
		if (r == ATFH_REC_STOP) {
			l->stopped = true;
			return;
		}
		if (out_gone(l) || atfh_interrupted)
			return;
		atfh_stats_poll(&l->stats);
	}
}

int atfh_loop_run(struct atfh_loop *l, char **files, size_t nfiles)
{
	atfh_input_init(&l->in, files, nfiles, l->max_frame);
	unsigned threads = l->threads ? l->threads : atfh_par_default_threads();
	if (threads > 1 && l->worker_new && !l->strict && !l->stats.interval_ms)
		l->par = atfh_par_new(l, threads);
	/* what was read is finished (written, or sent: chunk_out) before
	 * waiting for more */
	if (l->out || l->par) {
		l->in.before_block = flush_before_block;
		l->in.before_block_arg = l;
	}
	l->in.on_idle = idle_wait;
	l->in.on_idle_arg = l;
	int64_t total = atfh_input_total_size(files, nfiles);
	bool finite = total >= 0; /* regular files only: no pipe, FIFO, socket, tty */
	atfh_stats_start(&l->stats, !l->quiet, total);
	for (;;) {
		int r = atfh_input_next_file(&l->in);
		if (r == 0)
			break;
		if (r < 0) {
			atfh_err("%s: %s", l->in.name, l->in.err);
			l->io_failed = true;
			continue;
		}
		run_file(l);
		par_drain(l); /* every record of the file taken back */
		if (l->stopped || out_gone(l) || atfh_interrupted)
			break;
	}
	if (l->par) {
		atfh_par_free(l->par); /* results merged, threads gone */
		l->par = NULL;
	}
	if (l->on_end && !out_gone(l))
		l->on_end(l);
	atfh_input_free(&l->in);
	if (l->out && !out_gone(l))
		atfh_out_flush(l->out);
	bool metrics_failed = atfh_stats_finish(&l->stats) < 0;
	if (l->out && atfh_out_report(l->out))
		return ATFH_EXIT_FAIL;
	/* A finite input stopped by SIGINT/SIGTERM before its end: the run is
	 * abandoned (-o FILE stays as it was); a live one just stops there. */
	if (finite && atfh_signal_status()) {
		l->abandoned = true;
		return atfh_signal_status();
	}
	if (l->io_failed || metrics_failed)
		return ATFH_EXIT_FAIL;
	if (l->stats.malformed) {
		if (!l->strict && !(l->out && l->out->broken_pipe))
			atfh_err("%llu malformed record%s skipped%s",
				 (unsigned long long)l->stats.malformed,
				 l->stats.malformed == 1 ? "" : "s",
				 l->err_hidden ? " (not all shown)" : "");
		return ATFH_EXIT_MALFORMED;
	}
	return ATFH_EXIT_OK;
}
