/*
 * msgscan.c — the fast path of atfh_msg_parse: one pass over a #commit
 * message written the way relays write it (canonical DAG-CBOR: header
 * {t, op}, body keys known, definite lengths, ASCII where atproto puts
 * ASCII), with the CBOR heads decoded inline.  99% of the firehose is
 * such commits and parsing them is most of what a filter does.
 *
 * It accepts only what the general parser (event.c) would accept and then
 * fills the same fields from the same bytes; anything it is not sure of —
 * another message type, an unknown key, non-ASCII text, a malformed or
 * merely unusual item — makes it give up (return 0) so the general parser
 * decides and words the error.  fuzz_event checks that both agree.
 */
#include "msgscan.h"
#include "util.h"

/* One CBOR head at *PP: its major type and argument (a count, a length or
 * an integer); false when it is not a definite-length head. */
static inline bool head(const uint8_t **pp, const uint8_t *end, unsigned *major, uint64_t *v)
{
	const uint8_t *p = *pp;
	if (p >= end)
		return false;
	uint8_t ib = *p++;
	unsigned ai = ib & 31;
	*major = ib >> 5;
	if (ai < 24) {
		*v = ai;
	} else if (ai <= 27) {
		size_t len = (size_t)1 << (ai - 24); /* 1, 2, 4 or 8 bytes */
		if ((size_t)(end - p) < len)
			return false;
		*v = 0;
		for (size_t i = 0; i < len; i++)
			*v = *v << 8 | p[i];
		p += len;
	} else {
		return false; /* indefinite length, reserved */
	}
	*pp = p;
	return true;
}

/* A text or byte string of major type MAJOR; its bytes in *S, *N. */
static inline bool string(const uint8_t **pp, const uint8_t *end, unsigned want,
			  const uint8_t **s, size_t *n)
{
	unsigned major;
	uint64_t v;
	if (!head(pp, end, &major, &v) || major != want || v > (uint64_t)(end - *pp))
		return false;
	*s = *pp;
	*n = (size_t)v;
	*pp += v;
	return true;
}

/* Printable-or-not ASCII only: valid UTF-8 without looking further. */
static inline bool ascii(const uint8_t *s, size_t n)
{
	uint64_t acc = 0;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		acc |= w;
	}
	for (; i < n; i++)
		acc |= s[i];
	return !(acc & 0x8080808080808080ull);
}

static inline bool ascii_text(const uint8_t **pp, const uint8_t *end, struct atfh_str *out)
{
	const uint8_t *s;
	size_t n;
	if (!string(pp, end, 3, &s, &n) || !ascii(s, n))
		return false;
	*out = (struct atfh_str){ (const char *)s, n, false };
	return true;
}

static inline bool boolean(const uint8_t **pp, const uint8_t *end, bool *v)
{
	if (*pp >= end || (**pp != 0xf4 && **pp != 0xf5))
		return false;
	*v = *(*pp)++ == 0xf5;
	return true;
}

/* Pass over one value as atfh_cbor_skip_unchecked would accept it:
 * structure only, integers within int64, no tag but 42 on a byte string. */
static bool skip(const uint8_t **pp, const uint8_t *end)
{
	uint64_t pending = 1;
	const uint8_t *p = *pp;
	while (pending--) {
		if (p >= end)
			return false;
		uint8_t ib = *p;
		if (ib == 0xd8) { /* tag 42 on bytes: a CID link */
			if ((size_t)(end - p) < 2 || p[1] != 42)
				return false;
			p += 2;
			pending++;
			continue;
		}
		if (ib >= 0xf4 && ib <= 0xf6) {
			p++;
			continue;
		}
		unsigned major;
		uint64_t v;
		if (!head(&p, end, &major, &v))
			return false;
		uint64_t room = (uint64_t)(end - p);
		switch (major) {
		case 0:
		case 1:
			if (v > (uint64_t)INT64_MAX)
				return false;
			break;
		case 2:
		case 3:
			if (v > room)
				return false;
			p += v;
			break;
		case 4:
			if (v > room)
				return false;
			pending += v;
			break;
		case 5:
			if (v > room / 2)
				return false;
			pending += v * 2;
			break;
		default:
			return false; /* other tags, simple values, floats */
		}
	}
	*pp = p;
	return true;
}

enum key {
	K_UNKNOWN, K_OPS, K_REV, K_SEQ, K_REPO, K_TIME, K_SINCE, K_BLOCKS,
	K_TOOBIG, K_REBASE, K_SKIP, /* commit, blobs, prevData: read by no shape */
};

static inline enum key body_key(const uint8_t *k, size_t n)
{
#define IS(lit) (memcmp(k, lit, sizeof(lit) - 1) == 0)
	switch (n) {
	case 3:
		return IS("ops") ? K_OPS : IS("rev") ? K_REV : IS("seq") ? K_SEQ : K_UNKNOWN;
	case 4:
		return IS("repo") ? K_REPO : IS("time") ? K_TIME : K_UNKNOWN;
	case 5:
		return IS("since") ? K_SINCE : IS("blobs") ? K_SKIP : K_UNKNOWN;
	case 6:
		return IS("blocks") ? K_BLOCKS : IS("tooBig") ? K_TOOBIG
		       : IS("rebase") ? K_REBASE : IS("commit") ? K_SKIP : K_UNKNOWN;
	case 8:
		return IS("prevData") ? K_SKIP : K_UNKNOWN;
	}
	return K_UNKNOWN;
#undef IS
}

static const uint8_t commit_header[] = {
	0xa2, 0x61, 't', 0x67, '#', 'c', 'o', 'm', 'm', 'i', 't', 0x62, 'o', 'p', 0x01,
};

int atfh_msg_scan_commit(struct atfh_msg *m)
{
	const uint8_t *p = m->frame, *end = p + m->frame_len;
	/* The body's last fields (commit, rebase, tooBig, prevData) and the
	 * next frame's length sit past the CAR, kilobytes on: ask for those
	 * lines now so the misses overlap with parsing the first fields
	 * instead of stalling one after the other.  (A prefetch never faults.) */
	__builtin_prefetch(end - 1);
	__builtin_prefetch(end - 65);
	__builtin_prefetch(end - 129);
	__builtin_prefetch(end + 63);
	if (m->frame_len < sizeof commit_header ||
	    memcmp(p, commit_header, sizeof commit_header) != 0)
		return 0;
	m->header = p;
	m->header_len = sizeof commit_header;
	m->op = 1;
	m->type = (struct atfh_str){ (const char *)p + 4, 7, false };
	m->kind = ATFH_K_COMMIT;
	p += sizeof commit_header;
	m->body = p;

	unsigned major;
	uint64_t count;
	if (!head(&p, end, &major, &count) || major != 5 || count > (uint64_t)(end - p) / 2)
		return 0;
	uint32_t seen = 0;
	for (uint64_t i = 0; i < count; i++) {
		const uint8_t *k, *s = NULL;
		size_t kn, n = 0;
		uint64_t v = 0;
		if (!string(&p, end, 3, &k, &kn))
			return 0;
		enum key key = body_key(k, kn);
		/* a repeated key (never canonical): which one counts is the
		 * general parser's business */
		if (key != K_SKIP && (seen & 1u << key))
			return 0;
		seen |= 1u << key;
		bool ok = true;
		switch (key) {
		case K_OPS:
			m->ops_cbor = p;
			ok = skip(&p, end);
			m->ops_len = (size_t)(p - m->ops_cbor);
			break;
		case K_REV: ok = ascii_text(&p, end, &m->rev); break;
		case K_REPO:
			ok = ascii_text(&p, end, &m->did);
			if (ok && m->on_did)
				m->on_did(m->on_did_ctx, m->did.p, m->did.n);
			break;
		case K_TIME: ok = ascii_text(&p, end, &m->time); break;
		case K_TOOBIG: ok = boolean(&p, end, &m->too_big); break;
		case K_REBASE: ok = boolean(&p, end, &m->rebase); break;
		case K_SKIP: ok = skip(&p, end); break;
		case K_UNKNOWN: ok = false; break;
		case K_SEQ:
			ok = head(&p, end, &major, &v) && v <= (uint64_t)INT64_MAX && major <= 1;
			m->seq = major == 0 ? (int64_t)v : -1 - (int64_t)v;
			m->has_seq = true;
			break;
		case K_SINCE:
			if (p < end && *p == 0xf6)
				p++; /* null: no previous rev */
			else
				ok = ascii_text(&p, end, &m->since);
			break;
		case K_BLOCKS:
			ok = string(&p, end, 2, &s, &n);
			m->blocks = s;
			m->blocks_len = n;
			break;
		}
		if (!ok)
			return 0;
	}
	if (p != end || !m->did.p || !m->has_seq || !m->time.p || !m->rev.p)
		return 0;
	if (atfh_parse_time_us(m->time.p, m->time.n, &m->time_us))
		return 0;
	m->has_time = true;
	m->body_len = (size_t)(p - m->body);
	return 1;
}
