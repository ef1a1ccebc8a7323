/*
 * firehose.h — a subscription that never loses its place.  Owns the
 * sources (a relay's com.atproto.sync.subscribeRepos, a labeler's
 * com.atproto.label.subscribeLabels, a Jetstream instance; a Tap, whose
 * protocol lib/tap.h reads through the message hook) and their URLs,
 * the cursor on the wire, connecting and reconnecting (exponential backoff
 * with jitter, Retry-After, --max-retries; a connection that wrote no new
 * position is a failed attempt), redirects of the upgrade, the idle
 * timeout (no whole message for so long) and the pings that check the
 * socket, error frames (FutureCursor ends the run, others reconnect) and
 * #info frames, malformed messages (reported, counted, skipped), and the
 * order of positions: a seq written before (of the last ATFH_SEQWIN,
 * lib/seqwin.h) is dropped, one that comes late but was not written is
 * written; gaps, late seqs and backward jumps are counted and reported;
 * the position handed on is the highest written.  Jetstream's positions
 * are its "cursor" seqs (no gap reports: a filter leaves gaps), or, on a
 * legacy server, time_us, shared by several events: of those at the
 * resume point only the ones written (their identities kept) are dropped.
 * Jetstream v2 compressed (lib/jszstd.h): the dictionary is fetched before
 * the first connection; an upgrade refused with UnknownZstdDictionary (it
 * was retired) fetches it again and reconnects at once at the cursor, and
 * a second refusal in a row ends the run.
 *
 * Every message to be written goes to the write callback; before it
 * blocks on the network it calls the idle callback (flush, cursor file).
 * The caller owns the output, the cursor file and the display of counters.
 */
#ifndef ATFH_FIREHOSE_H
#define ATFH_FIREHOSE_H

#include "atfh.h"
#include "backoff.h"
#include "event.h"
#include "jetstream.h"
#include "jszstd.h"
#include "seqwin.h"
#include "ws.h"
#include <signal.h>

enum atfh_fh_source { ATFH_FH_REPOS, ATFH_FH_LABELS, ATFH_FH_JETSTREAM, ATFH_FH_TAP };

/* One message to write. */
struct atfh_fh_item {
	const uint8_t *p;
	size_t n;
	bool text;         /* a Jetstream JSON event (no newline in it) */
	bool has_pos;      /* seq; for Jetstream its cursor, or time_us without one */
	int64_t pos;
	bool rebase;       /* pos starts a new namespace (a Jetstream time_us
			    * cursor answered with seqs): it may be lower */
	bool has_time;     /* the event's time, for the lag */
	int64_t time_us;
};

enum { ATFH_FH_GO_ON = 0, ATFH_FH_STOP = 1 };
/* more answers of a message hook: a malformed message ends the run
 * (--strict, exit 3), or the run fails (exit 2) */
enum { ATFH_FH_MALFORMED = 2, ATFH_FH_FATAL = 3 };
#define ATFH_FH_IDLE_STOP (-2)

struct atfh_firehose {
	/* settings */
	enum atfh_fh_source source;
	char *url;                  /* base URL without cursor (atfh_fh_url) */
	char *query;                /* more query parameters (Jetstream filter) */
	char *hello;                /* a text message sent after connecting */
	struct atfh_js_filter js;   /* the Jetstream filter in force */
	bool js_v2;                 /* Jetstream's v2 stream (ATFH_JS_V2_PATH) */
	struct atfh_js_v2 v2;       /* its last frame, converted */
	bool js_compress;           /* v2's dict-zstd (--compress): the dictionary
				     * fetched before connecting, ?zstdDictionary=ID,
				     * binary messages decompressed (at most max_msg) */
	struct atfh_jsz jsz;        /* its dictionary and decompressor */
	bool sent_update;           /* an options_update went out on this connection */
	uint64_t idle_ms;           /* no whole message for this long: reconnect; 0 never */
	uint64_t ping_ms;           /* socket silent this long: ping; no answer in as long: dead */
	const char *cainfo, *capath; /* --cacert, --capath */
	uint64_t connect_timeout_ms;
	int64_t max_retries;        /* consecutive failed attempts; -1 forever */
	size_t max_msg;
	bool strict;                /* a malformed message ends the run */
	int wake_fd;                /* readable when a signal asks us to stop */
	volatile sig_atomic_t *stop_flag;
	const char *user_agent;

	/* position: the highest of the messages handed to write (or the start cursor) */
	bool has_last;
	int64_t last;
	uint64_t start_after;       /* --replay: frames without a seq after the start's
				     * frame that the output already holds */

	/* write: ATFH_FH_GO_ON or ATFH_FH_STOP.  idle: about to block; returns
	 * the longest it may block in ms, -1 for no limit, or
	 * ATFH_FH_IDLE_STOP to end the run. */
	int (*write)(struct atfh_firehose *f, const struct atfh_fh_item *it);
	int (*idle)(struct atfh_firehose *f);
	/* Jetstream: asked about once a second, and at once when *reload_flag
	 * is set (cleared here): true when it has put a new filter in place
	 * (atfh_fh_jetstream_filter).  v1 then gets it as an options_update on
	 * the open connection; v2 (no client messages) reconnects at once at
	 * the current cursor with it. */
	bool (*refilter)(struct atfh_firehose *f, bool signalled);
	volatile sig_atomic_t *reload_flag;
	void *ctx;
	/* A source whose messages another module reads (Tap, lib/tap.h):
	 * message gets each whole message and answers ATFH_FH_GO_ON, _STOP,
	 * _MALFORMED or _FATAL; closing is called while a connection the run
	 * is leaving (ATFH_FH_STOP, a signal) is still up; hook_ctx is theirs. */
	int (*message)(struct atfh_firehose *f, uint8_t *p, size_t n, bool text);
	void (*closing)(struct atfh_firehose *f);
	void *hook_ctx;
	const char *username, *password; /* HTTP Basic auth of the upgrade */
	const char *auth_hint;      /* said after an HTTP 401 */

	/* counters */
	uint64_t messages;          /* received, whatever became of them */
	uint64_t rx_bytes;          /* message bytes received */
	uint64_t malformed;         /* skipped: not a message, too big */
	uint64_t duplicates;        /* dropped: at or before the last position */
	uint64_t gaps, missing;     /* seq gaps, and the seqs they skipped */
	uint64_t backward;          /* the seq went down */
	uint64_t late;              /* written though a higher seq came first */
	uint64_t advanced;          /* messages with a new position handed to write */
	uint64_t reconnects;        /* connections after the first */
	uint64_t error_frames;
	bool connected;
	/* a replay's clock: event time clock_t0 was wall time clock_w0
	 * (atfh_now), and it runs clock_speed times as fast */
	bool clock;
	int64_t clock_t0;
	double clock_w0, clock_speed;

	/* internal */
	struct atfh_ws ws;
	struct atfh_backoff backoff;
	struct atfh_msg msg;
	bool have_prev;             /* seq of the previous message this connection */
	int64_t prev;
	bool in_dup_run;
	struct atfh_seqwin seen;    /* the seqs written (Jetstream: its cursors) */
	bool seen_init;
	uint64_t *bound;            /* Jetstream without cursors: the identities of
				     * the events written at time_us last */
	size_t nbound, capbound;
	bool jsz_refetched;         /* the dictionary was fetched again after an
				     * UnknownZstdDictionary, no connection since */
	bool asked, ignored_named;  /* this connection's ?cursor=, and a report of it ignored */
	int64_t asked_pos;
	char reason[400];           /* why the last attempt failed */
	uint64_t failed_in_row;     /* attempts that wrote nothing new, since one that did */
	double gap_window;          /* rate limit of gap reports */
	unsigned gap_reports;
	uint64_t gaps_quiet, missing_quiet;
};

void atfh_fh_init(struct atfh_firehose *f, enum atfh_fh_source source);
void atfh_fh_free(struct atfh_firehose *f);
/* The base URL for ARG: a bare host ("bsky.network"), a ws(s):// or
 * http(s):// URL without a path (the source's XRPC path or /subscribe is
 * added), or a full URL.  NULL with ERR set when it is none of these. */
char *atfh_fh_url(enum atfh_fh_source source, const char *arg, char *err, size_t errn);
/* The same with PATH (when not NULL) for a bare host instead of the
 * source's default path. */
char *atfh_fh_url_path(enum atfh_fh_source source, const char *arg, const char *path,
		       char *err, size_t errn);
/* Is S what Jetstream takes as a wanted collection: an NSID, or a prefix
 * of NSIDs ending in ".*"? */
bool atfh_fh_collection_valid(const char *s);
/* Jetstream server-side filters (F->js, its lists without repeats): in
 * the query string, or, when that would be too long, as an options_update
 * message after connecting. */
void atfh_fh_jetstream_filter(struct atfh_firehose *f, char *const *collections, size_t ncol,
			      char *const *dids, size_t ndids);
/* Jetstream without cursors: the events at time_us F->last that were
 * written before this run (their identities, atfh_js_identity), so that a
 * resume at that time_us drops them and only them. */
void atfh_fh_js_boundary(struct atfh_firehose *f, const uint64_t *ids, size_t n);
/* Subscribe until the write or idle callback says stop, a signal sets
 * stop_flag, a fatal error, or the retries run out.  Returns the exit
 * status: ATFH_EXIT_OK, ATFH_EXIT_FAIL or (strict) ATFH_EXIT_MALFORMED. */
int atfh_fh_run(struct atfh_firehose *f);
/* A message to write: the checks of position every source shares (also
 * used by --replay).  Returns true when IT is to be written (and makes its
 * position the last); counts duplicates, gaps and backward jumps, and
 * reports them, but for a replay (not LIVE) only the backward jumps. */
bool atfh_fh_accept(struct atfh_firehose *f, const struct atfh_fh_item *it, bool live);
/* Wait MS milliseconds, calling the idle callback on the way (so output is
 * flushed and the cursor file kept).  false when a signal or the idle
 * callback ended the wait: the run is to stop. */
bool atfh_fh_pause(struct atfh_firehose *f, double ms);
/* A message hook's malformed message: reported (with the message number
 * and position), counted; ATFH_FH_MALFORMED under --strict, else
 * ATFH_FH_GO_ON. */
int atfh_fh_malformed(struct atfh_firehose *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
