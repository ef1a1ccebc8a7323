/*
 * atfh-subscribe — a firehose client that never loses its place: connect to
 * a relay (or a labeler, or Jetstream, or replay a capture) and write what
 * it sends as frames (or Jetstream's NDJSON), keeping a cursor file that
 * never names a message not yet safely written.
 *
 * The subscription itself is lib/firehose.c (and lib/replay.c); this file
 * owns the output, the cursor file, the counters and the options.
 */
#include "cli.h"
#include "cursor.h"
#include "firehose.h"
#include "out.h"
#include "replay.h"
#include "resume.h"
#include "stats.h"
#include "util.h"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_RELAY "bsky.network"

enum {
	OPT_RELAY = ATFH_OPT_TOOL_FIRST,
	OPT_LABELS,
	OPT_JETSTREAM,
	OPT_COLLECTION,
	OPT_DID,
	OPT_DID_FILE,
	OPT_REPLAY,
	OPT_SPEED,
	OPT_CURSOR,
	OPT_CURSOR_FILE,
	OPT_CURSOR_INTERVAL,
	OPT_DURATION,
	OPT_IDLE_TIMEOUT,
	OPT_CONNECT_TIMEOUT,
	OPT_MAX_RETRIES,
};

static const struct atfh_option options[] = {
	{ OPT_RELAY, "relay", "URL", ATFH_ARG_STRING, NULL,
	  "the relay: a host, wss://host or a full URL (default bsky.network)" },
	{ OPT_LABELS, "labels", "URL", ATFH_ARG_STRING, NULL,
	  "subscribe to a labeler's subscribeLabels instead" },
	{ OPT_JETSTREAM, "jetstream", "URL", ATFH_ARG_STRING, NULL,
	  "subscribe to a Jetstream instance instead and write its NDJSON" },
	{ OPT_COLLECTION, "collection", "NSID", ATFH_ARG_STRING, NULL,
	  "Jetstream: only this collection (repeatable; app.bsky.feed.* works)" },
	{ OPT_DID, "did", "DID", ATFH_ARG_STRING, NULL,
	  "Jetstream: only this repo (repeatable)" },
	{ OPT_DID_FILE, "did-file", "FILE", ATFH_ARG_FILE, NULL,
	  "Jetstream: only the repos in FILE, one DID a line" },
	{ OPT_REPLAY, "replay", "FILE", ATFH_ARG_FILE, NULL,
	  "write the frames of a capture instead, paced by their event time" },
	{ OPT_SPEED, "speed", "X", ATFH_ARG_NUMBER, NULL,
	  "--replay at X times real time (default 1; 0: as fast as possible)" },
	{ OPT_CURSOR, "cursor", "N", ATFH_ARG_NUMBER, NULL,
	  "start after seq N (Jetstream: time_us N), unless the cursor file exists" },
	{ OPT_CURSOR_FILE, "cursor-file", "FILE", ATFH_ARG_FILE, NULL,
	  "resume from FILE if it exists, and keep it current" },
	{ OPT_CURSOR_INTERVAL, "cursor-interval", "DUR", ATFH_ARG_DURATION, NULL,
	  "update the cursor file at most every DUR (default 1s)" },
	{ 'o', "output", "FILE", ATFH_ARG_FILE, NULL,
	  "append to FILE (resuming where it ends) instead of stdout" },
	{ 'n', "limit", "N", ATFH_ARG_NUMBER, NULL, "stop after writing N messages" },
	{ OPT_DURATION, "duration", "DUR", ATFH_ARG_DURATION, NULL, "stop after DUR" },
	{ OPT_IDLE_TIMEOUT, "idle-timeout", "DUR", ATFH_ARG_DURATION, NULL,
	  "reconnect when nothing arrives for DUR (default 60s)" },
	{ OPT_CONNECT_TIMEOUT, "connect-timeout", "DUR", ATFH_ARG_DURATION, NULL,
	  "give up a connection attempt after DUR (default 30s)" },
	{ OPT_MAX_RETRIES, "max-retries", "N", ATFH_ARG_NUMBER, NULL,
	  "give up after N failed attempts in a row (default: never)" },
	ATFH_OPTS_COMMON_INPUT,
	ATFH_OPTS_COMMON_STATS,
	ATFH_OPTS_COMMON_END,
};

static const struct atfh_program program = {
	.name = "atfh-subscribe",
	.args = "",
	.summary = "Subscribe to an AT Protocol relay and write its messages as frames,\n"
		   "resuming from a cursor file after any disconnect or restart.",
	.options = options,
	.epilog = "Environment: ATFH_RELAY, or BLUESKY_FIREHOSE_URL, sets the relay.\n"
		  "Examples:\n"
		  "  atfh-subscribe --cursor-file cur -o firehose.atfh\n"
		  "  atfh-subscribe | atfh-decode | jq .commit.collection\n"
		  "  atfh-subscribe --jetstream jetstream2.us-east.bsky.network \\\n"
		  "      --collection app.bsky.feed.post | jq .commit.record.text\n"
		  "Exit status: 0 ok (also after SIGINT/SIGTERM), 2 usage, I/O or network\n"
		  "failure (FutureCursor, retries exhausted), 3 malformed messages skipped.\n",
};

struct sub {
	struct atfh_firehose fh;
	struct atfh_stats stats;
	struct atfh_out out;
	bool out_sync;            /* fsync the output before the cursor names it */

	/* options */
	const char *relay, *labels, *jetstream, *replay, *output;
	const char *cursor_file;
	bool has_cursor;
	int64_t cursor;
	uint64_t cursor_interval_ms, limit, duration_ms;
	double speed;
	char **collections, **dids;
	size_t ncol, ndids, colcap, didcap;
	bool quiet;

	/* what has been written */
	uint64_t frames, bytes;
	bool has_buffered;        /* position of the last message in the buffer */
	int64_t buffered;
	bool has_flushed;         /* ... of the last one that reached the output */
	int64_t flushed;
	bool has_saved;           /* last value written to the cursor file */
	int64_t saved;
	bool cursor_failing;
	bool has_time;
	int64_t last_time_us;
	double last_save, deadline;

	/* --stats-interval rates */
	double t_prev;
	uint64_t frames_prev, bytes_prev;
	volatile uint64_t raw_read;
};

static int wake_pipe[2] = { -1, -1 };

static void on_stop_signal(int sig)
{
	(void)sig;
	int e = errno;
	atfh_interrupted = 1;
	if (wake_pipe[1] >= 0)
		(void)!write(wake_pipe[1], "x", 1);
	errno = e;
}

static void signals(void)
{
	atfh_cli_signals();
	if (pipe(wake_pipe) == 0) {
		for (int i = 0; i < 2; i++) {
			fcntl(wake_pipe[i], F_SETFL, O_NONBLOCK);
			fcntl(wake_pipe[i], F_SETFD, FD_CLOEXEC);
		}
	}
	struct sigaction sa = { .sa_handler = on_stop_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* ---- options --------------------------------------------------------------- */

static bool valid_nsid(const char *s)
{
	if (!*s || strlen(s) > 317)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' ||
		      (*p == '*' && p[1] == '\0' && p > s && p[-1] == '.')))
			return false;
	return strchr(s, '.') != NULL;
}

static bool valid_did(const char *s)
{
	if (strncmp(s, "did:", 4) != 0 || strlen(s) > 2048)
		return false;
	for (const char *p = s + 4; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("._:%-", *p)))
			return false;
	return s[4] != '\0';
}

static void push(char ***v, size_t *n, size_t *cap, const char *s)
{
	atfh_grow_array((void **)v, cap, *n + 1, sizeof **v);
	(*v)[(*n)++] = atfh_xstrdup(s);
}

static int read_did_file(struct sub *s, const char *path)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (!fp) {
		atfh_err("%s: %s", path, strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned long lineno = 0;
	int rc = 0;
	while ((len = getline(&line, &cap, fp)) >= 0) {
		lineno++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
			       line[len - 1] == ' ' || line[len - 1] == '\t'))
			line[--len] = '\0';
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		if (!valid_did(p)) {
			atfh_err("%s: line %lu: not a DID: %.80s", path, lineno, p);
			rc = -1;
			break;
		}
		push(&s->dids, &s->ndids, &s->didcap, p);
	}
	if (ferror(fp)) {
		atfh_err("%s: %s", path, strerror(errno));
		rc = -1;
	}
	free(line);
	if (fp != stdin)
		fclose(fp);
	return rc;
}

static int duration_opt(const char *name, const char *arg, uint64_t *ms)
{
	if (atfh_parse_duration_ms(arg, ms) || *ms == 0) {
		atfh_err("--%s: '%s' is not a duration (e.g. 10s, 500ms, 1m)", name, arg);
		return -1;
	}
	return 0;
}

static int on_option(int id, const char *arg, void *ctx)
{
	struct sub *s = ctx;
	uint64_t v;
	switch (id) {
	case ATFH_OPT_STRICT:
		s->fh.strict = true;
		return 0;
	case ATFH_OPT_MAX_FRAME:
		if (atfh_parse_size(arg, &v) || v < 16 || v > ATFH_MAX_FRAME_LIMIT) {
			atfh_err("--max-frame: '%s' is not a size between 16 and 1G", arg);
			return -1;
		}
		s->fh.max_msg = (size_t)v;
		return 0;
	case ATFH_OPT_STATS:
		s->stats.print_at_end = true;
		return 0;
	case ATFH_OPT_STATS_INTERVAL:
		return duration_opt("stats-interval", arg, &s->stats.interval_ms);
	case ATFH_OPT_METRICS:
		s->stats.metrics_path = arg;
		return 0;
	case ATFH_OPT_QUIET:
		s->quiet = true;
		return 0;
	case OPT_RELAY:
		s->relay = arg;
		return 0;
	case OPT_LABELS:
		s->labels = arg;
		return 0;
	case OPT_JETSTREAM:
		s->jetstream = arg;
		return 0;
	case OPT_REPLAY:
		s->replay = arg;
		return 0;
	case OPT_COLLECTION:
		if (!valid_nsid(arg)) {
			atfh_err("--collection: '%s' is not an NSID (or a prefix ending in .*)", arg);
			return -1;
		}
		push(&s->collections, &s->ncol, &s->colcap, arg);
		return 0;
	case OPT_DID:
		if (!valid_did(arg)) {
			atfh_err("--did: '%s' is not a DID", arg);
			return -1;
		}
		push(&s->dids, &s->ndids, &s->didcap, arg);
		return 0;
	case OPT_DID_FILE:
		return read_did_file(s, arg);
	case OPT_SPEED: {
		char *end;
		errno = 0;
		double x = strtod(arg, &end);
		if (errno || end == arg || *end || !isfinite(x) || x < 0) {
			atfh_err("--speed: '%s' is not a number >= 0", arg);
			return -1;
		}
		s->speed = x;
		return 0;
	}
	case OPT_CURSOR:
		if (atfh_parse_uint(arg, &v) || v > INT64_MAX) {
			atfh_err("--cursor: '%s' is not a seq (a number >= 0)", arg);
			return -1;
		}
		s->has_cursor = true;
		s->cursor = (int64_t)v;
		return 0;
	case OPT_CURSOR_FILE:
		s->cursor_file = arg;
		return 0;
	case OPT_CURSOR_INTERVAL:
		if (atfh_parse_duration_ms(arg, &s->cursor_interval_ms)) {
			atfh_err("--cursor-interval: '%s' is not a duration (e.g. 1s, 500ms)", arg);
			return -1;
		}
		return 0;
	case 'o':
		s->output = arg;
		return 0;
	case 'n':
		if (atfh_parse_uint(arg, &s->limit) || s->limit == 0) {
			atfh_err("--limit: '%s' is not a number > 0", arg);
			return -1;
		}
		return 0;
	case OPT_DURATION:
		return duration_opt("duration", arg, &s->duration_ms);
	case OPT_IDLE_TIMEOUT:
		return duration_opt("idle-timeout", arg, &s->fh.idle_ms);
	case OPT_CONNECT_TIMEOUT:
		return duration_opt("connect-timeout", arg, &s->fh.connect_timeout_ms);
	case OPT_MAX_RETRIES:
		if (atfh_parse_uint(arg, &v) || v > INT64_MAX) {
			atfh_err("--max-retries: '%s' is not a number >= 0", arg);
			return -1;
		}
		s->fh.max_retries = (int64_t)v;
		return 0;
	}
	return -1;
}

/* ---- output and cursor ------------------------------------------------------- */

static bool out_gone(struct sub *s)
{
	return s->out.broken_pipe || s->out.error;
}

static bool flush_out(struct sub *s)
{
	if (atfh_out_flush(&s->out) < 0 || out_gone(s))
		return false;
	s->has_flushed = s->has_buffered;
	s->flushed = s->buffered;
	return true;
}

/* Make everything written so far durable (flushed, and fsynced when the
 * output is a file), then name it in the cursor file.  After a broken pipe
 * that is what reached the pipe.  false if the output failed. */
static bool save_cursor(struct sub *s)
{
	s->last_save = atfh_now();
	bool ok = flush_out(s);
	if (ok && s->out_sync && fdatasync(s->out.fd) < 0 && errno != EINVAL && errno != EROFS) {
		s->out.error = errno;
		ok = false;
	}
	if (!ok && !s->out.broken_pipe)
		return false;
	if (!s->cursor_file || !s->has_flushed || (s->has_saved && s->saved == s->flushed))
		return ok;
	if (atfh_cursor_write(s->cursor_file, s->flushed) < 0) {
		if (!s->cursor_failing)
			atfh_err("%s: cannot write the cursor file: %s", s->cursor_file,
				 strerror(errno));
		s->cursor_failing = true;
		return ok;
	}
	if (s->cursor_failing)
		atfh_err("%s: the cursor file is written again", s->cursor_file);
	s->cursor_failing = false;
	s->has_saved = true;
	s->saved = s->flushed;
	return ok;
}

/* The run's clock: --duration and the cursor interval.  -1 to stop, else
 * the ms until it wants to be looked at again (or INT32_MAX). */
static int64_t timers(struct sub *s, double now)
{
	int64_t lim = INT32_MAX;
	if (s->deadline) {
		if (now >= s->deadline)
			return -1;
		lim = (int64_t)((s->deadline - now) * 1000) + 1;
	}
	if (s->cursor_file && s->has_buffered && !(s->has_saved && s->saved == s->buffered)) {
		double due = s->last_save + (double)s->cursor_interval_ms / 1000;
		if (now >= due) {
			if (!save_cursor(s))
				return -1;
		} else if ((int64_t)((due - now) * 1000) + 1 < lim) {
			lim = (int64_t)((due - now) * 1000) + 1;
		}
	}
	return lim;
}

static int on_write(struct atfh_firehose *f, const struct atfh_fh_item *it)
{
	struct sub *s = f->ctx;
	struct atfh_out *o = &s->out;
	if (it->text) {
		atfh_out_reserve(o, it->n + 1);
		memcpy(o->buf + o->len, it->p, it->n);
		o->buf[o->len + it->n] = '\n';
		o->len += it->n + 1;
	} else {
		atfh_out_reserve(o, it->n + 4);
		uint8_t *q = (uint8_t *)o->buf + o->len;
		q[0] = (uint8_t)(it->n >> 24);
		q[1] = (uint8_t)(it->n >> 16);
		q[2] = (uint8_t)(it->n >> 8);
		q[3] = (uint8_t)it->n;
		memcpy(q + 4, it->p, it->n);
		o->len += it->n + 4;
	}
	s->frames++;
	s->bytes += it->n;
	s->stats.events = s->frames; /* for the progress bar */
	s->stats.bytes = s->bytes;
	if (it->has_pos) {
		s->has_buffered = true;
		s->buffered = it->pos;
	}
	if (it->has_time) {
		s->has_time = true;
		s->last_time_us = it->time_us;
	}
	if (o->len >= o->flush_at && !flush_out(s))
		return ATFH_FH_STOP;
	if (s->limit && s->frames >= s->limit)
		return ATFH_FH_STOP;
	if ((s->frames & 255) == 0 && timers(s, atfh_now()) < 0)
		return ATFH_FH_STOP;
	atfh_stats_poll(&s->stats);
	return ATFH_FH_GO_ON;
}

static int on_idle(struct atfh_firehose *f)
{
	struct sub *s = f->ctx;
	if (!flush_out(s))
		return ATFH_FH_IDLE_STOP;
	s->stats.raw_bytes = s->raw_read;
	atfh_stats_poll(&s->stats);
	int64_t lim = timers(s, atfh_now());
	if (lim < 0)
		return ATFH_FH_IDLE_STOP;
	return lim >= INT32_MAX ? -1 : (int)lim;
}

/* Open -o FILE for appending and pick up where an earlier run left it. */
static int open_output(struct sub *s, bool lines, bool *has_pos, int64_t *pos)
{
	*has_pos = false;
	if (!s->output || strcmp(s->output, "-") == 0) {
		atfh_out_init(&s->out, STDOUT_FILENO, "stdout");
		if (!lines)
			atfh_refuse_tty(STDOUT_FILENO,
					"pipe it into atfh-decode, or write to a file with -o");
	} else {
		int fd = open(s->output, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
		if (fd < 0) {
			atfh_err("%s: %s", s->output, strerror(errno));
			return -1;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK) {
			atfh_err("%s: another program is appending to it", s->output);
			close(fd);
			return -1;
		}
		struct atfh_resume r = { 0 };
		char err[200];
		struct stat st;
		int rc = 0;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) /* not /dev/null, a FIFO... */
			rc = lines ? atfh_resume_lines(fd, &r, err, sizeof err)
				   : atfh_resume_frames(fd, s->fh.max_msg, ATFH_RESUME_FORWARD_MAX,
							&r, err, sizeof err);
		if (rc < 0) {
			atfh_err("%s: %s; not appending to it", s->output, err);
			close(fd);
			return -1;
		}
		if (r.end < r.size) {
			if (ftruncate(fd, (off_t)r.end) < 0 || fsync(fd) < 0) {
				atfh_err("%s: cannot cut off the partial %s at its end: %s", s->output,
					 lines ? "line" : "frame", strerror(errno));
				close(fd);
				return -1;
			}
			atfh_err("%s: cut off a partial %s (%llu bytes) that an interrupted run left "
				 "at the end", s->output, lines ? "line" : "frame",
				 (unsigned long long)(r.size - r.end));
		}
		*has_pos = r.has_pos;
		*pos = r.pos;
		atfh_out_init(&s->out, fd, s->output);
	}
	struct stat st;
	s->out_sync = fstat(s->out.fd, &st) == 0 && S_ISREG(st.st_mode);
	return 0;
}

/* ---- counters ----------------------------------------------------------- */

static double wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static bool lag_of(struct sub *s, double *lag)
{
	if (!s->has_time || s->replay)
		return false;
	*lag = (wall_us() - (double)s->last_time_us) / 1e6;
	return true;
}

static void print_stats(struct atfh_stats *st, double now, bool final)
{
	struct sub *s = st->ctx;
	struct atfh_firehose *f = &s->fh;
	double el = now - st->t_start;
	double span = final ? el : now - s->t_prev; /* rates: over the interval */
	uint64_t fr = final ? s->frames : s->frames - s->frames_prev;
	uint64_t by = final ? s->bytes : s->bytes - s->bytes_prev;
	char pos[48] = "", lag[32] = "";
	double l;
	if (s->has_buffered)
		snprintf(pos, sizeof pos, ", %s %lld",
			 f->source == ATFH_FH_JETSTREAM ? "time_us" : "seq", (long long)s->buffered);
	if (lag_of(s, &l))
		snprintf(lag, sizeof lag, ", lag %.1f s", l);
	fprintf(stderr,
		"%s: %s%llu messages, %.1f MB in %.1f s (%.0f/s, %.2f MB/s)%s%s, "
		"%llu reconnect%s, %llu gap%s, %llu duplicate%s dropped, %llu malformed\n",
		atfh_progname, final ? "" : "so far: ", (unsigned long long)s->frames,
		(double)s->bytes / 1e6, el, span > 0 ? (double)fr / span : 0,
		span > 0 ? (double)by / 1e6 / span : 0, pos, lag,
		(unsigned long long)f->reconnects, f->reconnects == 1 ? "" : "s",
		(unsigned long long)f->gaps, f->gaps == 1 ? "" : "s",
		(unsigned long long)f->duplicates, f->duplicates == 1 ? "" : "s",
		(unsigned long long)f->malformed);
	s->t_prev = now;
	s->frames_prev = s->frames;
	s->bytes_prev = s->bytes;
}

static int metrics_text(struct atfh_stats *st, char *buf, size_t cap)
{
	struct sub *s = st->ctx;
	struct atfh_firehose *f = &s->fh;
	size_t n = 0;
#define METRIC(type, name, help, fmt, val)                                                    \
	do {                                                                                  \
		int k = snprintf(buf + n, cap - n,                                            \
				 "# HELP atfh_subscribe_" name " " help "\n"                  \
				 "# TYPE atfh_subscribe_" name " " type "\n"                  \
				 "atfh_subscribe_" name " " fmt "\n", val);                   \
		if (k < 0 || (size_t)k >= cap - n)                                            \
			return -1;                                                            \
		n += (size_t)k;                                                               \
	} while (0)
	METRIC("counter", "frames_total", "Messages written.", "%llu",
	       (unsigned long long)s->frames);
	METRIC("counter", "bytes_total", "Bytes of the messages written.", "%llu",
	       (unsigned long long)s->bytes);
	METRIC("counter", "reconnects_total", "Connections after the first.", "%llu",
	       (unsigned long long)f->reconnects);
	double lag;
	if (lag_of(s, &lag))
		METRIC("gauge", "lag_seconds",
		       "Now minus the event time of the last message written.", "%.3f", lag);
	if (s->has_flushed)
		METRIC("gauge", "cursor", "Position (seq, or time_us) of the last message flushed.",
		       "%lld", (long long)s->flushed);
	METRIC("counter", "gaps_total", "Seq gaps seen.", "%llu", (unsigned long long)f->gaps);
	METRIC("counter", "missing_total", "Seqs skipped by the gaps.", "%llu",
	       (unsigned long long)f->missing);
	METRIC("counter", "duplicates_total", "Messages dropped as already written.", "%llu",
	       (unsigned long long)f->duplicates);
	METRIC("counter", "malformed_total", "Malformed messages skipped.", "%llu",
	       (unsigned long long)f->malformed);
	METRIC("gauge", "connected", "1 while connected.", "%d", f->connected ? 1 : 0);
	METRIC("gauge", "elapsed_seconds", "Seconds since start.", "%.3f",
	       atfh_now() - st->t_start);
#undef METRIC
	return (int)n;
}

/* ---- main ------------------------------------------------------------------ */

static void usage_checks(struct sub *s)
{
	int sources = !!s->relay + !!s->labels + !!s->jetstream + !!s->replay;
	if (sources > 1)
		atfh_usage_error("--relay, --labels, --jetstream and --replay exclude each other");
	if (!s->jetstream && (s->ncol || s->ndids))
		atfh_usage_error("--collection, --did and --did-file filter a Jetstream: "
				 "they need --jetstream");
	if (!s->replay && s->speed >= 0)
		atfh_usage_error("--speed needs --replay");
	if (s->ndids > 10000)
		atfh_usage_error("Jetstream takes at most 10000 DIDs (%zu given)", s->ndids);
	if (s->ncol > 100)
		atfh_usage_error("Jetstream takes at most 100 collections (%zu given)", s->ncol);
}

int main(int argc, char **argv)
{
	static struct sub s;
	signals();
	s.speed = -1;
	s.cursor_interval_ms = 1000;
	atfh_fh_init(&s.fh, ATFH_FH_REPOS);
	s.stats.prefix = "atfh_subscribe";
	int first = atfh_cli_parse(&program, argc, argv, on_option, &s);
	if (first < argc)
		atfh_usage_error("unexpected argument '%s' (the relay is given with --relay)",
				 argv[first]);
	usage_checks(&s);
	if (s.speed < 0)
		s.speed = 1;

	struct atfh_firehose *f = &s.fh;
	char err[300];
	const char *src = NULL;
	if (s.jetstream) {
		f->source = ATFH_FH_JETSTREAM;
		src = s.jetstream;
	} else if (s.labels) {
		f->source = ATFH_FH_LABELS;
		src = s.labels;
	} else if (!s.replay) {
		src = s.relay;
		if (!src || !*src)
			src = getenv("ATFH_RELAY");
		if (!src || !*src)
			src = getenv("BLUESKY_FIREHOSE_URL");
		if (!src || !*src)
			src = DEFAULT_RELAY;
	}
	if (src && !(f->url = atfh_fh_url(f->source, src, err, sizeof err)))
		atfh_usage_error("%s", err);
	if (f->source == ATFH_FH_JETSTREAM)
		atfh_fh_jetstream_filter(f, s.collections, s.ncol, s.dids, s.ndids);

	/* where to start: the cursor file, or --cursor for a first run */
	bool lines = f->source == ATFH_FH_JETSTREAM;
	bool has_start = s.has_cursor;
	int64_t start = s.cursor;
	if (s.cursor_file) {
		int64_t v;
		int r = atfh_cursor_read(s.cursor_file, &v, err, sizeof err);
		if (r < 0) {
			atfh_err("%s: %s", s.cursor_file, err);
			return ATFH_EXIT_FAIL;
		}
		if (r > 0) { /* what the file says now: rewritten only if it changes */
			s.has_saved = true;
			s.saved = v;
			has_start = true;
			start = v;
		}
	}
	bool out_has_pos;
	int64_t out_pos;
	if (open_output(&s, lines, &out_has_pos, &out_pos) < 0)
		return ATFH_EXIT_FAIL;
	if (out_has_pos && s.cursor_file && has_start && out_pos > start) {
		/* written after the cursor file was last updated: not again */
		atfh_err("%s: holds messages up to %s %lld, past the cursor %lld; resuming after "
			 "them", s.output, lines ? "time_us" : "seq", (long long)out_pos,
			 (long long)start);
		start = out_pos;
	}
	f->has_last = has_start;
	f->last = start;
	if (has_start) { /* written (and durable) before this run */
		s.has_buffered = s.has_flushed = true;
		s.buffered = s.flushed = start;
	}

	f->write = on_write;
	f->idle = on_idle;
	f->ctx = &s;
	f->wake_fd = wake_pipe[0];
	f->stop_flag = &atfh_interrupted;
	f->user_agent = "atfh-subscribe/" PACKAGE_VERSION;
	s.stats.print = print_stats;
	s.stats.metrics = metrics_text;
	s.stats.ctx = &s;
	int64_t total = -1;
	struct stat st;
	if (s.replay && strcmp(s.replay, "-") && stat(s.replay, &st) == 0 && S_ISREG(st.st_mode))
		total = st.st_size;
	atfh_ws_global_init();
	atfh_stats_start(&s.stats, !s.quiet, total);
	s.t_prev = s.last_save = atfh_now();
	if (s.duration_ms)
		s.deadline = s.t_prev + (double)s.duration_ms / 1000;

	int status = s.replay ? atfh_replay_run(f, s.replay, s.speed, f->max_msg, &s.raw_read)
			      : atfh_fh_run(f);

	/* the end: flush, make durable, name it in the cursor file */
	bool saved = save_cursor(&s);
	if (s.out.error) {
		atfh_err("%s: write error: %s", s.out.name, strerror(s.out.error));
		status = ATFH_EXIT_FAIL;
	} else if (!saved && !s.out.broken_pipe) {
		status = ATFH_EXIT_FAIL;
	}
	if (s.cursor_failing) {
		atfh_err("%s: the cursor file could not be updated", s.cursor_file);
		status = ATFH_EXIT_FAIL;
	}
	s.stats.events = s.frames;
	s.stats.bytes = s.bytes;
	atfh_stats_finish(&s.stats);
	if (status == ATFH_EXIT_OK && f->malformed && !atfh_interrupted) {
		atfh_err("%llu malformed message%s skipped", (unsigned long long)f->malformed,
			 f->malformed == 1 ? "" : "s");
		status = ATFH_EXIT_MALFORMED;
	}
	if (s.out.fd > STDERR_FILENO)
		close(s.out.fd);
	atfh_out_free(&s.out);
	atfh_fh_free(f);
	for (size_t i = 0; i < s.ncol; i++)
		free(s.collections[i]);
	for (size_t i = 0; i < s.ndids; i++)
		free(s.dids[i]);
	free(s.collections);
	free(s.dids);
	curl_global_cleanup();
	return status;
}
