/*
 * event.c — firehose messages into the event model; see event.h.
 */
#include "event.h"
#include "dagcbor.h"
#include "msgscan.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

const char *const atfh_kind_names[] = {
	"commit", "identity", "account", "sync", "info", "error", "other",
};

enum atfh_kind atfh_kind_lookup(const char *name, size_t n)
{
	for (int k = ATFH_K_COMMIT; k < ATFH_K_OTHER; k++)
		if (strlen(atfh_kind_names[k]) == n && memcmp(name, atfh_kind_names[k], n) == 0)
			return (enum atfh_kind)k;
	return ATFH_K_OTHER;
}

void atfh_msg_init(struct atfh_msg *m)
{
	memset(m, 0, sizeof *m);
}

void atfh_msg_free(struct atfh_msg *m)
{
	free(m->ops);
	atfh_car_free(&m->car);
	memset(m, 0, sizeof *m);
}

static int msg_fail(struct atfh_msg *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int msg_fail(struct atfh_msg *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->errbuf, sizeof m->errbuf, fmt, ap);
	va_end(ap);
	m->err = m->errbuf;
	return -1;
}

static int cbor_err(struct atfh_msg *m, struct atfh_cbor *c, const char *where)
{
	return msg_fail(m, "%s: %s", where, c->err ? c->err : "malformed CBOR");
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned mo, unsigned d)
{
	y -= mo <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *s, size_t n, unsigned *v)
{
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return true;
}

static bool leap(unsigned y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

/* Digits below a microsecond are dropped (UP false: an event's own time)
 * or round the value up (UP true: a bound, so that `--since` never keeps
 * an event that is earlier than it). */
static int parse_time(const char *s, size_t n, int64_t *us, bool up)
{
	static const unsigned char mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned y, mo, d, h, mi, se, frac = 0, fd = 0;
	bool below = false; /* non-zero digits past the sixth */
	if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    s[13] != ':' || s[16] != ':')
		return -1;
	if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
	    !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se))
		return -1;
	/* no rolling over: 02-30 is not March 1st, 23:59:60 (a leap second,
	 * which atproto timestamps never carry) not the next midnight */
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap(y)) ||
	    h > 23 || mi > 59 || se > 59)
		return -1;
	size_t i = 19;
	if (i < n && s[i] == '.') {
		i++;
		size_t start = i;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (fd < 6) {
				frac = frac * 10 + (unsigned)(s[i] - '0');
				fd++;
			} else if (s[i] != '0') {
				below = true;
			}
			i++;
		}
		if (i == start)
			return -1;
		while (fd < 6) {
			frac *= 10;
			fd++;
		}
	}
	int64_t off = 0;
	if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
		unsigned oh, om;
		if (!digits(s + i + 1, 2, &oh) || !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
			return -1;
		off = (int64_t)(oh * 60 + om) * 60;
		if (s[i] == '-')
			off = -off;
		i += 6;
	} else {
		return -1;
	}
	if (i != n)
		return -1;
	int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
	*us = secs * 1000000 + frac + (up && below);
	return 0;
}

int atfh_parse_time_us(const char *s, size_t n, int64_t *us)
{
	return parse_time(s, n, us, false);
}

int atfh_parse_time_bound_us(const char *s, size_t n, int64_t *us)
{
	return parse_time(s, n, us, true);
}

static const struct {
	const char *t;
	enum atfh_kind kind;
} types[] = {
	{ "#commit", ATFH_K_COMMIT },   { "#identity", ATFH_K_IDENTITY },
	{ "#account", ATFH_K_ACCOUNT }, { "#sync", ATFH_K_SYNC },
	{ "#info", ATFH_K_INFO },
};

static int parse_header(struct atfh_msg *m, struct atfh_cbor *c)
{
	struct atfh_cbor_item it;
	bool has_op = false;
	if (atfh_cbor_next(c, &it))
		return cbor_err(m, c, "header");
	if (it.kind != ATFH_CB_MAP)
		return msg_fail(m, "header is not a CBOR map");
	for (uint64_t i = 0; i < it.count; i++) {
		struct atfh_str key;
		if (atfh_cbor_text(c, &key, "header key"))
			return cbor_err(m, c, "header");
		if (ATFH_STR_IS(key, "op")) {
			if (atfh_cbor_int(c, &m->op, "header op"))
				return cbor_err(m, c, "header");
			has_op = true;
		} else if (ATFH_STR_IS(key, "t")) {
			if (atfh_cbor_text(c, &m->type, "header t"))
				return cbor_err(m, c, "header");
		} else if (atfh_cbor_skip(c)) {
			return cbor_err(m, c, "header");
		}
	}
	if (!has_op)
		return msg_fail(m, "header has no op");
	if (m->op == -1) {
		m->kind = ATFH_K_ERROR;
		return 0;
	}
	if (m->op != 1)
		return msg_fail(m, "header op %lld is neither 1 nor -1", (long long)m->op);
	if (!m->type.p)
		return msg_fail(m, "header has no message type (t)");
	m->kind = ATFH_K_OTHER;
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (atfh_str_eq(m->type, types[i].t, strlen(types[i].t)))
			m->kind = types[i].kind;
	return 0;
}

/* A CID link or null; *P = NULL for null. */
static int link_or_null(struct atfh_cbor *c, const uint8_t **p, size_t *n, const char *what)
{
	struct atfh_cbor_item it;
	if (atfh_cbor_next(c, &it))
		return -1;
	if (it.kind == ATFH_CB_NULL) {
		*p = NULL;
		*n = 0;
		return 0;
	}
	if (it.kind != ATFH_CB_LINK)
		return atfh_cbor_fail(c, "%s is not a CID link", what);
	*p = it.p;
	*n = it.n;
	return 0;
}

static int text_or_null(struct atfh_cbor *c, struct atfh_str *s, bool *has, const char *what)
{
	struct atfh_cbor_item it;
	const uint8_t *save = c->p;
	if (atfh_cbor_next(c, &it))
		return -1;
	if (it.kind == ATFH_CB_NULL) {
		*has = false;
		*s = ATFH_STR_NULL;
		return 0;
	}
	c->p = save;
	*has = true;
	return atfh_cbor_text(c, s, what);
}

/* The body of parse_op; its errors are completed with the op's number
 * there, so the hot path formats nothing. */
static int read_op(struct atfh_cbor *c, struct atfh_op *op)
{
	struct atfh_cbor_item it;
	memset(op, 0, sizeof *op);
	if (atfh_cbor_next(c, &it))
		return -1;
	if (it.kind != ATFH_CB_MAP)
		return atfh_cbor_fail(c, "not a map");
	for (uint64_t i = 0; i < it.count; i++) {
		struct atfh_str key;
		int r;
		if (atfh_cbor_text(c, &key, "op key"))
			return -1;
		if (ATFH_STR_IS(key, "action"))
			r = atfh_cbor_text(c, &op->action, "action");
		else if (ATFH_STR_IS(key, "path"))
			r = atfh_cbor_text(c, &op->path, "path");
		else if (ATFH_STR_IS(key, "cid"))
			r = link_or_null(c, &op->cid, &op->cid_len, "cid");
		else if (ATFH_STR_IS(key, "prev"))
			r = link_or_null(c, &op->prev, &op->prev_len, "prev");
		else
			r = atfh_cbor_skip(c);
		if (r)
			return -1;
	}
	if (!op->action.p || !op->path.p)
		return atfh_cbor_fail(c, "has no %s", op->action.p ? "path" : "action");
	const char *slash = memchr(op->path.p, '/', op->path.n);
	if (!slash)
		return atfh_cbor_fail(c, "path has no '/'");
	op->collection = (struct atfh_str){ op->path.p, (size_t)(slash - op->path.p), false };
	op->rkey = (struct atfh_str){ slash + 1, op->path.n - op->collection.n - 1, false };
	return 0;
}

static int parse_op(struct atfh_msg *m, struct atfh_cbor *c, struct atfh_op *op, size_t idx)
{
	if (read_op(c, op) == 0)
		return 0;
	return msg_fail(m, "op %zu: %s", idx + 1, c->err ? c->err : "malformed CBOR");
}

static int parse_ops(struct atfh_msg *m, struct atfh_cbor *c)
{
	struct atfh_cbor_item it;
	if (atfh_cbor_next(c, &it))
		return cbor_err(m, c, "ops");
	if (it.kind != ATFH_CB_ARRAY)
		return msg_fail(m, "ops is not an array");
	if (it.count > ATFH_MAX_OPS)
		return msg_fail(m, "commit has %llu ops (limit %d)",
				(unsigned long long)it.count, ATFH_MAX_OPS);
	atfh_grow_array((void **)&m->ops, &m->ops_cap, (size_t)it.count, sizeof *m->ops);
	for (size_t i = 0; i < it.count; i++)
		if (parse_op(m, c, &m->ops[i], i))
			return -1;
	m->nops = (size_t)it.count;
	return 0;
}

static int parse_body(struct atfh_msg *m, struct atfh_cbor *c)
{
	struct atfh_cbor_item it;
	if (atfh_cbor_next(c, &it))
		return cbor_err(m, c, "body");
	if (it.kind != ATFH_CB_MAP)
		return msg_fail(m, "body is not a CBOR map");
	for (uint64_t i = 0; i < it.count; i++) {
		struct atfh_str key;
		int r = 0;
		bool dummy;
		if (atfh_cbor_text(c, &key, "body key"))
			return cbor_err(m, c, "body");
		if (ATFH_STR_IS(key, "seq")) {
			r = atfh_cbor_int(c, &m->seq, "seq");
			m->has_seq = true;
		} else if (ATFH_STR_IS(key, "repo") || ATFH_STR_IS(key, "did")) {
			r = atfh_cbor_text(c, &m->did, "did");
		} else if (ATFH_STR_IS(key, "time")) {
			r = atfh_cbor_text(c, &m->time, "time");
		} else if (ATFH_STR_IS(key, "rev")) {
			r = atfh_cbor_text(c, &m->rev, "rev");
		} else if (ATFH_STR_IS(key, "since")) {
			r = text_or_null(c, &m->since, &dummy, "since");
		} else if (ATFH_STR_IS(key, "tooBig")) {
			r = atfh_cbor_bool(c, &m->too_big, "tooBig");
		} else if (ATFH_STR_IS(key, "rebase")) {
			r = atfh_cbor_bool(c, &m->rebase, "rebase");
		} else if (ATFH_STR_IS(key, "blocks")) {
			r = atfh_cbor_next(c, &it);
			if (!r && it.kind != ATFH_CB_BYTES)
				r = atfh_cbor_fail(c, "blocks is not a byte string");
			m->blocks = it.p;
			m->blocks_len = it.n;
		} else if (ATFH_STR_IS(key, "ops") && m->kind == ATFH_K_COMMIT) {
			m->ops_cbor = c->p;
			if (m->lazy_ops)
				r = atfh_cbor_skip_unchecked(c);
			else if (parse_ops(m, c))
				return -1;
			m->ops_len = (size_t)(c->p - m->ops_cbor);
		} else if (ATFH_STR_IS(key, "handle")) {
			r = text_or_null(c, &m->handle, &m->has_handle, "handle");
		} else if (ATFH_STR_IS(key, "active")) {
			r = atfh_cbor_bool(c, &m->active, "active");
			m->has_active = true;
		} else if (ATFH_STR_IS(key, "status")) {
			r = text_or_null(c, &m->status, &m->has_status, "status");
		} else if (ATFH_STR_IS(key, "name")) {
			r = atfh_cbor_text(c, &m->name, "name");
		} else if (ATFH_STR_IS(key, "message")) {
			r = text_or_null(c, &m->message, &m->has_message, "message");
		} else if (ATFH_STR_IS(key, "error")) {
			r = atfh_cbor_text(c, &m->error, "error");
		} else {
			/* fields no output shape reads (commit, blobs, prevData …) */
			r = atfh_cbor_skip_unchecked(c);
		}
		if (r)
			return cbor_err(m, c, "body");
	}
	return 0;
}

/* Keep the reusable allocations and the caller's choice, clear the rest. */
static void reset(struct atfh_msg *m, const uint8_t *p, size_t n)
{
	struct atfh_op *ops = m->ops;
	size_t ops_cap = m->ops_cap;
	struct atfh_car car = m->car;
	bool lazy = m->lazy_ops;
	void (*on_did)(void *, const char *, size_t) = m->on_did;
	void *on_did_ctx = m->on_did_ctx;
	memset(m, 0, offsetof(struct atfh_msg, errbuf));
	m->on_did = on_did;
	m->on_did_ctx = on_did_ctx;
	m->ops = ops;
	m->ops_cap = ops_cap;
	m->car = car;
	m->lazy_ops = lazy;
	m->frame = p;
	m->frame_len = n;
}

int atfh_msg_parse(struct atfh_msg *m, const uint8_t *p, size_t n)
{
	reset(m, p, n);
	if (!atfh_msg_scan_commit(m))
		return atfh_msg_parse_general(m, p, n);
	if (m->lazy_ops)
		return 0;
	m->lazy_ops = true; /* parse the ops the fast path passed over */
	int r = atfh_msg_parse_ops(m);
	m->lazy_ops = false;
	return r;
}

int atfh_msg_parse_general(struct atfh_msg *m, const uint8_t *p, size_t n)
{
	struct atfh_cbor c;

	reset(m, p, n);
	atfh_cbor_init(&c, p, n);
	m->header = p;
	if (parse_header(m, &c))
		return -1;
	m->header_len = (size_t)(c.p - p);
	m->body = c.p;
	if (parse_body(m, &c))
		return -1;
	m->body_len = (size_t)(c.p - m->body);
	if (c.p != c.end)
		return msg_fail(m, "%zu trailing bytes after the body", (size_t)(c.end - c.p));

	switch (m->kind) {
	case ATFH_K_COMMIT:
	case ATFH_K_IDENTITY:
	case ATFH_K_ACCOUNT:
	case ATFH_K_SYNC:
		if (!m->did.p)
			return msg_fail(m, "%s body has no %s", atfh_kind_names[m->kind],
					m->kind == ATFH_K_COMMIT ? "repo" : "did");
		if (!m->has_seq)
			return msg_fail(m, "%s body has no seq", atfh_kind_names[m->kind]);
		if (!m->time.p)
			return msg_fail(m, "%s body has no time", atfh_kind_names[m->kind]);
		break;
	case ATFH_K_INFO:
		if (!m->name.p)
			return msg_fail(m, "info body has no name");
		break;
	case ATFH_K_ERROR:
		if (!m->error.p)
			return msg_fail(m, "error body has no error");
		break;
	case ATFH_K_OTHER:
		break;
	}
	if (m->time.p) {
		if (atfh_parse_time_us(m->time.p, m->time.n, &m->time_us))
			return msg_fail(m, "time is not an RFC 3339 timestamp");
		m->has_time = true;
	}
	if (m->kind == ATFH_K_COMMIT && !m->rev.p)
		return msg_fail(m, "commit body has no rev");
	return 0;
}

int atfh_msg_parse_ops(struct atfh_msg *m)
{
	if (!m->lazy_ops || m->ops_parsed || !m->ops_cbor)
		return 0;
	struct atfh_cbor c;
	atfh_cbor_init(&c, m->ops_cbor, m->ops_len);
	if (parse_ops(m, &c))
		return -1;
	m->ops_parsed = true;
	return 0;
}

int atfh_msg_load_blocks(struct atfh_msg *m, bool verify)
{
	if (m->car_loaded)
		return 0;
	if (!m->blocks) {
		m->car.n = 0;
		m->car_loaded = true;
		return 0;
	}
	if (atfh_car_load(&m->car, m->blocks, m->blocks_len) ||
	    (verify && atfh_car_verify(&m->car)))
		return msg_fail(m, "blocks: %s", m->car.err);
	m->car_loaded = true;
	return 0;
}

const struct atfh_block *atfh_msg_record(struct atfh_msg *m, size_t i)
{
	if (i >= m->nops || !m->ops[i].cid)
		return NULL;
	return atfh_car_get(&m->car, m->ops[i].cid, m->ops[i].cid_len);
}
