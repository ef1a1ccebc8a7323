/*
 * fmt_cloudevents.c — the cloudevents shape: CloudEvents 1.0 structured
 * JSON as the Bluesky Firehose Producer (clemensv/real-time-sources,
 * feeders/bluesky) sends it.  Owns its event set (create/update ops of
 * six collections whose record is in the CAR), the flat payloads its
 * build_*_event functions derive from a record (EVENTS.md, the producer's
 * data classes), the envelope (subject = DID, source = firehose URL, a
 * deterministic UUIDv5 id, time with microseconds), the wider set
 * behind --ce-all, and the split of such an event into the Kafka binding's
 * binary content mode (atfh-emit --cloudevents binary).  Records are read as JSON text (a frame's record is
 * converted first), so frames and NDJSON give the same events.
 */
#include "fmt.h"
#include "evpath.h" /* atfh_json_canonical, atfh_json_unescape */

#include <openssl/evp.h>
#include <stdio.h>

enum shape { POST, LIKE, FOLLOW, PROFILE };

static const struct ce_type {
	const char *nsid, *type;
	enum shape shape;
} ce_types[] = {
	{ "app.bsky.feed.post", "Bluesky.Feed.Post", POST },
	{ "app.bsky.feed.like", "Bluesky.Feed.Like", LIKE },
	{ "app.bsky.feed.repost", "Bluesky.Feed.Repost", LIKE },
	{ "app.bsky.graph.follow", "Bluesky.Graph.Follow", FOLLOW },
	{ "app.bsky.graph.block", "Bluesky.Graph.Block", FOLLOW },
	{ "app.bsky.actor.profile", "Bluesky.Actor.Profile", PROFILE },
};

/* --ce-all: the types of everything else */
static const char *const kind_type[] = {
	"Bluesky.Commit", "Bluesky.Identity", "Bluesky.Account",
	"Bluesky.Sync", "Bluesky.Info", "Bluesky.Error", "Bluesky.Other",
};

/* ---- JSON text helpers ------------------------------------------------ */

static const struct atfh_jval *jget(const struct atfh_jobj *o, const char *key)
{
	return o ? atfh_jobj_get(o, key) : NULL;
}

/* The object at KEY of O into SUB: Python's o.get(key, {}) when it is a
 * dict; anything else is treated as missing. */
static const struct atfh_jobj *jsub(const struct atfh_jobj *o, const char *key,
				    struct atfh_jobj *sub)
{
	const struct atfh_jval *v = jget(o, key);
	const char *err;
	if (!v || v->type != ATFH_J_OBJ || atfh_jobj_parse(sub, v->p, v->n, &err))
		return NULL;
	return sub;
}

static void put_jv(struct atfh_out *o, const struct atfh_jval *v)
{
	if (v->type == ATFH_J_STR)
		atfh_json_canonical(o, v->p - 1, v->n + 2);
	else
		atfh_json_canonical(o, v->p, v->n);
}

/* Python's o.get(key, default) */
static void put_get(struct atfh_out *o, const struct atfh_jobj *obj, const char *key,
		    const char *dflt)
{
	const struct atfh_jval *v = jget(obj, key);
	if (v)
		put_jv(o, v);
	else
		atfh_out_put(o, dflt, strlen(dflt));
}

/* Python's truth value of a JSON value */
static bool jtruthy(const struct atfh_jval *v)
{
	switch (v->type) {
	case ATFH_J_NULL: return false;
	case ATFH_J_BOOL: return v->truth;
	case ATFH_J_STR: return v->n > 0;
	case ATFH_J_NUM: {
		for (size_t i = 0; i < v->n; i++)
			if (v->p[i] >= '1' && v->p[i] <= '9')
				return true;
		return false;
	}
	case ATFH_J_ARR:
	case ATFH_J_OBJ: {
		const char *end = v->p + v->n - 1; /* the closing bracket */
		return fmt_jws(v->p + 1, end) < end;
	}
	}
	return false;
}

static bool py_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

/* ---- Python's json.dumps ---------------------------------------------- */

/* S (UTF-8) as json.dumps writes a str: ensure_ascii, lowercase \u
 * escapes, astral characters as surrogate pairs. */
static void py_str(struct atfh_out *o, const unsigned char *s, size_t n)
{
	char u[16];
	atfh_out_c(o, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned c = s[i];
		switch (c) {
		case '"': atfh_out_lit(o, "\\\""); continue;
		case '\\': atfh_out_lit(o, "\\\\"); continue;
		case '\n': atfh_out_lit(o, "\\n"); continue;
		case '\r': atfh_out_lit(o, "\\r"); continue;
		case '\t': atfh_out_lit(o, "\\t"); continue;
		case '\b': atfh_out_lit(o, "\\b"); continue;
		case '\f': atfh_out_lit(o, "\\f"); continue;
		}
		if (c >= 0x20 && c < 0x7f) {
			atfh_out_c(o, (char)c);
			continue;
		}
		uint32_t cp = 0xfffd;
		size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
		if (len == 1) {
			cp = c; /* controls and DEL; stray bytes cannot occur */
		} else if (i + len <= n) {
			cp = c & (0x7f >> len);
			for (size_t k = 1; k < len; k++)
				cp = cp << 6 | (s[i + k] & 0x3f);
			i += len - 1;
		} else {
			i = n - 1;
		}
		if (cp >= 0x10000) {
			cp -= 0x10000;
			snprintf(u, sizeof u, "\\u%04x\\u%04x", 0xd800 + (unsigned)(cp >> 10),
				 0xdc00 + (unsigned)(cp & 0x3ff));
		} else {
			snprintf(u, sizeof u, "\\u%04x", (unsigned)cp);
		}
		atfh_out_put(o, u, strlen(u));
	}
	atfh_out_c(o, '"');
}

/* The JSON text P as Python's json.dumps writes the value it loads to:
 * ", " and ": " between items, strings per py_str. */
static void py_dumps(struct atfh_out *o, const char *p, size_t n, struct atfh_out *tmp)
{
	const char *end = p + n;
	while (p < end) {
		char c = *p;
		if (c == '"') {
			const char *q = fmt_jskip(p, end);
			tmp->len = 0;
			atfh_json_unescape(tmp, p + 1, (size_t)(q - p) - 2);
			py_str(o, (const unsigned char *)tmp->buf, tmp->len);
			p = q;
			continue;
		}
		p++;
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		if (c == ',')
			atfh_out_lit(o, ", ");
		else if (c == ':')
			atfh_out_lit(o, ": ");
		else
			atfh_out_c(o, c);
	}
}

/* ---- envelope ---------------------------------------------------------- */

/* UUID version 5 (RFC 9562: SHA-1, name-based) of NAME in the URL
 * namespace, as Python's uuid.uuid5(uuid.NAMESPACE_URL, name). */
static int put_uuid5(struct atfh_out *o, const char *name, size_t n, struct atfh_out *tmp)
{
	static const uint8_t ns_url[16] = { 0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1,
					    0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8 };
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	tmp->len = 0;
	atfh_out_put(tmp, ns_url, sizeof ns_url);
	atfh_out_put(tmp, name, n);
	if (!EVP_Digest(tmp->buf, tmp->len, md, &mdlen, EVP_sha1(), NULL) || mdlen < 16)
		return -1;
	md[6] = (uint8_t)((md[6] & 0x0f) | 0x50);
	md[8] = (uint8_t)((md[8] & 0x3f) | 0x80);
	static const char hex[] = "0123456789abcdef";
	atfh_out_c(o, '"');
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			atfh_out_c(o, '-');
		atfh_out_c(o, hex[md[i] >> 4]);
		atfh_out_c(o, hex[md[i] & 15]);
	}
	atfh_out_c(o, '"');
	return 0;
}

static const char *ce_source(const struct fmt *f)
{
	return f->opt->ce_source ? f->opt->ce_source : ATFH_CE_SOURCE;
}

/* Everything up to and including "data": in the attribute order of the
 * Python CloudEvents SDK (the producer's attributes, then id). */
static int put_envelope(struct fmt *f, const struct atfh_view *v, const char *type,
			struct atfh_out *tmp)
{
	struct atfh_out *o = f->o;
	const char *src = ce_source(f);
	char tb[48];

	atfh_out_lit(o, "{\"specversion\":\"1.0\",\"type\":\"");
	atfh_out_put(o, type, strlen(type));
	atfh_out_lit(o, "\",\"source\":");
	atfh_json_str(o, src, strlen(src));
	if (v->did.p)
		put_key_str(o, ",\"subject\":", v->did);
	atfh_out_lit(o, ",\"datacontenttype\":\"application/json\"");
	size_t tn = v->has_time ? fmt_time_us(tb, sizeof tb, v->time_us, true) : 0;
	if (tn) {
		atfh_out_lit(o, ",\"time\":\"");
		atfh_out_put(o, tb, tn);
		atfh_out_c(o, '"');
	}
	/* the id's name: SOURCE#SEQ/OP, or SOURCE#KIND/BODY without a seq */
	struct atfh_out name = { .fd = -1 };
	atfh_out_put(&name, src, strlen(src));
	atfh_out_c(&name, '#');
	if (v->has_seq) {
		atfh_json_i64(&name, v->seq);
		atfh_out_c(&name, '/');
		atfh_json_u64(&name, v->op_index);
	} else {
		size_t kn;
		const char *kind = fmt_kind_name(v, &kn);
		atfh_out_put(&name, kind, kn);
		atfh_out_c(&name, '/');
		struct atfh_out *keep = f->o;
		f->o = &name;
		int r = fmt_put_value_as_is(f, &v->body, "body");
		f->o = keep;
		if (r) {
			atfh_out_free(&name);
			return -1;
		}
	}
	atfh_out_lit(o, ",\"id\":");
	int r = put_uuid5(o, name.buf, name.len, tmp);
	atfh_out_free(&name);
	if (r) {
		f->err = "cannot compute a SHA-1 for the event id";
		return -1;
	}
	atfh_out_lit(o, ",\"data\":");
	return 0;
}

/* ---- the producer's payloads ------------------------------------------- */

/* _common_fields: uri, cid, did, handle (the producer never knows it:
 * null) — written first; indexed_at, seq, collection, lang — last. */
static void put_head(struct atfh_out *o, const struct atfh_view *v)
{
	atfh_out_lit(o, "{\"uri\":");
	fmt_put_uri(o, v, true);
	atfh_out_lit(o, ",\"cid\":");
	if (fmt_has_cid(v))
		fmt_put_cid(o, v);
	else
		atfh_out_lit(o, "\"\"");
	put_key_str(o, ",\"did\":", v->did);
	atfh_out_lit(o, ",\"handle\":null");
}

/* The producer's indexed_at (the event's time) and seq, shared by the
 * post payload and the others. */
static void put_indexed_seq(struct atfh_out *o, const struct atfh_view *v)
{
	atfh_out_lit(o, ",\"indexed_at\":");
	if (v->time.p)
		fmt_put_str(o, v->time);
	else
		atfh_out_lit(o, "\"\"");
	atfh_out_lit(o, ",\"seq\":");
	atfh_json_i64(o, v->has_seq ? v->seq : 0);
}

static void put_tail(struct atfh_out *o, const struct atfh_view *v,
		     const struct atfh_jobj *rec, const char *lang, size_t lang_n)
{
	atfh_out_lit(o, ",\"created_at\":");
	put_get(o, rec, "createdAt", "\"\"");
	put_indexed_seq(o, v);
	put_key_str(o, ",\"collection\":", v->collection);
	atfh_out_lit(o, ",\"lang\":");
	if (lang_n)
		atfh_json_str(o, lang, lang_n);
	else
		atfh_out_lit(o, "\"und\"");
	atfh_out_lit(o, "}}\n");
}

/* normalize_langs: the strings of a list, stripped and lowercased, empty
 * ones left out.  Writes the list; the first entry goes to FIRST. */
static void put_langs(struct atfh_out *o, const struct atfh_jval *v, struct atfh_out *tmp,
		      struct atfh_out *first)
{
	atfh_out_c(o, '[');
	if (v && v->type == ATFH_J_ARR) {
		const char *p = v->p + 1, *end = v->p + v->n - 1;
		bool any = false;
		while ((p = fmt_jws(p, end)) < end) {
			const char *q = fmt_jskip(p, end);
			if (*p == '"') {
				tmp->len = 0;
				atfh_json_unescape(tmp, p + 1, (size_t)(q - p) - 2);
				if (!tmp->len)
					atfh_out_c(tmp, ' '); /* strips to nothing */
				char *s = tmp->buf, *e = tmp->buf + tmp->len;
				while (s < e && py_space((unsigned char)*s))
					s++;
				while (e > s && py_space((unsigned char)e[-1]))
					e--;
				for (char *c = s; c < e; c++)
					if (*c >= 'A' && *c <= 'Z')
						*c = (char)(*c - 'A' + 'a');
				if (e > s) {
					if (any)
						atfh_out_c(o, ',');
					else
						atfh_out_put(first, s, (size_t)(e - s));
					any = true;
					atfh_json_str(o, s, (size_t)(e - s));
				}
			}
			p = fmt_jws(q, end);
			if (p < end && *p == ',')
				p++;
		}
	}
	atfh_out_c(o, ']');
}

/* build_post_event */
static void put_post(struct atfh_out *o, const struct atfh_view *v,
		     const struct atfh_jobj *rec, struct atfh_out *tmp)
{
	struct atfh_jobj reply, parent, root, embed, inner, inner2;
	const struct atfh_jobj *rp = jsub(rec, "reply", &reply);
	const struct atfh_jobj *em = jsub(rec, "embed", &embed);
	struct atfh_out lang = { .fd = -1 };

	put_head(o, v);
	atfh_out_lit(o, ",\"text\":");
	put_get(o, rec, "text", "\"\"");
	atfh_out_lit(o, ",\"langs\":");
	put_langs(o, jget(rec, "langs"), tmp, &lang);
	atfh_out_lit(o, ",\"reply_parent\":");
	put_get(o, jsub(rp, "parent", &parent), "uri", "null");
	atfh_out_lit(o, ",\"reply_root\":");
	put_get(o, jsub(rp, "root", &root), "uri", "null");
	atfh_out_lit(o, ",\"embed_type\":");
	put_get(o, em, "$type", "null");
	atfh_out_lit(o, ",\"embed_uri\":");
	const struct atfh_jval *et = jget(em, "$type");
	struct atfh_str ets = et && et->type == ATFH_J_STR ? atfh_jval_str(et) : ATFH_STR_NULL;
	if (ATFH_STR_IS(ets, "app.bsky.embed.external"))
		put_get(o, jsub(em, "external", &inner), "uri", "null");
	else if (ATFH_STR_IS(ets, "app.bsky.embed.record"))
		put_get(o, jsub(em, "record", &inner), "uri", "null");
	else if (ATFH_STR_IS(ets, "app.bsky.embed.recordWithMedia"))
		put_get(o, jsub(jsub(em, "record", &inner), "record", &inner2), "uri", "null");
	else
		atfh_out_lit(o, "null");
	/* json.dumps(record["facets"]) when truthy, as a string */
	atfh_out_lit(o, ",\"facets\":");
	const struct atfh_jval *fc = jget(rec, "facets");
	if (fc && jtruthy(fc)) {
		struct atfh_out py = { .fd = -1 };
		py_dumps(&py, fc->type == ATFH_J_STR ? fc->p - 1 : fc->p,
			 fc->type == ATFH_J_STR ? fc->n + 2 : fc->n, tmp);
		atfh_json_str(o, py.buf, py.len);
		atfh_out_free(&py);
	} else {
		atfh_out_lit(o, "null");
	}
	atfh_out_lit(o, ",\"tags\":");
	put_get(o, rec, "tags", "[]");
	put_tail(o, v, rec, lang.buf, lang.len);
	atfh_out_free(&lang);
}

/* build_like_event, build_repost_event */
static void put_like(struct atfh_out *o, const struct atfh_view *v, const struct atfh_jobj *rec)
{
	struct atfh_jobj subj;
	const struct atfh_jobj *s = jsub(rec, "subject", &subj);
	put_head(o, v);
	atfh_out_lit(o, ",\"subject_uri\":");
	put_get(o, s, "uri", "\"\"");
	atfh_out_lit(o, ",\"subject_cid\":");
	put_get(o, s, "cid", "\"\"");
	put_tail(o, v, rec, NULL, 0);
}

/* build_follow_event, build_block_event */
static void put_follow(struct atfh_out *o, const struct atfh_view *v, const struct atfh_jobj *rec)
{
	put_head(o, v);
	atfh_out_lit(o, ",\"subject\":");
	put_get(o, rec, "subject", "\"\"");
	atfh_out_lit(o, ",\"subject_handle\":null");
	put_tail(o, v, rec, NULL, 0);
}

/* build_profile_event.  avatar and banner: the producer's safe_get_link
 * looks for a blob's ref as a {"$link": …} map, but its CAR decoder
 * (libipld) gives the ref as a CID, so both are always null. */
static void put_profile(struct atfh_out *o, const struct atfh_view *v, const struct atfh_jobj *rec)
{
	put_key_str(o, "{\"did\":", v->did);
	atfh_out_lit(o, ",\"handle\":null,\"display_name\":");
	put_get(o, rec, "displayName", "null");
	atfh_out_lit(o, ",\"description\":");
	put_get(o, rec, "description", "null");
	atfh_out_lit(o, ",\"avatar\":null,\"banner\":null");
	put_tail(o, v, rec, NULL, 0);
}

/* --ce-all: any other op, as one generic payload */
static int put_commit_generic(struct fmt *f, const struct atfh_view *v)
{
	struct atfh_out *o = f->o;
	put_head(o, v);
	put_key_str(o, ",\"operation\":", v->operation);
	put_key_str(o, ",\"collection\":", v->collection);
	put_key_str(o, ",\"rkey\":", v->rkey);
	put_key_str(o, ",\"rev\":", v->rev);
	atfh_out_lit(o, ",\"record\":");
	if (fmt_has_value(&v->record)) {
		if (fmt_put_value(f, &v->record, "record"))
			return -1;
	} else {
		atfh_out_lit(o, "null");
	}
	put_indexed_seq(o, v);
	atfh_out_lit(o, "}}\n");
	return 0;
}

static const struct ce_type *ce_type_of(const struct atfh_view *v)
{
	if (v->kind != ATFH_K_COMMIT || !fmt_has_cid(v) ||
	    !(ATFH_STR_IS(v->operation, "create") || ATFH_STR_IS(v->operation, "update")))
		return NULL;
	for (size_t i = 0; i < sizeof ce_types / sizeof ce_types[0]; i++)
		if (atfh_str_eq(v->collection, ce_types[i].nsid, strlen(ce_types[i].nsid)))
			return &ce_types[i];
	return NULL;
}

int fmt_put_cloudevents(struct fmt *f, const struct atfh_view *v)
{
	struct atfh_out *o = f->o;
	struct atfh_out tmp = { .fd = -1 }, rtext = { .fd = -1 };
	struct atfh_jobj rec;
	const struct atfh_jobj *recp = NULL;
	const struct ce_type *t = ce_type_of(v);
	int r = 0;

	if (t) {
		/* the record as JSON text; with --no-record an empty one */
		const char *p = "{}";
		size_t n = 2;
		if (v->record.json) {
			p = v->record.json;
			n = v->record.json_len;
		} else if (v->record.cbor) {
			struct atfh_out *keep = f->o;
			f->o = &rtext;
			r = fmt_put_value_as_is(f, &v->record, "record");
			f->o = keep;
			if (r)
				goto out;
			p = rtext.buf;
			n = rtext.len;
		} else if (!f->opt->no_record) {
			t = NULL; /* not in the CAR: the producer skips the op */
		}
		const char *err;
		if (t && atfh_jobj_parse(&rec, p, n, &err) == 0)
			recp = &rec;
		else
			t = NULL; /* not a dict: skipped too */
	}
	if (!t && !f->opt->ce_all)
		goto out;
	if ((r = put_envelope(f, v, t ? t->type : kind_type[v->kind], &tmp)))
		goto out;
	if (t) {
		switch (t->shape) {
		case POST: put_post(o, v, recp, &tmp); break;
		case LIKE: put_like(o, v, recp); break;
		case FOLLOW: put_follow(o, v, recp); break;
		case PROFILE: put_profile(o, v, recp); break;
		}
	} else if (v->kind == ATFH_K_COMMIT) {
		r = put_commit_generic(f, v);
	} else {
		if (!(r = fmt_put_value(f, &v->body, "body")))
			atfh_out_lit(o, "}\n");
	}
out:
	atfh_out_free(&tmp);
	atfh_out_free(&rtext);
	return r;
}

/* ---- the Kafka binding's binary content mode ----------------------------- */

int atfh_cloudevents_binary(struct atfh_ce_binary *b, const char *line, size_t n,
			    const char **err)
{
	struct atfh_jobj top;
	if (atfh_jobj_parse(&top, line, n, err))
		return -1;
	b->nh = 0;
	b->data = NULL;
	b->data_len = 0;
	b->buf.len = 0;
	for (size_t i = 0; i < top.n; i++) {
		const struct atfh_jfield *f = &top.f[i];
		if (ATFH_STR_IS(f->key, "data")) {
			b->data = f->val.type == ATFH_J_STR ? f->val.p - 1 : f->val.p;
			b->data_len = f->val.type == ATFH_J_STR ? f->val.n + 2 : f->val.n;
			continue;
		}
		if (f->val.type == ATFH_J_NULL)
			continue; /* an attribute without a value is absent */
		if (f->val.type != ATFH_J_STR && f->val.type != ATFH_J_NUM &&
		    f->val.type != ATFH_J_BOOL) {
			*err = "a CloudEvents attribute that is not a string, number or boolean";
			return -1;
		}
		if (b->nh == ATFH_CE_ATTRS_MAX) {
			*err = "too many CloudEvents attributes";
			return -1;
		}
		/* the name: content-type, or ce_ and the attribute's name */
		char *name = b->h[b->nh].name;
		size_t cap = sizeof b->h[b->nh].name;
		if (ATFH_STR_IS(f->key, "datacontenttype"))
			snprintf(name, cap, "content-type");
		else if (f->key.n + 4 <= cap && !memchr(f->key.p, '\\', f->key.n))
			snprintf(name, cap, "ce_%.*s", (int)f->key.n, f->key.p);
		else {
			*err = "a CloudEvents attribute name that is too long or escaped";
			return -1;
		}
		b->h[b->nh].off = b->buf.len;
		if (f->val.type == ATFH_J_STR)
			atfh_json_unescape(&b->buf, f->val.p, f->val.n);
		else
			atfh_out_put(&b->buf, f->val.p, f->val.n);
		b->h[b->nh].len = b->buf.len - b->h[b->nh].off;
		b->nh++;
	}
	if (!b->data) {
		*err = "a CloudEvent without data";
		return -1;
	}
	return 0;
}
