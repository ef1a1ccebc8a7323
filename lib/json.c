/*
 * json.c — JSON output primitives; see json.h.
 */
#include "json.h"

/* 0: copy as is; 1: needs an escape; 2: start of a multi-byte sequence */
static inline int json_class(uint8_t c)
{
	if (c < 0x20 || c == '"' || c == '\\')
		return 1;
	return c >= 0x80 ? 2 : 0;
}

/* Length of the valid UTF-8 sequence at S (1..4), or 0 if invalid. */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
	uint8_t c = s[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && s[1] < 0xa0)
			return 0; /* overlong */
		if (c == 0xed && s[1] >= 0xa0)
			return 0; /* surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && s[1] < 0x90)
			return 0; /* overlong */
		if (c == 0xf4 && s[1] >= 0x90)
			return 0; /* > U+10FFFF */
		return 4;
	}
	return 0;
}

bool atfh_utf8_valid(const char *str, size_t n)
{
	const uint8_t *s = (const uint8_t *)str;
	size_t i = 0;
	while (i < n) {
		/* eight ASCII bytes at a time: most text on the wire is ASCII */
		while (i + 8 <= n) {
			uint64_t w;
			memcpy(&w, s + i, 8);
			if (w & 0x8080808080808080ull)
				break;
			i += 8;
		}
		if (i >= n)
			break;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = utf8_seq(s + i, n - i);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

/* Escape S into O without quotes; returns the count of invalid sequences. */
static size_t escape(struct atfh_out *o, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *s = (const uint8_t *)str;
	size_t bad = 0, i = 0;

	/* worst case: every byte becomes \u00XX (6) or \ufffd (6) */
	atfh_out_reserve(o, n * 6);
	char *d = o->buf + o->len;
	while (i < n) {
		size_t run = i;
		while (run < n && json_class(s[run]) == 0)
			run++;
		memcpy(d, s + i, run - i);
		d += run - i;
		i = run;
		if (i >= n)
			break;
		uint8_t c = s[i];
		if (json_class(c) == 1) {
			*d++ = '\\';
			switch (c) {
			case '"': *d++ = '"'; break;
			case '\\': *d++ = '\\'; break;
			case '\n': *d++ = 'n'; break;
			case '\r': *d++ = 'r'; break;
			case '\t': *d++ = 't'; break;
			case '\b': *d++ = 'b'; break;
			case '\f': *d++ = 'f'; break;
			default:
				*d++ = 'u'; *d++ = '0'; *d++ = '0';
				*d++ = hex[c >> 4]; *d++ = hex[c & 15];
			}
			i++;
			continue;
		}
		size_t k = utf8_seq(s + i, n - i);
		if (k) {
			memcpy(d, s + i, k);
			d += k;
			i += k;
		} else {
			memcpy(d, "\\ufffd", 6);
			d += 6;
			bad++;
			i++;
		}
	}
	o->len = (size_t)(d - o->buf);
	return bad;
}

size_t atfh_json_str(struct atfh_out *o, const char *str, size_t n)
{
	atfh_out_c(o, '"');
	size_t bad = escape(o, str, n);
	atfh_out_c(o, '"');
	return bad;
}

size_t atfh_json_part(struct atfh_out *o, struct atfh_str s)
{
	if (!s.json)
		return escape(o, s.p, s.n);
	atfh_out_put(o, s.p, s.n);
	return 0;
}

size_t atfh_json_astr(struct atfh_out *o, struct atfh_str s)
{
	if (!s.json)
		return atfh_json_str(o, s.p, s.n);
	atfh_out_reserve(o, s.n + 2);
	o->buf[o->len++] = '"';
	memcpy(o->buf + o->len, s.p, s.n);
	o->len += s.n;
	o->buf[o->len++] = '"';
	return 0;
}

void atfh_json_u64(struct atfh_out *o, uint64_t v)
{
	char tmp[24];
	char *e = tmp + sizeof tmp, *p = e;
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	atfh_out_put(o, p, (size_t)(e - p));
}

void atfh_json_i64(struct atfh_out *o, int64_t v)
{
	if (v < 0) {
		atfh_out_c(o, '-');
		/* -(INT64_MIN) overflows; compute the magnitude unsigned */
		atfh_json_u64(o, (uint64_t)0 - (uint64_t)v);
	} else {
		atfh_json_u64(o, (uint64_t)v);
	}
}

void atfh_json_base64(struct atfh_out *o, const uint8_t *p, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	atfh_out_reserve(o, (n + 2) / 3 * 4);
	char *d = o->buf + o->len;
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*d++ = tab[v >> 18];
		*d++ = tab[(v >> 12) & 63];
		*d++ = tab[(v >> 6) & 63];
		*d++ = tab[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		*d++ = tab[v >> 18];
		*d++ = tab[(v >> 12) & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*d++ = tab[v >> 18];
		*d++ = tab[(v >> 12) & 63];
		*d++ = tab[(v >> 6) & 63];
	}
	o->len = (size_t)(d - o->buf);
}
