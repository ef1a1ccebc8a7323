/*
 * atfh-split — write events into durable, rotating, optionally compressed
 * files named by a template; print each completed file's path.
 */
#include "cli.h"
#include "cursor.h"
#include "event.h"
#include "jsonscan.h"
#include "loop.h"
#include "splitter.h"
#include "template.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum {
	OPT_MAX_BYTES = ATFH_OPT_TOOL_FIRST,
	OPT_MAX_EVENTS,
	OPT_MAX_AGE,
	OPT_MAX_OPEN,
	OPT_LEVEL,
	OPT_CLOCK,
	OPT_CURSOR_FILE,
	OPT_CURSOR_INTERVAL,
	OPT_RECOVER,
};

static const char *const clock_names[] = { "event", "receive", NULL };

static const struct atfh_option options[] = {
	{ 'o', "output", "TEMPLATE", ATFH_ARG_STRING, NULL,
	  "file names: strftime conversions and {collection} {did} {kind} {action}" },
	{ OPT_MAX_BYTES, "max-bytes", "SIZE", ATFH_ARG_SIZE, NULL,
	  "complete a file before it grows past SIZE (uncompressed)" },
	{ OPT_MAX_EVENTS, "max-events", "N", ATFH_ARG_NUMBER, NULL,
	  "complete a file once it holds N records" },
	{ OPT_MAX_AGE, "max-age", "DUR", ATFH_ARG_DURATION, NULL,
	  "complete a file DUR after it was opened" },
	{ OPT_MAX_OPEN, "max-open", "N", ATFH_ARG_NUMBER, NULL,
	  "at most N files open; the least recently used is completed (default 512)" },
	{ OPT_LEVEL, "level", "N", ATFH_ARG_NUMBER, NULL, "zstd level for .zst names (default 3)" },
	{ OPT_CLOCK, "clock", "CLOCK", ATFH_ARG_CHOICE, clock_names,
	  "time for the template: event (default) or receive" },
	{ OPT_CURSOR_FILE, "cursor-file", "FILE", ATFH_ARG_FILE, NULL,
	  "keep in FILE the seq up to which all is durable; drop input at or before it" },
	{ OPT_CURSOR_INTERVAL, "cursor-interval", "DUR", ATFH_ARG_DURATION, NULL,
	  "make files durable and update the cursor file every DUR (default 1s)" },
	{ OPT_RECOVER, "recover", NULL, ATFH_ARG_NONE, NULL,
	  "complete .part files an earlier run left (implied by --cursor-file)" },
	ATFH_OPTS_COMMON_INPUT,
	ATFH_OPTS_COMMON_STATS,
	ATFH_OPTS_COMMON_END,
};

static const struct atfh_program program = {
	.name = "atfh-split",
	.args = "-o TEMPLATE [FILE]...",
	.summary = "Write events into files named by TEMPLATE, in the format read (frames or\n"
		   "NDJSON), completed atomically (NAME.part, fsync, rename) and printed on\n"
		   "stdout one a line.  A .zst name is zstd-compressed.  None or - reads stdin.",
	.options = options,
	.epilog = "Examples:\n"
		  "  atfh-split -o 'posts/%Y-%m-%d/%H.ndjson.zst' events.ndjson\n"
		  "  atfh-subscribe --resume-from cur | atfh-split --cursor-file cur \\\n"
		  "      -o 'raw/%Y%m%d-%H.atfh.zst' | xargs -n1 load\n"
		  "SIGHUP completes every open file; SIGINT, SIGTERM and the end of input\n"
		  "complete them and exit 0.\n",
};

struct split {
	struct atfh_loop loop;
	struct atfh_template tpl;
	struct atfh_splitter sp;
	struct atfh_msg msg;
	const char *tpl_arg, *cursor_file;
	bool receive_clock, recover;
	uint64_t cursor_interval_ms, max_open;
	/* positions */
	bool has_start, has_last, has_done;
	int64_t start, last, saved;
	/* the highest position all of whose records are written: lines of one
	 * commit share a seq (and Jetstream's ops a time_us), so a line's
	 * position is whole only once a line with another one arrives, or the
	 * input ends; until then its lines are held (atfh_splitter_hold) */
	int64_t done;
	bool has_saved;
	uint64_t dropped;
	/* clocks */
	uint64_t last_ckpt_ms, last_expire_ms;
	int64_t last_time_us;
	bool has_time;
	/* name cache for templates without data fields */
	time_t name_sec;
	bool name_valid;
	char name[ATFH_TEMPLATE_PATH_MAX];
	/* the time bucket: the template rendered with fixed field values */
	time_t bucket_sec;
	bool has_bucket;
	char bucket[ATFH_TEMPLATE_PATH_MAX];
};

static volatile sig_atomic_t hup;

static void on_hup(int sig)
{
	(void)sig;
	hup = 1;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int on_option(int id, const char *arg, void *ctx)
{
	struct split *s = ctx;
	int r = atfh_loop_option(&s->loop, id, arg);
	uint64_t v;
	if (r)
		return r < 0 ? -1 : 0;
	switch (id) {
	case 'o':
		s->tpl_arg = arg;
		return 0;
	case OPT_MAX_BYTES:
		if (atfh_parse_size(arg, &v) || !v) {
			atfh_err("--max-bytes: '%s' is not a positive size", arg);
			return -1;
		}
		s->sp.max_bytes = v;
		return 0;
	case OPT_MAX_EVENTS:
		if (atfh_parse_uint(arg, &v) || !v) {
			atfh_err("--max-events: '%s' is not a positive number", arg);
			return -1;
		}
		s->sp.max_events = v;
		return 0;
	case OPT_MAX_AGE:
		if (atfh_parse_duration_ms(arg, &v) || !v) {
			atfh_err("--max-age: '%s' is not a duration", arg);
			return -1;
		}
		s->sp.max_age_ms = v;
		return 0;
	case OPT_MAX_OPEN:
		if (atfh_parse_uint(arg, &v) || !v || v > 1000000) {
			atfh_err("--max-open: '%s' is not a number from 1 to 1000000", arg);
			return -1;
		}
		s->sp.max_open = (size_t)v;
		return 0;
	case OPT_LEVEL:
		if (atfh_parse_uint(arg, &v) || v < 1 || v > 22) {
			atfh_err("--level: '%s' is not a zstd level (1..22)", arg);
			return -1;
		}
		s->sp.level = (int)v;
		return 0;
	case OPT_CLOCK:
		if (strcmp(arg, "event") && strcmp(arg, "receive")) {
			atfh_err("--clock: '%s' is not event or receive", arg);
			return -1;
		}
		s->receive_clock = !strcmp(arg, "receive");
		return 0;
	case OPT_CURSOR_FILE:
		s->cursor_file = arg;
		return 0;
	case OPT_CURSOR_INTERVAL:
		if (atfh_parse_duration_ms(arg, &v)) {
			atfh_err("--cursor-interval: '%s' is not a duration", arg);
			return -1;
		}
		s->cursor_interval_ms = v;
		return 0;
	case OPT_RECOVER:
		s->recover = true;
		return 0;
	}
	return -1;
}

/* ---- durability ---------------------------------------------------------- */

/* Every written event is in an fsynced file: name the last one. */
static int save_cursor(struct split *s)
{
	if (!s->cursor_file || !s->has_done || (s->has_saved && s->saved == s->done))
		return 0;
	if (atfh_cursor_write(s->cursor_file, s->done) < 0) {
		atfh_err("%s: cannot write the cursor file: %s", s->cursor_file, strerror(errno));
		return -1;
	}
	s->has_saved = true;
	s->saved = s->done;
	return 0;
}

static int checkpoint(struct split *s)
{
	s->last_ckpt_ms = mono_ms();
	return atfh_splitter_checkpoint(&s->sp); /* calls on_durable */
}

/* Every record written so far is in fsynced files, and files are about to
 * be completed: the cursor goes first. */
static int on_durable(struct atfh_splitter *sp, void *arg)
{
	struct split *s = arg;
	(void)sp;
	s->last_ckpt_ms = mono_ms();
	return save_cursor(s);
}

static void set_done(struct split *s, int64_t pos)
{
	if (!s->has_done || pos > s->done) {
		s->has_done = true;
		s->done = pos;
	}
}

/* A line with another position arrived, or the input ended: the held
 * lines are whole; write them. */
static int release(struct split *s, uint64_t now)
{
	if (!s->sp.nheld)
		return 0;
	if (atfh_splitter_release(&s->sp, now))
		return -1;
	set_done(s, s->last);
	return atfh_splitter_rotate(&s->sp);
}

/* Between records and while the input is quiet: SIGHUP, --max-age, the
 * periodic checkpoint.  Returns ms until something is due, -1 for none,
 * -2 after a write error. */
static int periodic(struct split *s)
{
	if (s->sp.failed)
		return -2;
	uint64_t now = mono_ms();
	int64_t wait = -1;
	if (hup) {
		hup = 0;
		if (atfh_splitter_complete_all(&s->sp))
			return -2;
	}
	if (s->sp.max_age_ms && (wait = atfh_splitter_expire(&s->sp, now)) == -2)
		return -2;
	if (s->cursor_file && s->sp.dirty) {
		uint64_t due = s->last_ckpt_ms + s->cursor_interval_ms;
		if (now >= due) {
			if (checkpoint(s))
				return -2;
		} else if (wait < 0 || (int64_t)(due - now) < wait)
			wait = (int64_t)(due - now);
	}
	if (s->sp.nclosing) {
		/* finished files wait at most --cursor-interval for their round */
		uint64_t due = s->sp.closing_ms + s->cursor_interval_ms;
		if (now >= due) {
			if (atfh_splitter_settle(&s->sp))
				return -2;
		} else if (wait < 0 || (int64_t)(due - now) < wait)
			wait = (int64_t)(due - now);
	}
	s->last_expire_ms = now;
	return wait > 100000 ? 100000 : (int)wait;
}

static int on_idle(struct atfh_loop *l)
{
	struct split *s = l->ctx;
	/* held lines stay held: the rest of their commit may still come */
	int r = periodic(s);
	if (r == -2) {
		atfh_interrupted = 1; /* end the read; main reports exit 2 */
		return 0;
	}
	return r;
}

/* ---- per record ---------------------------------------------------------- */

static int write_record(struct split *s, bool frames, const void *p, size_t n,
			const struct atfh_tvalues *v, bool has_time, int64_t time_us,
			bool has_pos, int64_t pos, const char **err)
{
	if (has_pos && s->has_start && pos <= s->start) {
		s->dropped++;
		return ATFH_REC_OK;
	}
	uint64_t now = mono_ms();
	/* another line of the held position: held with it, named by its own
	 * values, no time bucket closed between them */
	bool more = !frames && has_pos && s->sp.nheld && pos == s->last;
	/* a frame is whole; one with the same seq as the one before stays in
	 * its file all the same */
	bool same_group = frames && has_pos && s->has_last && pos == s->last;
	if (!more && !same_group && release(s, now))
		return ATFH_REC_STOP;
	if (has_time) {
		s->has_time = true;
		s->last_time_us = time_us;
	}
	time_t when;
	if (s->receive_clock || !s->has_time)
		when = time(NULL);
	else
		when = (time_t)(s->last_time_us >= 0 ? s->last_time_us / 1000000
						     : (s->last_time_us - 999999) / 1000000);
	if (!more && s->tpl.uses_time && (!s->has_bucket || when != s->bucket_sec)) {
		/* the time bucket passed: its files are complete */
		static const struct atfh_tvalues fixed = { { "_", 1, false }, { "_", 1, false },
							   { "_", 1, false }, { "_", 1, false } };
		char b[ATFH_TEMPLATE_PATH_MAX];
		if (atfh_template_render(&s->tpl, when, &fixed, b, sizeof b) >= 0) {
			if (s->has_bucket && strcmp(b, s->bucket) &&
			    atfh_splitter_complete_all(&s->sp))
				return ATFH_REC_STOP;
			memcpy(s->bucket, b, strlen(b) + 1);
			s->has_bucket = true;
			s->bucket_sec = when;
		}
	}
	if (s->tpl.uses_fields || !s->name_valid || when != s->name_sec) {
		if (atfh_template_render(&s->tpl, when, v, s->name, sizeof s->name) < 0) {
			s->name_valid = false;
			*err = "the template gives no file name for this event (a name too "
			       "long, or a conversion that yields nothing)";
			return ATFH_REC_BAD;
		}
		s->name_valid = !s->tpl.uses_fields;
		s->name_sec = when;
	}
	if (!frames && has_pos) {
		atfh_splitter_hold(&s->sp, s->name, p, n);
		s->has_last = true;
		s->last = pos;
	} else {
		if (atfh_splitter_write(&s->sp, s->name, frames, p, n, now, same_group))
			return ATFH_REC_STOP;
		if (has_pos) {
			s->has_last = true;
			s->last = pos;
			set_done(s, pos);
		}
		if (atfh_splitter_rotate(&s->sp))
			return ATFH_REC_STOP;
	}
	s->loop.stats.events++;
	if (hup || (s->sp.max_age_ms && now - s->last_expire_ms >= 100) ||
	    (s->cursor_file && now - s->last_ckpt_ms >= s->cursor_interval_ms) ||
	    (s->sp.nclosing && now - s->sp.closing_ms >= s->cursor_interval_ms)) {
		if (periodic(s) == -2)
			return ATFH_REC_STOP;
	}
	return ATFH_REC_OK;
}

static struct atfh_str kind_str(enum atfh_kind k)
{
	if (k == ATFH_K_OTHER)
		return (struct atfh_str){ "other", 5, false };
	return (struct atfh_str){ atfh_kind_names[k], strlen(atfh_kind_names[k]), false };
}

static int on_frame(struct atfh_loop *l, const uint8_t *p, size_t n, const char **err)
{
	struct split *s = l->ctx;
	struct atfh_msg *m = &s->msg;
	if (atfh_msg_parse(m, p, n)) {
		*err = m->err;
		return ATFH_REC_BAD;
	}
	struct atfh_tvalues v = { ATFH_STR_NULL, m->did, kind_str(m->kind), ATFH_STR_NULL };
	if (s->tpl.uses_fields && m->kind == ATFH_K_COMMIT) {
		if (atfh_msg_parse_ops(m)) {
			*err = m->err;
			return ATFH_REC_BAD;
		}
		/* a frame is kept whole: its first op names it */
		if (m->nops) {
			v.collection = m->ops[0].collection;
			v.action = m->ops[0].action;
		}
	}
	return write_record(s, true, p, n, &v, m->has_time, m->time_us, m->has_seq, m->seq, err);
}

static int on_line(struct atfh_loop *l, const char *p, size_t n, const char **err)
{
	struct split *s = l->ctx;
	struct atfh_jobj o;
	if (atfh_jobj_parse(&o, p, n, err))
		return ATFH_REC_BAD;
	struct atfh_tvalues v = { 0 };
	const struct atfh_jval *x;
	if ((x = atfh_jobj_get(&o, "did")) && x->type == ATFH_J_STR)
		v.did = atfh_jval_str(x);
	if ((x = atfh_jobj_get(&o, "kind")) && x->type == ATFH_J_STR)
		v.kind = atfh_jval_str(x);
	if (s->tpl.uses_fields && (x = atfh_jobj_get(&o, "commit")) && x->type == ATFH_J_OBJ) {
		struct atfh_jobj c;
		const struct atfh_jval *y;
		if (atfh_jobj_parse(&c, x->p, x->n, err))
			return ATFH_REC_BAD;
		if ((y = atfh_jobj_get(&c, "collection")) && y->type == ATFH_J_STR)
			v.collection = atfh_jval_str(y);
		if ((y = atfh_jobj_get(&c, "operation")) && y->type == ATFH_J_STR)
			v.action = atfh_jval_str(y);
	}
	int64_t t = 0, pos = 0;
	bool has_t = (x = atfh_jobj_get(&o, "time_us")) && atfh_jval_i64(x, &t);
	bool has_pos = false;
	static const char *const keys[] = { "seq", "cursor", "time_us" };
	for (size_t i = 0; i < 3 && !has_pos; i++)
		has_pos = (x = atfh_jobj_get(&o, keys[i])) && atfh_jval_i64(x, &pos);
	return write_record(s, false, p, n, &v, has_t, t, has_pos, pos, err);
}

int main(int argc, char **argv)
{
	static struct split s;
	char err[256];
	atfh_cli_signals();
	atfh_loop_init(&s.loop, "atfh_split");
	atfh_splitter_init(&s.sp);
	s.cursor_interval_ms = 1000;
	int first = atfh_cli_parse(&program, argc, argv, on_option, &s);
	if (!s.tpl_arg)
		atfh_usage_error("-o TEMPLATE is required");
	if (atfh_template_parse(&s.tpl, s.tpl_arg, err, sizeof err)) {
		atfh_err("-o: %s", err);
		return ATFH_EXIT_FAIL;
	}
	struct sigaction sa = { .sa_handler = on_hup };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);

	s.sp.tpl = &s.tpl;
	s.sp.max_record = s.loop.max_frame;
	if (s.cursor_file) {
		int r = atfh_cursor_read(s.cursor_file, &s.start, err, sizeof err);
		if (r < 0) {
			atfh_err("%s: %s", s.cursor_file, err);
			return ATFH_EXIT_FAIL;
		}
		s.has_start = r == 1;
		s.has_saved = s.has_start;
		s.saved = s.start;
		s.sp.durable = on_durable;
		s.sp.arg = &s;
	}
	/* With a cursor file that does not exist yet, nothing is durable: a
	 * run killed before its first checkpoint left .part files whose
	 * events all come again, so they are cut to nothing, not completed. */
	bool cut_all = s.cursor_file && !s.has_start;
	if (atfh_splitter_recover(&s.sp, s.recover || s.cursor_file, s.has_start || cut_all,
				  cut_all ? INT64_MIN : s.start) < 0)
		return ATFH_EXIT_FAIL;

	atfh_msg_init(&s.msg);
	s.msg.lazy_ops = true;
	s.last_ckpt_ms = s.last_expire_ms = mono_ms();
	s.loop.ctx = &s;
	s.loop.on_frame = on_frame;
	s.loop.on_line = on_line;
	s.loop.on_idle = on_idle;
	int status = atfh_loop_run(&s.loop, argv + first, (size_t)(argc - first));
	/* the input ended: the held lines are whole.  A signal may have come
	 * between the lines of one commit: with a cursor file they are
	 * dropped (the cursor stays before them and the restart brings them
	 * again), without one they are kept */
	if (atfh_interrupted && s.cursor_file)
		atfh_splitter_drop(&s.sp);
	else if (!s.sp.failed)
		release(&s, mono_ms());
	if (!s.sp.failed)
		atfh_splitter_complete_all(&s.sp);
	if (s.sp.failed)
		status = ATFH_EXIT_FAIL; /* reported where it happened */
	else if (s.cursor_file && save_cursor(&s))
		status = ATFH_EXIT_FAIL;
	if (s.dropped && !s.loop.quiet)
		atfh_err("%llu event%s at or before the cursor (%lld) dropped",
			 (unsigned long long)s.dropped, s.dropped == 1 ? "" : "s", (long long)s.start);
	atfh_splitter_free(&s.sp);
	atfh_template_free(&s.tpl);
	atfh_msg_free(&s.msg);
	return status;
}
