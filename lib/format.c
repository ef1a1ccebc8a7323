/*
 * format.c — output shapes; see format.h.
 */
#include "fmt.h"
#include "cid.h"
#include "evpath.h" /* atfh_json_canonical, atfh_json_unescape */
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <xxhash.h>

const char *const atfh_format_names[] = {
	"jetstream", "frame", "atkafka", "osprey", "cloudevents", NULL,
};

int atfh_format_lookup(const char *name)
{
	for (int i = 0; atfh_format_names[i]; i++)
		if (strcmp(name, atfh_format_names[i]) == 0)
			return i;
	return -1;
}

/* The error of a finished call: F lives on the caller's stack, so a
 * buffered text is copied out before F goes away. */
static const char *fmt_error(const struct fmt *f)
{
	static _Thread_local char kept[sizeof f->errbuf];
	if (!f->err)
		return "cannot format the event";
	if (f->err != f->errbuf)
		return f->err;
	memcpy(kept, f->errbuf, sizeof kept);
	return kept;
}

int fmt_fail_cbor(struct fmt *f, struct atfh_cbor *c, const char *where)
{
	snprintf(f->errbuf, sizeof f->errbuf, "%s: %s", where, c->err);
	f->err = f->errbuf;
	return -1;
}

int fmt_put_value_as_is(struct fmt *f, const struct atfh_value *v, const char *where)
{
	if (v->json) {
		atfh_out_put(f->o, v->json, v->json_len);
		return 0;
	}
	struct atfh_cbor c;
	atfh_cbor_init(&c, v->cbor, v->cbor_len);
	int r = v->skip_key ? atfh_cbor_map_to_json_except(&c, f->o, v->skip_key)
			    : atfh_cbor_to_json(&c, f->o);
	if (!r && c.p != c.end)
		r = atfh_cbor_fail(&c, "trailing bytes after the value");
	return r ? fmt_fail_cbor(f, &c, where) : 0;
}

/* Past the JSON value at P (valid JSON, checked by the caller's parse). */
const char *fmt_jskip(const char *p, const char *end)
{
	if (p < end && *p == '"') {
		for (p++; p < end && *p != '"'; p++)
			if (*p == '\\')
				p++;
		return p < end ? p + 1 : end;
	}
	if (p < end && (*p == '[' || *p == '{')) {
		int depth = 0;
		for (; p < end; p++) {
			if (*p == '"') {
				p = fmt_jskip(p, end) - 1;
			} else if (*p == '[' || *p == '{') {
				depth++;
			} else if (*p == ']' || *p == '}') {
				if (--depth == 0)
					return p + 1;
			}
		}
		return end;
	}
	while (p < end && *p != ',' && *p != ']' && *p != '}' && *p != ' ' &&
	       *p != '\t' && *p != '\n' && *p != '\r')
		p++;
	return p;
}

const char *fmt_jws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* ---- --sort-keys ---------------------------------------------------------- */

struct sort_entry {
	const char *key, *val; /* the key's inside of the quotes, the value */
	size_t key_n, val_n;
	size_t raw_off, raw_n;  /* the unescaped key in the object's scratch */
	const char *raw;
	size_t index;
};

static int sort_cmp(const void *a, const void *b)
{
	const struct sort_entry *x = a, *y = b;
	size_t n = x->raw_n < y->raw_n ? x->raw_n : y->raw_n;
	int c = n ? memcmp(x->raw, y->raw, n) : 0;
	if (c)
		return c;
	if (x->raw_n != y->raw_n)
		return x->raw_n < y->raw_n ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* The valid JSON value P with every object's members in the order of
 * their keys' bytes (Go's encoding/json for a map), compact.  Nesting is
 * bounded by the scanners that produced P (ATFH_MAX_JSON_DEPTH). */
static void put_sorted(struct atfh_out *o, const char *p, size_t n)
{
	const char *end = p + n;
	p = fmt_jws(p, end);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		end--;
	if (p >= end)
		return;
	if (*p == '[') {
		atfh_out_c(o, '[');
		const char *q = p + 1, *e = end - 1;
		bool first = true;
		while ((q = fmt_jws(q, e)) < e) {
			const char *v = fmt_jskip(q, e);
			if (!first)
				atfh_out_c(o, ',');
			first = false;
			put_sorted(o, q, (size_t)(v - q));
			q = fmt_jws(v, e);
			if (q < e && *q == ',')
				q++;
		}
		atfh_out_c(o, ']');
		return;
	}
	if (*p != '{') {
		atfh_json_canonical(o, p, (size_t)(end - p));
		return;
	}
	struct sort_entry *ent = NULL;
	size_t cnt = 0, cap = 0;
	struct atfh_out raw = { .fd = -1 };
	const char *q = p + 1, *e = end - 1;
	while ((q = fmt_jws(q, e)) < e) {
		const char *k = q, *ke = fmt_jskip(q, e); /* "key" */
		q = fmt_jws(ke, e);
		if (q < e && *q == ':')
			q++;
		q = fmt_jws(q, e);
		const char *v = q, *ve = fmt_jskip(q, e);
		if (cnt == cap) {
			cap = cap ? cap * 2 : 8;
			ent = atfh_xrealloc(ent, cap * sizeof *ent);
		}
		size_t kn = ke - k >= 2 ? (size_t)(ke - k) - 2 : 0;
		size_t off = raw.len;
		atfh_json_unescape(&raw, k + 1, kn);
		ent[cnt] = (struct sort_entry){ .key = k + 1, .key_n = kn, .val = v,
						.val_n = (size_t)(ve - v), .raw_off = off,
						.raw_n = raw.len - off, .index = cnt };
		cnt++;
		q = fmt_jws(ve, e);
		if (q < e && *q == ',')
			q++;
	}
	for (size_t i = 0; i < cnt; i++)
		ent[i].raw = raw.buf + ent[i].raw_off;
	if (cnt > 1)
		qsort(ent, cnt, sizeof *ent, sort_cmp);
	atfh_out_c(o, '{');
	for (size_t i = 0; i < cnt; i++) {
		if (i)
			atfh_out_c(o, ',');
		atfh_json_canonical(o, ent[i].key - 1, ent[i].key_n + 2);
		atfh_out_c(o, ':');
		put_sorted(o, ent[i].val, ent[i].val_n);
	}
	atfh_out_c(o, '}');
	free(ent);
	atfh_out_free(&raw);
}

int fmt_put_value(struct fmt *f, const struct atfh_value *v, const char *where)
{
	if (!f->opt->sort_keys)
		return fmt_put_value_as_is(f, v, where);
	const char *p = v->json;
	size_t n = v->json_len;
	struct atfh_out tmp = { .fd = -1 };
	if (!p) {
		struct atfh_out *keep = f->o;
		f->o = &tmp;
		int r = fmt_put_value_as_is(f, v, where);
		f->o = keep;
		if (r) {
			atfh_out_free(&tmp);
			return -1;
		}
		p = tmp.buf;
		n = tmp.len;
	}
	put_sorted(f->o, p, n);
	atfh_out_free(&tmp);
	return 0;
}

/* "at://did/collection/rkey" (or "at://did" when COLLECTION is empty) */
void fmt_put_uri(struct atfh_out *o, const struct atfh_view *v, bool with_path)
{
	atfh_out_lit(o, "\"at://");
	atfh_json_part(o, v->did);
	if (with_path) {
		atfh_out_c(o, '/');
		atfh_json_part(o, v->collection);
		atfh_out_c(o, '/');
		atfh_json_part(o, v->rkey);
	}
	atfh_out_c(o, '"');
}

const char *fmt_kind_name(const struct atfh_view *v, size_t *n)
{
	if (v->kind == ATFH_K_OTHER && v->kind_name.p) {
		*n = v->kind_name.n;
		return v->kind_name.p;
	}
	*n = strlen(atfh_kind_names[v->kind]);
	return atfh_kind_names[v->kind];
}

/* ---- jetstream ---------------------------------------------------------- */

static int put_jetstream(struct fmt *f, const struct atfh_view *v)
{
	struct atfh_out *o = f->o;
	size_t kn;
	const char *kind = fmt_kind_name(v, &kn);
	char sep = '{';

	if (v->did.p) {
		put_key_str(o, "{\"did\":", v->did);
		sep = ',';
	}
	if (v->has_time) {
		atfh_out_c(o, sep);
		atfh_out_lit(o, "\"time_us\":");
		atfh_json_i64(o, v->time_us);
		sep = ',';
	}
	atfh_out_c(o, sep);
	atfh_out_lit(o, "\"kind\":");
	atfh_json_str(o, kind, kn);
	if (v->has_seq) {
		atfh_out_lit(o, ",\"seq\":");
		atfh_json_i64(o, v->seq);
	}
	atfh_out_c(o, ',');
	atfh_json_str(o, kind, kn);
	atfh_out_c(o, ':');
	if (v->kind == ATFH_K_COMMIT) {
		put_key_str(o, "{\"rev\":", v->rev);
		put_key_str(o, ",\"operation\":", v->operation);
		put_key_str(o, ",\"collection\":", v->collection);
		put_key_str(o, ",\"rkey\":", v->rkey);
		if (fmt_has_value(&v->record)) {
			atfh_out_lit(o, ",\"record\":");
			if (fmt_put_value(f, &v->record, "record"))
				return -1;
		}
		if (fmt_has_cid(v)) {
			atfh_out_lit(o, ",\"cid\":");
			fmt_put_cid(o, v);
		}
		atfh_out_c(o, '}');
	} else if (fmt_put_value(f, &v->body, "body")) {
		return -1;
	}
	atfh_out_lit(o, "}\n");
	return 0;
}

static int put_view(struct fmt *f, const struct atfh_view *v)
{
	switch (f->opt->format) {
	case ATFH_FMT_JETSTREAM: return put_jetstream(f, v);
	case ATFH_FMT_ATKAFKA: return fmt_put_atkafka(f, v);
	case ATFH_FMT_OSPREY: return fmt_put_osprey(f, v);
	case ATFH_FMT_CLOUDEVENTS: return fmt_put_cloudevents(f, v);
	case ATFH_FMT_FRAME: break;
	}
	f->err = "the frame format needs frame input";
	return -1;
}

/* ---- frame (lossless) --------------------------------------------------- */

static int put_blocks_expanded(struct fmt *f, struct atfh_msg *m)
{
	struct atfh_out *o = f->o;
	if (atfh_msg_load_blocks(m, f->opt->verify)) {
		f->err = m->err;
		return -1;
	}
	atfh_out_c(o, '{');
	for (size_t i = 0; i < m->car.n; i++) {
		const struct atfh_block *b = &m->car.blocks[i];
		if (i)
			atfh_out_c(o, ',');
		atfh_json_cid(o, b->cid.p, b->cid.n);
		atfh_out_c(o, ':');
		if (b->cid.codec == ATFH_CODEC_DAG_CBOR) {
			struct atfh_cbor c;
			atfh_cbor_init(&c, b->data, b->len);
			if (atfh_cbor_to_json(&c, o))
				return fmt_fail_cbor(f, &c, "block");
			if (c.p != c.end) {
				f->err = "block: trailing bytes after the value";
				return -1;
			}
		} else {
			atfh_out_lit(o, "{\"$bytes\":\"");
			atfh_json_base64(o, b->data, b->len);
			atfh_out_lit(o, "\"}");
		}
	}
	atfh_out_c(o, '}');
	return 0;
}

static int put_frame(struct fmt *f, struct atfh_msg *m)
{
	struct atfh_out *o = f->o;
	struct atfh_cbor c;
	struct atfh_cbor_item it;

	if (f->opt->verify && atfh_msg_load_blocks(m, true)) {
		f->err = m->err;
		return -1;
	}
	atfh_out_lit(o, "{\"header\":");
	atfh_cbor_init(&c, m->header, m->header_len);
	if (atfh_cbor_to_json(&c, o))
		return fmt_fail_cbor(f, &c, "header");
	atfh_out_lit(o, ",\"body\":");
	atfh_cbor_init(&c, m->body, m->body_len);
	if (atfh_cbor_next(&c, &it))
		return fmt_fail_cbor(f, &c, "body");
	atfh_out_c(o, '{');
	for (uint64_t i = 0; i < it.count; i++) {
		struct atfh_str key;
		if (atfh_cbor_text(&c, &key, "body key"))
			return fmt_fail_cbor(f, &c, "body");
		if (i)
			atfh_out_c(o, ',');
		atfh_json_str(o, key.p, key.n);
		atfh_out_c(o, ':');
		if (f->opt->expand_blocks && ATFH_STR_IS(key, "blocks")) {
			if (atfh_cbor_skip(&c))
				return fmt_fail_cbor(f, &c, "blocks");
			if (put_blocks_expanded(f, m))
				return -1;
		} else if (atfh_cbor_to_json(&c, o)) {
			return fmt_fail_cbor(f, &c, "body");
		}
	}
	atfh_out_lit(o, "}}\n");
	return 0;
}

/* ---- frames in ---------------------------------------------------------- */

static void view_from_msg(struct atfh_view *v, const struct atfh_msg *m)
{
	memset(v, 0, sizeof *v);
	v->kind = m->kind;
	if (m->kind == ATFH_K_OTHER && m->type.n > 1 && m->type.p[0] == '#')
		v->kind_name = (struct atfh_str){ m->type.p + 1, m->type.n - 1, false };
	v->did = m->did;
	v->time = m->time;
	v->has_time = m->has_time;
	v->time_us = m->time_us;
	v->has_seq = m->has_seq;
	v->seq = m->seq;
	v->rev = m->rev;
	v->handle = m->handle;
	v->has_handle = m->has_handle;
	v->status = m->status;
	v->has_status = m->has_status;
	v->has_active = m->has_active;
	v->active = m->active;
	v->name = m->name;
	v->message = m->message;
	v->has_message = m->has_message;
	v->body.cbor = m->body;
	v->body.cbor_len = m->body_len;
	if (m->kind == ATFH_K_SYNC)
		v->body.skip_key = "blocks";
}

int atfh_format_msg(struct atfh_out *o, struct atfh_msg *m,
		    struct atfh_format_opts *opt, const char **err)
{
	struct fmt f = { .o = o, .opt = opt };
	struct atfh_view v;
	int r = 0;

	if (opt->format == ATFH_FMT_FRAME) {
		r = put_frame(&f, m);
		goto out;
	}
	bool need_blocks = opt->verify ||
			   (m->kind == ATFH_K_COMMIT && !opt->no_record && m->nops > 0);
	if (need_blocks && atfh_msg_load_blocks(m, opt->verify)) {
		*err = m->err;
		return -1;
	}
	view_from_msg(&v, m);
	if (m->kind != ATFH_K_COMMIT) {
		r = put_view(&f, &v);
		goto out;
	}
	size_t start = o->len;
	size_t budget = m->frame_len > (SIZE_MAX - ATFH_MAX_EXPANSION_SLACK) / ATFH_MAX_EXPANSION
				? SIZE_MAX
				: m->frame_len * ATFH_MAX_EXPANSION + ATFH_MAX_EXPANSION_SLACK;
	for (size_t i = 0; i < m->nops && !r; i++) {
		const struct atfh_op *op = &m->ops[i];
		if (o->len - start > budget) {
			snprintf(f.errbuf, sizeof f.errbuf,
				 "op %zu: the commit's JSON exceeds %d times its size", i + 1,
				 ATFH_MAX_EXPANSION);
			f.err = f.errbuf;
			r = -1;
			break;
		}
		v.op_index = i;
		v.operation = op->action;
		v.collection = op->collection;
		v.rkey = op->rkey;
		v.cid = op->cid;
		v.cid_len = op->cid_len;
		memset(&v.record, 0, sizeof v.record);
		if (!opt->no_record && op->cid) {
			const struct atfh_block *b = atfh_msg_record(m, i);
			if (b) {
				v.record.cbor = b->data;
				v.record.cbor_len = b->len;
			}
		}
		r = put_view(&f, &v);
	}
out:
	if (r)
		*err = fmt_error(&f);
	return r;
}

/* ---- jetstream NDJSON in ------------------------------------------------ */

static struct atfh_str jstr(const struct atfh_jobj *o, const char *key, bool *has)
{
	const struct atfh_jval *v = atfh_jobj_get(o, key);
	if (v && v->type == ATFH_J_STR) {
		if (has)
			*has = true;
		return atfh_jval_str(v);
	}
	if (has)
		*has = false;
	return ATFH_STR_NULL;
}

static const struct atfh_jval *jget(const struct atfh_jobj *o, const char *key, enum atfh_jtype t)
{
	const struct atfh_jval *v = atfh_jobj_get(o, key);
	return v && v->type == t ? v : NULL;
}

size_t fmt_time_us(char *buf, size_t size, int64_t us, bool micro)
{
	int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
	int64_t frac = us - secs * 1000000;
	time_t t = (time_t)secs;
	struct tm tm;
	if (!gmtime_r(&t, &tm) || tm.tm_year > 9999 - 1900 || tm.tm_year < -1900)
		return 0;
	size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!n)
		return 0;
	int k;
	if (!micro && frac % 1000 == 0)
		k = snprintf(buf + n, size - n, ".%03dZ", (int)(frac / 1000));
	else
		k = snprintf(buf + n, size - n, ".%06dZ", (int)frac);
	return k > 0 && (size_t)k < size - n ? n + (size_t)k : 0;
}

int atfh_format_json(struct atfh_out *o, const char *line, size_t n,
		     struct atfh_format_opts *opt, const char **err)
{
	struct atfh_jobj top, sub;
	struct atfh_view v;
	struct fmt f = { .o = o, .opt = opt };
	char timebuf[48];

	if (atfh_jobj_parse(&top, line, n, err))
		return -1;
	if (opt->format == ATFH_FMT_JETSTREAM && !opt->no_record && !opt->sort_keys) {
		atfh_out_put(o, line, n);
		atfh_out_c(o, '\n');
		return 0;
	}
	memset(&v, 0, sizeof v);
	bool has_kind;
	struct atfh_str kind = jstr(&top, "kind", &has_kind);
	if (!has_kind) {
		*err = "event has no \"kind\" (not jetstream JSON)";
		return -1;
	}
	v.kind = atfh_kind_lookup(kind.p, kind.n);
	v.kind_name = kind;
	v.did = jstr(&top, "did", NULL);
	const struct atfh_jval *jv;
	if ((jv = atfh_jobj_get(&top, "time_us")) && atfh_jval_i64(jv, &v.time_us)) {
		v.has_time = true;
		size_t tn = fmt_time_us(timebuf, sizeof timebuf, v.time_us, false);
		if (tn)
			v.time = (struct atfh_str){ timebuf, tn, false };
	}
	if ((jv = atfh_jobj_get(&top, "seq")))
		v.has_seq = atfh_jval_i64(jv, &v.seq);
	if (v.kind == ATFH_K_COMMIT && v.has_seq && opt->json_op_index != SIZE_MAX &&
	    v.seq == opt->json_last_seq) {
		v.op_index = ++opt->json_op_index;
	} else {
		v.op_index = 0;
		opt->json_op_index = v.kind == ATFH_K_COMMIT && v.has_seq ? 0 : SIZE_MAX;
		opt->json_last_seq = v.seq;
	}

	/* the kind's own object: "commit":{…}, "identity":{…}, … */
	char key[32];
	if (kind.n >= sizeof key) {
		*err = "event kind is too long";
		return -1;
	}
	memcpy(key, kind.p, kind.n);
	key[kind.n] = '\0';
	const struct atfh_jval *body = jget(&top, key, ATFH_J_OBJ);
	if (!body) {
		*err = "event has no object named after its kind";
		return -1;
	}
	v.body.json = body->p;
	v.body.json_len = body->n;
	if (atfh_jobj_parse(&sub, body->p, body->n, err))
		return -1;
	switch (v.kind) {
	case ATFH_K_COMMIT: {
		bool ok_rev, ok_op, ok_col, ok_rkey;
		v.rev = jstr(&sub, "rev", &ok_rev);
		v.operation = jstr(&sub, "operation", &ok_op);
		v.collection = jstr(&sub, "collection", &ok_col);
		v.rkey = jstr(&sub, "rkey", &ok_rkey);
		if (!ok_rev || !ok_op || !ok_col || !ok_rkey || !v.did.p) {
			*err = "commit event lacks did, rev, operation, collection or rkey";
			return -1;
		}
		v.cid_str = jstr(&sub, "cid", NULL);
		if ((jv = atfh_jobj_get(&sub, "record")) && !opt->no_record) {
			/* a string's span is inside its quotes: take them too, so
			 * even a record that is not an object stays JSON */
			bool str = jv->type == ATFH_J_STR;
			v.record.json = jv->p - str;
			v.record.json_len = jv->n + 2 * str;
		}
		break;
	}
	case ATFH_K_IDENTITY:
		v.handle = jstr(&sub, "handle", &v.has_handle);
		break;
	case ATFH_K_ACCOUNT:
		if ((jv = jget(&sub, "active", ATFH_J_BOOL))) {
			v.has_active = true;
			v.active = jv->truth;
		}
		v.status = jstr(&sub, "status", &v.has_status);
		break;
	case ATFH_K_INFO:
		v.name = jstr(&sub, "name", NULL);
		v.message = jstr(&sub, "message", &v.has_message);
		break;
	default:
		break;
	}
	if (put_view(&f, &v)) {
		*err = fmt_error(&f);
		return -1;
	}
	return 0;
}
