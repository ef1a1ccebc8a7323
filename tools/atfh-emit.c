/*
 * atfh-emit — events to Kafka (or Azure Event Hubs), one message per event,
 * and with -C back from Kafka to NDJSON or frames.  kcat-style options.
 */
#include "cli.h"
#include "connstr.h"
#include "cursor.h"
#include "event.h"
#include "evpath.h"
#include "format.h"
#include "kafka.h"
#include "loop.h"
#include "out.h"
#include "parallel.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_SASL_USER = ATFH_OPT_TOOL_FIRST,
	OPT_SASL_PASS,
	OPT_CONNSTR,
	OPT_FLUSH_TIMEOUT,
	OPT_CURSOR_FILE,
	OPT_BROKERS_ALIAS,
	OPT_TOPIC_ALIAS,
	OPT_CLOUDEVENTS,
};

static const char *const codecs[] = { "none", "gzip", "snappy", "lz4", "zstd", NULL };
static const char *const ce_modes[] = { "binary", "structured", NULL };
enum { CE_NONE, CE_BINARY, CE_STRUCTURED };

static const struct atfh_option options[] = {
	{ 'b', "brokers", "LIST", ATFH_ARG_STRING, NULL,
	  "bootstrap servers host:port,... (env KAFKA_BOOTSTRAP_SERVERS)" },
	{ OPT_BROKERS_ALIAS, "kafka-bootstrap-servers", "LIST", ATFH_ARG_STRING, NULL,
	  "the same as --brokers" },
	{ 't', "topic", "TOPIC", ATFH_ARG_STRING, NULL,
	  "topic, may be a template: bsky.{collection} (env KAFKA_TOPIC)" },
	{ OPT_TOPIC_ALIAS, "kafka-topic", "TOPIC", ATFH_ARG_STRING, NULL,
	  "the same as --topic" },
	{ 'k', "key", "PATH", ATFH_ARG_STRING, NULL,
	  "message key: the event's PATH (default did), none for no key" },
	{ 'p', "partition", "N", ATFH_ARG_NUMBER, NULL,
	  "produce to (or consume) partition N only" },
	{ 'H', "header", "NAME=VALUE", ATFH_ARG_STRING, NULL,
	  "add a header to every message (repeatable)" },
	{ 'X', "property", "PROP=VALUE", ATFH_ARG_STRING, NULL,
	  "set a librdkafka property (repeatable)" },
	{ 'F', "config", "FILE", ATFH_ARG_FILE, NULL,
	  "read librdkafka properties from FILE" },
	{ 'z', "compression", "CODEC", ATFH_ARG_CHOICE, codecs,
	  "compress batches: none, gzip, snappy, lz4, zstd" },
	{ OPT_SASL_USER, "sasl-username", "USER", ATFH_ARG_STRING, NULL,
	  "SASL PLAIN over TLS user (env SASL_USERNAME)" },
	{ OPT_SASL_PASS, "sasl-password", "PASS", ATFH_ARG_STRING, NULL,
	  "SASL password (env SASL_PASSWORD)" },
	{ OPT_CONNSTR, "connection-string", "STR", ATFH_ARG_STRING, NULL,
	  "Event Hubs connection string (env EVENTHUB_CONNECTION_STRING)" },
	{ OPT_CLOUDEVENTS, "cloudevents", "MODE", ATFH_ARG_CHOICE, ce_modes,
	  "send jetstream events as CloudEvents: binary (ce_ headers) or structured" },
	{ OPT_FLUSH_TIMEOUT, "flush-timeout", "DUR", ATFH_ARG_DURATION, NULL,
	  "at the end wait DUR for delivery reports (default 30s)" },
	{ OPT_CURSOR_FILE, "cursor-file", "FILE", ATFH_ARG_FILE, NULL,
	  "keep the highest seq acknowledged with all before it in FILE" },
	{ 'C', "consume", NULL, ATFH_ARG_NONE, NULL,
	  "consume: write the topic's messages to stdout" },
	{ 'G', "group", "GROUP", ATFH_ARG_STRING, NULL,
	  "consume as a member of consumer group GROUP" },
	{ 'o', "offset", "WHERE", ATFH_ARG_STRING, NULL,
	  "consume from beginning, end, OFFSET or -N (N before the end)" },
	{ 'e', "exit", NULL, ATFH_ARG_NONE, NULL,
	  "consume: exit when every partition is at its end" },
	{ 'c', "count", "N", ATFH_ARG_NUMBER, NULL,
	  "consume: exit after N messages" },
	ATFH_OPTS_COMMON_INPUT,
	{ ATFH_OPT_THREADS, "threads", "N", ATFH_ARG_NUMBER, NULL,
	  "check events and look their fields up in N threads (default 1)" },
	ATFH_OPTS_COMMON_STATS,
	ATFH_OPTS_COMMON_END,
};

static const struct atfh_program program = {
	.name = "atfh-emit",
	.args = "[FILE]...",
	.summary = "Produce events to Kafka, one message per event (NDJSON lines or\n"
		   "frames, plain or zstd; none or - reads stdin), or with -C consume\n"
		   "a topic to stdout.",
	.options = options,
	.epilog = "Examples:\n"
		  "  atfh-subscribe --resume-from cur | atfh-decode -f cloudevents |\n"
		  "      atfh-emit -b kafka:9092 -t bsky --cursor-file cur\n"
		  "  atfh-emit -C -G counters -b kafka:9092 -t bsky | atfh-count --by kind\n"
		  "Exit status: 0 ok (every message delivered), 2 usage, I/O or\n"
		  "delivery failure, 3 malformed records skipped.\n",
};

#define MAX_HEADERS 32
#define MAX_TPL 16

/* A field of an event, looked up in the shapes atfh writes: the first of
 * its paths that the event has. */
#define FIELD_ALTS 4
struct field {
	struct atfh_evpath p[FIELD_ALTS];
	size_t n;
};

/* a topic template: literal text and {PATH} fields */
struct tpl {
	char *lit[MAX_TPL + 1];
	struct field path[MAX_TPL];
	size_t n;
};

struct emit {
	struct atfh_loop loop;
	rd_kafka_conf_t *conf;
	const char *brokers, *topic, *key, *user, *pass, *connstr, *cursor_file;
	const char *offset;
	int32_t partition;
	struct atfh_kafka_hdr hdr[MAX_HEADERS + 3 + ATFH_CE_ATTRS_MAX];
	size_t nhdr;
	uint64_t flush_timeout_ms;
	bool consume, exit_eof;
	const char *group;
	uint64_t count;
	bool bad_opt;

	struct tpl tpl;
	bool templated;
	struct field keypath, seqpath, kindpath, colpath;
	bool nokey;
	struct atfh_ev ev;
	struct atfh_msg msg;
	struct atfh_out scratch; /* key, topic, header values */
	struct atfh_producer prod;
	int64_t cursor_in;       /* events at or below are dropped */
	bool have_cursor_in;
	int64_t cursor_written;
	bool cursor_any;
	uint64_t skipped_old;
	/* --cloudevents: frames → jetstream lines → CloudEvents */
	int ce_mode;
	struct atfh_format_opts js_opt, ce_opt;
	struct atfh_out js, ce;
	struct atfh_ce_binary ceb;
};

static char *xstrndup(const char *p, size_t n)
{
	char *s = atfh_xmalloc(n + 1);
	memcpy(s, p, n);
	s[n] = 0;
	return s;
}

static int on_option(int id, const char *arg, void *ctx)
{
	struct emit *e = ctx;
	int r = atfh_loop_option(&e->loop, id, arg);
	if (r)
		return r < 0 ? -1 : 0;
	uint64_t v;
	switch (id) {
	case 'b': case OPT_BROKERS_ALIAS: e->brokers = arg; return 0;
	case 't': case OPT_TOPIC_ALIAS: e->topic = arg; return 0;
	case 'k': e->key = arg; return 0;
	case 'p':
		if (atfh_parse_uint(arg, &v) || v > INT32_MAX) {
			atfh_err("-p: '%s' is not a partition number", arg);
			return -1;
		}
		e->partition = (int32_t)v;
		return 0;
	case 'H': {
		const char *eq = strchr(arg, '=');
		if (!eq || eq == arg) {
			atfh_err("-H %s: expected NAME=VALUE", arg);
			return -1;
		}
		if (e->nhdr == MAX_HEADERS) {
			atfh_err("-H: at most %d headers", MAX_HEADERS);
			return -1;
		}
		e->hdr[e->nhdr].name = xstrndup(arg, (size_t)(eq - arg));
		e->hdr[e->nhdr].value = eq + 1;
		e->hdr[e->nhdr].len = strlen(eq + 1);
		e->nhdr++;
		return 0;
	}
	case 'X': return atfh_kafka_set_kv(e->conf, arg);
	case 'F': return atfh_kafka_load_file(e->conf, arg);
	case 'z': return atfh_kafka_set(e->conf, "compression.codec", arg);
	case OPT_SASL_USER: e->user = arg; return 0;
	case OPT_SASL_PASS: e->pass = arg; return 0;
	case OPT_CONNSTR: e->connstr = arg; return 0;
	case OPT_FLUSH_TIMEOUT:
		if (atfh_parse_duration_ms(arg, &e->flush_timeout_ms)) {
			atfh_err("--flush-timeout: '%s' is not a duration", arg);
			return -1;
		}
		return 0;
	case OPT_CURSOR_FILE: e->cursor_file = arg; return 0;
	case OPT_CLOUDEVENTS: e->ce_mode = strcmp(arg, "binary") ? CE_STRUCTURED : CE_BINARY; return 0;
	case 'C': e->consume = true; return 0;
	case 'G': e->group = arg; return 0;
	case 'o': e->offset = arg; return 0;
	case 'e': e->exit_eof = true; return 0;
	case 'c':
		if (atfh_parse_uint(arg, &e->count) || !e->count) {
			atfh_err("-c: '%s' is not a positive count", arg);
			return -1;
		}
		return 0;
	}
	return -1;
}

/* Names that mean the same field in the jetstream, cloudevents and atkafka
 * shapes; anything else is a path as given. */
static const struct {
	const char *name;
	const char *alts[FIELD_ALTS];
} aliases[] = {
	{ "collection", { "commit.collection", "data.collection", "operation.collection" } },
	{ "operation", { "commit.operation", "operation.action" } },
	{ "rkey", { "commit.rkey", "operation.rkey" } },
	{ "rev", { "commit.rev" } },
	{ "cid", { "commit.cid", "operation.cid" } },
	{ "did", { "did", "subject" } },
	{ "seq", { "seq", "data.seq", "cursor", "time_us" } },
};

static int field_parse(struct field *f, const char *src, const char *what)
{
	const char *one[FIELD_ALTS] = { src };
	const char *const *alts = one;
	for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
		if (!strcmp(src, aliases[i].name))
			alts = aliases[i].alts;
	char err[200];
	for (f->n = 0; f->n < FIELD_ALTS && alts[f->n]; f->n++)
		if (atfh_evpath_parse(&f->p[f->n], alts[f->n], err, sizeof err)) {
			atfh_err("%s: %s", what, err);
			return -1;
		}
	return 0;
}

static int field_eval(const struct field *f, struct atfh_ev *ev, struct atfh_evval *v,
		      const char **err)
{
	v->type = ATFH_EV_MISSING;
	for (size_t i = 0; i < f->n; i++) {
		if (atfh_evpath_eval(&f->p[i], ev, v, err))
			return -1;
		if (v->type != ATFH_EV_MISSING && v->type != ATFH_EV_NULL)
			return 0;
	}
	return 0;
}

static int tpl_parse(struct tpl *t, const char *s)
{
	const char *p = s;
	for (;;) {
		const char *o = strchr(p, '{');
		if (!o) {
			t->lit[t->n] = atfh_xstrdup(p);
			return 0;
		}
		const char *c = strchr(o, '}');
		if (!c || t->n == MAX_TPL) {
			atfh_err("-t %s: %s", s, c ? "too many {fields}" : "a { without its }");
			return -1;
		}
		t->lit[t->n] = xstrndup(p, (size_t)(o - p));
		char *name = xstrndup(o + 1, (size_t)(c - o - 1));
		int r = field_parse(&t->path[t->n], name, "-t");
		free(name);
		if (r)
			return -1;
		t->n++;
		p = c + 1;
	}
}

/* V as text (a string unescaped), appended to S; a missing or null value
 * appends nothing.  Whether there was one. */
static bool put_val(struct atfh_out *s, const struct atfh_evval *v)
{
	if (v->type == ATFH_EV_MISSING || v->type == ATFH_EV_NULL)
		return false;
	atfh_evval_text(s, v);
	return true;
}

/* Append the value of P for EV to S as text; missing → "" */
static int put_path(struct atfh_out *s, const struct field *p, struct atfh_ev *ev, bool *found,
		    const char **err)
{
	struct atfh_evval v;
	if (field_eval(p, ev, &v, err))
		return -1;
	bool f = put_val(s, &v);
	if (found)
		*found = f;
	return 0;
}

static void cursor_update(struct emit *e)
{
	struct atfh_ackwin *w = &e->prod.win;
	if (!e->cursor_file || !w->acked_any)
		return;
	if (e->cursor_any && w->acked_seq <= e->cursor_written)
		return;
	if (atfh_cursor_write(e->cursor_file, w->acked_seq))
		atfh_err("%s: %s", e->cursor_file, strerror(errno));
	else {
		e->cursor_written = w->acked_seq;
		e->cursor_any = true;
	}
}

/* An event's message with its fields looked up: their text in a buffer,
 * at off/len: key, topic (when templated; both \0-terminated), seq,
 * kind, collection. */
enum { F_KEY, F_TOPIC, F_SEQ, F_KIND, F_COL, F_N };
struct prep {
	int64_t seq;       /* INT64_MIN: none */
	uint32_t off[F_N], len[F_N];
	bool has[F_N];
};

/* The fields of EV (key, topic, headers) into S and M.  Each field is
 * looked up once, in the fields the one validating scan of the line
 * recorded (lib/evpath): the line is not parsed again.  ATFH_REC_OK,
 * ATFH_REC_BAD, or ATFH_REC_STOP for an event at or below the cursor
 * (not sent).  Only reads E: workers run it too. */
static int prepare(const struct emit *e, struct atfh_ev *ev, struct atfh_out *s, struct prep *m,
		   const char **err)
{
	s->len = 0;
	/* each value is copied in as soon as it is found (a later lookup on
	 * a frame may render its JSON again, and move what an earlier one
	 * pointed to) */
	bool found;
	struct atfh_evval v;
	if (field_eval(&e->seqpath, ev, &v, err))
		return ATFH_REC_BAD;
	m->seq = INT64_MIN;
	if (v.type == ATFH_EV_NUM) {
		char num[32];
		if (v.s.n < sizeof num) {
			memcpy(num, v.s.p, v.s.n);
			num[v.s.n] = 0;
			char *end;
			errno = 0;
			long long x = strtoll(num, &end, 10);
			if (!*end && !errno)
				m->seq = x;
		}
	}
	if (m->seq != INT64_MIN && e->have_cursor_in && m->seq <= e->cursor_in)
		return ATFH_REC_STOP;
	m->off[F_SEQ] = 0;
	m->has[F_SEQ] = put_val(s, &v);
	m->len[F_SEQ] = (uint32_t)s->len;
	m->off[F_KEY] = (uint32_t)s->len;
	if (!e->nokey && put_path(s, &e->keypath, ev, &found, err))
		return ATFH_REC_BAD;
	m->len[F_KEY] = (uint32_t)(s->len - m->off[F_KEY]);
	atfh_out_c(s, 0);
	m->off[F_TOPIC] = (uint32_t)s->len;
	if (e->templated) {
		for (size_t i = 0; i < e->tpl.n; i++) {
			atfh_out_put(s, e->tpl.lit[i], strlen(e->tpl.lit[i]));
			if (put_path(s, &e->tpl.path[i], ev, &found, err))
				return ATFH_REC_BAD;
			if (!found)
				atfh_out_lit(s, "none");
		}
		atfh_out_put(s, e->tpl.lit[e->tpl.n], strlen(e->tpl.lit[e->tpl.n]));
		atfh_out_c(s, 0);
	}
	const struct field *hp[2] = { &e->kindpath, &e->colpath };
	for (int i = F_KIND; i <= F_COL; i++) {
		m->off[i] = (uint32_t)s->len;
		if (put_path(s, hp[i - F_KIND], ev, &m->has[i], err))
			return ATFH_REC_BAD;
		m->len[i] = (uint32_t)(s->len - m->off[i]);
	}
	return ATFH_REC_OK;
}

/* Send the message M (its fields' text at S) with value P/N and headers:
 * -H, the automatic ones, then the NX of X. */
static int produce(struct emit *e, const struct prep *m, const char *s, const void *val,
		   size_t n, const struct atfh_kafka_hdr *x, size_t nx)
{
	static const char *const hn[F_N] = { NULL, NULL, "seq", "kind", "collection" };
	size_t nh = e->nhdr;
	for (int i = F_SEQ; i <= F_COL; i++)
		if (m->has[i])
			e->hdr[nh++] = (struct atfh_kafka_hdr){ hn[i], s + m->off[i], m->len[i] };
	for (size_t i = 0; i < nx; i++)
		e->hdr[nh++] = x[i];
	int r = atfh_producer_send(&e->prod, e->templated ? s + m->off[F_TOPIC] : e->topic,
				   e->partition,
				   e->nokey || !m->len[F_KEY] ? NULL : s + m->off[F_KEY],
				   m->len[F_KEY], val, n, e->hdr, nh, m->seq);
	if (r) {
		if (r < 0)
			e->loop.io_failed = true;
		return ATFH_REC_STOP;
	}
	e->loop.stats.events++;
	return ATFH_REC_OK;
}

/* The current event (e->ev) with value P/N: key, topic, headers, send. */
static int send_event(struct emit *e, const void *val, size_t n,
		      const struct atfh_kafka_hdr *x, size_t nx, const char **err)
{
	struct prep m;
	int r = prepare(e, &e->ev, &e->scratch, &m, err);
	if (r == ATFH_REC_STOP) {
		e->skipped_old++;
		return ATFH_REC_OK;
	}
	if (r)
		return r;
	/* pointers only now: the buffer may have moved while growing */
	return produce(e, &m, e->scratch.buf, val, n, x, nx);
}

/* --cloudevents: the jetstream event P/N as a CloudEvent (key, cursor and
 * automatic headers from the jetstream event); events that are not one of
 * the CloudEvents types are not sent. */
static int send_ce(struct emit *e, const char *p, size_t n, const char **err)
{
	if (atfh_ev_set_line(&e->ev, p, n, err))
		return ATFH_REC_BAD;
	e->ce.len = 0;
	if (atfh_format_json(&e->ce, p, n, &e->ce_opt, err))
		return ATFH_REC_BAD;
	if (e->ce.len < 2)
		return ATFH_REC_OK;
	const char *line = e->ce.buf;
	size_t len = e->ce.len - 1; /* without its newline */
	struct atfh_kafka_hdr x[ATFH_CE_ATTRS_MAX];
	if (e->ce_mode == CE_STRUCTURED) {
		static const char ct[] = "application/cloudevents+json; charset=UTF-8";
		x[0] = (struct atfh_kafka_hdr){ "content-type", ct, sizeof ct - 1 };
		return send_event(e, line, len, x, 1, err);
	}
	struct atfh_ce_binary *b = &e->ceb;
	if (atfh_cloudevents_binary(b, line, len, err))
		return ATFH_REC_BAD;
	for (size_t i = 0; i < b->nh; i++)
		x[i] = (struct atfh_kafka_hdr){ b->h[i].name, b->buf.buf + b->h[i].off, b->h[i].len };
	return send_event(e, b->data, b->data_len, x, b->nh, err);
}

/* A frame M as the event EV whose fields are looked up: a commit's first
 * op (one message a frame). */
static void ev_of_frame(struct atfh_ev *ev, struct atfh_msg *m)
{
	atfh_ev_set_frame(ev, m);
	if (atfh_ev_frame_events(m) > 0)
		atfh_ev_set_op(ev, 0);
}

static int on_line(struct atfh_loop *l, const char *p, size_t n, const char **err)
{
	struct emit *e = l->ctx;
	if (e->ce_mode)
		return send_ce(e, p, n, err);
	if (atfh_ev_set_line(&e->ev, p, n, err))
		return ATFH_REC_BAD;
	return send_event(e, p, n, NULL, 0, err);
}

static int on_frame(struct atfh_loop *l, const uint8_t *p, size_t n, const char **err)
{
	struct emit *e = l->ctx;
	if (atfh_msg_parse(&e->msg, p, n)) {
		*err = e->msg.err;
		return ATFH_REC_BAD;
	}
	if (e->ce_mode) {
		/* each of its events as a jetstream line, then as a CloudEvent */
		e->js.len = 0;
		if (atfh_format_msg(&e->js, &e->msg, &e->js_opt, err))
			return ATFH_REC_BAD;
		size_t at = 0;
		while (at < e->js.len) {
			const char *nl = memchr(e->js.buf + at, '\n', e->js.len - at);
			size_t len = nl ? (size_t)(nl - (e->js.buf + at)) : e->js.len - at;
			int r = send_ce(e, e->js.buf + at, len, err);
			if (r != ATFH_REC_OK)
				return r;
			at += len + 1;
		}
		return ATFH_REC_OK;
	}
	ev_of_frame(&e->ev, &e->msg);
	return send_event(e, p, n, NULL, 0, err);
}

/* ---- threads (-T) --------------------------------------------------------- */

/* A worker checks its lines (or frames) and looks their fields up; its
 * output is the messages, which the reading thread sends in input order
 * (chunk_out): a record of struct wrec, the fields' text, the value. */
struct worker {
	struct atfh_loop loop;
	const struct emit *e;
	struct atfh_ev ev;
	struct atfh_msg msg;
	struct atfh_out scratch, out;
	uint64_t skipped_old;
};

struct wrec {
	struct prep m;
	uint32_t slen, vlen;
};

static int worker_put(struct worker *w, const void *val, size_t n, const char **err)
{
	struct wrec r;
	int rv = prepare(w->e, &w->ev, &w->scratch, &r.m, err);
	if (rv == ATFH_REC_STOP) {
		w->skipped_old++;
		return ATFH_REC_OK;
	}
	if (rv)
		return rv;
	if (n > UINT32_MAX || w->scratch.len > UINT32_MAX) {
		*err = "record too large";
		return ATFH_REC_BAD;
	}
	r.slen = (uint32_t)w->scratch.len;
	r.vlen = (uint32_t)n;
	atfh_out_put(&w->out, &r, sizeof r);
	atfh_out_put(&w->out, w->scratch.buf, w->scratch.len);
	atfh_out_put(&w->out, val, n);
	return ATFH_REC_OK;
}

static int worker_line(struct atfh_loop *l, const char *p, size_t n, const char **err)
{
	struct worker *w = l->ctx;
	if (atfh_ev_set_line(&w->ev, p, n, err))
		return ATFH_REC_BAD;
	return worker_put(w, p, n, err);
}

static int worker_frame(struct atfh_loop *l, const uint8_t *p, size_t n, const char **err)
{
	struct worker *w = l->ctx;
	if (atfh_msg_parse(&w->msg, p, n)) {
		*err = w->msg.err;
		return ATFH_REC_BAD;
	}
	ev_of_frame(&w->ev, &w->msg);
	return worker_put(w, p, n, err);
}

static struct atfh_loop *worker_new(struct atfh_loop *l)
{
	struct emit *e = l->ctx;
	struct worker *w = atfh_xcalloc(1, sizeof *w);
	atfh_loop_worker_init(&w->loop, l, w, &w->out);
	w->e = e;
	atfh_ev_init(&w->ev);
	atfh_msg_init(&w->msg);
	atfh_out_init(&w->scratch, -1, "scratch");
	/* they look fields up and write messages; the reader sends them */
	w->loop.on_line = worker_line;
	w->loop.on_frame = worker_frame;
	return &w->loop;
}

static void worker_merge(struct atfh_loop *l, struct atfh_loop *wl)
{
	struct emit *e = l->ctx;
	struct worker *w = wl->ctx;
	e->skipped_old += w->skipped_old;
	w->skipped_old = 0;
}

static void worker_free(struct atfh_loop *wl)
{
	struct worker *w = wl->ctx;
	atfh_ev_free(&w->ev);
	atfh_msg_free(&w->msg);
	atfh_out_free(&w->scratch);
	atfh_out_free(&w->out);
	free(w);
}

/* A chunk's messages, in input order: sent. */
static bool chunk_out(struct atfh_loop *l, const char *p, size_t n)
{
	struct emit *e = l->ctx;
	size_t at = 0;
	while (n - at >= sizeof(struct wrec)) {
		struct wrec r;
		memcpy(&r, p + at, sizeof r);
		const char *s = p + at + sizeof r;
		if (produce(e, &r.m, s, s + r.slen, r.vlen, NULL, 0) != ATFH_REC_OK)
			return false;
		at += sizeof r + r.slen + r.vlen;
	}
	return true;
}

#define TICK_SECONDS 0.25

/* While running (also while the input is quiet): serve delivery reports
 * and move the cursor file on. */
static void on_tick(void *arg)
{
	struct emit *e = arg;
	double now = atfh_now();
	if (now < e->loop.stats.due)
		return;
	atfh_producer_poll(&e->prod, 0);
	cursor_update(e);
	while (e->loop.stats.due <= now)
		e->loop.stats.due += TICK_SECONDS;
}

static void emit_print(struct atfh_stats *s, double now, bool final)
{
	struct emit *e = s->ctx;
	struct atfh_producer *p = &e->prod;
	double el = now - s->t_start;
	fprintf(stderr,
		"%s: %s%" PRIu64 " records, %" PRIu64 " produced, %" PRIu64 " delivered, %" PRIu64
		" failed, %" PRIu64 " retried, %" PRIu64 " queue waits, %" PRIu64
		" in queue, latency avg %.1f ms max %.1f ms, %.1fs\n",
		atfh_progname, final ? "" : "[running] ", s->records, p->produced, p->delivered,
		p->failed, p->retried, p->queue_waits, atfh_producer_inflight(p),
		p->delivered ? 1000.0 * p->latency_sum / (double)p->delivered : 0.0,
		1000.0 * p->latency_max, el);
}

static int emit_metrics(struct atfh_stats *s, char *buf, size_t cap)
{
	struct emit *e = s->ctx;
	struct atfh_producer *p = &e->prod;
	struct atfh_metrics_buf m = { buf, cap, 0, s->prefix, false };
	atfh_metric(&m, "counter", "records_total", "input records read", "%" PRIu64, s->records);
	atfh_metric(&m, "counter", "malformed_total", "malformed records skipped", "%" PRIu64, s->malformed);
	atfh_metric(&m, "counter", "produced_total", "messages handed to the producer", "%" PRIu64, p->produced);
	atfh_metric(&m, "counter", "delivered_total", "messages acknowledged by the brokers", "%" PRIu64, p->delivered);
	atfh_metric(&m, "counter", "failed_total", "messages that failed for good", "%" PRIu64, p->failed);
	atfh_metric(&m, "counter", "retried_total", "messages sent again after an error", "%" PRIu64, p->retried);
	atfh_metric(&m, "counter", "queue_waits_total", "times the producer queue was full", "%" PRIu64, p->queue_waits);
	atfh_metric(&m, "gauge", "queue_depth", "messages awaiting a delivery report", "%" PRIu64, atfh_producer_inflight(p));
	atfh_metric(&m, "counter", "delivery_latency_seconds_sum", "produce to acknowledgement", "%.6f", p->latency_sum);
	return m.full ? -1 : (int)m.n;
}

static void settings_from_env(struct emit *e)
{
	const char *v;
	if (!e->brokers && (v = getenv("KAFKA_BOOTSTRAP_SERVERS")) && *v) e->brokers = v;
	if (!e->brokers && (v = getenv("ATKAFKA_BOOTSTRAP_SERVERS")) && *v) e->brokers = v;
	if (!e->topic && (v = getenv("KAFKA_TOPIC")) && *v) e->topic = v;
	if (!e->topic && (v = getenv("ATKAFKA_OUTPUT_TOPIC")) && *v) e->topic = v;
	if (!e->user && (v = getenv("SASL_USERNAME")) && *v) e->user = v;
	if (!e->pass && (v = getenv("SASL_PASSWORD")) && *v) e->pass = v;
	if (!e->connstr && (v = getenv("EVENTHUB_CONNECTION_STRING")) && *v) e->connstr = v;
}

/* Connection settings into e->conf; 0 or -1 after reporting. */
static int connect_settings(struct emit *e, const char **brokers)
{
	static struct atfh_connstr cs;
	if (e->connstr) {
		char err[300];
		if (atfh_connstr_parse(&cs, e->connstr, strlen(e->connstr), err, sizeof err)) {
			atfh_err("%s", err);
			return -1;
		}
		if (!e->brokers)
			*brokers = cs.bootstrap;
		if (!e->topic && cs.topic[0])
			e->topic = cs.topic;
		if (!e->user)
			e->user = "$ConnectionString";
		if (!e->pass)
			e->pass = e->connstr;
	}
	if (e->user || e->pass) {
		if (!e->user || !e->pass) {
			atfh_err("SASL needs both --sasl-username and --sasl-password");
			return -1;
		}
		if (atfh_kafka_sasl(e->conf, e->user, e->pass))
			return -1;
	}
	if (!*brokers) {
		char cur[1024];
		size_t cn = sizeof cur;
		if (rd_kafka_conf_get(e->conf, "bootstrap.servers", cur, &cn) != RD_KAFKA_CONF_OK || !cur[0]) {
			atfh_usage_error("no brokers: give -b HOST:PORT or set KAFKA_BOOTSTRAP_SERVERS");
		}
	} else if (atfh_kafka_set(e->conf, "bootstrap.servers", *brokers))
		return -1;
	if (!e->topic)
		atfh_usage_error("no topic: give -t TOPIC or set KAFKA_TOPIC");
	return 0;
}

static int consume_main(struct emit *e, rd_kafka_conf_t *conf)
{
	static struct atfh_out out;
	atfh_out_init(&out, 1, "stdout");
	struct atfh_consume c = {
		.topic = e->topic, .partition = e->partition, .group = e->group,
		.offset = e->offset, .exit_eof = e->exit_eof, .count = e->count,
		.out = &out, .stats = &e->loop.stats,
	};
	atfh_stats_start(&e->loop.stats, false, -1);
	int status = atfh_consume_run(&c, conf);
	if (e->loop.stats.print_at_end || e->loop.stats.metrics_path)
		atfh_stats_finish(&e->loop.stats);
	atfh_out_free(&out);
	return status;
}

static int produce_main(struct emit *e, char **files, size_t nfiles)
{
	if (atfh_kafka_producer_final(e->conf))
		return ATFH_EXIT_FAIL;
	if (e->flush_timeout_ms == 0)
		e->flush_timeout_ms = 30000;

	if (e->templated) {
		if (tpl_parse(&e->tpl, e->topic))
			return ATFH_EXIT_FAIL;
	}
	e->nokey = !strcmp(e->key ? e->key : "did", "none");
	if ((!e->nokey && field_parse(&e->keypath, e->key ? e->key : "did", "-k")) ||
	    field_parse(&e->seqpath, "seq", "seq") || field_parse(&e->kindpath, "kind", "kind") ||
	    field_parse(&e->colpath, "collection", "collection"))
		return ATFH_EXIT_FAIL;
	if (e->cursor_file) {
		char err[256];
		int r = atfh_cursor_read(e->cursor_file, &e->cursor_in, err, sizeof err);
		if (r < 0) {
			atfh_err("%s: %s", e->cursor_file, err);
			return ATFH_EXIT_FAIL;
		}
		e->have_cursor_in = r == 1;
	}
	/* the retry count comes with librdkafka's statistics */
	if ((e->loop.stats.print_at_end || e->loop.stats.interval_ms || e->loop.stats.metrics_path) &&
	    atfh_kafka_set(e->conf, "statistics.interval.ms", "500"))
		return ATFH_EXIT_FAIL;
	rd_kafka_conf_t *conf = e->conf;
	e->conf = NULL;
	if (atfh_producer_open(&e->prod, conf, e->templated ? NULL : e->topic))
		return ATFH_EXIT_FAIL;
	atfh_ev_init(&e->ev);
	atfh_msg_init(&e->msg);
	atfh_out_init(&e->scratch, -1, "scratch");
	atfh_out_init(&e->js, -1, "jetstream");
	atfh_out_init(&e->ce, -1, "cloudevents");
	atfh_out_init(&e->ceb.buf, -1, "cloudevents");
	e->js_opt.format = ATFH_FMT_JETSTREAM;
	e->ce_opt.format = ATFH_FMT_CLOUDEVENTS;
	e->ce_opt.json_op_index = SIZE_MAX; /* no commit line seen yet */
	e->loop.ctx = e;
	e->loop.on_line = on_line;
	e->loop.on_frame = on_frame;
	if (!e->ce_mode) { /* --cloudevents keeps state from line to line */
		e->loop.worker_new = worker_new;
		e->loop.worker_merge = worker_merge;
		e->loop.worker_free = worker_free;
		e->loop.chunk_out = chunk_out;
	}
	e->loop.stats.ctx = e;
	e->loop.stats.print = emit_print;
	e->loop.stats.metrics = emit_metrics;
	e->loop.stats.on_tick = on_tick;
	e->loop.stats.on_tick_arg = e;
	e->loop.stats.due = atfh_now() + TICK_SECONDS;
	/* the report comes after the deliveries, not when the input ends */
	bool print_at_end = e->loop.stats.print_at_end;
	e->loop.stats.print_at_end = false;
	int status = atfh_loop_run(&e->loop, files, nfiles);
	e->loop.stats.print_at_end = print_at_end;
	e->loop.stats.on_tick = NULL;
	uint64_t bad = atfh_producer_flush(&e->prod, (int)e->flush_timeout_ms);
	cursor_update(e);
	if (bad) {
		atfh_err("%" PRIu64 " of %" PRIu64 " messages not delivered%s%s", bad,
			 e->prod.produced, e->prod.last_error[0] ? ": " : " (timed out)",
			 e->prod.last_error);
		status = ATFH_EXIT_FAIL;
	}
	if (e->loop.stats.print_at_end || e->loop.stats.metrics_path)
		atfh_stats_finish(&e->loop.stats);
	atfh_producer_close(&e->prod);
	atfh_ev_free(&e->ev);
	atfh_msg_free(&e->msg);
	atfh_out_free(&e->scratch);
	atfh_out_free(&e->js);
	atfh_out_free(&e->ce);
	atfh_out_free(&e->ceb.buf);
	return status;
}

int main(int argc, char **argv)
{
	static struct emit e;
	atfh_cli_signals();
	atfh_loop_init(&e.loop, "atfh_emit");
	/* one thread unless -T says otherwise: librdkafka's threads (one
	 * per broker) want the other cores (atfh-emit(1), -T) */
	e.loop.threads = 1;
	e.partition = RD_KAFKA_PARTITION_UA;
	e.conf = rd_kafka_conf_new();
	atfh_kafka_log_to_stderr(e.conf);
	/* atfh's delivery and throughput defaults; -X/-F come after and
	 * may override them */
	atfh_kafka_producer_defaults(e.conf);
	atfh_kafka_set(e.conf, "log_level", "3");
	int first = atfh_cli_parse(&program, argc, argv, on_option, &e);
	settings_from_env(&e);
	const char *brokers = e.brokers;
	if (connect_settings(&e, &brokers))
		return ATFH_EXIT_FAIL;
	e.templated = strchr(e.topic, '{') != NULL;
	if (e.consume) {
		if (first < argc)
			atfh_usage_error("-C takes no FILE operands");
		if (e.templated)
			atfh_usage_error("-C: a topic template cannot be consumed");
		if (e.ce_mode)
			atfh_usage_error("--cloudevents is for producing");
		rd_kafka_conf_t *conf = e.conf;
		e.conf = NULL;
		return consume_main(&e, conf);
	}
	if (e.group || e.offset || e.exit_eof || e.count)
		atfh_usage_error("-G, -o, -e and -c are for consuming (-C)");
	return produce_main(&e, argv + first, (size_t)(argc - first));
}
