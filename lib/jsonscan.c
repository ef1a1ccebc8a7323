/*
 * jsonscan.c — see jsonscan.h.
 */
#include "jsonscan.h"
#include "json.h"

/* Strings are passed over sixteen bytes at a time with SSE2 (the x86-64
 * baseline), else eight at a time in a uint64_t (SWAR); the bytes left at
 * the end go one by one.  ATFH_JSONSCAN_SCALAR builds the portable code on
 * x86-64 too (tests compare the two builds on the same input). */
#if defined(__SSE2__) && !defined(ATFH_JSONSCAN_SCALAR)
#include <emmintrin.h>
#define JSONSCAN_SSE2 1
#endif

/* The scanners take the position P (and the END of the text) and return
 * the position after what they read, or NULL with *ERR set: the first
 * error met, the innermost, is the one reported.  The position stays in
 * a register: kept in a struct in memory, each step of a line waited for
 * the step before it to store it and load it again. */

static inline const char *ws(const char *p, const char *end)
{
	/* compact JSON has none: one test passes a byte above ' ' */
	while (p < end && (unsigned char)*p <= ' ' &&
	       (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static const char *fail(const char **err, const char *why)
{
	*err = why;
	return NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

#ifdef JSONSCAN_SSE2
/* The bytes of V that end a plain run in a string, as a bit mask: a quote,
 * a backslash or a control character (<= 0x1f). */
static inline unsigned special_bytes(__m128i v)
{
	const __m128i c1f = _mm_set1_epi8(0x1f);
	__m128i sp = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
					       _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
				  _mm_cmpeq_epi8(_mm_min_epu8(v, c1f), v));
	return (unsigned)_mm_movemask_epi8(sp);
}
#endif

/* At the opening quote: *START and *LEN the inside of the quotes;
 * returns the position after the closing quote. */
static const char *scan_string(const char *p, const char *end, const char **start, size_t *len,
			       const char **err)
{
	const char *b = ++p;
	uint64_t hi = 0; /* the bytes passed eight at a time, or-ed */
	bool ascii = true;
	for (;;) {
#ifdef JSONSCAN_SSE2
		/* sixteen bytes at a time while there is no quote, backslash or
		 * control character (bytes >= 0x80 noted, checked at the end) */
		if (end - p >= 16) {
			__m128i seen = _mm_setzero_si128();
			do {
				__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
				unsigned m = special_bytes(v);
				if (m) {
					unsigned k = (unsigned)__builtin_ctz(m);
					/* non-ASCII before it, here or in a block passed */
					if (((unsigned)_mm_movemask_epi8(v) & ((1u << k) - 1)) ||
					    _mm_movemask_epi8(seen))
						ascii = false;
					p += k;
					goto special;
				}
				seen = _mm_or_si128(seen, v);
				p += 16;
			} while (end - p >= 16);
			if (_mm_movemask_epi8(seen))
				ascii = false;
		}
#endif
		/* eight bytes at a time while there is no quote, backslash or
		 * control character (SWAR; non-ASCII is checked at the end) */
		while (end - p >= 8) {
			uint64_t w, q, e, m;
			memcpy(&w, p, 8);
			q = w ^ 0x2222222222222222ull;
			e = w ^ 0x5c5c5c5c5c5c5c5cull;
			m = ((w - 0x2020202020202020ull) | (q - 0x0101010101010101ull) |
			     (e - 0x0101010101010101ull)) & ~w & 0x8080808080808080ull;
			if (m) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
				/* the lowest flagged byte is the first special one */
				size_t k = (size_t)__builtin_ctzll(m) / 8;
				hi |= w & ((1ull << (8 * k)) - 1);
				p += k;
#endif
				break;
			}
			hi |= w;
			p += 8;
		}
		if (p >= end)
			break;
#ifdef JSONSCAN_SSE2
special:;
#endif
		unsigned char c = (unsigned char)*p;
		if (c == '"') {
			*start = b;
			*len = (size_t)(p - b);
			if ((!ascii || (hi & 0x8080808080808080ull)) && !atfh_utf8_valid(b, *len))
				return fail(err, "invalid UTF-8 in a JSON string");
			return p + 1;
		}
		if (c < 0x20)
			return fail(err, "control character in a JSON string");
		if (c >= 0x80)
			ascii = false;
		if (c == '\\') {
			if (end - p < 2)
				break;
			char e = p[1];
			if (e == 'u') {
				if (end - p < 6 || hexval(p[2]) < 0 || hexval(p[3]) < 0 ||
				    hexval(p[4]) < 0 || hexval(p[5]) < 0)
					return fail(err, "bad \\u escape in a JSON string");
				p += 6;
				continue;
			}
			if (!strchr("\"\\/bfnrt", e) || e == 0)
				return fail(err, "bad escape in a JSON string");
			p += 2;
			continue;
		}
		p++;
	}
	return fail(err, "unterminated JSON string");
}

/* scan_string for a string that ends within its first 32 bytes, all
 * ASCII without escapes (keys, DIDs, collections, times): no call, no
 * UTF-8 check. */
static inline const char *scan_str(const char *p, const char *end, const char **start,
				   size_t *len, const char **err)
{
#ifdef JSONSCAN_SSE2
	const char *b = p + 1;
	if (end - b >= 32) {
		for (unsigned off = 0; off < 32; off += 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(b + off));
			unsigned m = special_bytes(v);
			unsigned hi = (unsigned)_mm_movemask_epi8(v);
			if (!m) {
				if (hi)
					break;
				continue;
			}
			unsigned k = (unsigned)__builtin_ctz(m);
			if (b[off + k] != '"' || (hi & ((1u << k) - 1)))
				break;
			*start = b;
			*len = off + k;
			return b + off + k + 1;
		}
	}
#endif
	return scan_string(p, end, start, len, err);
}

/* Past the digits from P: eight at a time (times in microseconds have
 * sixteen), then one by one. */
static const char *digits(const char *p, const char *end)
{
	while (end - p >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		/* each byte 0x30..0x39: high nibble 3, and adding 6 keeps it 3 */
		if ((w & 0xf0f0f0f0f0f0f0f0ull) != 0x3030303030303030ull ||
		    ((w + 0x0606060606060606ull) & 0xf0f0f0f0f0f0f0f0ull) != 0x3030303030303030ull)
			break;
		p += 8;
	}
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p;
}

static const char *scan_number(const char *p, const char *end, const char **err)
{
	if (p < end && *p == '-')
		p++;
	if (p >= end)
		return fail(err, "bad JSON number");
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		p = digits(p, end);
	else
		return fail(err, "bad JSON number");
	if (p < end && *p == '.') {
		p++;
		if (p >= end || *p < '0' || *p > '9')
			return fail(err, "bad JSON number");
		p = digits(p, end);
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || *p < '0' || *p > '9')
			return fail(err, "bad JSON number");
		p = digits(p, end);
	}
	return p;
}

static const char *literal(const char *p, const char *end, const char *lit, size_t n,
			   const char **err)
{
	if ((size_t)(end - p) < n || memcmp(p, lit, n) != 0)
		return fail(err, "invalid JSON");
	return p + n;
}

static const char *scan_value(const char *p, const char *end, struct atfh_jval *v, int depth,
			      const char **err);

static const char *scan_container(const char *p, const char *end, bool obj, int depth,
				  const char **err)
{
	if (depth >= ATFH_MAX_JSON_DEPTH)
		return fail(err, "JSON nested too deeply");
	char close = obj ? '}' : ']';
	p = ws(p + 1, end);
	if (p < end && *p == close)
		return p + 1;
	for (;;) {
		struct atfh_jval v;
		if (obj) {
			const char *k;
			size_t kn;
			if (p >= end || *p != '"')
				return fail(err, "expected a key in a JSON object");
			if (!(p = scan_str(p, end, &k, &kn, err)))
				return NULL;
			p = ws(p, end);
			if (p >= end || *p != ':')
				return fail(err, "expected ':' in a JSON object");
			p = ws(p + 1, end);
		}
		if (!(p = scan_value(p, end, &v, depth + 1, err)))
			return NULL;
		p = ws(p, end);
		if (p < end && *p == ',') {
			p = ws(p + 1, end);
			continue;
		}
		if (p < end && *p == close)
			return p + 1;
		return fail(err, obj ? "expected ',' or '}' in a JSON object"
				     : "expected ',' or ']' in a JSON array");
	}
}

static const char *scan_value(const char *p, const char *end, struct atfh_jval *v, int depth,
			      const char **err)
{
	if (p >= end)
		return fail(err, "truncated JSON");
	const char *b = p;
	switch (*p) {
	case '"':
		v->type = ATFH_J_STR;
		return scan_str(p, end, &v->p, &v->n, err);
	case '{':
	case '[':
		v->type = *p == '{' ? ATFH_J_OBJ : ATFH_J_ARR;
		p = scan_container(p, end, v->type == ATFH_J_OBJ, depth, err);
		break;
	case 't':
		v->type = ATFH_J_BOOL;
		v->truth = true;
		p = literal(p, end, "true", 4, err);
		break;
	case 'f':
		v->type = ATFH_J_BOOL;
		v->truth = false;
		p = literal(p, end, "false", 5, err);
		break;
	case 'n':
		v->type = ATFH_J_NULL;
		p = literal(p, end, "null", 4, err);
		break;
	default:
		v->type = ATFH_J_NUM;
		p = scan_number(p, end, err);
	}
	if (!p)
		return NULL;
	v->p = b;
	v->n = (size_t)(p - b);
	return p;
}

int atfh_json_check(const char *p, size_t n, const char **err)
{
	const char *end = p + n;
	struct atfh_jval v;
	if (!(p = scan_value(ws(p, end), end, &v, 0, err)))
		return -1;
	if (ws(p, end) != end) {
		*err = "trailing characters after the JSON value";
		return -1;
	}
	return 0;
}

int atfh_jobj_parse(struct atfh_jobj *o, const char *p, size_t n, const char **err)
{
	const char *end = p + n;
	o->n = 0;
	p = ws(p, end);
	if (p >= end || *p != '{')
		return *err = "not a JSON object", -1;
	p = ws(p + 1, end);
	if (p < end && *p == '}') {
		p++;
	} else {
		for (;;) {
			struct atfh_jfield f;
			if (p >= end || *p != '"')
				return *err = "expected a key in a JSON object", -1;
			if (!(p = scan_str(p, end, &f.key.p, &f.key.n, err)))
				return -1;
			f.key.json = true;
			p = ws(p, end);
			if (p >= end || *p != ':')
				return *err = "expected ':' in a JSON object", -1;
			if (!(p = scan_value(ws(p + 1, end), end, &f.val, 1, err)))
				return -1;
			if (o->n < ATFH_JFIELDS_MAX)
				o->f[o->n++] = f;
			p = ws(p, end);
			if (p < end && *p == ',') {
				p = ws(p + 1, end);
				continue;
			}
			if (p < end && *p == '}') {
				p++;
				break;
			}
			return *err = "expected ',' or '}' in a JSON object", -1;
		}
	}
	if (ws(p, end) != end)
		return *err = "trailing characters after the JSON object", -1;
	return 0;
}

int atfh_jarr_next(const struct atfh_jval *a, const char **pos, struct atfh_jval *v)
{
	if (a->type != ATFH_J_ARR || a->n < 2)
		return 0;
	const char *p = *pos ? *pos : a->p + 1, *end = a->p + a->n - 1, *err;
	p = ws(p, end);
	if (p < end && *p == ',')
		p = ws(p + 1, end);
	if (p >= end || !(p = scan_value(p, end, v, 1, &err)))
		return 0;
	*pos = p;
	return 1;
}

long atfh_jval_unescape(const struct atfh_jval *v, char *dst, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; i < v->n; i++) {
		char c = v->p[i];
		if (c == '\\') {
			if (++i >= v->n)
				return -1;
			switch (v->p[i]) {
			case '"': c = '"'; break;
			case '\\': c = '\\'; break;
			case '/': c = '/'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u': {
				unsigned u = 0;
				if (i + 4 >= v->n)
					return -1;
				for (int j = 1; j <= 4; j++) {
					int h = hexval(v->p[i + j]);
					if (h < 0)
						return -1;
					u = u * 16 + (unsigned)h;
				}
				if (u == 0 || u > 0x7f)
					return -1;
				c = (char)u;
				i += 4;
				break;
			}
			default:
				return -1;
			}
		}
		if (k + 1 >= cap)
			return -1;
		dst[k++] = c;
	}
	if (cap == 0)
		return -1;
	dst[k] = '\0';
	return (long)k;
}

const struct atfh_jval *atfh_jobj_get(const struct atfh_jobj *o, const char *key)
{
	size_t kn = strlen(key);
	for (size_t i = 0; i < o->n; i++)
		if (o->f[i].key.n == kn && memcmp(o->f[i].key.p, key, kn) == 0)
			return &o->f[i].val;
	return NULL;
}

bool atfh_jval_i64(const struct atfh_jval *v, int64_t *out)
{
	if (v->type != ATFH_J_NUM || v->n == 0)
		return false;
	const char *p = v->p, *e = v->p + v->n;
	bool neg = *p == '-';
	if (neg)
		p++;
	uint64_t acc = 0;
	if (p == e)
		return false;
	for (; p < e; p++) {
		if (*p < '0' || *p > '9')
			return false; /* fraction or exponent */
		unsigned d = (unsigned)(*p - '0');
		if (acc > (UINT64_MAX - d) / 10)
			return false;
		acc = acc * 10 + d;
	}
	if (neg) {
		if (acc > (uint64_t)INT64_MAX + 1)
			return false;
		*out = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
	} else {
		if (acc > (uint64_t)INT64_MAX)
			return false;
		*out = (int64_t)acc;
	}
	return true;
}
