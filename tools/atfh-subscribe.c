/*
 * atfh-subscribe — a firehose client that never loses its place: connect to
 * a relay (or a labeler, or Jetstream, or replay a capture) and write what
 * it sends as frames (or Jetstream's NDJSON), keeping a cursor file that
 * never names a message not yet safely written.
 *
 * The subscription is lib/firehose.c (or lib/replay.c), the output and the
 * cursor file lib/sink.c, the counters lib/fhstats.c; this file owns the
 * options and wires them together.
 */
#include "cli.h"
#include "cursor.h"
#include "didset.h"
#include "fhstats.h"
#include "firehose.h"
#include "replay.h"
#include "sink.h"
#include "stats.h"
#include "util.h"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_RELAY "bsky.network"

enum {
	OPT_RELAY = ATFH_OPT_TOOL_FIRST,
	OPT_LABELS,
	OPT_JETSTREAM,
	OPT_COLLECTION,
	OPT_DID,
	OPT_DID_FILE,
	OPT_MAX_MESSAGE_SIZE,
	OPT_REPLAY,
	OPT_SPEED,
	OPT_CURSOR,
	OPT_CURSOR_FILE,
	OPT_CURSOR_INTERVAL,
	OPT_RESUME_FROM,
	OPT_DURATION,
	OPT_IDLE_TIMEOUT,
	OPT_PING_INTERVAL,
	OPT_CONNECT_TIMEOUT,
	OPT_MAX_RETRIES,
	OPT_CACERT,
	OPT_CAPATH,
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
	  "Jetstream: only the repos in FILE; re-read on SIGHUP or when it changes" },
	{ OPT_MAX_MESSAGE_SIZE, "max-message-size", "SIZE", ATFH_ARG_SIZE, NULL,
	  "Jetstream: the server skips events bigger than SIZE (maxMessageSizeBytes)" },
	{ OPT_REPLAY, "replay", "FILE", ATFH_ARG_FILE, NULL,
	  "write the frames of a capture instead, paced by their event time" },
	{ OPT_SPEED, "speed", "X", ATFH_ARG_NUMBER, NULL,
	  "--replay at X times real time (default 1; 0: as fast as possible)" },
	{ OPT_CURSOR, "cursor", "N", ATFH_ARG_NUMBER, NULL,
	  "start after seq N (Jetstream: cursor N), unless the cursor file exists" },
	{ OPT_CURSOR_FILE, "cursor-file", "FILE", ATFH_ARG_FILE, NULL,
	  "resume from FILE if it exists, and keep it current" },
	{ OPT_CURSOR_INTERVAL, "cursor-interval", "DUR", ATFH_ARG_DURATION, NULL,
	  "update the cursor file at most every DUR (default 1s)" },
	{ OPT_RESUME_FROM, "resume-from", "FILE", ATFH_ARG_FILE, NULL,
	  "start after the position in FILE, kept by a later stage; never write it" },
	{ 'o', "output", "FILE", ATFH_ARG_FILE, NULL,
	  "append to FILE (resuming where it ends) instead of stdout" },
	{ 'n', "limit", "N", ATFH_ARG_NUMBER, NULL, "stop after writing N messages" },
	{ OPT_DURATION, "duration", "DUR", ATFH_ARG_DURATION, NULL, "stop after DUR" },
	{ OPT_IDLE_TIMEOUT, "idle-timeout", "DUR", ATFH_ARG_DURATION, NULL,
	  "reconnect when no message arrives for DUR (default 60s; 0 never)" },
	{ OPT_PING_INTERVAL, "ping-interval", "DUR", ATFH_ARG_DURATION, NULL,
	  "ping after DUR of silence; dead if no answer in DUR (default 30s)" },
	{ OPT_CONNECT_TIMEOUT, "connect-timeout", "DUR", ATFH_ARG_DURATION, NULL,
	  "give up a connection attempt after DUR (default 30s)" },
	{ OPT_MAX_RETRIES, "max-retries", "N", ATFH_ARG_NUMBER, NULL,
	  "give up after N failed attempts in a row (default: never)" },
	{ OPT_CACERT, "cacert", "FILE", ATFH_ARG_FILE, NULL,
	  "verify the server's TLS certificate with the CAs in FILE" },
	{ OPT_CAPATH, "capath", "DIR", ATFH_ARG_FILE, NULL,
	  "verify it with the CAs in DIR (hashed names, c_rehash)" },
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
	struct atfh_sink sink;
	struct atfh_stats stats;
	struct atfh_fhstats report;

	/* options */
	const char *relay, *labels, *jetstream, *replay;
	bool has_cursor;
	int64_t cursor;
	const char *resume_from; /* a cursor file a later stage owns */
	double speed;
	struct atfh_strv collections, dids;
	bool quiet;
	bool did_file_bad;
	bool has_idle;
	uint64_t max_message_size;   /* Jetstream's maxMessageSizeBytes, 0 none */
	const char *did_file;        /* re-read on SIGHUP and when it changes */
	size_t cli_dids;             /* the first cli_dids of dids are --did's */
	struct stat did_st;          /* the did file as last read (or failed) */
	int did_errno;
};

static volatile sig_atomic_t hup;

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

static void on_hup(int sig)
{
	(void)sig;
	hup = 1; /* the wait in progress ends with EINTR: the session looks */
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

/* A Jetstream filter built from a list with a wrong line in it is not the
 * filter asked for: the first bad line ends the run. */
static void bad_did_line(void *ctx, const char *path, size_t line, const char *why)
{
	struct sub *s = ctx;
	if (!s->did_file_bad)
		atfh_err("%s: line %zu: %s", path, line, why);
	s->did_file_bad = true;
}

static int read_did_file(struct sub *s, const char *path)
{
	if (atfh_didlist_load(&s->dids, path, bad_did_line, s) < 0) {
		atfh_err("%s: %s", path, strerror(errno));
		return -1;
	}
	return s->did_file_bad ? -1 : 0;
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
	struct atfh_common_opts common = { &s->fh.strict, &s->quiet, &s->fh.max_msg, &s->stats };
	int r = atfh_common_option(&common, id, arg);
	uint64_t v;
	if (r)
		return r < 0 ? -1 : 0;
	switch (id) {
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
		if (!atfh_fh_collection_valid(arg)) {
			atfh_err("--collection: '%s' is not an NSID (or a prefix ending in .*)", arg);
			return -1;
		}
		atfh_strv_push(&s->collections, arg, strlen(arg));
		return 0;
	case OPT_DID:
		if (!atfh_did_valid(arg, strlen(arg))) {
			atfh_err("--did: '%s' is not a DID", arg);
			return -1;
		}
		atfh_strv_push(&s->dids, arg, strlen(arg));
		return 0;
	case OPT_DID_FILE:
		if (s->did_file) {
			atfh_err("--did-file: give one file");
			return -1;
		}
		s->did_file = arg;
		return 0;
	case OPT_MAX_MESSAGE_SIZE:
		if (atfh_parse_size(arg, &v) || v == 0 || v > UINT32_MAX) {
			atfh_err("--max-message-size: '%s' is not a size from 1 to 4294967295 bytes "
				 "(e.g. 64k, 1M)", arg);
			return -1;
		}
		s->max_message_size = v;
		return 0;
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
		s->sink.cursor_file = arg;
		return 0;
	case OPT_RESUME_FROM:
		s->resume_from = arg;
		return 0;
	case OPT_CURSOR_INTERVAL:
		if (atfh_parse_duration_ms(arg, &s->sink.cursor_interval_ms)) {
			atfh_err("--cursor-interval: '%s' is not a duration (e.g. 1s, 500ms)", arg);
			return -1;
		}
		return 0;
	case 'o':
		s->sink.path = arg;
		return 0;
	case 'n':
		if (atfh_parse_uint(arg, &s->sink.limit) || s->sink.limit == 0) {
			atfh_err("--limit: '%s' is not a number > 0", arg);
			return -1;
		}
		return 0;
	case OPT_DURATION:
		return duration_opt("duration", arg, &s->sink.duration_ms);
	case OPT_IDLE_TIMEOUT:
		s->has_idle = true;
		if (strcmp(arg, "0") == 0) {
			s->fh.idle_ms = 0;
			return 0;
		}
		return duration_opt("idle-timeout", arg, &s->fh.idle_ms);
	case OPT_PING_INTERVAL:
		return duration_opt("ping-interval", arg, &s->fh.ping_ms);
	case OPT_CACERT:
		s->fh.cainfo = arg;
		return 0;
	case OPT_CAPATH:
		s->fh.capath = arg;
		return 0;
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

/* ---- live filter changes ------------------------------------------------------ */

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static struct sub *the_sub;

/* SIGHUP, or the --did-file changed: read it again, and when it holds a
 * good list, make it the filter (with the --did values). */
static bool refilter(struct atfh_firehose *f, bool signalled)
{
	struct sub *s = the_sub;
	if (!s->did_file || strcmp(s->did_file, "-") == 0)
		return false;
	struct stat st;
	int e = stat(s->did_file, &st) < 0 ? errno : 0;
	if (!signalled && e == s->did_errno && (e || same_file(&st, &s->did_st)))
		return false;
	s->did_errno = e;
	if (!e)
		s->did_st = st;
	const char *why = signalled ? "SIGHUP" : "the file changed";
	struct atfh_strv fresh = { 0 };
	for (size_t i = 0; i < s->cli_dids; i++)
		atfh_strv_push(&fresh, s->dids.v[i], strlen(s->dids.v[i]));
	s->did_file_bad = false;
	char err[200];
	bool ok = atfh_didlist_load(&fresh, s->did_file, bad_did_line, s) == 0;
	if (!ok)
		atfh_err("%s: %s", s->did_file, strerror(errno));
	ok = ok && !s->did_file_bad;
	struct atfh_js_filter probe = { .max_message_size = f->js.max_message_size };
	if (ok) {
		atfh_js_filter_set(&probe, s->collections.v, s->collections.n, fresh.v, fresh.n);
		if (atfh_js_filter_too_big(&probe, err, sizeof err)) {
			atfh_err("%s", err);
			ok = false;
		}
	}
	if (!ok) {
		atfh_err("%s: reload (%s) failed: keeping the filter of %zu DIDs", s->did_file, why,
			 f->js.dids.n);
		atfh_js_filter_free(&probe);
		atfh_strv_free(&fresh);
		return false;
	}
	bool same = probe.dids.n == f->js.dids.n;
	for (size_t i = 0; same && i < probe.dids.n; i++)
		same = strcmp(probe.dids.v[i], f->js.dids.v[i]) == 0;
	atfh_js_filter_free(&probe);
	if (same) {
		atfh_strv_free(&fresh);
		return false;
	}
	atfh_strv_free(&s->dids);
	s->dids = fresh;
	atfh_fh_jetstream_filter(f, s->collections.v, s->collections.n, s->dids.v, s->dids.n);
	if (!s->quiet)
		atfh_err("%s: reloaded (%s): the filter now has %zu DIDs", s->did_file, why,
			 f->js.dids.n);
	return true;
}

/* ---- main ------------------------------------------------------------------ */

static void usage_checks(struct sub *s)
{
	int sources = !!s->relay + !!s->labels + !!s->jetstream + !!s->replay;
	if (sources > 1)
		atfh_usage_error("--relay, --labels, --jetstream and --replay exclude each other");
	if (!s->jetstream && (s->collections.n || s->dids.n || s->max_message_size))
		atfh_usage_error("--collection, --did, --did-file and --max-message-size filter a "
				 "Jetstream: they need --jetstream");
	if (s->resume_from && s->sink.cursor_file)
		atfh_usage_error("--resume-from and --cursor-file exclude each other "
				 "(--resume-from reads a file a later stage keeps)");
	if (!s->replay && s->speed >= 0)
		atfh_usage_error("--speed needs --replay");
}

/* The source's URL; NULL for a replay. */
static const char *source(struct sub *s)
{
	struct atfh_firehose *f = &s->fh;
	if (s->jetstream) {
		f->source = ATFH_FH_JETSTREAM;
		return s->jetstream;
	}
	if (s->labels) {
		f->source = ATFH_FH_LABELS;
		if (!s->has_idle) /* labelers may be silent for hours: the pings tell */
			f->idle_ms = 0;
		return s->labels;
	}
	if (s->replay)
		return NULL;
	const char *src = s->relay;
	if (!src || !*src)
		src = getenv("ATFH_RELAY");
	if (!src || !*src)
		src = getenv("BLUESKY_FIREHOSE_URL");
	if (!src || !*src)
		src = DEFAULT_RELAY;
	return src;
}

int main(int argc, char **argv)
{
	static struct sub s;
	signals();
	s.speed = -1;
	s.sink.cursor_interval_ms = 1000;
	atfh_fh_init(&s.fh, ATFH_FH_REPOS);
	s.stats.prefix = "atfh_subscribe";
	int first = atfh_cli_parse(&program, argc, argv, on_option, &s);
	if (first < argc)
		atfh_usage_error("unexpected argument '%s' (the relay is given with --relay)",
				 argv[first]);
	s.cli_dids = s.dids.n;
	if (s.did_file) {
		if (read_did_file(&s, s.did_file) < 0)
			return ATFH_EXIT_FAIL;
		if (stat(s.did_file, &s.did_st) < 0)
			s.did_errno = errno;
	}
	usage_checks(&s);
	if (s.speed < 0)
		s.speed = 1;

	struct atfh_firehose *f = &s.fh;
	char err[300];
	const char *src = source(&s);
	if (src && !(f->url = atfh_fh_url(f->source, src, err, sizeof err)))
		atfh_usage_error("%s", err);
	if (f->source == ATFH_FH_JETSTREAM) {
		f->js.max_message_size = s.max_message_size;
		atfh_fh_jetstream_filter(f, s.collections.v, s.collections.n, s.dids.v, s.dids.n);
		if (atfh_js_filter_too_big(&f->js, err, sizeof err))
			atfh_usage_error("%s", err);
	}

	/* where to start: the cursor file (ours, or a later stage's with
	 * --resume-from), or --cursor for a first run */
	if (s.resume_from) {
		int64_t v;
		int r = atfh_cursor_read(s.resume_from, &v, err, sizeof err);
		if (r < 0) {
			atfh_err("%s: %s", s.resume_from, err);
			return ATFH_EXIT_FAIL;
		}
		if (r == 1) {
			s.has_cursor = true;
			s.cursor = v;
		}
	}
	f->has_last = s.has_cursor;
	f->last = s.cursor;
	s.sink.stats = &s.stats;
	if (atfh_sink_open(&s.sink, f->source == ATFH_FH_JETSTREAM, f->max_msg, &f->has_last,
			   &f->last) < 0)
		return ATFH_EXIT_FAIL;

	f->start_after = s.sink.start_after;
	if (f->source == ATFH_FH_JETSTREAM && s.did_file) {
		the_sub = &s;
		f->refilter = refilter;
		f->reload_flag = &hup;
		struct sigaction sa = { .sa_handler = on_hup, .sa_flags = SA_RESTART };
		sigemptyset(&sa.sa_mask);
		sigaction(SIGHUP, &sa, NULL);
	}
	if (s.sink.nstart_ids)
		atfh_fh_js_boundary(f, s.sink.start_ids, s.sink.nstart_ids);
	f->wake_fd = wake_pipe[0];
	f->stop_flag = &atfh_interrupted;
	f->user_agent = "atfh-subscribe/" PACKAGE_VERSION;
	s.report.f = f;
	s.report.k = &s.sink;
	s.report.replay = s.replay != NULL;
	int64_t total = -1;
	struct stat st;
	if (s.replay && strcmp(s.replay, "-") && stat(s.replay, &st) == 0 && S_ISREG(st.st_mode))
		total = st.st_size;
	atfh_ws_global_init();
	atfh_stats_start(&s.stats, !s.quiet, total);
	atfh_fhstats_attach(&s.report, &s.stats);
	atfh_sink_attach(&s.sink, f);

	int status = s.replay ? atfh_replay_run(f, s.replay, s.speed, f->max_msg, &s.sink.raw_read)
			      : atfh_fh_run(f);

	status = atfh_sink_finish(&s.sink, status);
	if (atfh_stats_finish(&s.stats) < 0)
		status = ATFH_EXIT_FAIL;
	if (status == ATFH_EXIT_OK && f->malformed && !atfh_interrupted) {
		atfh_err("%llu malformed message%s skipped", (unsigned long long)f->malformed,
			 f->malformed == 1 ? "" : "s");
		status = ATFH_EXIT_MALFORMED;
	}
	atfh_sink_free(&s.sink);
	atfh_fh_free(f);
	atfh_strv_free(&s.collections);
	atfh_strv_free(&s.dids);
	curl_global_cleanup();
	return status;
}
