/*
 * tap.h — Bluesky's Tap (bluesky-social/indigo cmd/tap) as a source of
 * atfh-subscribe.  Owns Tap's protocol on top of the firehose loop
 * (firehose.h, whose message, idle and closing hooks it takes):
 *  - its events on /channel, written in the jetstream shape (tapevent.h);
 *  - acks, {"type":"ack","id":N}, sent only once the event's line is
 *    durable (flushed; fsynced when the output is a file), kept across
 *    reconnects and sent on the next connection; the ids of this run, so a
 *    redelivered event is acked again, not written again (a bounded set:
 *    an id forgotten is written again, never lost);
 *  - the DID list (--did, --did-file) that drives Tap's /repos/add and
 *    /repos/remove, in batches, at start and after SIGHUP or a change of a
 *    file, with HTTP Basic auth (user "admin"); a 401 ends the run.
 * Delivery is at-least-once: an event whose line was written but whose ack
 * was lost (a crash, a dropped connection) comes again after a restart.
 */
#ifndef ATFH_TAP_H
#define ATFH_TAP_H

#include "filewatch.h"
#include "firehose.h"
#include "out.h"
#include "sink.h"
#include "tapevent.h"
#include "util.h"
#include <signal.h>

/* Ids seen: two generations of open-addressing tables; when the newer one
 * is full the older is forgotten. */
struct atfh_tap_ids {
	uint64_t *t[2];
	size_t cap, n[2];
};

/* A --did-file as last seen (re-read when this changes). */
struct atfh_tap_file {
	const char *path;
	struct atfh_filestamp stamp;
};

struct atfh_tap {
	/* settings */
	bool no_ack;                 /* Tap runs with acks disabled */
	const char *password;        /* admin password, NULL: none */
	uint64_t http_timeout_ms;    /* of a /repos call */

	/* counters */
	uint64_t events;             /* written */
	uint64_t acks;               /* sent */
	uint64_t redeliveries;       /* ids seen again */
	uint64_t dids_added, dids_removed; /* /repos/add, /repos/remove done */
	bool fatal;                  /* exit 2: Tap refused the password */

	/* internal */
	struct atfh_firehose *f;
	struct atfh_sink *k;
	int (*inner_idle)(struct atfh_firehose *f);
	struct atfh_out line;        /* the line being built */
	struct atfh_tap_ids ids;
	int64_t *pending;            /* ids written, not yet acked */
	size_t npending, cappending;
	char *http_base;             /* http(s)://host[:port][/prefix] */
	/* the DID list */
	bool managing;               /* --did or --did-file given */
	struct atfh_strv did_args;   /* --did, in order */
	struct atfh_tap_file *files;
	size_t nfiles;
	struct atfh_strv want;       /* what Tap is to track, no repeats */
	struct atfh_strv told;       /* what Tap was told to track */
	bool dirty;                  /* want and told differ, or may */
	double next_try, retry_s, next_check;
};

/* Set when SIGHUP arrives (atfh_tap_signals installs the handler). */
extern volatile sig_atomic_t atfh_tap_hup;
void atfh_tap_signals(void);

/* WS_URL: Tap's /channel URL as atfh_fh_url made it. */
void atfh_tap_init(struct atfh_tap *t, const char *ws_url);
/* DIDs Tap is to track: --did args, and files of DIDs (one a line, as for
 * atfh-grep -D), watched for changes. */
void atfh_tap_add_did(struct atfh_tap *t, const char *did);
int atfh_tap_add_file(struct atfh_tap *t, const char *path);
/* Read the list now: 0, or -1 after reporting a file that cannot be read
 * or has a bad line (at start that ends the run; a reload keeps the old
 * list and skips bad lines). */
int atfh_tap_load(struct atfh_tap *t);
/* Take F's message, idle and closing hooks (after atfh_sink_attach). */
void atfh_tap_attach(struct atfh_tap *t, struct atfh_firehose *f, struct atfh_sink *k);
void atfh_tap_free(struct atfh_tap *t);

#endif
