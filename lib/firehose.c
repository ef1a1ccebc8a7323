/*
 * firehose.c — the subscription loop; see firehose.h.
 */
#include "firehose.h"
#include "cli.h"
#include "jsonscan.h"
#include "stats.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define BACKOFF_INITIAL 0.5
#define BACKOFF_CAP 60.0
#define QUERY_MAX 4000 /* longer Jetstream filters go in an options_update */
#define GAP_REPORTS_PER_MINUTE 10

static const char *const default_path[] = {
	[ATFH_FH_REPOS] = "/xrpc/com.atproto.sync.subscribeRepos",
	[ATFH_FH_LABELS] = "/xrpc/com.atproto.label.subscribeLabels",
	[ATFH_FH_JETSTREAM] = "/subscribe",
	[ATFH_FH_TAP] = "/channel",
};

void atfh_fh_init(struct atfh_firehose *f, enum atfh_fh_source source)
{
	memset(f, 0, sizeof *f);
	f->source = source;
	f->idle_ms = 60000;
	f->ping_ms = 30000;
	f->connect_timeout_ms = 30000;
	f->max_retries = -1;
	f->max_msg = ATFH_MAX_FRAME_DEFAULT;
	f->wake_fd = -1;
	atfh_msg_init(&f->msg);
	atfh_jsz_init(&f->jsz);
}

void atfh_fh_free(struct atfh_firehose *f)
{
	atfh_ws_free(&f->ws);
	atfh_msg_free(&f->msg);
	free(f->url);
	free(f->query);
	free(f->hello);
	free(f->bound);
	f->bound = NULL;
	f->nbound = f->capbound = 0;
	atfh_js_filter_free(&f->js);
	atfh_js_v2_free(&f->v2);
	atfh_jsz_free(&f->jsz);
	f->url = f->query = f->hello = NULL;
}

/* ---- URLs ------------------------------------------------------------------ */

char *atfh_fh_url(enum atfh_fh_source source, const char *arg, char *err, size_t errn)
{
	return atfh_fh_url_path(source, arg, NULL, err, errn);
}

char *atfh_fh_url_path(enum atfh_fh_source source, const char *arg, const char *dpath,
		       char *err, size_t errn)
{
	if (!dpath)
		dpath = default_path[source];
	const char *scheme = "wss";
	const char *rest = arg;
	const char *sep = strstr(arg, "://");
	if (sep) {
		size_t sl = (size_t)(sep - arg);
		if (sl == 3 && strncasecmp(arg, "wss", 3) == 0)
			scheme = "wss";
		else if (sl == 2 && strncasecmp(arg, "ws", 2) == 0)
			scheme = "ws";
		else if (sl == 5 && strncasecmp(arg, "https", 5) == 0)
			scheme = "wss";
		else if (sl == 4 && strncasecmp(arg, "http", 4) == 0)
			scheme = "ws";
		else {
			snprintf(err, errn, "'%s': not a ws://, wss:// or https:// URL", arg);
			return NULL;
		}
		rest = sep + 3;
	}
	size_t hl = strcspn(rest, "/?#");
	if (hl == 0 || strpbrk(arg, " \t\r\n")) {
		snprintf(err, errn, "'%s': no host name", arg);
		return NULL;
	}
	if (rest[hl] == '#') {
		snprintf(err, errn, "'%s': a URL fragment (#) makes no sense here", arg);
		return NULL;
	}
	const char *path = rest + hl;
	const char *q = strchr(path, '?');
	if (q && (strstr(q, "?cursor=") || strstr(q, "&cursor="))) {
		snprintf(err, errn, "'%s': give the cursor with --cursor or --cursor-file, "
			 "not in the URL", arg);
		return NULL;
	}
	bool bare = *path == '\0' || *path == '?' || (path[0] == '/' && (path[1] == '\0' || path[1] == '?'));
	size_t n = strlen(scheme) + 3 + strlen(rest) + strlen(dpath) + 1;
	char *url = atfh_xmalloc(n);
	if (bare)
		snprintf(url, n, "%s://%.*s%s%s", scheme, (int)hl, rest, dpath,
			 q ? q : "");
	else
		snprintf(url, n, "%s://%s", scheme, rest);
	return url;
}

static void append(char **s, size_t *len, size_t *cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void append(char **s, size_t *len, size_t *cap, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(*s ? *s + *len : NULL, *s ? *cap - *len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (*s && *len + (size_t)n < *cap) {
			*len += (size_t)n;
			return;
		}
		size_t need = *len + (size_t)n + 1;
		size_t nc = *cap ? *cap : 256;
		while (nc < need)
			nc *= 2;
		*s = atfh_xrealloc(*s, nc);
		*cap = nc;
		if (*len == 0)
			(*s)[0] = '\0';
	}
}

bool atfh_fh_collection_valid(const char *s)
{
	return atfh_js_collection_valid(s, strlen(s));
}

void atfh_fh_jetstream_filter(struct atfh_firehose *f, char *const *collections, size_t ncol,
			      char *const *dids, size_t ndids)
{
	atfh_js_filter_set(&f->js, collections, ncol, dids, ndids);
	free(f->query);
	free(f->hello);
	f->query = f->hello = NULL;
	char *q = atfh_js_filter_query(&f->js, f->js_v2);
	if (f->js_v2 || strlen(q) <= QUERY_MAX) { /* v2 takes no client messages */
		f->query = q;
		return;
	}
	free(q);
	f->hello = atfh_js_filter_update(&f->js);
	f->query = atfh_xstrdup("requireHello=true");
}

void atfh_fh_js_boundary(struct atfh_firehose *f, const uint64_t *ids, size_t n)
{
	atfh_grow_array((void **)&f->bound, &f->capbound, n ? n : 1, sizeof *f->bound);
	if (n)
		memcpy(f->bound, ids, n * sizeof *ids);
	f->nbound = n;
}

static bool bound_has(const struct atfh_firehose *f, uint64_t id)
{
	for (size_t i = 0; i < f->nbound; i++)
		if (f->bound[i] == id)
			return true;
	return false;
}

static void bound_add(struct atfh_firehose *f, uint64_t id)
{
	atfh_grow_array((void **)&f->bound, &f->capbound, f->nbound + 1, sizeof *f->bound);
	f->bound[f->nbound++] = id;
}

static char *connect_url(struct atfh_firehose *f)
{
	char *u = NULL;
	size_t ul = 0, uc = 0;
	bool has_q = strchr(f->url, '?') != NULL;
	append(&u, &ul, &uc, "%s", f->url);
	if (f->query && *f->query) {
		append(&u, &ul, &uc, "%c%s", has_q ? '&' : '?', f->query);
		has_q = true;
	}
	if (f->js_compress && f->jsz.id) {
		append(&u, &ul, &uc, "%czstdDictionary=%u", has_q ? '&' : '?', (unsigned)f->jsz.id);
		has_q = true;
	}
	if (f->has_last)
		append(&u, &ul, &uc, "%ccursor=%lld", has_q ? '&' : '?', (long long)f->last);
	return u;
}

/* ---- messages ------------------------------------------------------------ */

enum session_end {
	END_RETRY,     /* reconnect */
	END_STOP,      /* the caller or a signal ended the run */
	END_FATAL,     /* exit 2 */
	END_MALFORMED, /* --strict */
	END_REFILTER,  /* reconnect now, with the new filter */
	GO_ON,         /* not an end: the session goes on */
};

static bool stopping(struct atfh_firehose *f)
{
	return f->stop_flag && *f->stop_flag;
}

static const char *pos_name(const struct atfh_firehose *f)
{
	if (f->source == ATFH_FH_TAP)
		return "event";
	if (f->source != ATFH_FH_JETSTREAM)
		return "seq";
	return f->has_last && f->last < ATFH_JS_TIME_MIN ? "cursor" : "time_us";
}

static void report_gap(struct atfh_firehose *f, int64_t from, int64_t to)
{
	uint64_t missing = (uint64_t)(to - from - 1);
	f->gaps++;
	f->missing += missing;
	double now = atfh_now();
	if (now - f->gap_window >= 60) {
		if (f->gaps_quiet)
			atfh_err("%llu more seq gaps (%llu events missing) in the last minute",
				 (unsigned long long)f->gaps_quiet,
				 (unsigned long long)f->missing_quiet);
		f->gap_window = now;
		f->gap_reports = 0;
		f->gaps_quiet = f->missing_quiet = 0;
	}
	if (f->gap_reports < GAP_REPORTS_PER_MINUTE) {
		f->gap_reports++;
		atfh_err("seq gap: %lld follows %lld (%llu event%s missing)", (long long)to,
			 (long long)from, (unsigned long long)missing, missing == 1 ? "" : "s");
	} else {
		f->gaps_quiet++;
		f->missing_quiet += missing;
	}
}

static void late_seq(struct atfh_firehose *f, int64_t pos)
{
	f->late++;
	if (f->missing)
		f->missing--;
	if (f->gap_reports < GAP_REPORTS_PER_MINUTE) {
		f->gap_reports++;
		atfh_err("seq %lld came late (after seq %lld); written now", (long long)pos,
			 (long long)f->last);
	}
}

bool atfh_fh_accept(struct atfh_firehose *f, const struct atfh_fh_item *it, bool live)
{
	if (!it->has_pos)
		return true;
	int64_t pos = it->pos;
	bool seqs = f->source != ATFH_FH_JETSTREAM; /* time_us is not unique */
	if (seqs && !f->seen_init) {
		atfh_seqwin_init(&f->seen, f->has_last, f->last);
		f->seen_init = true;
	}
	if (live && f->asked && !f->ignored_named &&
	    (seqs ? pos <= f->asked_pos : pos < f->asked_pos)) {
		f->ignored_named = true;
		atfh_err("the server ignores the cursor: asked for what follows %s %lld, it sent "
			 "%s %lld", pos_name(f), (long long)f->asked_pos, pos_name(f), (long long)pos);
	}
	bool backward = f->have_prev && pos < f->prev;
	bool written = f->has_last && pos <= f->last &&
		       (!seqs || atfh_seqwin_has(&f->seen, pos));
	if (backward) {
		f->backward++;
		if (written)
			atfh_err("%s went back from %lld to %lld; dropping what was already written",
				 pos_name(f), (long long)f->prev, (long long)pos);
	}
	f->have_prev = true;
	f->prev = pos;
	if (written) {
		f->duplicates++;
		/* Jetstream's cursor is inclusive: the event at it comes again */
		bool expected = !seqs && pos == f->last;
		if (live && !f->in_dup_run && !backward && !expected)
			atfh_err("dropping messages already written (%s %lld, last written %lld)",
				 pos_name(f), (long long)pos, (long long)f->last);
		f->in_dup_run = true;
		return false;
	}
	f->in_dup_run = false;
	f->advanced++;
	if (seqs)
		atfh_seqwin_mark(&f->seen, pos);
	if (f->has_last && pos < f->last) { /* not written, below the highest: late */
		if (live)
			late_seq(f, pos);
		else
			f->late++;
		return true;
	}
	if (live && seqs && f->has_last && pos > f->last + 1)
		report_gap(f, f->last, pos);
	f->has_last = true;
	f->last = pos;
	return true;
}

/* Report why this attempt failed, and keep it for --max-retries. */
static void failure(struct atfh_firehose *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failure(struct atfh_firehose *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->reason, sizeof f->reason, fmt, ap);
	va_end(ap);
	atfh_err("%s", f->reason);
	static const char tail[] = "; reconnecting";
	size_t n = strlen(f->reason);
	if (n >= sizeof tail - 1 && strcmp(f->reason + n - (sizeof tail - 1), tail) == 0)
		f->reason[n - (sizeof tail - 1)] = '\0';
}

static enum session_end malformed(struct atfh_firehose *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static enum session_end malformed(struct atfh_firehose *f, const char *fmt, ...)
{
	char buf[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	f->malformed++;
	if (f->has_last)
		atfh_err("message %llu (after %s %lld): %s; skipped",
			 (unsigned long long)f->messages, pos_name(f), (long long)f->last, buf);
	else
		atfh_err("message %llu: %s; skipped", (unsigned long long)f->messages, buf);
	return f->strict ? END_MALFORMED : GO_ON;
}

int atfh_fh_malformed(struct atfh_firehose *f, const char *fmt, ...)
{
	char buf[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return malformed(f, "%s", buf) == END_MALFORMED ? ATFH_FH_MALFORMED : ATFH_FH_GO_ON;
}

/* What a message hook answered, as the end of a session (or none). */
static enum session_end hook_end(int r)
{
	switch (r) {
	case ATFH_FH_STOP:
		return END_STOP;
	case ATFH_FH_MALFORMED:
		return END_MALFORMED;
	case ATFH_FH_FATAL:
		return END_FATAL;
	default:
		return GO_ON;
	}
}

static int printable(const struct atfh_str *s, char *buf, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < s->n && k + 1 < n; i++) {
		unsigned char c = (unsigned char)s->p[i];
		buf[k++] = c >= 0x20 && c != 0x7f ? (char)c : '?';
	}
	buf[k] = '\0';
	return (int)k;
}

/* " (message)" of an info or error frame, or "" */
static void in_parens(const struct atfh_msg *m, char *buf, size_t n)
{
	char text[200];
	buf[0] = '\0';
	if (m->has_message && printable(&m->message, text, sizeof text) > 0)
		snprintf(buf, n, " (%s)", text);
}

static enum session_end frame_message(struct atfh_firehose *f, const uint8_t *p, size_t n)
{
	struct atfh_msg *m = &f->msg;
	if (f->ws.text)
		return malformed(f, "a text message of %zu bytes where binary frames are expected", n);
	if (atfh_msg_parse(m, p, n))
		return malformed(f, "not a firehose message (%zu bytes): %s", n, m->err);
	if (m->kind == ATFH_K_ERROR) {
		char name[64], text[256] = "";
		printable(&m->error, name, sizeof name);
		in_parens(m, text, sizeof text);
		f->error_frames++;
		if (ATFH_STR_IS(m->error, "FutureCursor")) {
			atfh_err("the server says FutureCursor%s: cursor %lld is ahead of its newest "
				 "event; was it reset? Start again without the cursor, or with a "
				 "smaller one", text, (long long)f->last);
			return END_FATAL;
		}
		failure(f, "the server sent error %s%s; reconnecting", name, text);
		return END_RETRY;
	}
	struct atfh_fh_item it = {
		.p = p, .n = n,
		.has_pos = m->has_seq, .pos = m->seq,
		.has_time = m->has_time, .time_us = m->time_us,
	};
	if (m->kind == ATFH_K_INFO) {
		char name[64], text[256] = "";
		printable(&m->name, name, sizeof name);
		in_parens(m, text, sizeof text);
		if (ATFH_STR_IS(m->name, "OutdatedCursor"))
			atfh_err("warning: the server says OutdatedCursor%s: events between cursor %lld "
				 "and the oldest it still holds are lost", text, (long long)f->last);
		else
			atfh_err("the server says %s%s", name, text);
	}
	if (!atfh_fh_accept(f, &it, true))
		return GO_ON;
	return f->write(f, &it) == ATFH_FH_STOP ? END_STOP : GO_ON;
}

/*
 * Jetstream positions.  A line with "cursor" carries Jetstream's own seq:
 * unique, so it is deduplicated like a relay's seq (?cursor=N is
 * inclusive: the event at N comes again and is dropped as written).  A
 * legacy line without one has only time_us, which the ops of one commit
 * share: the resume is at that time_us (inclusive), and of the events that
 * carry it only those written before (their identities kept in f->bound)
 * are dropped.  A time_us cursor (from --cursor, or a legacy run) answered
 * with seqs is compared by time once, then the seqs take over.
 */
static bool js_accept(struct atfh_firehose *f, const struct atfh_js_pos *p,
		      struct atfh_fh_item *it)
{
	bool last_is_time = f->has_last && f->last >= ATFH_JS_TIME_MIN;
	bool written, expected = false;
	if (p->has_cursor && !last_is_time) {
		if (!f->seen_init) {
			atfh_seqwin_init(&f->seen, f->has_last, f->last);
			f->seen_init = true;
		}
		int64_t c = p->cursor;
		if (f->asked && !f->ignored_named && f->asked_pos < ATFH_JS_TIME_MIN &&
		    c < f->asked_pos) {
			f->ignored_named = true;
			atfh_err("the server ignores the cursor: asked for cursor %lld on, it sent "
				 "cursor %lld", (long long)f->asked_pos, (long long)c);
		}
		written = f->has_last && c <= f->last && atfh_seqwin_has(&f->seen, c);
		expected = f->asked && c == f->asked_pos;
		it->pos = c;
		if (!written) {
			atfh_seqwin_mark(&f->seen, c);
			if (f->has_last && c < f->last) {
				f->late++;
			} else {
				f->has_last = true;
				f->last = c;
			}
		}
	} else if (!p->has_cursor && f->has_last && !last_is_time) {
		/* a seq cursor, and a server without them: nothing to compare */
		written = false;
		it->rebase = true;
		f->has_last = true;
		f->last = p->time_us;
		f->nbound = 0;
		bound_add(f, p->id);
		it->pos = p->time_us;
	} else {
		int64_t t = p->time_us;
		if (f->asked && !f->ignored_named && f->asked_pos >= ATFH_JS_TIME_MIN &&
		    t < f->asked_pos) {
			f->ignored_named = true;
			atfh_err("the server ignores the cursor: asked for time_us %lld on, it sent "
				 "time_us %lld", (long long)f->asked_pos, (long long)t);
		}
		written = f->has_last && (t < f->last || (t == f->last && bound_has(f, p->id)));
		expected = f->has_last && t == f->last;
		if (!written && p->has_cursor) { /* the first seq after a time_us cursor */
			it->rebase = true;
			atfh_seqwin_init(&f->seen, false, 0);
			f->seen_init = true;
			atfh_seqwin_mark(&f->seen, p->cursor);
			f->last = p->cursor;
			f->has_last = true;
			it->pos = p->cursor;
		} else if (!written) {
			if (!f->has_last || t > f->last)
				f->nbound = 0;
			bound_add(f, p->id);
			f->has_last = true;
			f->last = t;
			it->pos = t;
		}
	}
	if (written) {
		f->duplicates++;
		if (!f->in_dup_run && !expected)
			atfh_err("dropping messages already written (%s %lld, last written %lld)",
				 p->has_cursor && !last_is_time ? "cursor" : "time_us",
				 (long long)(p->has_cursor && !last_is_time ? p->cursor : p->time_us),
				 (long long)f->last);
		f->in_dup_run = true;
		return false;
	}
	f->in_dup_run = false;
	f->advanced++;
	it->has_pos = true;
	return true;
}

/* A v2 frame: an event as its v1 line in *P, *N (GO_ON); #info reported
 * (END_STOP standing for "nothing to write"); an error frame ends the
 * connection (the server closes it right after). */
static enum session_end v2_frame(struct atfh_firehose *f, uint8_t **p, size_t *n)
{
	const char *err;
	struct atfh_js_v2 *v = &f->v2;
	if (atfh_js_v2_frame((const char *)*p, *n, v, &err))
		return malformed(f, "not a Jetstream v2 frame: %s", err);
	if (v->type == ATFH_JS_ERROR) {
		f->error_frames++;
		failure(f, "the server sent error %s%s%s; reconnecting", v->name,
			*v->message ? ": " : "", v->message);
		return END_RETRY;
	}
	if (v->type == ATFH_JS_INFO) {
		if (strcmp(v->name, "OutdatedCursor") == 0)
			atfh_err("warning: the server says OutdatedCursor%s%s: the events before "
				 "the oldest it still holds are lost", *v->message ? ": " : "",
				 v->message);
		else
			atfh_err("the server says %s%s%s", v->name, *v->message ? ": " : "",
				 v->message);
		return END_STOP;
	}
	*p = (uint8_t *)v->line;
	*n = v->len;
	return GO_ON;
}

static enum session_end jetstream_message(struct atfh_firehose *f, uint8_t *p, size_t n)
{
	if (!f->ws.text && f->js_compress) {
		/* one zstd frame whose text is the xrpc.v1.json frame */
		if (atfh_jsz_decompress(&f->jsz, p, n, f->max_msg))
			return malformed(f, "a compressed message of %zu bytes: %s", n, f->jsz.err);
		p = f->jsz.out;
		n = f->jsz.len;
	} else if (!f->ws.text) {
		return malformed(f, "a binary message of %zu bytes where Jetstream sends JSON", n);
	}
	if (f->js_v2) {
		enum session_end e = v2_frame(f, &p, &n);
		if (e != GO_ON)
			return e == END_STOP ? GO_ON : e;
	}
	struct atfh_js_pos pos;
	const char *err;
	if (atfh_js_line_pos((const char *)p, n, &pos, &err))
		return malformed(f, "not a Jetstream event: %s", err);
	/* valid JSON has raw line breaks only as white space: keep it one line */
	for (uint8_t *q = p, *end = p + n; (q = memchr(q, '\n', (size_t)(end - q)));)
		*q++ = ' ';
	for (uint8_t *q = p, *end = p + n; (q = memchr(q, '\r', (size_t)(end - q)));)
		*q++ = ' ';
	struct atfh_fh_item it = {
		.p = p, .n = n, .text = true, .has_time = true, .time_us = pos.time_us,
	};
	if (!js_accept(f, &pos, &it))
		return GO_ON;
	return f->write(f, &it) == ATFH_FH_STOP ? END_STOP : GO_ON;
}

/* ---- the connection ------------------------------------------------------ */

bool atfh_fh_pause(struct atfh_firehose *f, double ms)
{
	double until = atfh_now() + ms / 1000;
	for (;;) {
		if (stopping(f))
			return false;
		double left = (until - atfh_now()) * 1000;
		if (left <= 0)
			return true;
		int lim = f->idle ? f->idle(f) : -1;
		if (lim == ATFH_FH_IDLE_STOP)
			return false;
		int t = left > 1e9 ? 1000000000 : (int)left + 1;
		if (lim >= 0 && lim < t)
			t = lim;
		struct pollfd p = { .fd = f->wake_fd, .events = POLLIN };
		int r = poll(&p, f->wake_fd >= 0 ? 1 : 0, t);
		if (r > 0)
			return false;
	}
}

static int until_ms(double now, double at)
{
	double d = (at - now) * 1000;
	return d <= 0 ? 0 : d > 1e9 ? 1000000000 : (int)d + 1;
}

/* Jetstream closes with 1007 (a message it cannot read) or 1008 (a
 * filter it does not take), or with 1000 and a reason right after an
 * options_update: trying again would get the same. */
static bool filter_rejected(const struct atfh_firehose *f)
{
	int c = f->ws.close_code;
	return c == 1007 || c == 1008 || (c == 1000 && f->ws.close_reason[0] && f->sent_update);
}

/* A new filter while connected: an options_update on v1. */
static enum session_end send_filter(struct atfh_firehose *f)
{
	char *u = atfh_js_filter_update(&f->js);
	int r = atfh_ws_send_text(&f->ws, u, strlen(u), 10000);
	free(u);
	if (r) {
		failure(f, "cannot send the new Jetstream filter: %s; reconnecting with it", f->ws.err);
		return END_RETRY;
	}
	f->sent_update = true;
	return GO_ON;
}

/*
 * Two clocks watch a connection.  The idle timeout counts from the last
 * whole message: a relay whose socket is alive but sends nothing (or drips
 * the bytes of a message that never ends) is replaced.  The ping interval
 * counts from the last byte of any kind: after that long of silence a ping
 * goes out, and a socket that stays silent as long again is dead.
 */
static enum session_end session(struct atfh_firehose *f)
{
	struct atfh_ws *w = &f->ws;
	double last_msg = atfh_now(), last_activity = last_msg, ping_at = 0;
	double next_refilter = last_msg + 1;
	bool pinged = false;
	f->have_prev = false;
	f->in_dup_run = false;
	w->activity = w->msg_done = false;
	f->sent_update = false;
	if (f->hello && atfh_ws_send_text(w, f->hello, strlen(f->hello), 10000)) {
		failure(f, "cannot send the Jetstream options: %s; reconnecting", w->err);
		return END_RETRY;
	}
	f->sent_update = f->hello != NULL;
	for (;;) {
		enum atfh_ws_status s = atfh_ws_recv(w);
		enum session_end e = GO_ON;
		switch (s) {
		case ATFH_WS_MSG:
			f->messages++;
			f->rx_bytes += w->len;
			if (f->message)
				e = hook_end(f->message(f, w->msg, w->len, w->text));
			else if (f->source == ATFH_FH_JETSTREAM)
				e = jetstream_message(f, w->msg, w->len);
			else
				e = frame_message(f, w->msg, w->len);
			if (e == GO_ON && stopping(f))
				e = END_STOP;
			break;
		case ATFH_WS_TOOBIG:
			f->messages++;
			f->rx_bytes += w->dropped;
			e = malformed(f, "a message of %llu bytes is over the limit of %zu (--max-frame)",
				      (unsigned long long)w->dropped, f->max_msg);
			break;
		case ATFH_WS_CLOSED:
			if (f->source == ATFH_FH_JETSTREAM && filter_rejected(f)) {
				atfh_err("the server rejected the filter (close code %d): %s",
					 w->close_code, w->close_reason[0] ? w->close_reason : "no reason given");
				return END_FATAL;
			}
			failure(f, "connection lost: %s", w->err);
			return END_RETRY;
		case ATFH_WS_AGAIN: {
			if (stopping(f))
				return END_STOP;
			double now = atfh_now();
			if (f->refilter && ((f->reload_flag && *f->reload_flag) || now >= next_refilter)) {
				bool sig = f->reload_flag && *f->reload_flag;
				if (f->reload_flag)
					*f->reload_flag = 0;
				next_refilter = now + 1;
				if (f->refilter(f, sig)) {
					if (f->js_v2) {
						if (f->has_last)
							atfh_err("the filter changed: reconnecting with it "
								 "at cursor %lld", (long long)f->last);
						else
							atfh_err("the filter changed: reconnecting with it");
						return END_REFILTER;
					}
					enum session_end r = send_filter(f);
					if (r != GO_ON)
						return r;
				}
			}
			if (w->activity) {
				w->activity = false;
				last_activity = now;
				pinged = false;
			}
			if (w->msg_done) {
				w->msg_done = false;
				last_msg = now;
			}
			int lim = f->idle ? f->idle(f) : -1;
			if (lim == ATFH_FH_IDLE_STOP)
				return END_STOP;
			if (f->idle_ms && (now - last_msg) * 1000 >= (double)f->idle_ms) {
				failure(f, "no message for %.1f s (--idle-timeout)%s; reconnecting",
					now - last_msg,
					last_activity > last_msg ? " though the socket is alive" : "");
				return END_RETRY;
			}
			if (f->ping_ms && pinged && (now - ping_at) * 1000 >= (double)f->ping_ms) {
				failure(f, "no answer to a ping for %.1f s (--ping-interval): the "
					"connection is dead; reconnecting", now - ping_at);
				return END_RETRY;
			}
			if (f->ping_ms && !pinged && (now - last_activity) * 1000 >= (double)f->ping_ms) {
				pinged = true;
				ping_at = now;
				if (atfh_ws_send_ping(w)) {
					failure(f, "connection lost: %s", w->err);
					return END_RETRY;
				}
			}
			int t = lim;
			if (f->idle_ms) {
				int u = until_ms(now, last_msg + (double)f->idle_ms / 1000);
				t = t < 0 || u < t ? u : t;
			}
			if (f->refilter) {
				int u = until_ms(now, next_refilter);
				t = t < 0 || u < t ? u : t;
			}
			if (f->ping_ms) {
				double at = pinged ? ping_at : last_activity;
				int u = until_ms(now, at + (double)f->ping_ms / 1000);
				t = t < 0 || u < t ? u : t;
			}
			atfh_ws_wait(w, t);
			break;
		}
		}
		if (e != GO_ON)
			return e;
	}
}

static bool fatal_status(long code)
{
	return code >= 400 && code < 500 && code != 408 && code != 425 && code != 429;
}

static bool redirect_status(long code)
{
	return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
}

#define REDIRECTS_MAX 5

/* LOC with the cursor of URL's query added when it has none. */
static char *keep_cursor(struct atfh_firehose *f, const char *loc)
{
	char *u = NULL;
	size_t ul = 0, uc = 0;
	size_t n = strcspn(loc, "#");
	append(&u, &ul, &uc, "%.*s", (int)n, loc);
	const char *q = strchr(u, '?');
	if (f->has_last && !(q && (strstr(q, "?cursor=") || strstr(q, "&cursor="))))
		append(&u, &ul, &uc, "%ccursor=%lld", q ? '&' : '?', (long long)f->last);
	return u;
}

/* What a refused upgrade's body says: an XRPC error ({"error","message"},
 * Jetstream v2, relays) by its name, else its first line. */
static void refused(struct atfh_firehose *f, const char *url)
{
	char name[64], msg[400];
	struct atfh_ws *w = &f->ws;
	if (!atfh_js_xrpc_error(w->body, strlen(w->body), name, sizeof name, msg, sizeof msg)) {
		atfh_err("%s: HTTP %ld says: %s", url, w->http_status, w->body);
		return;
	}
	atfh_err("%s: HTTP %ld: %s%s%s", url, w->http_status, name, *msg ? ": " : "", msg);
	int64_t floor;
	if (strcmp(name, "CursorTooOld") == 0 && atfh_js_last_number(msg, &floor))
		atfh_err("cursor %lld is older than the oldest event the server keeps (seq %lld): "
			 "the events between are gone from it; start again with --cursor %lld "
			 "(or without a cursor) to go on from there", (long long)f->last,
			 (long long)floor, (long long)(floor > 0 ? floor - 1 : 0));
}

/* Connect to *URL, following redirects of the upgrade to ws:// and wss://
 * URLs (*URL becomes the last).  0, or -1 after reporting why not. */
static int connect_following(struct atfh_firehose *f, char **url)
{
	char *seen[REDIRECTS_MAX + 1];
	int nseen = 0;
	int rc;
	for (;;) {
		rc = atfh_ws_connect(&f->ws, *url, (long)f->connect_timeout_ms, f->wake_fd);
		long code = f->ws.http_status;
		if (rc == 0 || stopping(f) || !redirect_status(code))
			break;
		const char *loc = f->ws.location;
		if (!*loc) {
			failure(f, "%s: HTTP %ld, a redirect without a Location", *url, code);
			rc = -2;
			break;
		}
		if (strncasecmp(loc, "ws://", 5) && strncasecmp(loc, "wss://", 6)) {
			failure(f, "%s: HTTP %ld redirects to %s, not a ws:// or wss:// URL", *url, code,
				loc);
			rc = -2;
			break;
		}
		char *next = keep_cursor(f, loc);
		bool loop = strcmp(next, *url) == 0;
		for (int i = 0; i < nseen && !loop; i++)
			loop = strcmp(next, seen[i]) == 0;
		if (loop || nseen == REDIRECTS_MAX) {
			failure(f, "%s: HTTP %ld redirects to %s: %s", *url, code, next,
				loop ? "a redirect loop" : "too many redirects (" "5" ")");
			free(next);
			rc = -2;
			break;
		}
		atfh_err("%s: redirected (HTTP %ld) to %s", *url, code, next);
		seen[nseen++] = *url;
		*url = next;
	}
	for (int i = 0; i < nseen; i++)
		free(seen[i]);
	if (rc == -1 && !stopping(f)) {
		failure(f, "%s: %s", *url, f->ws.err);
		if (f->ws.body[0])
			refused(f, *url);
	}
	return rc < 0 ? -1 : 0;
}

#define RETRY_AFTER_CAP 600.0

/* --compress: the dictionary, fetched from the stream's host.  0; -1 try
 * again later (a failed attempt); -2 the answer is wrong: end the run. */
static int fetch_dictionary(struct atfh_firehose *f)
{
	char *u = atfh_jsz_url(f->url);
	bool transient;
	int r = atfh_jsz_fetch(&f->jsz, u, &f->ws, (long)f->connect_timeout_ms, f->stop_flag,
			       &transient);
	free(u);
	if (r == 0)
		return 0;
	if (stopping(f))
		return -1;
	if (transient) {
		failure(f, "cannot fetch the zstd dictionary (--compress): %s", f->jsz.err);
		return -1;
	}
	atfh_err("cannot fetch the zstd dictionary (--compress): %s", f->jsz.err);
	return -2;
}

/* Was the upgrade refused because the dictionary was retired? */
static bool dictionary_retired(const struct atfh_firehose *f)
{
	char name[64], msg[8];
	const struct atfh_ws *w = &f->ws;
	return f->js_compress && w->http_status == 400 &&
	       atfh_js_xrpc_error(w->body, strlen(w->body), name, sizeof name, msg, sizeof msg) &&
	       strcmp(name, "UnknownZstdDictionary") == 0;
}

int atfh_fh_run(struct atfh_firehose *f)
{
	atfh_ws_init(&f->ws, f->max_msg);
	f->ws.user_agent = f->user_agent;
	f->ws.cainfo = f->cainfo;
	f->ws.capath = f->capath;
	f->ws.username = f->username;
	f->ws.password = f->password;
	f->max_msg = f->max_msg ? f->max_msg : ATFH_MAX_FRAME_DEFAULT;
	atfh_backoff_init(&f->backoff, BACKOFF_INITIAL, BACKOFF_CAP);
	bool first = true;
	int status = ATFH_EXIT_OK;
	for (;;) {
		if (stopping(f))
			break;
		char *url = connect_url(f);
		f->reason[0] = '\0';
		f->asked = f->has_last;
		f->asked_pos = f->last;
		f->ignored_named = false;
		uint64_t advanced = f->advanced;
		int dict = f->js_compress && !f->jsz.id ? fetch_dictionary(f) : 0;
		if (dict == -2) {
			free(url);
			status = ATFH_EXIT_FAIL;
			break;
		}
		if (dict == 0 && f->js_compress) { /* the URL with the dictionary's ID */
			free(url);
			url = connect_url(f);
		}
		int rc = dict < 0 ? 0 : connect_following(f, &url);
		enum session_end e;
		double wait_at_least = 0;
		if (dict < 0) {
			e = END_RETRY;
		} else if (rc < 0) {
			if (stopping(f)) {
				free(url);
				break;
			}
			long code = f->ws.http_status;
			if (dictionary_retired(f)) {
				free(url);
				if (f->jsz_refetched) {
					atfh_err("the server refuses zstd dictionary %u, which it has just "
						 "served as its current one: giving up", (unsigned)f->jsz.id);
					status = ATFH_EXIT_FAIL;
					break;
				}
				atfh_err("zstd dictionary %u was retired: fetching the current one",
					 (unsigned)f->jsz.id);
				f->jsz_refetched = true;
				atfh_jsz_drop(&f->jsz);
				first = false;
				continue;
			}
			if (fatal_status(code) || f->ws.cert_error) {
				if (code == 401 && f->auth_hint)
					atfh_err("%s", f->auth_hint);
				free(url);
				status = ATFH_EXIT_FAIL;
				break;
			}
			if ((code == 429 || code == 503) && f->ws.retry_after >= 0) {
				double ra = f->ws.retry_after;
				wait_at_least = ra > RETRY_AFTER_CAP ? RETRY_AFTER_CAP : ra;
				if (ra > RETRY_AFTER_CAP)
					atfh_err("the server asks to wait %.0f s (Retry-After); waiting "
						 "%.0f s, the most atfh-subscribe waits", ra, RETRY_AFTER_CAP);
				else
					atfh_err("the server asks to wait %.0f s (Retry-After)", ra);
			}
			e = END_RETRY;
		} else {
			f->connected = true;
			f->jsz_refetched = false;
			if (!first)
				atfh_err("reconnected to %s", url);
			e = session(f);
			if (e == END_STOP && f->closing)
				f->closing(f);
			atfh_ws_close(&f->ws);
			f->connected = false;
		}
		free(url);
		if (e == END_STOP)
			break;
		if (e == END_REFILTER) {
			first = false;
			f->reconnects++;
			continue;
		}
		if (e == END_FATAL) {
			status = ATFH_EXIT_FAIL;
			break;
		}
		if (e == END_MALFORMED) {
			status = ATFH_EXIT_MALFORMED;
			break;
		}
		if (stopping(f))
			break;
		/* a success is a connection that wrote something new */
		if (f->advanced > advanced) {
			atfh_backoff_reset(&f->backoff);
			f->failed_in_row = 0;
		} else {
			f->failed_in_row++;
			if (!f->reason[0] || strncmp(f->reason, "connection lost: the server closed", 34) == 0)
				snprintf(f->reason, sizeof f->reason,
					 "the connection brought no new %s", pos_name(f));
		}
		if (f->max_retries >= 0 && f->backoff.failures >= (uint64_t)f->max_retries) {
			if (f->failed_in_row)
				atfh_err("giving up after %llu failed attempt%s in a row (--max-retries "
					 "%lld); the last: %s", (unsigned long long)f->failed_in_row,
					 f->failed_in_row == 1 ? "" : "s", (long long)f->max_retries,
					 f->reason);
			else
				atfh_err("not reconnecting (--max-retries %lld)", (long long)f->max_retries);
			status = ATFH_EXIT_FAIL;
			break;
		}
		double d = atfh_backoff_next(&f->backoff);
		if (d < wait_at_least)
			d = wait_at_least;
		if (f->has_last)
			atfh_err("reconnecting in %.1f s (resuming after %s %lld)", d, pos_name(f),
				 (long long)f->last);
		else
			atfh_err("reconnecting in %.1f s", d);
		first = false;
		f->reconnects++;
		if (!atfh_fh_pause(f, d * 1000))
			break;
	}
	return status;
}
