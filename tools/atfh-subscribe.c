/*
 * atfh-subscribe — a firehose client that never loses its place: connect to
 * a relay (or a labeler, or Jetstream, or replay a capture) and write what
 * it sends as frames (or Jetstream's NDJSON), keeping a cursor file that
 * never names a message not yet safely written.
 *
 * The subscription is lib/firehose.c (or lib/replay.c; Tap's protocol
 * lib/tap.c), the output and the cursor file lib/sink.c, the counters
 * lib/fhstats.c; this file owns the options and wires them together.
 */
#include "cli.h"
#include "cursor.h"
#include "didset.h"
#include "fhstats.h"
#include "filewatch.h"
#include "firehose.h"
#include "replay.h"
#include "sink.h"
#include "stats.h"
#include "tap.h"
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
	OPT_JETSTREAM_API,
	OPT_KIND,
	OPT_COMPRESS,
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
	OPT_TAP,
	OPT_TAP_PASSWORD,
	OPT_NO_ACK,
};

static const struct atfh_option options[] = {
	{ OPT_RELAY, "relay", "URL", ATFH_ARG_STRING, NULL,
	  "the relay: a host, wss://host or a full URL (default bsky.network)" },
	{ OPT_LABELS, "labels", "URL", ATFH_ARG_STRING, NULL,
	  "subscribe to a labeler's subscribeLabels instead" },
	{ OPT_JETSTREAM, "jetstream", "URL", ATFH_ARG_STRING, NULL,
	  "subscribe to a Jetstream instance instead and write its NDJSON" },
	{ OPT_JETSTREAM_API, "jetstream-api", "V", ATFH_ARG_STRING, NULL,
	  "Jetstream: v1 (/subscribe) or v2 (subscribeEvents); default: by path" },
	{ OPT_KIND, "kind", "KIND", ATFH_ARG_STRING, NULL,
	  "Jetstream v2: only commit, identity, account or sync (repeatable)" },
	{ OPT_COMPRESS, "compress", NULL, ATFH_ARG_NONE, NULL,
	  "Jetstream v2: zstd-compressed frames, with the server's dictionary" },
	{ OPT_TAP, "tap", "URL", ATFH_ARG_STRING, NULL,
	  "read a Tap's events (ws://host:2480) as NDJSON, acking each when durable" },
	{ OPT_TAP_PASSWORD, "tap-password", "PASS", ATFH_ARG_STRING, NULL,
	  "Tap's admin password (default: $TAP_ADMIN_PASSWORD)" },
	{ OPT_NO_ACK, "no-ack", NULL, ATFH_ARG_NONE, NULL,
	  "Tap: send no acks (for a Tap run with acks disabled)" },
	{ OPT_COLLECTION, "collection", "NSID", ATFH_ARG_STRING, NULL,
	  "Jetstream: only this collection (repeatable; app.bsky.feed.* works)" },
	{ OPT_DID, "did", "DID", ATFH_ARG_STRING, NULL,
	  "Jetstream: only this repo; Tap: track it (repeatable)" },
	{ OPT_DID_FILE, "did-file", "FILE", ATFH_ARG_FILE, NULL,
	  "the same for the DIDs in FILE, one a line; reread on change or SIGHUP" },
	{ OPT_MAX_MESSAGE_SIZE, "max-message-size", "SIZE", ATFH_ARG_SIZE, NULL,
	  "Jetstream: the server skips events bigger than SIZE (maxMessageSizeBytes)" },
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
	.epilog = "Environment: ATFH_RELAY, or BLUESKY_FIREHOSE_URL, sets the relay;\n"
		  "TAP_ADMIN_PASSWORD the password of --tap.\n"
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
	int api;                     /* --jetstream-api: 1, 2, or 0 by the path */
	unsigned kinds;              /* --kind: ATFH_JS_KIND_* bits */
	bool compress;               /* --compress */
	const char *tap, *tap_password;
	bool no_ack;
	struct atfh_strv did_args, did_files; /* --did, --did-file as given */
	uint64_t max_message_size;   /* Jetstream's maxMessageSizeBytes, 0 none */
	struct atfh_filestamp *did_stamp; /* each did file as last read (Jetstream reloads) */
	struct atfh_tap tapc;
	bool has_cursor;
	int64_t cursor;
	const char *resume_from; /* a cursor file a later stage owns */
	double speed;
	struct atfh_strv collections, dids;
	bool quiet;
	bool did_file_bad;
	bool has_idle;
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

static volatile sig_atomic_t hup;

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
	case OPT_JETSTREAM_API:
		if (strcmp(arg, "v1") && strcmp(arg, "v2")) {
			atfh_err("--jetstream-api: '%s' is neither v1 nor v2", arg);
			return -1;
		}
		s->api = arg[1] - '0';
		return 0;
	case OPT_KIND:
		if (!atfh_js_kind(arg)) {
			atfh_err("--kind: '%s' is none of commit, identity, account, sync", arg);
			return -1;
		}
		s->kinds |= atfh_js_kind(arg);
		return 0;
	case OPT_COMPRESS:
		s->compress = true;
		return 0;
	case OPT_REPLAY:
		s->replay = arg;
		return 0;
	case OPT_TAP:
		s->tap = arg;
		return 0;
	case OPT_TAP_PASSWORD:
		s->tap_password = arg;
		return 0;
	case OPT_NO_ACK:
		s->no_ack = true;
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
		atfh_strv_push(&s->did_args, arg, strlen(arg));
		return 0;
	case OPT_DID_FILE:
		atfh_strv_push(&s->did_files, arg, strlen(arg));
		return read_did_file(s, arg);
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

/* ---- live filter changes (Jetstream) -------------------------------------------- */

static struct sub *the_sub;

/* Has a did file changed since last looked at (or vanished, or come back)? */
static bool did_files_changed(struct sub *s)
{
	bool changed = false;
	for (size_t i = 0; i < s->did_files.n; i++)
		if (atfh_filestamp_changed(&s->did_stamp[i], s->did_files.v[i])) {
			changed = true;
			atfh_filestamp_take(&s->did_stamp[i], s->did_files.v[i]);
		}
	return changed;
}

/* SIGHUP, or a --did-file changed: read them again, and when they hold a
 * good list, make it the filter (with the --did values). */
static bool refilter(struct atfh_firehose *f, bool signalled)
{
	struct sub *s = the_sub;
	if (!did_files_changed(s) && !signalled)
		return false;
	const char *why = signalled ? "SIGHUP" : "a file changed";
	struct atfh_strv fresh = { 0 };
	for (size_t i = 0; i < s->did_args.n; i++)
		atfh_strv_push(&fresh, s->did_args.v[i], strlen(s->did_args.v[i]));
	s->did_file_bad = false;
	bool ok = true;
	for (size_t i = 0; ok && i < s->did_files.n; i++)
		if (atfh_didlist_load(&fresh, s->did_files.v[i], bad_did_line, s) < 0) {
			atfh_err("%s: %s", s->did_files.v[i], strerror(errno));
			ok = false;
		}
	ok = ok && !s->did_file_bad;
	char err[200];
	struct atfh_js_filter probe = { .max_message_size = f->js.max_message_size };
	if (ok) {
		atfh_js_filter_set(&probe, s->collections.v, s->collections.n, fresh.v, fresh.n);
		if (atfh_js_filter_too_big(&probe, err, sizeof err)) {
			atfh_err("%s", err);
			ok = false;
		}
	}
	bool same = ok && probe.dids.n == f->js.dids.n;
	for (size_t i = 0; same && i < probe.dids.n; i++)
		same = strcmp(probe.dids.v[i], f->js.dids.v[i]) == 0;
	atfh_js_filter_free(&probe);
	if (!ok)
		atfh_err("--did-file: reload (%s) failed: keeping the filter of %zu DIDs", why,
			 f->js.dids.n);
	if (!ok || same) {
		atfh_strv_free(&fresh);
		return false;
	}
	atfh_strv_free(&s->dids);
	s->dids = fresh;
	atfh_fh_jetstream_filter(f, s->collections.v, s->collections.n, s->dids.v, s->dids.n);
	if (!s->quiet)
		atfh_err("--did-file: reloaded (%s): the filter now has %zu DIDs", why,
			 f->js.dids.n);
	return true;
}

static void watch_did_files(struct sub *s)
{
	for (size_t i = 0; i < s->did_files.n; i++)
		if (strcmp(s->did_files.v[i], "-") == 0)
			return; /* standard input is read once */
	s->did_stamp = atfh_xcalloc(s->did_files.n, sizeof *s->did_stamp);
	did_files_changed(s);
	the_sub = s;
	s->fh.refilter = refilter;
	s->fh.reload_flag = &hup;
	struct sigaction sa = { .sa_handler = on_hup, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
}

/* ---- main ------------------------------------------------------------------ */

static void tap_usage_checks(struct sub *s)
{
	for (size_t i = 0; i < s->did_files.n; i++)
		if (strcmp(s->did_files.v[i], "-") == 0)
			atfh_usage_error("--tap rereads its --did-file when it changes: give a file, "
					 "not - (standard input)");
	if (s->collections.n)
		atfh_usage_error("--collection filters a Jetstream; Tap's collection filters are "
				 "its own setting (TAP_COLLECTION_FILTERS)");
	if (s->has_cursor || s->sink.cursor_file || s->resume_from)
		atfh_usage_error("Tap keeps the position itself (acks): --cursor, --cursor-file "
				 "and --resume-from make no sense with --tap");
}

static void usage_checks(struct sub *s)
{
	int sources = !!s->relay + !!s->labels + !!s->jetstream + !!s->replay + !!s->tap;
	if (sources > 1)
		atfh_usage_error("--relay, --labels, --jetstream, --tap and --replay exclude each other");
	if (s->tap)
		tap_usage_checks(s);
	else if ((s->tap_password || s->no_ack))
		atfh_usage_error("--tap-password and --no-ack need --tap");
	else if (!s->jetstream && (s->collections.n || s->dids.n || s->max_message_size))
		atfh_usage_error("--collection, --did, --did-file and --max-message-size filter a "
				 "Jetstream: they need --jetstream");
	if (!s->jetstream && (s->api || s->kinds || s->compress))
		atfh_usage_error("--jetstream-api, --kind and --compress need --jetstream");
	if (s->resume_from && s->sink.cursor_file)
		atfh_usage_error("--resume-from and --cursor-file exclude each other "
				 "(--resume-from reads a file a later stage keeps)");
	if (!s->replay && s->speed >= 0)
		atfh_usage_error("--speed needs --replay");
}

/* Tap: its password, acks and the DID list it is to track. */
static int tap_setup(struct sub *s)
{
	struct atfh_firehose *f = &s->fh;
	struct atfh_tap *t = &s->tapc;
	atfh_tap_init(t, f->url);
	t->no_ack = s->no_ack;
	t->http_timeout_ms = f->connect_timeout_ms;
	const char *pw = s->tap_password;
	if (!pw || !*pw)
		pw = getenv("TAP_ADMIN_PASSWORD");
	if (pw && *pw) {
		f->username = "admin";
		f->password = pw;
		f->auth_hint = "Tap refused the admin password (--tap-password, TAP_ADMIN_PASSWORD)";
	} else {
		f->auth_hint = "Tap asks for its admin password: give it with --tap-password or "
			       "TAP_ADMIN_PASSWORD";
	}
	for (size_t i = 0; i < s->did_args.n; i++)
		atfh_tap_add_did(t, s->did_args.v[i]);
	for (size_t i = 0; i < s->did_files.n; i++)
		atfh_tap_add_file(t, s->did_files.v[i]);
	if (atfh_tap_load(t) < 0)
		return -1;
	if (s->did_files.n)
		atfh_tap_signals();
	return 0;
}

/* The source's URL; NULL for a replay. */
static const char *source(struct sub *s)
{
	struct atfh_firehose *f = &s->fh;
	if (s->jetstream) {
		f->source = ATFH_FH_JETSTREAM;
		return s->jetstream;
	}
	if (s->tap) {
		f->source = ATFH_FH_TAP;
		if (!s->has_idle) /* a Tap of a few repos may be silent for hours */
			f->idle_ms = 0;
		return s->tap;
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
	usage_checks(&s);
	if (s.speed < 0)
		s.speed = 1;

	struct atfh_firehose *f = &s.fh;
	char err[300];
	const char *src = source(&s);
	if (src && !(f->url = atfh_fh_url_path(f->source, src,
					       s.api == 2 ? ATFH_JS_V2_PATH : NULL, err, sizeof err)))
		atfh_usage_error("%s", err);
	if (f->source == ATFH_FH_JETSTREAM) {
		const char *pth = strstr(f->url, "://");
		pth = pth ? strchr(pth + 3, '/') : NULL;
		bool v2 = pth && strncmp(pth, ATFH_JS_V2_PATH, strlen(ATFH_JS_V2_PATH)) == 0;
		if (s.api == 1 && v2)
			atfh_usage_error("--jetstream-api v1, but %s is the v2 stream", s.jetstream);
		if (s.api == 2 && !v2)
			atfh_usage_error("--jetstream-api v2, but %s is not %s", s.jetstream,
					 ATFH_JS_V2_PATH);
		f->js_v2 = v2;
		if (s.kinds && !v2)
			atfh_usage_error("--kind needs Jetstream's v2 stream (--jetstream-api v2)");
		if (v2 && s.kinds && s.collections.n && !(s.kinds & ATFH_JS_KIND_COMMIT))
			atfh_usage_error("--collection filters commits, but --kind leaves them out");
		f->js.kinds = s.kinds;
		if (s.compress && !v2)
			atfh_usage_error("--compress needs Jetstream's v2 stream (--jetstream-api v2): "
					 "v1's compression uses a zstd dictionary the server does "
					 "not serve");
		if (atfh_js_url_has(f->url, "zstdDictionary"))
			atfh_usage_error("%s: give --compress instead of zstdDictionary in the URL "
					 "(atfh-subscribe fetches the dictionary itself)", s.jetstream);
		f->js_compress = s.compress;
	}
	if (f->source == ATFH_FH_JETSTREAM && atfh_js_v1_compress(f->url))
		atfh_usage_error("%s: Jetstream's v1 compress=true (Socket-Encoding: zstd) needs a "
				 "zstd dictionary the server does not serve: drop it from the URL",
				 s.jetstream);
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
	if (f->source == ATFH_FH_TAP && tap_setup(&s) < 0)
		return ATFH_EXIT_FAIL;
	if (atfh_sink_open(&s.sink, f->source == ATFH_FH_JETSTREAM || f->source == ATFH_FH_TAP,
			   f->max_msg, &f->has_last,
			   &f->last) < 0)
		return ATFH_EXIT_FAIL;

	f->start_after = s.sink.start_after;
	if (s.sink.nstart_ids)
		atfh_fh_js_boundary(f, s.sink.start_ids, s.sink.nstart_ids);
	if (f->source == ATFH_FH_JETSTREAM && s.did_files.n)
		watch_did_files(&s);
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
	if (f->source == ATFH_FH_TAP) {
		atfh_tap_attach(&s.tapc, f, &s.sink);
		s.report.tap = &s.tapc;
	}

	int status = s.replay ? atfh_replay_run(f, s.replay, s.speed, f->max_msg, &s.sink.raw_read)
			      : atfh_fh_run(f);

	if (s.tapc.fatal)
		status = ATFH_EXIT_FAIL;
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
	atfh_strv_free(&s.did_args);
	atfh_strv_free(&s.did_files);
	free(s.did_stamp);
	atfh_tap_free(&s.tapc);
	curl_global_cleanup();
	return status;
}
