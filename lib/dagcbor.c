/*
 * dagcbor.c — DAG-CBOR reading on libcbor's streaming decoder; see dagcbor.h.
 */
#include "dagcbor.h"
#include "cid.h"
#include "json.h"

#include <cbor.h>
#include <stdarg.h>
#include <stdio.h>

enum { PENDING = -1, BAD = -2 };

struct cb_ctx {
	int kind; /* enum atfh_cbor_kind, PENDING or BAD */
	const char *bad;
	struct atfh_cbor_item *it;
	uint64_t u;
};

int atfh_cbor_fail(struct atfh_cbor *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->errbuf, sizeof c->errbuf, fmt, ap);
	va_end(ap);
	c->err = c->errbuf;
	return -1;
}

static void set_uint(struct cb_ctx *x, uint64_t v)
{
	if (v > (uint64_t)INT64_MAX) {
		x->kind = BAD;
		x->bad = "integer outside the int64 range";
		return;
	}
	x->kind = ATFH_CB_INT;
	x->it->i = (int64_t)v;
}

static void set_negint(struct cb_ctx *x, uint64_t v)
{
	/* CBOR stores -1 - value; -1 - INT64_MAX is INT64_MIN, the last one */
	if (v > (uint64_t)INT64_MAX) {
		x->kind = BAD;
		x->bad = "integer outside the int64 range";
		return;
	}
	x->kind = ATFH_CB_INT;
	x->it->i = -1 - (int64_t)v;
}

static void cb_u8(void *c, uint8_t v) { set_uint(c, v); }
static void cb_u16(void *c, uint16_t v) { set_uint(c, v); }
static void cb_u32(void *c, uint32_t v) { set_uint(c, v); }
static void cb_u64(void *c, uint64_t v) { set_uint(c, v); }
static void cb_n8(void *c, uint8_t v) { set_negint(c, v); }
static void cb_n16(void *c, uint16_t v) { set_negint(c, v); }
static void cb_n32(void *c, uint32_t v) { set_negint(c, v); }
static void cb_n64(void *c, uint64_t v) { set_negint(c, v); }

static void cb_bytes(void *c, cbor_data p, size_t n)
{
	struct cb_ctx *x = c;
	x->kind = ATFH_CB_BYTES;
	x->it->p = p;
	x->it->n = n;
}

static void cb_text(void *c, cbor_data p, size_t n)
{
	struct cb_ctx *x = c;
	x->kind = ATFH_CB_TEXT;
	x->it->p = p;
	x->it->n = n;
}

static void cb_array(void *c, size_t n)
{
	struct cb_ctx *x = c;
	x->kind = ATFH_CB_ARRAY;
	x->it->count = n;
}

static void cb_map(void *c, size_t n)
{
	struct cb_ctx *x = c;
	x->kind = ATFH_CB_MAP;
	x->it->count = n;
}

static void cb_tag(void *c, uint64_t v)
{
	struct cb_ctx *x = c;
	x->kind = ATFH_CB_LINK; /* checked by the caller */
	x->u = v;
}

static void cb_null(void *c)
{
	((struct cb_ctx *)c)->kind = ATFH_CB_NULL;
}

static void cb_bool(void *c, bool v)
{
	struct cb_ctx *x = c;
	x->kind = ATFH_CB_BOOL;
	x->it->i = v;
}

static void bad(struct cb_ctx *x, const char *why)
{
	x->kind = BAD;
	x->bad = why;
}
static void cb_indef(void *c) { bad(c, "indefinite-length item"); }
static void cb_float(void *c, float v) { (void)v; bad(c, "floating point number"); }
static void cb_double(void *c, double v) { (void)v; bad(c, "floating point number"); }
static void cb_undef(void *c) { bad(c, "undefined value"); }

static const struct cbor_callbacks callbacks = {
	.uint8 = cb_u8, .uint16 = cb_u16, .uint32 = cb_u32, .uint64 = cb_u64,
	.negint8 = cb_n8, .negint16 = cb_n16, .negint32 = cb_n32, .negint64 = cb_n64,
	.byte_string = cb_bytes, .byte_string_start = cb_indef,
	.string = cb_text, .string_start = cb_indef,
	.array_start = cb_array, .indef_array_start = cb_indef,
	.map_start = cb_map, .indef_map_start = cb_indef,
	.tag = cb_tag,
	.float2 = cb_float, .float4 = cb_float, .float8 = cb_double,
	.undefined = cb_undef, .null = cb_null, .boolean = cb_bool,
	.indef_break = cb_indef,
};

/* The common heads — definite-length integers, strings, arrays and maps,
 * false/true/null and tag 42 — read inline: this is the hot path of every
 * program and a callback round trip per item costs more than the item.
 * Anything else (floats, indefinite lengths, other tags and simple values,
 * reserved bytes) goes to libcbor, which decides it.  1: handled; 0: not
 * handled; -1: error. */
static int fast_one(struct atfh_cbor *c, struct cb_ctx *x)
{
	const uint8_t *p = c->p;
	size_t left = (size_t)(c->end - p);
	uint8_t ib = p[0], major = ib >> 5, ai = ib & 31;
	uint64_t v;
	size_t hl;

	if (major == 7) {
		if (ib < 0xf4 || ib > 0xf6)
			return 0;
		if (ib == 0xf6) {
			x->kind = ATFH_CB_NULL;
		} else {
			x->kind = ATFH_CB_BOOL;
			x->it->i = ib == 0xf5;
		}
		c->p++;
		return 1;
	}
	if (major == 6) {
		if (ib != 0xd8 || left < 2 || p[1] != 42)
			return 0;
		x->kind = ATFH_CB_LINK;
		x->u = 42;
		c->p += 2;
		return 1;
	}
	if (ai < 24) {
		v = ai;
		hl = 1;
	} else if (ai <= 27) {
		hl = (size_t)1 + ((size_t)1 << (ai - 24));
		if (left < hl)
			return atfh_cbor_fail(c, "CBOR length beyond the end of the data");
		v = 0;
		for (size_t i = 1; i < hl; i++)
			v = v << 8 | p[i];
	} else {
		return 0; /* indefinite length or reserved: libcbor's verdict */
	}
	switch (major) {
	case 0:
		set_uint(x, v);
		break;
	case 1:
		set_negint(x, v);
		break;
	case 2:
	case 3:
		if (v > left - hl)
			return atfh_cbor_fail(c, "CBOR length beyond the end of the data");
		x->kind = major == 2 ? ATFH_CB_BYTES : ATFH_CB_TEXT;
		x->it->p = p + hl;
		x->it->n = (size_t)v;
		hl += (size_t)v;
		break;
	case 4:
	case 5:
		x->kind = major == 4 ? ATFH_CB_ARRAY : ATFH_CB_MAP;
		x->it->count = v;
		break;
	}
	if (x->kind == BAD)
		return atfh_cbor_fail(c, "%s (not in the atproto data model)", x->bad);
	c->p += hl;
	return 1;
}

static int decode_one(struct atfh_cbor *c, struct cb_ctx *x)
{
	if (c->p >= c->end)
		return atfh_cbor_fail(c, "CBOR value truncated");
	int f = fast_one(c, x);
	if (f)
		return f < 0 ? -1 : 0;
	x->kind = PENDING;
	struct cbor_decoder_result r =
	    cbor_stream_decode(c->p, (size_t)(c->end - c->p), &callbacks, x);
	if (r.status == CBOR_DECODER_NEDATA)
		return atfh_cbor_fail(c, "CBOR length beyond the end of the data");
	if (r.status != CBOR_DECODER_FINISHED)
		return atfh_cbor_fail(c, "malformed CBOR");
	if (x->kind == BAD)
		return atfh_cbor_fail(c, "%s (not in the atproto data model)", x->bad);
	if (x->kind == PENDING)
		return atfh_cbor_fail(c, "CBOR simple value not in the atproto data model");
	c->p += r.read;
	return 0;
}

int atfh_cbor_next(struct atfh_cbor *c, struct atfh_cbor_item *it)
{
	struct cb_ctx x = { .it = it };
	if (decode_one(c, &x))
		return -1;
	if (x.kind == ATFH_CB_LINK) {
		if (x.u != 42)
			return atfh_cbor_fail(c, "CBOR tag %llu (only tag 42 is allowed)",
					      (unsigned long long)x.u);
		if (decode_one(c, &x))
			return -1;
		if (x.kind != ATFH_CB_BYTES)
			return atfh_cbor_fail(c, "CID link (tag 42) is not a byte string");
		struct atfh_cid cid;
		if (it->n < 2 || it->p[0] != 0 ||
		    atfh_cid_parse(it->p + 1, it->n - 1, &cid) != it->n - 1)
			return atfh_cbor_fail(c, "CID link (tag 42) holds no valid CID");
		it->p++;
		it->n--;
		x.kind = ATFH_CB_LINK;
	}
	it->kind = (enum atfh_cbor_kind)x.kind;
	if (it->kind == ATFH_CB_ARRAY || it->kind == ATFH_CB_MAP) {
		/* every item takes at least one byte: reject counts that cannot fit */
		uint64_t room = (uint64_t)(c->end - c->p);
		if (it->count > room || (it->kind == ATFH_CB_MAP && it->count > room / 2))
			return atfh_cbor_fail(c, "CBOR %s count beyond the end of the data",
					      it->kind == ATFH_CB_MAP ? "map" : "array");
	}
	return 0;
}

void atfh_json_cid(struct atfh_out *o, const uint8_t *p, size_t n)
{
	struct atfh_cid cid;
	if (atfh_cid_parse(p, n, &cid) != n) {
		atfh_out_lit(o, "null"); /* callers only pass parsed CIDs */
		return;
	}
	atfh_out_reserve(o, ATFH_CID_STRMAX(n) + 2);
	o->buf[o->len++] = '"';
	o->len += atfh_cid_str(&cid, o->buf + o->len);
	o->buf[o->len++] = '"';
}

struct level {
	uint64_t left; /* items still to read; maps count keys and values */
	bool map, first;
};

/* The one walker behind skip and to_json (O == NULL: check only). */
static int walk(struct atfh_cbor *c, struct atfh_out *o)
{
	struct level st[ATFH_MAX_DEPTH];
	int d = -1;
	struct atfh_cbor_item it;

	for (;;) {
		bool is_key = false;
		if (d >= 0) {
			struct level *l = &st[d];
			if (l->left == 0) {
				if (o)
					atfh_out_c(o, l->map ? '}' : ']');
				if (--d < 0)
					return 0;
				continue;
			}
			is_key = l->map && (l->left & 1) == 0;
			if (o && !l->first && (is_key || !l->map))
				atfh_out_c(o, ',');
			l->first = false;
			l->left--;
		}
		if (atfh_cbor_next(c, &it))
			return -1;
		if (is_key) {
			if (it.kind != ATFH_CB_TEXT)
				return atfh_cbor_fail(c, "map key is not a text string");
		}
		switch (it.kind) {
		case ATFH_CB_INT:
			if (o)
				atfh_json_i64(o, it.i);
			break;
		case ATFH_CB_TEXT:
			if (o) {
				if (atfh_json_str(o, (const char *)it.p, it.n))
					return atfh_cbor_fail(c, "invalid UTF-8 in a text string");
			} else if (!atfh_utf8_valid((const char *)it.p, it.n)) {
				return atfh_cbor_fail(c, "invalid UTF-8 in a text string");
			}
			if (is_key) {
				if (o)
					atfh_out_c(o, ':');
				continue;
			}
			break;
		case ATFH_CB_BYTES:
			if (o) {
				atfh_out_lit(o, "{\"$bytes\":\"");
				atfh_json_base64(o, it.p, it.n);
				atfh_out_lit(o, "\"}");
			}
			break;
		case ATFH_CB_LINK:
			if (o) {
				atfh_out_lit(o, "{\"$link\":");
				atfh_json_cid(o, it.p, it.n);
				atfh_out_c(o, '}');
			}
			break;
		case ATFH_CB_BOOL:
			if (o) {
				if (it.i)
					atfh_out_lit(o, "true");
				else
					atfh_out_lit(o, "false");
			}
			break;
		case ATFH_CB_NULL:
			if (o)
				atfh_out_lit(o, "null");
			break;
		case ATFH_CB_ARRAY:
		case ATFH_CB_MAP:
			if (d + 1 >= ATFH_MAX_DEPTH)
				return atfh_cbor_fail(c, "nesting deeper than %d levels",
						      ATFH_MAX_DEPTH);
			d++;
			st[d].map = it.kind == ATFH_CB_MAP;
			st[d].left = st[d].map ? it.count * 2 : it.count;
			st[d].first = true;
			if (o)
				atfh_out_c(o, st[d].map ? '{' : '[');
			continue;
		}
		if (d < 0)
			return 0;
	}
}

int atfh_cbor_skip(struct atfh_cbor *c)
{
	return walk(c, NULL);
}

int atfh_cbor_skip_unchecked(struct atfh_cbor *c)
{
	/* items still to pass; an array adds its count, a map twice its count,
	 * a tag the one item it wraps.  Each item is at least one byte, and
	 * atfh_cbor_next-level checks keep counts within the data, so this
	 * ends. */
	uint64_t pending = 1;
	struct atfh_cbor_item it;
	while (pending--) {
		struct cb_ctx x = { .it = &it };
		if (decode_one(c, &x))
			return -1;
		uint64_t room = (uint64_t)(c->end - c->p);
		switch (x.kind) {
		case ATFH_CB_ARRAY:
		case ATFH_CB_MAP:
			if (it.count > room || (x.kind == ATFH_CB_MAP && it.count > room / 2))
				return atfh_cbor_fail(c, "CBOR %s count beyond the end of the data",
						      x.kind == ATFH_CB_MAP ? "map" : "array");
			pending += x.kind == ATFH_CB_MAP ? it.count * 2 : it.count;
			break;
		case ATFH_CB_LINK:
			if (x.u != 42)
				return atfh_cbor_fail(c, "CBOR tag %llu (only tag 42 is allowed)",
						      (unsigned long long)x.u);
			pending++;
			break;
		default:
			break;
		}
	}
	return 0;
}

int atfh_cbor_to_json(struct atfh_cbor *c, struct atfh_out *o)
{
	return walk(c, o);
}

int atfh_cbor_map_to_json_except(struct atfh_cbor *c, struct atfh_out *o,
				 const char *skip)
{
	struct atfh_cbor_item it;
	size_t skip_len = strlen(skip);
	bool first = true;
	if (atfh_cbor_next(c, &it))
		return -1;
	if (it.kind != ATFH_CB_MAP)
		return atfh_cbor_fail(c, "message body is not a map");
	atfh_out_c(o, '{');
	for (uint64_t i = 0; i < it.count; i++) {
		struct atfh_str key;
		if (atfh_cbor_text(c, &key, "map key"))
			return -1;
		if (atfh_str_eq(key, skip, skip_len)) {
			if (atfh_cbor_skip(c))
				return -1;
			continue;
		}
		if (!first)
			atfh_out_c(o, ',');
		first = false;
		if (atfh_json_str(o, key.p, key.n))
			return atfh_cbor_fail(c, "invalid UTF-8 in a text string");
		atfh_out_c(o, ':');
		if (walk(c, o))
			return -1;
	}
	atfh_out_c(o, '}');
	return 0;
}

int atfh_cbor_text(struct atfh_cbor *c, struct atfh_str *s, const char *what)
{
	struct atfh_cbor_item it;
	if (atfh_cbor_next(c, &it))
		return -1;
	if (it.kind != ATFH_CB_TEXT)
		return atfh_cbor_fail(c, "%s is not a text string", what);
	if (!atfh_utf8_valid((const char *)it.p, it.n))
		return atfh_cbor_fail(c, "invalid UTF-8 in %s", what);
	s->p = (const char *)it.p;
	s->n = it.n;
	s->json = false;
	return 0;
}

int atfh_cbor_int(struct atfh_cbor *c, int64_t *v, const char *what)
{
	struct atfh_cbor_item it;
	if (atfh_cbor_next(c, &it))
		return -1;
	if (it.kind != ATFH_CB_INT)
		return atfh_cbor_fail(c, "%s is not an integer", what);
	*v = it.i;
	return 0;
}

int atfh_cbor_bool(struct atfh_cbor *c, bool *v, const char *what)
{
	struct atfh_cbor_item it;
	if (atfh_cbor_next(c, &it))
		return -1;
	if (it.kind != ATFH_CB_BOOL)
		return atfh_cbor_fail(c, "%s is not a boolean", what);
	*v = it.i != 0;
	return 0;
}
