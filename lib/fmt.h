/*
 * fmt.h — private to lib/format.c and its shape modules (fmt_atkafka.c,
 * fmt_cloudevents.c): the per-call formatting state and the helpers every
 * shape writes with.  Not for programs: they use format.h.
 */
#ifndef ATFH_FMT_H
#define ATFH_FMT_H

#include "format.h"
#include "dagcbor.h"
#include "json.h"

/* Formatting state for one call; errors carry a static or buffered text. */
struct fmt {
	struct atfh_out *o;
	struct atfh_format_opts *opt;
	const char *err;
	char errbuf[120];
};

int fmt_fail_cbor(struct fmt *f, struct atfh_cbor *c, const char *where);
/* Write V (a record or body) as JSON, with --sort-keys its keys sorted;
 * -1 with f->err when it does not decode.  _as_is: in the order given. */
int fmt_put_value(struct fmt *f, const struct atfh_value *v, const char *where);
int fmt_put_value_as_is(struct fmt *f, const struct atfh_value *v, const char *where);
/* Past the JSON value at P / past white space (P is valid JSON text). */
const char *fmt_jskip(const char *p, const char *end);
const char *fmt_jws(const char *p, const char *end);
/* "at://did/collection/rkey" (or "at://did" without the path) */
void fmt_put_uri(struct atfh_out *o, const struct atfh_view *v, bool with_path);
/* The view's kind as text ("commit", or an unknown kind's own name). */
const char *fmt_kind_name(const struct atfh_view *v, size_t *n);
/* RFC 3339 UTC text of US microseconds since the epoch into BUF: with
 * MICRO always six fractional digits, else three when they suffice.
 * Returns the length, 0 when the time is out of range. */
size_t fmt_time_us(char *buf, size_t size, int64_t us, bool micro);

static inline bool fmt_has_value(const struct atfh_value *v)
{
	return v->json || v->cbor;
}

static inline void fmt_put_str(struct atfh_out *o, struct atfh_str s)
{
	atfh_json_astr(o, s);
}

/* KEY_LIT (the punctuation and key, e.g. ",\"rkey\":") then the string S */
#define put_key_str(o, key_lit, s) (atfh_out_lit((o), key_lit), fmt_put_str((o), (s)))

static inline void fmt_put_cid(struct atfh_out *o, const struct atfh_view *v)
{
	if (v->cid_str.p)
		fmt_put_str(o, v->cid_str);
	else
		atfh_json_cid(o, v->cid, v->cid_len);
}

static inline bool fmt_has_cid(const struct atfh_view *v)
{
	return v->cid_str.p || v->cid;
}

/* The shapes, one module each. */
int fmt_put_atkafka(struct fmt *f, const struct atfh_view *v);
int fmt_put_osprey(struct fmt *f, const struct atfh_view *v);
int fmt_put_cloudevents(struct fmt *f, const struct atfh_view *v);

#endif
