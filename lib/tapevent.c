/*
 * tapevent.c — a Tap event into a jetstream line; see tapevent.h.
 */
#include "tapevent.h"
#include "didset.h"
#include "json.h"
#include "jsonscan.h"

#include <string.h>

static const struct atfh_jval *get(const struct atfh_jobj *o, const char *key,
				   enum atfh_jtype type)
{
	const struct atfh_jval *v = atfh_jobj_get(o, key);
	return v && v->type == type ? v : NULL;
}

static bool span_is(const struct atfh_jval *v, const char *lit)
{
	size_t n = strlen(lit);
	return v->n == n && memcmp(v->p, lit, n) == 0;
}

/* Every byte of V in the set ALLOWED (plus ASCII letters and digits), and
 * 1 to MAX of them. */
static bool chars_ok(const struct atfh_jval *v, const char *allowed, size_t max)
{
	if (v->n == 0 || v->n > max)
		return false;
	for (size_t i = 0; i < v->n; i++) {
		char c = v->p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c && strchr(allowed, c))))
			return false;
	}
	return true;
}

static bool nsid_ok(const struct atfh_jval *v)
{
	return chars_ok(v, ".-", 317) && memchr(v->p, '.', v->n) && v->p[0] != '.' &&
	       v->p[v->n - 1] != '.';
}

/* "KEY":"SPAN" — SPAN is the inside of a string the scanner checked */
static void put_str(struct atfh_out *o, const char *key, const struct atfh_jval *v)
{
	atfh_out_put(o, key, strlen(key));
	atfh_out_c(o, '"');
	atfh_out_put(o, v->p, v->n);
	atfh_out_c(o, '"');
}

/* A JSON value copied onto one line: outside strings, which cannot hold
 * raw line breaks, a line break is white space. */
static void put_one_line(struct atfh_out *o, const char *p, size_t n)
{
	size_t at = o->len;
	atfh_out_put(o, p, n);
	for (size_t i = at; i < o->len; i++)
		if (o->buf[i] == '\n' || o->buf[i] == '\r')
			o->buf[i] = ' ';
}

static void put_head(struct atfh_out *o, const struct atfh_jval *did, int64_t now_us,
		     const char *kind)
{
	put_str(o, "{\"did\":", did);
	atfh_out_lit(o, ",\"time_us\":");
	atfh_json_i64(o, now_us);
	atfh_out_lit(o, ",\"kind\":\"");
	atfh_out_put(o, kind, strlen(kind));
	atfh_out_lit(o, "\"");
}

static void put_tap(struct atfh_out *o, const struct atfh_tap_event *ev)
{
	atfh_out_lit(o, ",\"tap\":{\"id\":");
	atfh_json_i64(o, ev->id);
	if (ev->has_live) {
		if (ev->live)
			atfh_out_lit(o, ",\"live\":true");
		else
			atfh_out_lit(o, ",\"live\":false");
	}
	atfh_out_lit(o, "}}");
}

static int record_event(struct atfh_out *o, const struct atfh_jval *body, int64_t now_us,
			struct atfh_tap_event *ev, const char **err)
{
	struct atfh_jobj r;
	if (atfh_jobj_parse(&r, body->p, body->n, err))
		return -1;
	const struct atfh_jval *did = get(&r, "did", ATFH_J_STR), *rev = get(&r, "rev", ATFH_J_STR),
			       *col = get(&r, "collection", ATFH_J_STR),
			       *rkey = get(&r, "rkey", ATFH_J_STR),
			       *action = get(&r, "action", ATFH_J_STR),
			       *live = get(&r, "live", ATFH_J_BOOL),
			       *cid = atfh_jobj_get(&r, "cid"), *rec = atfh_jobj_get(&r, "record");
	if (live) {
		ev->has_live = true;
		ev->live = live->truth;
	}
	if (!did || !atfh_did_valid(did->p, did->n)) {
		*err = "a record event without a valid \"did\"";
		return -1;
	}
	if (!col || !nsid_ok(col)) {
		*err = "a record event without a valid \"collection\"";
		return -1;
	}
	if (!rkey || !chars_ok(rkey, "._:~-", 512)) {
		*err = "a record event without a valid \"rkey\"";
		return -1;
	}
	if (!rev || !chars_ok(rev, "", 128)) {
		*err = "a record event without a valid \"rev\"";
		return -1;
	}
	if (!action || !(span_is(action, "create") || span_is(action, "update") ||
			 span_is(action, "delete"))) {
		*err = "a record event whose \"action\" is not create, update or delete";
		return -1;
	}
	if (!live) {
		*err = "a record event without \"live\"";
		return -1;
	}
	if (cid && cid->type == ATFH_J_NULL)
		cid = NULL;
	if (cid && (cid->type != ATFH_J_STR || !chars_ok(cid, "", 256))) {
		*err = "a record event whose \"cid\" is not a CID string";
		return -1;
	}
	if (rec && rec->type == ATFH_J_NULL)
		rec = NULL;
	if (rec && rec->type != ATFH_J_OBJ) {
		*err = "a record event whose \"record\" is not an object";
		return -1;
	}
	put_head(o, did, now_us, "commit");
	put_str(o, ",\"commit\":{\"rev\":", rev);
	put_str(o, ",\"operation\":", action);
	put_str(o, ",\"collection\":", col);
	put_str(o, ",\"rkey\":", rkey);
	if (rec) {
		atfh_out_lit(o, ",\"record\":");
		put_one_line(o, rec->p, rec->n);
	}
	if (cid)
		put_str(o, ",\"cid\":", cid);
	atfh_out_c(o, '}');
	put_tap(o, ev);
	return 0;
}

static int identity_event(struct atfh_out *o, const struct atfh_jval *body, int64_t now_us,
			  struct atfh_tap_event *ev, const char **err)
{
	struct atfh_jobj r;
	if (atfh_jobj_parse(&r, body->p, body->n, err))
		return -1;
	const struct atfh_jval *did = get(&r, "did", ATFH_J_STR),
			       *handle = get(&r, "handle", ATFH_J_STR),
			       *status = get(&r, "status", ATFH_J_STR),
			       *active = get(&r, "is_active", ATFH_J_BOOL);
	if (!active)
		active = get(&r, "isActive", ATFH_J_BOOL); /* early Tap's "user" events */
	if (!did || !atfh_did_valid(did->p, did->n)) {
		*err = "an identity event without a valid \"did\"";
		return -1;
	}
	if (status && !chars_ok(status, "_-", 64)) {
		*err = "an identity event whose \"status\" is not a word";
		return -1;
	}
	/* Tap sends one event for a new handle and for a new account status:
	 * an account that is not active is an account event, else identity */
	bool account = (active && !active->truth) || (status && !span_is(status, "active"));
	put_head(o, did, now_us, account ? "account" : "identity");
	if (account)
		atfh_out_lit(o, ",\"account\":{");
	else
		atfh_out_lit(o, ",\"identity\":{");
	put_str(o, "\"did\":", did);
	if (handle)
		put_str(o, ",\"handle\":", handle);
	if (active) {
		if (active->truth)
			atfh_out_lit(o, ",\"active\":true");
		else
			atfh_out_lit(o, ",\"active\":false");
	}
	if (status)
		put_str(o, ",\"status\":", status);
	atfh_out_c(o, '}');
	put_tap(o, ev);
	return 0;
}

int atfh_tap_convert(struct atfh_out *o, const char *msg, size_t n, int64_t now_us,
		     struct atfh_tap_event *ev, const char **err)
{
	memset(ev, 0, sizeof *ev);
	ev->type = ATFH_TAP_OTHER;
	struct atfh_jobj top;
	if (atfh_jobj_parse(&top, msg, n, err))
		return -1;
	const struct atfh_jval *id = atfh_jobj_get(&top, "id");
	if (id && atfh_jval_i64(id, &ev->id) && ev->id >= 0)
		ev->has_id = true;
	const struct atfh_jval *type = get(&top, "type", ATFH_J_STR);
	if (!ev->has_id) {
		*err = "a Tap event without an \"id\" (a number >= 0)";
		return -1;
	}
	if (!type) {
		*err = "a Tap event without a \"type\"";
		return -1;
	}
	const char *key;
	if (span_is(type, "record")) {
		ev->type = ATFH_TAP_RECORD;
		key = "record";
	} else if (span_is(type, "identity") || span_is(type, "user")) {
		ev->type = ATFH_TAP_IDENTITY;
		key = span_is(type, "user") ? "user" : "identity";
	} else {
		*err = "a Tap event of a type atfh does not know";
		return -1;
	}
	const struct atfh_jval *body = get(&top, key, ATFH_J_OBJ);
	if (!body) {
		*err = "a Tap event without the object its type names";
		return -1;
	}
	size_t mark = o->len;
	int rc = ev->type == ATFH_TAP_RECORD ? record_event(o, body, now_us, ev, err)
					     : identity_event(o, body, now_us, ev, err);
	if (rc)
		o->len = mark;
	return rc;
}

