/*
 * atfh-grep — keep the events that match every given selector; NDJSON lines
 * and wholly kept frames pass through byte for byte, a commit frame of
 * which only some ops are kept is trimmed to them (lib/trim.c).
 */
#include "cli.h"
#include "didset.h"
#include "filewatch.h"
#include "idcheck.h"
#include "jsonscan.h"
#include "loop.h"
#include "outfile.h"
#include "select.h"
#include "trim.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

enum {
	OPT_IGNORE_COLLECTION = ATFH_OPT_TOOL_FIRST,
	OPT_SINCE,
	OPT_UNTIL,
	OPT_TEXT,
	OPT_SAMPLE,
	OPT_SAMPLE_SEED,
	OPT_COUNT,
	OPT_WHOLE_FRAMES,
	OPT_PDS,
	OPT_IGNORE_PDS,
	OPT_VERIFY_SIG,
};

static const char *const kind_names[] = {
	"commit", "identity", "account", "sync", "info", "error", NULL,
};
static const char *const action_names[] = { "create", "update", "delete", NULL };

static const struct atfh_option options[] = {
	{ 'd', "did", "DID", ATFH_ARG_STRING, NULL, "keep events of DID (repeatable)" },
	{ 'D', "did-file", "FILE", ATFH_ARG_FILE, NULL,
	  "keep events of the DIDs in FILE, one a line; re-read on SIGHUP or when it changes" },
	{ 'c', "collection", "GLOB", ATFH_ARG_STRING, NULL,
	  "keep ops in collections matching GLOB, e.g. 'app.bsky.feed.*' (repeatable)" },
	{ OPT_IGNORE_COLLECTION, "ignore-collection", "GLOB", ATFH_ARG_STRING, NULL,
	  "leave out ops in collections matching GLOB (repeatable)" },
	{ 'k', "kind", "KIND", ATFH_ARG_CHOICE, kind_names,
	  "keep events of KIND: commit, identity, account, sync, info, error (repeatable)" },
	{ 'a', "action", "ACTION", ATFH_ARG_CHOICE, action_names,
	  "keep ops that create, update or delete (repeatable)" },
	{ OPT_SINCE, "since", "WHEN", ATFH_ARG_STRING, NULL,
	  "keep events at or after WHEN (RFC 3339, YYYY-MM-DD or -2h for ago)" },
	{ OPT_UNTIL, "until", "WHEN", ATFH_ARG_STRING, NULL, "keep events before WHEN" },
	{ OPT_TEXT, "text", "REGEX", ATFH_ARG_STRING, NULL,
	  "keep records whose text matches REGEX (PCRE2, UTF-8)" },
	{ 'i', "ignore-case", NULL, ATFH_ARG_NONE, NULL, "--text ignores case" },
	{ 'e', "expr", "EXPR", ATFH_ARG_STRING, NULL,
	  "keep events for which the jq program EXPR is truthy, as select(EXPR)" },
	{ OPT_SAMPLE, "sample", "RATE", ATFH_ARG_STRING, NULL,
	  "keep a deterministic fraction RATE (0..1) by hash of did/collection/rkey" },
	{ OPT_SAMPLE_SEED, "sample-seed", "N", ATFH_ARG_NUMBER, NULL,
	  "seed of the --sample hash (default 0)" },
	{ 'v', "invert-match", NULL, ATFH_ARG_NONE, NULL, "keep the events that do not match" },
	{ 'm', "max-count", "N", ATFH_ARG_NUMBER, NULL, "stop after N kept events" },
	{ OPT_COUNT, "count", NULL, ATFH_ARG_NONE, NULL, "print only the number of kept events" },
	{ OPT_WHOLE_FRAMES, "whole-frames", NULL, ATFH_ARG_NONE, NULL,
	  "frames: keep a commit whole when any of its ops is kept" },
	{ OPT_PDS, "pds", "GLOB", ATFH_ARG_STRING, NULL,
	  "keep events of accounts hosted on a PDS whose host matches GLOB (repeatable)" },
	{ OPT_IGNORE_PDS, "ignore-pds", "GLOB", ATFH_ARG_STRING, NULL,
	  "leave out events of accounts hosted on a PDS matching GLOB (repeatable)" },
	{ OPT_VERIFY_SIG, "verify-sig", NULL, ATFH_ARG_NONE, NULL,
	  "check each commit's signature with its account's key; a failure is malformed" },
	ATFH_OPTS_IDENTITY,
	ATFH_OPTS_OUTPUT_FILE,
	ATFH_OPTS_THREADS,
	ATFH_OPTS_COMMON_INPUT,
	ATFH_OPTS_COMMON_STATS,
	ATFH_OPTS_COMMON_END,
};

static const struct atfh_program program = {
	.name = "atfh-grep",
	.args = "[FILE]...",
	.summary = "Keep the events that match every given selector.\n"
		   "Lines and wholly kept frames pass through unchanged; a commit frame of\n"
		   "which some ops are kept is trimmed to them.  None or - reads stdin.",
	.options = options,
	.epilog = "Examples:\n"
		  "  atfh-grep -D danish-dids.txt -c app.bsky.feed.post capture.atfh.zst\n"
		  "  atfh-decode capture.atfh | atfh-grep -e '.commit.record.langs[0]? == \"da\"'\n"
		  "Exit status: 0 kept some, 1 kept none, 2 usage or I/O error,\n"
		  "3 malformed records skipped, 130/143 a finite input interrupted.\n",
};

struct grep {
	struct atfh_loop loop;
	struct atfh_select sel;
	struct atfh_msg msg;
	struct atfh_out out;
	struct atfh_jqexpr jq;
	const char *output;
	bool count_only, whole_frames;
	uint64_t max_count, kept, written; /* events kept, records written */
	struct atfh_trim trim;
	struct atfh_out scratch; /* --count: trimmed frames are built, not written */
	/* DID set and its sources, for live reload */
	struct atfh_didset set;
	bool have_dids;
	struct atfh_strv did_args;  /* -d DID, in order */
	struct atfh_strv did_files; /* -D FILE, in order */
	struct did_src *did_src;    /* per -D FILE: what it was when last read */
	double next_check;
	const char *text_re;
	bool icase;
	bool tty_checked;
	struct atfh_idcheck id; /* --pds, --ignore-pds, --verify-sig */
	bool worker;             /* a -T worker: the DID set is the reader's */
	/* a -T worker under --pds: the reader's checks (read only), and the
	 * records whose account the reader must judge (struct judge) */
	const struct atfh_idcheck *idc;
	struct judge *judge;
	size_t njudge, judge_cap;
	char *dids;
	size_t dids_len, dids_cap;
	/* the reader's: output of a chunk that passed, to be written */
	struct iovec *runs;
	size_t nruns, runs_cap;
};

/* A -D file as last seen: its stat when it could be stat'ed, else the
 * errno; a reload is attempted only when this changes (or on SIGHUP), so a
 * file that vanished is reported once, not once a second. */
struct did_src {
	struct atfh_filestamp stamp;
};

static volatile sig_atomic_t hup;

static void on_hup(int sig)
{
	(void)sig;
	hup = 1;
}

static int on_option(int id, const char *arg, void *ctx)
{
	struct grep *g = ctx;
	struct atfh_select *s = &g->sel;
	int r = atfh_loop_option(&g->loop, id, arg);
	uint64_t v;
	char err[256];
	if (!r)
		r = atfh_idcheck_option(&g->id, id, arg);
	if (r)
		return r < 0 ? -1 : 0;
	switch (id) {
	case OPT_PDS:
	case OPT_IGNORE_PDS:
		return atfh_idcheck_pds(&g->id, arg, id == OPT_IGNORE_PDS);
	case OPT_VERIFY_SIG:
		g->id.verify_sig = true;
		return 0;
	case 'd':
		if (!atfh_did_valid(arg, strlen(arg))) {
			atfh_err("-d: '%s' is not a DID", arg);
			return -1;
		}
		atfh_strv_push(&g->did_args, arg, strlen(arg));
		return 0;
	case 'D':
		atfh_strv_push(&g->did_files, arg, strlen(arg));
		return 0;
	case 'c':
	case OPT_IGNORE_COLLECTION:
		if (atfh_globs_add(id == 'c' ? &s->collections : &s->ignore, arg, err, sizeof err)) {
			atfh_err("%s: bad glob '%s': %s", id == 'c' ? "-c" : "--ignore-collection", arg, err);
			return -1;
		}
		return 0;
	case 'k':
		if (!(v = atfh_select_kind_bit(arg))) {
			atfh_err("-k: unknown kind '%s' (commit, identity, account, sync, info, error)", arg);
			return -1;
		}
		s->kinds |= (uint32_t)v;
		return 0;
	case 'a':
		if (!(v = atfh_select_action_bit(arg))) {
			atfh_err("-a: unknown action '%s' (create, update, delete)", arg);
			return -1;
		}
		s->actions |= (uint32_t)v;
		return 0;
	case OPT_SINCE:
	case OPT_UNTIL: {
		int64_t us;
		int r = atfh_parse_when(arg, &us);
		if (r == -2) {
			atfh_err("--%s: '%s' is out of range (before the year 0000)",
				 id == OPT_SINCE ? "since" : "until", arg);
			return -1;
		}
		if (r) {
			atfh_err("--%s: '%s' is not a time (RFC 3339, YYYY-MM-DD or -DURATION)",
				 id == OPT_SINCE ? "since" : "until", arg);
			return -1;
		}
		if (id == OPT_SINCE) {
			s->has_since = true;
			s->since_us = us;
		} else {
			s->has_until = true;
			s->until_us = us;
		}
		return 0;
	}
	case OPT_TEXT:
		g->text_re = arg; /* compiled after parsing, when -i is known */
		return 0;
	case 'i':
		g->icase = true;
		return 0;
	case 'e':
		if (g->sel.jq) {
			atfh_err("-e can be given once (combine with 'and')");
			return -1;
		}
		if (atfh_jqexpr_compile(&g->jq, arg, err, sizeof err)) {
			atfh_err("-e: %s", err);
			return -1;
		}
		s->jq = &g->jq;
		atfh_jqhint_init(&s->jqhint, arg);
		return 0;
	case OPT_SAMPLE: {
		char *end;
		errno = 0;
		double rate = strtod(arg, &end);
		if (errno || end == arg || *end || !(rate >= 0 && rate <= 1)) {
			atfh_err("--sample: '%s' is not a rate between 0 and 1", arg);
			return -1;
		}
		s->sample = true;
		s->sample_below = rate >= 1 ? UINT64_MAX : (uint64_t)ldexp(rate, 64);
		return 0;
	}
	case OPT_SAMPLE_SEED:
		if (atfh_parse_uint(arg, &s->sample_seed)) {
			atfh_err("--sample-seed: '%s' is not a number", arg);
			return -1;
		}
		return 0;
	case 'v':
		s->invert = true;
		return 0;
	case 'm':
		if (atfh_parse_uint(arg, &g->max_count) || g->max_count == 0) {
			atfh_err("-m: '%s' is not a positive number", arg);
			return -1;
		}
		return 0;
	case OPT_COUNT:
		g->count_only = true;
		return 0;
	case OPT_WHOLE_FRAMES:
		g->whole_frames = true;
		return 0;
	case 'o':
		g->output = arg;
		return 0;
	}
	return -1;
}

/* ---- the DID set and its live reload ------------------------------------ */

static void warn_line(void *ctx, const char *path, size_t line, const char *why)
{
	(void)ctx;
	atfh_err("%s: line %zu: %s (skipped)", path, line, why);
}

/* Build a set from every -d and -D.  Every file's state is brought up to
 * date even after one fails, so an unchanged failure is not retried.  0,
 * or -1 after reporting. */
static int build_set(struct grep *g, struct atfh_didset *set)
{
	bool failed = false;
	atfh_didset_init(set);
	for (size_t i = 0; i < g->did_args.n; i++)
		atfh_didset_add(set, g->did_args.v[i], strlen(g->did_args.v[i]));
	for (size_t i = 0; i < g->did_files.n; i++) {
		struct did_src *src = &g->did_src[i];
		atfh_filestamp_take(&src->stamp, g->did_files.v[i]);
		if (!src->stamp.have || (!failed && atfh_didset_load(set, g->did_files.v[i], warn_line, g) < 0)) {
			atfh_err("%s: %s", g->did_files.v[i], strerror(errno));
			failed = true;
		}
	}
	if (failed)
		atfh_didset_free(set);
	return failed ? -1 : 0;
}

static bool files_changed(struct grep *g)
{
	for (size_t i = 0; i < g->did_files.n; i++)
		if (atfh_filestamp_changed(&g->did_src[i].stamp, g->did_files.v[i]))
			return true; /* gone (or differently so): reload reports it */
	return false;
}

/* Replace the set; ATFH_REC_STOP when a record settled on the way asked
 * to stop, else ATFH_REC_OK. */
static int reload(struct grep *g, const char *why)
{
	struct atfh_didset fresh;
	if (build_set(g, &fresh)) {
		/* keep the old set; build_set noted each file's state, so a file
		 * that stays missing or unreadable is not retried every second */
		atfh_err("reload (%s) failed: keeping the previous %zu DIDs", why, g->set.n);
		return ATFH_REC_OK;
	}
	/* a record waiting for its account is selected again when it is
	 * settled: those read before the reload are settled with the set
	 * they were read under (every event before a reload sees the old
	 * set, every one after it the new) */
	int rc = g->id.on ? atfh_idq_drain(&g->id.q, true) : ATFH_REC_OK;
	atfh_didset_free(&g->set);
	g->set = fresh;
	g->sel.dids = &g->set;
	if (!g->loop.quiet)
		atfh_err("reloaded %zu DIDs (%s)", g->set.n, why);
	return rc;
}

static double mono_coarse(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Between events: SIGHUP, or a changed file (looked at once a second).
 * ATFH_REC_STOP or ATFH_REC_OK, as reload. */
static int maybe_reload(struct grep *g)
{
	if (g->worker)
		return ATFH_REC_OK;
	if (hup) {
		hup = 0;
		g->next_check = mono_coarse() + 1;
		return reload(g, "SIGHUP");
	}
	if (!g->did_files.n)
		return ATFH_REC_OK;
	double now = mono_coarse();
	if (now < g->next_check)
		return ATFH_REC_OK;
	g->next_check = now + 1;
	return files_changed(g) ? reload(g, "file changed") : ATFH_REC_OK;
}

/* ---- per record --------------------------------------------------------- */

static int kept(struct grep *g, uint64_t events)
{
	g->kept += events;
	g->written++;
	g->loop.stats.events += events;
	atfh_out_event_done(&g->out);
	if (g->max_count && g->kept >= g->max_count)
		return ATFH_REC_STOP;
	return ATFH_REC_OK;
}

static void put_frame(struct grep *g, const uint8_t *p, size_t n)
{
	uint8_t len[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };
	atfh_out_put(&g->out, len, 4);
	atfh_out_put(&g->out, p, n);
}

/* G->msg holds a frame: what the selectors keep of it (ATFH_SEL_*), or
 * -1 with *ERR. */
static int frame_choice(struct grep *g, const char **err)
{
	int r = atfh_select_frame(&g->sel, &g->msg, err);
	if (r == ATFH_SEL_SOME && g->whole_frames) {
		r = ATFH_SEL_WHOLE;
		g->sel.events = atfh_select_frame_events(&g->msg);
	} else if (r > 0 && g->max_count) {
		r = atfh_select_frame_limit(&g->sel, &g->msg, r, g->max_count - g->kept, err);
	}
	return r;
}

/* Write what CHOICE (frame_choice's answer) keeps of frame P. */
static int write_frame(struct grep *g, const uint8_t *p, size_t n, int choice, const char **err)
{
	if (choice < 0)
		return ATFH_REC_BAD;
	if (choice == ATFH_SEL_NONE)
		return ATFH_REC_OK;
	if (!g->count_only) {
		if (!g->tty_checked) {
			g->tty_checked = true;
			atfh_refuse_tty(g->out.fd, "pipe it into atfh-decode, or use -o FILE or --count");
		}
		if (choice == ATFH_SEL_WHOLE)
			put_frame(g, p, n);
		else if (atfh_trim_commit(&g->trim, &g->msg, g->sel.keep, &g->out, err))
			return ATFH_REC_BAD;
	} else if (choice == ATFH_SEL_SOME) {
		/* counted only if it could be written */
		g->scratch.len = 0;
		if (atfh_trim_commit(&g->trim, &g->msg, g->sel.keep, &g->scratch, err))
			return ATFH_REC_BAD;
	}
	return kept(g, g->sel.events);
}

/* G->msg holds the frame P: select it and write what is kept. */
static int select_frame(struct grep *g, const uint8_t *p, size_t n, const char **err)
{
	return write_frame(g, p, n, frame_choice(g, err), err);
}

/* Line P, kept by the selectors. */
static int put_line(struct grep *g, const char *p, size_t n)
{
	if (!g->count_only) {
		atfh_out_put(&g->out, p, n);
		atfh_out_c(&g->out, '\n');
	}
	return kept(g, 1);
}

static int write_line(struct grep *g, const char *p, size_t n, const char **err)
{
	int r = atfh_select_line(&g->sel, p, n, err);
	if (r < 0)
		return ATFH_REC_BAD;
	return r ? put_line(g, p, n) : ATFH_REC_OK;
}

/* A record whose account is known (lib/idqueue): the identity checks,
 * then the selectors. */
static int settle(void *ctx, const struct atfh_idq_item *it, struct atfh_identity *e,
		  bool queued, const char **err)
{
	struct grep *g = ctx;
	int r;
	if (it->output) { /* a worker's (pds_chunk_out): selected already */
		if (it->did) {
			r = atfh_idcheck_line(&g->id, it->did, it->did_len, e, err);
			if (r == ATFH_IDC_DROP)
				return ATFH_REC_OK;
			if (r)
				return r;
		}
		if (it->bad) { /* what was kept could not be written */
			*err = (const char *)it->data;
			return ATFH_REC_BAD;
		}
		atfh_out_put(&g->out, it->data, it->n);
		return kept(g, it->events);
	}
	if (it->line) {
		/* a line without an account (#info) passes, as such a frame does */
		r = it->did ? atfh_idcheck_line(&g->id, it->did, it->did_len, e, err) : ATFH_IDC_PASS;
		if (r == ATFH_IDC_DROP)
			return ATFH_REC_OK;
		return r ? r : write_line(g, (const char *)it->data, it->n, err);
	}
	if (queued && atfh_msg_parse(&g->msg, it->data, it->n)) {
		*err = g->msg.err;
		return ATFH_REC_BAD;
	}
	r = atfh_idcheck_msg(&g->id, &g->msg, e, it->retried, err);
	if (r == ATFH_IDC_DROP)
		return ATFH_REC_OK;
	return r ? r : select_frame(g, it->data, it->n, err);
}

/* The identity checks come after the other selectors, so that an account
 * is looked up (or resolved) only for a record they keep, and a record
 * they cannot read is reported in its place, not behind those waiting for
 * their accounts: the same with -T, where workers select and the reading
 * thread judges the accounts. */
static int on_frame(struct atfh_loop *l, const uint8_t *p, size_t n, const char **err)
{
	struct grep *g = l->ctx;
	if (maybe_reload(g) == ATFH_REC_STOP)
		return ATFH_REC_STOP;
	if (atfh_msg_parse(&g->msg, p, n)) {
		*err = g->msg.err;
		return ATFH_REC_BAD;
	}
	if (!g->id.on)
		return select_frame(g, p, n, err);
	size_t dn = 0;
	const char *did = atfh_idcheck_did(&g->id, &g->msg, &dn);
	int choice = frame_choice(g, err);
	if (choice <= ATFH_SEL_NONE)
		return choice < 0 ? ATFH_REC_BAD : ATFH_REC_OK;
	if (did) {
		/* --pds with the account cached: no queue, no entry */
		int v = atfh_idcheck_fast(&g->id, did, dn);
		if (v == ATFH_IDC_PASS)
			return write_frame(g, p, n, choice, err);
		if (v == ATFH_IDC_DROP)
			return ATFH_REC_OK;
	}
	return atfh_idq_submit(&g->id.q, p, n, false, did, dn, err);
}

static int on_line(struct atfh_loop *l, const char *p, size_t n, const char **err)
{
	struct grep *g = l->ctx;
	if (maybe_reload(g) == ATFH_REC_STOP)
		return ATFH_REC_STOP;
	if (!g->id.on)
		return write_line(g, p, n, err);
	if (g->id.verify_sig) {
		/* a usage problem, not bad input: say it once and stop */
		atfh_err("%s: --verify-sig needs frames; NDJSON carries no signatures", l->in.name);
		l->io_failed = true;
		return ATFH_REC_STOP;
	}
	const char *did;
	size_t dn;
	if (atfh_idcheck_line_did(&g->id, p, n, &did, &dn, err))
		return ATFH_REC_BAD;
	int r = atfh_select_line(&g->sel, p, n, err);
	if (r <= 0)
		return r < 0 ? ATFH_REC_BAD : ATFH_REC_OK;
	if (did) {
		/* --pds with the account cached: no queue, no entry */
		int f = atfh_idcheck_fast(&g->id, did, dn);
		if (f == ATFH_IDC_PASS)
			return put_line(g, p, n);
		if (f == ATFH_IDC_DROP)
			return ATFH_REC_OK;
	}
	return atfh_idq_submit(&g->id.q, p, n, true, did, dn, err);
}

/* ---- threads (-T) ------------------------------------------------------- */

/*
 * Under --pds the accounts are judged in the reading thread, in input
 * order, as in one thread: the cache, the resolution queue and an
 * #identity event's drop of a cached document stay there.  Workers parse
 * and select; a record with an account that the selectors keep is written
 * to the worker's output as usual but listed as a `struct judge`, and so
 * is every #identity event.  The chunk's output ends with that list (the
 * DIDs, the judges, a `struct judge_tail`); pds_chunk_out writes the rest
 * as it is and each judged record only if its account passes.
 */
enum {
	JUDGE_KEPT = 1,     /* the selectors kept it: its output follows */
	JUDGE_IDENTITY = 2, /* an #identity event: drop the account's document */
	JUDGE_LINE = 4,     /* an NDJSON line (for reports) */
	JUDGE_BAD = 8,      /* kept, but not written: the error text is at did_off */
	JUDGE_NO_DID = 16,  /* no account to judge: passes in its turn */
};

struct judge {
	struct atfh_idkey key; /* the DID's, for the cache */
	uint64_t out_off, index, offset;
	int64_t at_us;
	uint32_t out_len, events, did_off, did_len;
	uint32_t flags;
};

struct judge_tail {
	uint64_t out_len, dids_len, njudge;
};

struct judge_mark {
	size_t out_len;
	uint64_t kept, written, events;
};

static void judge_begin(struct grep *w, struct judge_mark *m)
{
	*m = (struct judge_mark){ w->out.len, w->kept, w->written, w->loop.stats.events };
}

static void judge_text(struct grep *w, const char *s, size_t n)
{
	if (w->dids_cap - w->dids_len < n)
		atfh_grow_array((void **)&w->dids, &w->dids_cap, w->dids_len + n, 1);
	if (n)
		memcpy(w->dids + w->dids_len, s, n);
	w->dids_len += n;
}

/* After the selectors ran on a record (KEPT: they kept it, BAD: its error
 * when what they kept could not be written) of account DID (or none):
 * list it for the reading thread, which counts and writes it in its turn
 * if the account passes, when they kept it or it is an #identity event.
 * The worker counts none of it. */
static void judge_end(struct grep *w, const struct judge_mark *m, bool keep, const char *bad,
		      const char *did, size_t dn, bool identity, int64_t at_us)
{
	uint32_t flags = (keep ? JUDGE_KEPT : 0) | (identity ? JUDGE_IDENTITY : 0);
	uint64_t events = w->loop.stats.events - m->events;
	if (bad)
		flags |= JUDGE_BAD;
	if (!keep || bad)
		w->out.len = m->out_len; /* nothing, or a part before an error */
	w->kept = m->kept;
	w->written = m->written;
	w->loop.stats.events = m->events;
	if (!flags)
		return;
	if (w->loop.in_lines)
		flags |= JUDGE_LINE;
	if (!did)
		flags |= JUDGE_NO_DID;
	atfh_grow_array((void **)&w->judge, &w->judge_cap, w->njudge + 1, sizeof *w->judge);
	struct judge *j = &w->judge[w->njudge++];
	if (did)
		atfh_idkey_of(did, dn, &j->key);
	j->out_off = m->out_len;
	j->out_len = (uint32_t)(w->out.len - m->out_len);
	j->index = w->loop.in.index;
	j->offset = w->loop.in.offset;
	j->at_us = at_us;
	j->events = (uint32_t)events;
	j->did_off = (uint32_t)w->dids_len;
	j->did_len = (uint32_t)dn;
	j->flags = flags;
	judge_text(w, did, dn);
	if (bad)
		judge_text(w, bad, strlen(bad) + 1);
}

static int worker_frame(struct atfh_loop *l, const uint8_t *p, size_t n, const char **err)
{
	struct grep *w = l->ctx;
	if (atfh_msg_parse(&w->msg, p, n)) {
		*err = w->msg.err;
		return ATFH_REC_BAD;
	}
	size_t dn = 0;
	const char *did = atfh_idcheck_msg_did(w->idc, &w->msg, &dn);
	bool identity = did && w->msg.kind == ATFH_K_IDENTITY;
	int64_t at_us = w->msg.has_time ? w->msg.time_us : 0;
	struct judge_mark m;
	judge_begin(w, &m);
	int choice = frame_choice(w, err);
	if (choice <= ATFH_SEL_NONE) {
		judge_end(w, &m, false, NULL, did, dn, identity, at_us);
		return choice < 0 ? ATFH_REC_BAD : ATFH_REC_OK;
	}
	const char *bad = NULL;
	if (write_frame(w, p, n, choice, &bad) == ATFH_REC_BAD && !bad)
		bad = "malformed record";
	judge_end(w, &m, true, bad, did, dn, identity, at_us);
	return ATFH_REC_OK;
}

static int worker_line(struct atfh_loop *l, const char *p, size_t n, const char **err)
{
	struct grep *w = l->ctx;
	struct atfh_idcheck_line f;
	if (atfh_idcheck_line_fields(w->idc, p, n, &f, err))
		return ATFH_REC_BAD;
	bool identity = f.did && f.kind == ATFH_K_IDENTITY;
	struct judge_mark m;
	judge_begin(w, &m);
	int r = atfh_select_line(&w->sel, p, n, err);
	if (r > 0)
		put_line(w, p, n);
	judge_end(w, &m, r > 0, NULL, f.did, f.did_len, identity, f.at_us);
	return r < 0 ? ATFH_REC_BAD : ATFH_REC_OK;
}

static void worker_chunk_end(struct atfh_loop *l)
{
	struct grep *w = l->ctx;
	struct judge_tail t = { w->out.len, w->dids_len, w->njudge };
	atfh_out_put(&w->out, w->dids, w->dids_len);
	atfh_out_put(&w->out, w->judge, w->njudge * sizeof *w->judge);
	atfh_out_put(&w->out, &t, sizeof t);
	w->dids_len = w->njudge = 0;
}

/* Output that passed is gathered into runs and written from the chunk
 * with one writev(2), before anything is queued (whatever waits is
 * written by the queue, after it). */
static bool write_runs(struct grep *g)
{
	int r = g->nruns ? atfh_out_put_eventsv(&g->out, g->runs, g->nruns) : 0;
	g->nruns = 0;
	return r == 0;
}

/* Every listed record from P on (N bytes) passed: nothing waited then. */
static void add_run(struct grep *g, const char *p, size_t n)
{
	if (!n)
		return;
	struct iovec *last = g->nruns ? &g->runs[g->nruns - 1] : NULL;
	if (last && (char *)last->iov_base + last->iov_len == p) {
		last->iov_len += n;
		return;
	}
	atfh_grow_array((void **)&g->runs, &g->runs_cap, g->nruns + 1, sizeof *g->runs);
	g->runs[g->nruns++] = (struct iovec){ (void *)p, n };
}

/* A listed record (its output at P) not passed from the cache: queued
 * until its account is known (or until those before it are written), or
 * reported, with its own position. */
static bool judge_later(struct grep *g, const struct judge *j, const char *did, const char *p)
{
	const char *err = NULL;
	if (!write_runs(g))
		return false;
	const char *bad = j->flags & JUDGE_BAD ? did + j->did_len : NULL;
	struct atfh_idq_item it = {
		.data = (uint8_t *)(bad ? bad : p), .n = bad ? strlen(bad) + 1 : j->out_len,
		.line = j->flags & JUDGE_LINE, .output = true, .events = j->events, .bad = bad,
		.did = j->flags & JUDGE_NO_DID ? NULL : (char *)did, .did_len = j->did_len,
		.file = g->loop.in.name, .index = j->index + g->loop.chunk_index_base,
		.offset = j->offset,
	};
	int r = atfh_idq_submit_item(&g->id.q, &it, &err);
	if (r == ATFH_REC_BAD)
		return atfh_loop_malformed_at(&g->loop, it.file, it.line, it.index, it.offset,
					      err ? err : "malformed record");
	return r != ATFH_REC_STOP;
}

#define JUDGE_AHEAD 8 /* cache slots fetched ahead of their lookup */

static bool pds_chunk_out(struct atfh_loop *l, const char *p, size_t n)
{
	struct grep *g = l->ctx;
	struct judge_tail t;
	if (n < sizeof t)
		abort(); /* worker_chunk_end ends every chunk */
	memcpy(&t, p + n - sizeof t, sizeof t);
	const char *dids = p + t.out_len, *list = dids + t.dids_len;
	size_t run = 0; /* output from here on is not written yet */
	bool ok = true;
	for (uint64_t i = 0; i < t.njudge && ok; i++) {
		struct judge j, ahead;
		memcpy(&j, list + i * sizeof j, sizeof j);
		if (i + JUDGE_AHEAD < t.njudge) {
			memcpy(&ahead, list + (i + JUDGE_AHEAD) * sizeof ahead, sizeof ahead);
			if (!(ahead.flags & JUDGE_NO_DID))
				atfh_idcheck_prefetch_key(&g->id, &ahead.key);
		}
		const char *did = dids + j.did_off;
		if (j.flags & JUDGE_IDENTITY)
			atfh_idcheck_identity_event(&g->id, did, j.did_len, j.at_us);
		if (!(j.flags & JUDGE_KEPT))
			continue;
		int v = j.flags & JUDGE_NO_DID ? (g->id.q.count ? -1 : ATFH_IDC_PASS)
					       : atfh_idcheck_fast_key(&g->id, &j.key);
		if (v == ATFH_IDC_PASS && !(j.flags & JUDGE_BAD)) {
			/* written with the run it is in */
			g->kept += j.events;
			g->written++;
			l->stats.events += j.events;
			continue;
		}
		add_run(g, p + run, j.out_off - run);
		run = j.out_off + j.out_len;
		if (v == ATFH_IDC_DROP)
			continue;
		/* reports come in input order: the workers' before this one
		 * first */
		ok = write_runs(g) && atfh_loop_chunk_notes(l, j.index);
		if (ok && v == ATFH_IDC_PASS)
			ok = atfh_loop_malformed_at(l, l->in.name, j.flags & JUDGE_LINE,
						    j.index + l->chunk_index_base, j.offset,
						    did + j.did_len);
		else if (ok)
			ok = judge_later(g, &j, did, p + j.out_off);
	}
	if (ok)
		add_run(g, p + run, t.out_len - run);
	return write_runs(g) && ok && !g->out.broken_pipe && !g->out.error;
}

/* A worker: the same selectors (the DID set and globs shared, read only),
 * its own parser, trimmer, regex match data and output. */
static struct atfh_loop *worker_new(struct atfh_loop *l)
{
	struct grep *g = l->ctx, *w = atfh_xcalloc(1, sizeof *w);
	char err[256];
	atfh_loop_worker_init(&w->loop, l, w, &w->out);
	atfh_select_init(&w->sel);
	struct atfh_select *s = &w->sel, *m = &g->sel;
	s->dids = m->dids;
	s->kinds = m->kinds;
	s->actions = m->actions;
	s->collections = m->collections;
	s->ignore = m->ignore;
	s->has_since = m->has_since;
	s->has_until = m->has_until;
	s->since_us = m->since_us;
	s->until_us = m->until_us;
	s->sample = m->sample;
	s->sample_below = m->sample_below;
	s->sample_seed = m->sample_seed;
	s->invert = m->invert;
	if (g->text_re && atfh_select_text(s, g->text_re, g->icase, err, sizeof err))
		abort(); /* compiled once already */
	w->worker = true;
	w->tty_checked = true; /* the reader's check */
	w->count_only = g->count_only;
	w->whole_frames = g->whole_frames;
	atfh_msg_init(&w->msg);
	w->msg.lazy_ops = true;
	atfh_select_prefetch_hook(&w->sel, &w->msg);
	if (g->id.on) {
		w->idc = &g->id;
		w->loop.on_frame = worker_frame;
		w->loop.on_line = worker_line;
		w->loop.worker_chunk_end = worker_chunk_end;
	}
	return &w->loop;
}

static void worker_merge(struct atfh_loop *l, struct atfh_loop *wl)
{
	struct grep *g = l->ctx, *w = wl->ctx;
	g->kept += w->kept;
	g->written += w->written;
	w->kept = w->written = 0;
}

static void worker_free(struct atfh_loop *wl)
{
	struct grep *w = wl->ctx;
	memset(&w->sel.collections, 0, sizeof w->sel.collections); /* the reader's */
	memset(&w->sel.ignore, 0, sizeof w->sel.ignore);
	atfh_select_free(&w->sel);
	atfh_msg_free(&w->msg);
	atfh_trim_free(&w->trim);
	atfh_out_free(&w->scratch);
	atfh_out_free(&w->out);
	free(w->judge);
	free(w->dids);
	free(w);
}

/* In the reading thread, before each chunk: a frame output to a terminal
 * is refused before anything is read into threads; a DID set reload
 * waits until no chunk is in flight, so every event before it sees the
 * old set and every one after it the new. */
static void between_chunks(struct atfh_loop *l)
{
	struct grep *g = l->ctx;
	if (!g->tty_checked && !l->in_lines && !g->count_only) {
		g->tty_checked = true;
		atfh_refuse_tty(g->out.fd, "pipe it into atfh-decode, or use -o FILE or --count");
	}
	if (!g->have_dids)
		return;
	if (hup || (g->did_files.n && mono_coarse() >= g->next_check)) {
		atfh_loop_sync(l);
		if (maybe_reload(g) == ATFH_REC_STOP)
			l->stopped = true;
	}
}

int main(int argc, char **argv)
{
	static struct grep g;
	char err[256];
	atfh_cli_signals();
	atfh_select_init(&g.sel);
	atfh_loop_init(&g.loop, "atfh_grep");
	atfh_idcheck_init(&g.id);
	int first = atfh_cli_parse(&program, argc, argv, on_option, &g);

	if (g.text_re && atfh_select_text(&g.sel, g.text_re, g.icase, err, sizeof err)) {
		atfh_err("--text: %s", err);
		return ATFH_EXIT_FAIL;
	}
	if (g.sel.has_since && g.sel.has_until && g.sel.until_us <= g.sel.since_us)
		atfh_err("warning: --until is not after --since: nothing can match");
	if (g.did_args.n || g.did_files.n) {
		g.did_src = atfh_xcalloc(g.did_files.n + 1, sizeof *g.did_src);
		if (build_set(&g, &g.set))
			return ATFH_EXIT_FAIL;
		g.sel.dids = &g.set;
		g.have_dids = true;
		g.next_check = mono_coarse() + 1;
		struct sigaction sa = { .sa_handler = on_hup, .sa_flags = SA_RESTART };
		sigemptyset(&sa.sa_mask);
		sigaction(SIGHUP, &sa, NULL);
	}

	if (atfh_idcheck_start(&g.id, &g.loop, settle, &g))
		return ATFH_EXIT_FAIL;
	struct atfh_outfile of;
	if (atfh_outfile_open(&of, &g.out, g.output))
		return ATFH_EXIT_FAIL;
	atfh_msg_init(&g.msg);
	g.msg.lazy_ops = true; /* the DID, kind and time need no ops */
	atfh_idcheck_prefetch_hook(&g.id, &g.msg);
	atfh_select_prefetch_hook(&g.sel, &g.msg);
	g.loop.out = &g.out;
	g.loop.ctx = &g;
	g.loop.on_frame = on_frame;
	g.loop.on_line = on_line;
	/* -m stops at an event, -e runs libjq (not thread-safe), a signature
	 * is checked in the reading thread: one thread; --pds is judged there
	 * (pds_chunk_out) */
	if (!g.max_count && !g.sel.jq && !g.id.verify_sig && !g.id.metadata) {
		g.loop.worker_new = worker_new;
		g.loop.worker_merge = worker_merge;
		g.loop.worker_free = worker_free;
		g.loop.between_chunks = between_chunks;
		if (g.id.on) {
			g.loop.chunk_out = pds_chunk_out;
			g.loop.chunk_out_notes = true;
		}
	}
	int status = atfh_loop_run(&g.loop, argv + first, (size_t)(argc - first));
	if (g.count_only && !g.out.broken_pipe && !g.loop.abandoned) {
		char buf[32];
		int k = snprintf(buf, sizeof buf, "%llu\n", (unsigned long long)g.kept);
		atfh_out_put(&g.out, buf, (size_t)k);
	}
	status = atfh_outfile_finish(&of, &g.out, status);
	status = atfh_idcheck_finish(&g.id, status);
	if (status == ATFH_EXIT_OK && g.written == 0)
		status = ATFH_EXIT_NONE;
	atfh_msg_free(&g.msg);
	atfh_trim_free(&g.trim);
	atfh_out_free(&g.scratch);
	atfh_select_free(&g.sel);
	atfh_didset_free(&g.set);
	if (g.sel.jq)
		atfh_jqexpr_free(&g.jq);
	atfh_out_free(&g.out);
	free(g.did_src);
	free(g.runs);
	atfh_strv_free(&g.did_args);
	atfh_strv_free(&g.did_files);
	return status;
}
