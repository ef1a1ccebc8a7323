/*
 * atfh-count — counts, top-N and live tallies of events by key.
 *
 * Options, the read loop's callbacks and when results go out: at the end,
 * every --every (and on SIGUSR1), per --window or per event (--live).  The
 * keys and counts are lib/tally's; writing them (NDJSON, TSV, an aligned
 * table or a template) is lib/tally_out's.
 */
#include "cli.h"
#include "event.h"
#include "evpath.h"
#include "loop.h"
#include "outfile.h"
#include "tally.h"
#include "tally_out.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

enum {
	OPT_BY_JQ = ATFH_OPT_TOOL_FIRST,
	OPT_MIN,
	OPT_APPROX,
	OPT_EVERY,
	OPT_RESET,
	OPT_FORMAT,
	OPT_TSV,
	OPT_NDJSON,
	OPT_DISTINCT, /* no -d: atfh-grep and atfh-subscribe use it for --did */
	OPT_MAX_FUTURE,
};

static const struct atfh_option options[] = {
	{ 'b', "by", "[NAME=]PATH", ATFH_ARG_STRING, NULL,
	  "count by the value at PATH (repeatable): did, kind, commit.collection, "
	  "commit.record.langs[0], ...; missing counts as null; NAME names the "
	  "field in the output" },
	{ OPT_BY_JQ, "by-jq", "[NAME=]EXPR", ATFH_ARG_STRING, NULL,
	  "count by each output of the jq expression EXPR (repeatable)" },
	{ 'n', "top", "N", ATFH_ARG_NUMBER, NULL, "only the N largest counts" },
	{ OPT_MIN, "min", "N", ATFH_ARG_NUMBER, NULL, "only keys counted at least N times" },
	{ OPT_DISTINCT, "distinct", "PATH", ATFH_ARG_STRING, NULL,
	  "also count the distinct values of PATH per key: exact up to 1536, "
	  "then a HyperLogLog estimate (0.81% standard error)" },
	{ OPT_APPROX, "approx", "N", ATFH_ARG_NUMBER, NULL,
	  "bounded memory: keep N counters (Space-Saving); each count comes "
	  "with its error bound" },
	{ OPT_EVERY, "every", "DUR", ATFH_ARG_DURATION, NULL,
	  "print a snapshot every DUR of wall-clock time while reading" },
	{ OPT_RESET, "reset", NULL, ATFH_ARG_NONE, NULL,
	  "start again from zero after each snapshot" },
	{ 'w', "window", "DUR", ATFH_ARG_DURATION, NULL,
	  "tumbling windows of DUR by event time, each printed when it closes" },
	{ OPT_MAX_FUTURE, "max-future", "DUR", ATFH_ARG_DURATION, NULL,
	  "with --window: an event more than DUR ahead of the watermark (live: "
	  "of the clock) is counted as future, not in a window (default 10m)" },
	{ 'l', "live", NULL, ATFH_ARG_NONE, NULL,
	  "one line per event with the running count of its key" },
	{ OPT_FORMAT, "format", "TEMPLATE", ATFH_ARG_STRING, NULL,
	  "write each line from TEMPLATE: {PATH}, {count}, {distinct}, ..." },
	{ 't', "table", NULL, ATFH_ARG_NONE, NULL,
	  "aligned table (the default when stdout is a terminal)" },
	{ OPT_TSV, "tsv", NULL, ATFH_ARG_NONE, NULL, "tab-separated values with a header line" },
	{ OPT_NDJSON, "ndjson", NULL, ATFH_ARG_NONE, NULL,
	  "one JSON object per key (the default when stdout is not a terminal)" },
	{ 'o', "output", "FILE", ATFH_ARG_FILE, NULL,
	  "write to FILE (completed atomically; with --every, replaced by each "
	  "snapshot)" },
	ATFH_OPTS_THREADS,
	ATFH_OPTS_COMMON_INPUT,
	ATFH_OPTS_COMMON_STATS,
	ATFH_OPTS_COMMON_END,
};

static const struct atfh_program program = {
	.name = "atfh-count",
	.args = "[FILE]...",
	.summary = "Count events by key: totals, top-N, distinct values, snapshots, windows\n"
		   "or live running counts.  FILE may be frames, jetstream NDJSON or either\n"
		   "zstd-compressed; none or - reads stdin.",
	.options = options,
	.epilog = "Examples:\n"
		  "  atfh-count --by commit.collection --top 10 capture.atfh.zst\n"
		  "  atfh-count --by commit.collection --distinct did capture.atfh\n"
		  "  atfh-subscribe | atfh-count --by did --top 20 --every 5s\n"
		  "  atfh-subscribe | atfh-count --live --by did \\\n"
		  "      --format '{did} has posted {count} times since startup'\n"
		  "SIGUSR1 prints a snapshot; the end of the input, or SIGINT or SIGTERM\n"
		  "on a live input (a pipe), the final result.\n"
		  "Exit status: 0 ok, 2 usage or I/O error (or a jq error), 3 malformed\n"
		  "records skipped, 130/143 a finite input interrupted.\n",
};

struct count {
	struct atfh_loop loop;
	struct atfh_out out;
	const char *output;
	struct atfh_tally t;
	struct atfh_tally_out w;

	uint64_t every_ms;
	bool reset, live;
	const char *tmpl_src;
	int need_render;      /* frames: 0 cheap fields only, 1 JSON, 2 with records */
	struct atfh_msg msg;
	struct atfh_ev ev;
	char snapbuf[40];
	double next_every;
	uint64_t jq_errors;
	bool write_failed;
	bool max_future_set;
	uint64_t futures;     /* events counted as future, over the run */
};

static volatile sig_atomic_t usr1;

/* ---- options -------------------------------------------------------------- */

static int number(const char *opt, const char *arg, uint64_t lo, uint64_t hi, uint64_t *v)
{
	if (atfh_parse_uint(arg, v) || *v < lo || *v > hi) {
		if (hi == UINT64_MAX)
			atfh_err("%s: '%s' is not a whole number of at least %llu", opt, arg,
				 (unsigned long long)lo);
		else
			atfh_err("%s: '%s' is not a whole number from %llu to %llu", opt, arg,
				 (unsigned long long)lo, (unsigned long long)hi);
		return -1;
	}
	return 0;
}

static int duration(const char *opt, const char *arg, uint64_t *ms)
{
	if (atfh_parse_duration_ms(arg, ms) || *ms == 0) {
		atfh_err("%s: '%s' is not a duration (e.g. 10s, 500ms, 5m, 1h)", opt, arg);
		return -1;
	}
	if (*ms > 366ull * 86400000) {
		atfh_err("%s: '%s' exceeds the limit of 366d", opt, arg);
		return -1;
	}
	return 0;
}

static int on_option(int id, const char *arg, void *ctx)
{
	struct count *c = ctx;
	char err[600];
	int r = atfh_loop_option(&c->loop, id, arg);
	if (r)
		return r < 0 ? -1 : 0;
	switch (id) {
	case 'b':
	case OPT_BY_JQ:
		if (atfh_tally_add_part(&c->t, id == OPT_BY_JQ, arg, err, sizeof err)) {
			atfh_err("%s: %s", id == OPT_BY_JQ ? "--by-jq" : "--by", err);
			return -1;
		}
		return 0;
	case OPT_DISTINCT:
		if (c->t.has_distinct) {
			atfh_err("--distinct: give it once");
			return -1;
		}
		if (atfh_evpath_parse(&c->t.distinct, arg, err, sizeof err)) {
			atfh_err("--distinct: %s", err);
			return -1;
		}
		c->t.has_distinct = true;
		return 0;
	case 'n':
		return number("--top", arg, 1, UINT64_MAX, &c->t.top);
	case OPT_MIN:
		return number("--min", arg, 0, UINT64_MAX, &c->t.min);
	case OPT_APPROX:
		return number("--approx", arg, 1, 10000000, &c->t.approx);
	case OPT_EVERY:
		return duration("--every", arg, &c->every_ms);
	case 'w':
		return duration("--window", arg, &c->t.window_ms);
	case OPT_MAX_FUTURE:
		c->max_future_set = true;
		return duration("--max-future", arg, &c->t.max_future_ms);
	case OPT_RESET:
		c->reset = true;
		return 0;
	case 'l':
		c->live = true;
		return 0;
	case OPT_FORMAT:
		c->tmpl_src = arg;
		return 0;
	case 't':
		c->w.fmt = ATFH_TALLY_TABLE;
		return 0;
	case OPT_TSV:
		c->w.fmt = ATFH_TALLY_TSV;
		return 0;
	case OPT_NDJSON:
		c->w.fmt = ATFH_TALLY_NDJSON;
		return 0;
	case 'o':
		c->output = arg;
		return 0;
	}
	return -1;
}

/* ---- results -------------------------------------------------------------- */

static bool out_gone(struct count *c)
{
	return c->out.broken_pipe || c->out.error;
}

/* Print the current counts (a snapshot, a window or the final result). */
static void emit(struct count *c)
{
	struct atfh_out mem = { .fd = -1 };
	struct atfh_out *o = c->w.snapfile ? &mem : &c->out;
	if (out_gone(c))
		return;
	size_t limit = 0;
	if (c->w.redraw) {
		struct winsize ws;
		atfh_out_lit(o, "\033[H\033[2J");
		if (ioctl(c->out.fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 4)
			limit = ws.ws_row - 4; /* title, header, "more", the prompt */
	}
	size_t n, more;
	struct atfh_tally_row *rows = atfh_tally_rows(&c->t, limit, &n, &more);
	atfh_tally_block(&c->w, o, rows, n, more, c->loop.stats.events);
	free(rows);
	if (c->w.snapfile) {
		if (atfh_write_atomic(c->output, mem.buf ? mem.buf : "", mem.len) < 0 &&
		    !c->write_failed) {
			atfh_err("%s: %s", c->output, strerror(errno));
			c->write_failed = true;
		}
		atfh_out_free(&mem);
	}
}

static void snapshot(struct count *c)
{
	struct timespec ts;
	atfh_loop_sync(&c->loop); /* SIGUSR1 with -T: everything read so far */
	clock_gettime(CLOCK_REALTIME, &ts);
	atfh_tally_fmt_time(c->snapbuf, sizeof c->snapbuf,
			    (int64_t)ts.tv_sec * 1000000 + (ts.tv_nsec / 1000000) * 1000);
	c->w.snapshot = c->snapbuf;
	emit(c);
	c->w.snapshot = NULL;
	if (!c->w.snapfile && !out_gone(c))
		atfh_out_flush(&c->out);
	if (c->reset)
		atfh_tally_clear(&c->t);
}

static void on_tick(void *arg)
{
	struct count *c = arg;
	if (usr1) {
		usr1 = 0;
		if (!c->live)
			snapshot(c);
	}
	if (c->every_ms) {
		double now = atfh_now();
		if (now >= c->next_every) {
			snapshot(c);
			while (c->next_every <= now)
				c->next_every += (double)c->every_ms / 1000;
		}
		c->loop.stats.due = c->next_every;
	}
	if (out_gone(c))
		atfh_interrupted = 1; /* nobody reads: stop waiting for input */
}

static void on_usr1(int sig)
{
	(void)sig;
	usr1 = 1;
	atfh_stats_tick_flag = 1;
}

/* ---- counting ------------------------------------------------------------- */

static void on_jq_error(void *ctx, const char *err)
{
	struct count *c = ctx;
	if (c->jq_errors++ < 5)
		atfh_input_error(&c->loop.in, c->loop.in_lines, "%s", err);
	else if (c->jq_errors == 6)
		atfh_err("further jq errors are not shown");
}

static void on_live_key(void *ctx, const struct atfh_tally_row *r)
{
	struct count *c = ctx;
	atfh_tally_line(&c->w, &c->out, r, &c->ev);
	atfh_out_event_done(&c->out);
}

static void on_window_end(void *ctx)
{
	emit(ctx);
}

static void on_future(void *ctx, int64_t time, int64_t ref)
{
	struct count *c = ctx;
	char a[48], b[48];
	if (c->futures++ >= 5) {
		if (c->futures == 6)
			atfh_err("further future events are not shown");
		return;
	}
	atfh_tally_fmt_time(a, sizeof a, time);
	atfh_tally_fmt_time(b, sizeof b, ref);
	atfh_input_error(&c->loop.in, c->loop.in_lines,
			 "event time %s is more than --max-future ahead of the watermark %s: "
			 "counted as future, not in a window",
			 a, b);
}

/* Count the current event (c->ev).  0, or -1 with *err when a frame
 * cannot be decoded as far as the keys need. */
static int count_event(struct count *c, const char **err)
{
	c->loop.stats.events++;
	c->t.live = !c->loop.in.is_reg;
	return atfh_tally_event(&c->t, &c->ev, err);
}

static int on_line(struct atfh_loop *l, const char *p, size_t n, const char **err)
{
	struct count *c = l->ctx;
	if (atfh_ev_set_line(&c->ev, p, n, err) || count_event(c, err))
		return ATFH_REC_BAD;
	return ATFH_REC_OK;
}

static int on_frame(struct atfh_loop *l, const uint8_t *p, size_t n, const char **err)
{
	struct count *c = l->ctx;
	if (atfh_msg_parse(&c->msg, p, n)) {
		*err = c->msg.err;
		return ATFH_REC_BAD;
	}
	atfh_ev_set_frame(&c->ev, &c->msg);
	size_t nev = atfh_ev_frame_events(&c->msg);
	if (nev && c->need_render) {
		/* decode what the keys need before anything is counted, so a
		 * bad frame counts nothing */
		const char *js;
		size_t jn;
		if (c->need_render == 2 ? atfh_ev_json(&c->ev, &js, &jn, err)
					: atfh_ev_prepare(&c->ev, false, err))
			return ATFH_REC_BAD;
	}
	for (size_t i = 0; i < nev; i++) {
		atfh_ev_set_op(&c->ev, i);
		if (count_event(c, err))
			return ATFH_REC_BAD; /* not reached: decoded above */
	}
	return ATFH_REC_OK;
}

/* ---- threads (-T) --------------------------------------------------------- */

/* A worker: the same keys, a parser and a tally of its own; it writes
 * nothing (the result is printed from the merged tallies). */
static struct atfh_loop *worker_new(struct atfh_loop *l)
{
	struct count *c = l->ctx, *w = atfh_xcalloc(1, sizeof *w);
	atfh_loop_worker_init(&w->loop, l, w, NULL);
	atfh_tally_start_like(&w->t, &c->t);
	w->need_render = c->need_render;
	atfh_msg_init(&w->msg);
	atfh_ev_init(&w->ev);
	return &w->loop;
}

static void worker_merge(struct atfh_loop *l, struct atfh_loop *wl)
{
	struct count *c = l->ctx, *w = wl->ctx;
	atfh_tally_merge(&c->t, &w->t);
}

static void worker_free(struct atfh_loop *wl)
{
	struct count *w = wl->ctx;
	atfh_tally_free(&w->t);
	atfh_ev_free(&w->ev);
	atfh_msg_free(&w->msg);
	free(w);
}

/* Threads only where order and timing do not matter: not for --live,
 * --every or --window (per event, by the clock, by event time), nor with
 * --by-jq (libjq is not thread-safe). */
static bool can_thread(const struct count *c)
{
	if (c->live || c->every_ms || c->t.window_ms)
		return false;
	for (size_t k = 0; k < c->t.nparts; k++)
		if (c->t.parts[k].is_jq)
			return false;
	return true;
}

/* ---- main ----------------------------------------------------------------- */

static void check_usage(struct count *c)
{
	if (c->live && (c->every_ms || c->t.window_ms))
		atfh_usage_error("--live prints every event: it takes neither --every nor --window");
	if (c->every_ms && c->t.window_ms)
		atfh_usage_error("--every and --window cannot be combined");
	if (c->max_future_set && !c->t.window_ms)
		atfh_usage_error("--max-future is for --window");
	if (c->reset && c->t.window_ms)
		atfh_usage_error("--reset is for snapshots; windows always start from zero");
	if (c->t.approx && c->t.has_distinct)
		atfh_usage_error("--distinct needs exact counts: it cannot be combined with --approx");
	if (c->live && c->w.fmt == ATFH_TALLY_TABLE)
		atfh_usage_error("--live writes a line per event: use --ndjson, --tsv or --format");
	if (c->tmpl_src && (c->w.fmt == ATFH_TALLY_TABLE || c->w.fmt == ATFH_TALLY_TSV))
		atfh_usage_error("--format replaces --table and --tsv");
	if (c->live && (c->t.top || c->t.min))
		atfh_usage_error("--top and --min choose among final counts: not with --live");
}

int main(int argc, char **argv)
{
	static struct count c;
	atfh_cli_signals();
	struct sigaction sa = { .sa_handler = on_usr1 }; /* no SA_RESTART: wake reads */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);

	atfh_loop_init(&c.loop, "atfh_count");
	c.t.max_future_ms = 10 * 60 * 1000;
	c.w.t = &c.t;
	int first = atfh_cli_parse(&program, argc, argv, on_option, &c);
	check_usage(&c);
	if (c.tmpl_src)
		atfh_tally_tmpl_parse(&c.w, c.tmpl_src, c.live);

	int out_fd_tty = c.output && strcmp(c.output, "-") ? 0 : isatty(STDOUT_FILENO);
	if (c.w.fmt == ATFH_TALLY_AUTO)
		c.w.fmt = out_fd_tty && !c.live && !c.tmpl_src ? ATFH_TALLY_TABLE
							       : ATFH_TALLY_NDJSON;
	c.w.every = c.every_ms != 0;
	c.w.snapfile = c.every_ms && c.output && strcmp(c.output, "-");
	c.w.redraw = c.every_ms && out_fd_tty && c.w.fmt == ATFH_TALLY_TABLE && !c.w.tmpl;
	if (c.w.redraw)
		c.loop.quiet = true; /* the table owns the terminal */
	c.need_render = atfh_tally_depth(&c.t);
	if (atfh_tally_out_depth(&c.w) > c.need_render)
		c.need_render = atfh_tally_out_depth(&c.w);

	struct atfh_outfile of = { 0 };
	if (c.w.snapfile) {
		atfh_out_init(&c.out, -1, c.output);
	} else if (atfh_outfile_open(&of, &c.out, c.output)) {
		return ATFH_EXIT_FAIL;
	}
	atfh_msg_init(&c.msg);
	atfh_ev_init(&c.ev);
	c.t.ctx = &c;
	c.t.on_key = c.live ? on_live_key : NULL;
	c.t.on_jq_error = on_jq_error;
	c.t.on_window_end = on_window_end;
	c.t.on_future = on_future;
	atfh_tally_start(&c.t);

	c.loop.out = c.w.snapfile ? NULL : &c.out;
	c.loop.ctx = &c;
	c.loop.on_frame = on_frame;
	c.loop.on_line = on_line;
	if (can_thread(&c)) {
		c.loop.worker_new = worker_new;
		c.loop.worker_merge = worker_merge;
		c.loop.worker_free = worker_free;
	}
	c.loop.stats.on_tick = on_tick;
	c.loop.stats.on_tick_arg = &c;
	if (c.every_ms) {
		c.next_every = atfh_now() + (double)c.every_ms / 1000;
		c.loop.stats.due = c.next_every;
	}
	int status = atfh_loop_run(&c.loop, argv + first, (size_t)(argc - first));

	/* the final result; a window only if it holds anything */
	if (!c.live && !c.out.broken_pipe && !c.loop.abandoned &&
	    (!c.t.window_ms || atfh_tally_any(&c.t)))
		emit(&c);
	if (c.w.snapfile) {
		if (c.write_failed && status < 128)
			status = ATFH_EXIT_FAIL;
	} else {
		status = atfh_outfile_finish(&of, &c.out, status);
	}
	if (c.futures)
		atfh_err("%llu event%s more than --max-future ahead: counted as future, not in a window",
			 (unsigned long long)c.futures, c.futures == 1 ? "" : "s");
	if (c.jq_errors) {
		atfh_err("%llu event%s not counted: the jq expression failed on %s",
			 (unsigned long long)c.jq_errors, c.jq_errors == 1 ? "" : "s",
			 c.jq_errors == 1 ? "it" : "them");
		if (status < 128)
			status = ATFH_EXIT_FAIL;
	}

	atfh_tally_free(&c.t);
	atfh_tally_out_free(&c.w);
	atfh_ev_free(&c.ev);
	atfh_msg_free(&c.msg);
	atfh_out_free(&c.out);
	return status;
}
