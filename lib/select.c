/*
 * select.c — see select.h.
 */
#include "select.h"
#include "cli.h"
#include "dagcbor.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

void atfh_select_init(struct atfh_select *s)
{
	memset(s, 0, sizeof *s);
	s->sample_below = UINT64_MAX;
	atfh_ev_init(&s->ev);
	char err[64];
	atfh_evpath_parse(&s->p_collection, "commit.collection", err, sizeof err);
	atfh_evpath_parse(&s->p_operation, "commit.operation", err, sizeof err);
	atfh_evpath_parse(&s->p_rkey, "commit.rkey", err, sizeof err);
	atfh_evpath_parse(&s->p_text, "commit.record.text", err, sizeof err);
}

static void prefetch_did(void *ctx, const char *did, size_t n)
{
	const struct atfh_select *s = ctx;
	if (s->dids)
		atfh_didset_prefetch(s->dids, did, n);
}

void atfh_select_prefetch_hook(struct atfh_select *s, struct atfh_msg *m)
{
	if (s->dids && !m->on_did) {
		m->on_did = prefetch_did;
		m->on_did_ctx = s;
	}
}

void atfh_select_free(struct atfh_select *s)
{
	if (s->text_md)
		pcre2_match_data_free(s->text_md);
	if (s->text)
		pcre2_code_free(s->text);
	atfh_ev_free(&s->ev);
	atfh_evpath_free(&s->p_collection);
	atfh_evpath_free(&s->p_operation);
	atfh_evpath_free(&s->p_rkey);
	atfh_evpath_free(&s->p_text);
	atfh_out_free(&s->buf);
	atfh_globs_free(&s->collections);
	atfh_globs_free(&s->ignore);
	atfh_jqhint_free(&s->jqhint);
	free(s->keep);
}

int atfh_select_text(struct atfh_select *s, const char *re, bool icase, char *err, size_t errlen)
{
	int code;
	PCRE2_SIZE off;
	uint32_t opt = PCRE2_UTF | PCRE2_UCP | (icase ? PCRE2_CASELESS : 0);
	s->text = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, opt, &code, &off, NULL);
	if (!s->text) {
		PCRE2_UCHAR msg[160];
		pcre2_get_error_message(code, msg, sizeof msg);
		snprintf(err, errlen, "%s at offset %zu", (char *)msg, (size_t)off);
		return -1;
	}
	pcre2_jit_compile(s->text, PCRE2_JIT_COMPLETE); /* faster when available */
	s->text_md = pcre2_match_data_create_from_pattern(s->text, NULL);
	return 0;
}

uint32_t atfh_select_kind_bit(const char *name)
{
	enum atfh_kind k = atfh_kind_lookup(name, strlen(name));
	return k == ATFH_K_OTHER ? 0 : 1u << k;
}

uint32_t atfh_select_action_bit(const char *name)
{
	if (strcmp(name, "create") == 0)
		return ATFH_ACT_CREATE;
	if (strcmp(name, "update") == 0)
		return ATFH_ACT_UPDATE;
	if (strcmp(name, "delete") == 0)
		return ATFH_ACT_DELETE;
	return 0;
}

bool atfh_select_cheap(const struct atfh_select *s)
{
	return !s->text && !s->jq;
}

int atfh_parse_when(const char *str, int64_t *us)
{
	size_t n = strlen(str);
	uint64_t ms;
	if (str[0] == '-' && atfh_parse_duration_ms(str + 1, &ms) == 0) {
		/* the same range as a written time: years 0000 to 9999 */
		static const int64_t min_us = -62167219200000000; /* 0000-01-01T00:00:00Z */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t now = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
		if (ms > (uint64_t)(now - min_us) / 1000)
			return -2;
		*us = now - (int64_t)ms * 1000;
		return 0;
	}
	if (n == 10) {
		char full[32];
		snprintf(full, sizeof full, "%sT00:00:00Z", str);
		return atfh_parse_time_bound_us(full, strlen(full), us);
	}
	return atfh_parse_time_bound_us(str, n, us);
}

/* ---- the checks -------------------------------------------------------- */

/* Raw bytes of a string that may still be JSON-escaped. */
static struct atfh_str unescaped(struct atfh_select *s, struct atfh_str v)
{
	if (!v.json || !memchr(v.p, '\\', v.n))
		return (struct atfh_str){ v.p, v.n, false };
	s->buf.len = 0;
	atfh_json_unescape(&s->buf, v.p, v.n);
	return (struct atfh_str){ s->buf.buf, s->buf.len, false };
}

static bool sampled(const struct atfh_select *s, struct atfh_str did, struct atfh_str a,
		    struct atfh_str b)
{
	XXH3_state_t st;
	XXH3_64bits_reset_withSeed(&st, s->sample_seed);
	XXH3_64bits_update(&st, did.p, did.n);
	XXH3_64bits_update(&st, "", 1);
	XXH3_64bits_update(&st, a.p, a.n);
	XXH3_64bits_update(&st, "", 1);
	XXH3_64bits_update(&st, b.p, b.n);
	return XXH3_64bits_digest(&st) < s->sample_below || s->sample_below == UINT64_MAX;
}

static bool text_matches(struct atfh_select *s, struct atfh_str text)
{
	int r = pcre2_match(s->text, (PCRE2_SPTR)text.p, text.n, 0, 0, s->text_md, NULL);
	return r >= 0;
}

/* Event-level selectors: kind, DID, time.  Same for every op of a frame. */
static bool event_ok(const struct atfh_select *s, enum atfh_kind kind, struct atfh_str did,
		     bool has_time, int64_t time_us)
{
	if (s->kinds && !(s->kinds & (1u << kind)))
		return false;
	if (s->dids && (!did.p || !atfh_didset_has(s->dids, did.p, did.n)))
		return false;
	if (s->has_since && (!has_time || time_us < s->since_us))
		return false;
	if (s->has_until && (!has_time || time_us >= s->until_us))
		return false;
	return true;
}

/* Op-level selectors that need no decoding. */
static bool op_cheap_ok(struct atfh_select *s, bool is_commit, struct atfh_str did,
			struct atfh_str collection, struct atfh_str action, struct atfh_str rkey,
			struct atfh_str kind_name)
{
	if (!is_commit) {
		/* only commits have collections and actions */
		if (s->collections.n || s->actions)
			return false;
		if (s->sample && !sampled(s, did, kind_name, ATFH_STR_NULL))
			return false;
		return true;
	}
	if (s->collections.n && !atfh_globs_any(&s->collections, collection.p, collection.n))
		return false;
	if (s->ignore.n && atfh_globs_any(&s->ignore, collection.p, collection.n))
		return false;
	if (s->actions) {
		uint32_t bit = ATFH_STR_IS(action, "create")   ? ATFH_ACT_CREATE
			       : ATFH_STR_IS(action, "update") ? ATFH_ACT_UPDATE
			       : ATFH_STR_IS(action, "delete") ? ATFH_ACT_DELETE
							       : 0;
		if (!(s->actions & bit))
			return false;
	}
	if (s->sample && !sampled(s, did, collection, rkey))
		return false;
	return true;
}

/* The `text` of a record block (found = false when it has none).  The
 * whole record is read, so a malformed one is reported, not half-used.
 * 0, or -1 with *err. */
static int record_text(const uint8_t *p, size_t n, struct atfh_str *text, bool *found,
		       const char **err)
{
	static _Thread_local char msg[120];
	struct atfh_cbor c;
	struct atfh_cbor_item it;
	*found = false;
	atfh_cbor_init(&c, p, n);
	if (atfh_cbor_next(&c, &it))
		goto bad;
	if (it.kind != ATFH_CB_MAP) {
		*err = "record: not a map";
		return -1;
	}
	for (uint64_t i = 0; i < it.count; i++) {
		struct atfh_str key;
		if (atfh_cbor_text(&c, &key, "map key"))
			goto bad;
		if (ATFH_STR_IS(key, "text") && !*found) {
			const uint8_t *save = c.p;
			struct atfh_cbor_item v;
			if (atfh_cbor_next(&c, &v))
				goto bad;
			if (v.kind == ATFH_CB_TEXT) {
				c.p = save;
				if (atfh_cbor_text(&c, text, "text"))
					goto bad;
				*found = true;
				continue;
			}
			c.p = save;
		}
		if (atfh_cbor_skip(&c))
			goto bad;
	}
	if (c.p != c.end) {
		*err = "record: trailing bytes after the value";
		return -1;
	}
	return 0;
bad:
	snprintf(msg, sizeof msg, "record: %s", c.err);
	*err = msg;
	return -1;
}

static int jq_ok(struct atfh_select *s, const char **err)
{
	const char *p;
	size_t n;
	if (!atfh_jqhint_event_may_match(&s->jqhint, &s->ev))
		return 0;
	if (atfh_ev_json(&s->ev, &p, &n, err))
		return -1;
	int r = atfh_jqexpr_test(s->jq, p, n, err);
	return r < 0 ? 0 : r; /* a runtime error in the expression: not selected */
}

static bool has_op_selectors(const struct atfh_select *s)
{
	return s->collections.n || s->ignore.n || s->actions || s->sample || s->text || s->jq;
}

static int decide(const struct atfh_select *s, int wanted)
{
	if (wanted < 0)
		return -1;
	return s->invert ? !wanted : wanted;
}

uint64_t atfh_select_frame_events(struct atfh_msg *m)
{
	if (m->kind != ATFH_K_COMMIT)
		return 1;
	if (!m->lazy_ops || m->ops_parsed)
		return m->nops;
	/* the ops array's length, without parsing the ops */
	struct atfh_cbor c;
	struct atfh_cbor_item it;
	if (!m->ops_cbor)
		return 0;
	atfh_cbor_init(&c, m->ops_cbor, m->ops_len);
	if (atfh_cbor_next(&c, &it) || it.kind != ATFH_CB_ARRAY || it.count > ATFH_MAX_OPS)
		return 0;
	return it.count;
}

static int whole(struct atfh_select *s, struct atfh_msg *m)
{
	s->events = atfh_select_frame_events(m);
	return ATFH_SEL_WHOLE;
}

/* Does op I of commit M match every op-level selector?  1, 0, -1. */
static int op_matches(struct atfh_select *s, struct atfh_msg *m, size_t i,
		      struct atfh_str kind_name, const char **err)
{
	const struct atfh_op *op = &m->ops[i];
	if (!op_cheap_ok(s, true, m->did, op->collection, op->action, op->rkey, kind_name))
		return 0;
	if (s->text) {
		const struct atfh_block *b = atfh_msg_record(m, i);
		struct atfh_str text;
		bool found;
		if (!b)
			return 0;
		if (record_text(b->data, b->len, &text, &found, err))
			return -1;
		if (!found || !text_matches(s, text))
			return 0;
	}
	if (s->jq) {
		atfh_ev_set_op(&s->ev, i);
		return jq_ok(s, err);
	}
	return 1;
}

int atfh_select_frame(struct atfh_select *s, struct atfh_msg *m, const char **err)
{
	s->nkeep = 0;
	s->events = 0;
	if (!event_ok(s, m->kind, m->did, m->has_time, m->time_us))
		return s->invert ? whole(s, m) : ATFH_SEL_NONE;
	struct atfh_str kind_name = { atfh_kind_names[m->kind], strlen(atfh_kind_names[m->kind]), false };
	bool need_ev = s->jq != NULL;
	if (need_ev)
		atfh_ev_set_frame(&s->ev, m);
	if (m->kind != ATFH_K_COMMIT) {
		int r = 1;
		if (!op_cheap_ok(s, false, m->did, ATFH_STR_NULL, ATFH_STR_NULL, ATFH_STR_NULL, kind_name))
			r = 0;
		else if (s->text)
			r = 0;
		else if (s->jq)
			r = jq_ok(s, err);
		if (r < 0)
			return -1;
		return decide(s, r) ? whole(s, m) : ATFH_SEL_NONE;
	}
	if (!has_op_selectors(s)) /* the frame as a whole: ops do not matter */
		return s->invert ? ATFH_SEL_NONE : whole(s, m);
	if (atfh_msg_parse_ops(m)) {
		*err = m->err;
		return -1;
	}
	if (s->text && atfh_msg_load_blocks(m, false)) {
		*err = m->err;
		return -1;
	}
	atfh_grow_array((void **)&s->keep, &s->keep_cap, m->nops + 1, sizeof *s->keep);
	for (size_t i = 0; i < m->nops; i++) {
		int r = op_matches(s, m, i, kind_name, err);
		if (r < 0)
			return -1;
		s->keep[i] = decide(s, r) == 1;
		s->nkeep += s->keep[i];
	}
	s->events = s->nkeep;
	if (!s->nkeep)
		return ATFH_SEL_NONE;
	return s->nkeep == m->nops ? ATFH_SEL_WHOLE : ATFH_SEL_SOME;
}

int atfh_select_frame_limit(struct atfh_select *s, struct atfh_msg *m, int v, uint64_t left,
			    const char **err)
{
	if (v == ATFH_SEL_NONE || s->events <= left)
		return v;
	/* only commits have more than one event */
	if (v == ATFH_SEL_WHOLE) {
		if (atfh_msg_parse_ops(m)) {
			*err = m->err;
			return -1;
		}
		atfh_grow_array((void **)&s->keep, &s->keep_cap, m->nops + 1, sizeof *s->keep);
		for (size_t i = 0; i < m->nops; i++)
			s->keep[i] = true;
	}
	uint64_t n = 0;
	for (size_t i = 0; i < m->nops; i++)
		if (s->keep[i] && ++n > left)
			s->keep[i] = false;
	s->nkeep = (size_t)left;
	s->events = left;
	return ATFH_SEL_SOME;
}

static struct atfh_str ev_str(struct atfh_select *s, const struct atfh_evpath *p, const char **err,
			      int *rc)
{
	struct atfh_evval v;
	if (atfh_evpath_eval(p, &s->ev, &v, err)) {
		*rc = -1;
		return ATFH_STR_NULL;
	}
	return v.type == ATFH_EV_STR ? v.s : ATFH_STR_NULL;
}

int atfh_select_line(struct atfh_select *s, const char *p, size_t n, const char **err)
{
	if (atfh_ev_set_line(&s->ev, p, n, err))
		return -1;
	const struct atfh_jval *jk = atfh_jobj_get(&s->ev.top, "kind");
	const struct atfh_jval *jd = atfh_jobj_get(&s->ev.top, "did");
	enum atfh_kind kind = ATFH_K_OTHER;
	struct atfh_str kind_name = ATFH_STR_NULL;
	if (jk && jk->type == ATFH_J_STR) {
		kind_name = atfh_jval_str(jk);
		kind = atfh_kind_lookup(kind_name.p, kind_name.n);
	}
	/* the DID is compared raw; a DID never needs escapes, but be exact */
	char didbuf[2100];
	struct atfh_str did = ATFH_STR_NULL;
	if (jd && jd->type == ATFH_J_STR) {
		did = unescaped(s, atfh_jval_str(jd));
		if (did.p == s->buf.buf && did.n < sizeof didbuf) {
			memcpy(didbuf, did.p, did.n);
			did.p = didbuf;
		}
	}
	int64_t t = 0;
	int has_time = 0;
	if (s->has_since || s->has_until) { /* a bad time_us matters only here */
		has_time = atfh_ev_time_us(&s->ev, &t, err);
		if (has_time < 0)
			return -1;
	}
	if (!event_ok(s, kind, did, has_time, t))
		return decide(s, 0);
	int rc = 0;
	bool is_commit = kind == ATFH_K_COMMIT;
	struct atfh_str col = ATFH_STR_NULL, act = ATFH_STR_NULL, rkey = ATFH_STR_NULL;
	if (is_commit) {
		col = ev_str(s, &s->p_collection, err, &rc);
		act = ev_str(s, &s->p_operation, err, &rc);
		rkey = ev_str(s, &s->p_rkey, err, &rc);
		if (rc)
			return -1;
	}
	/* collections and rkeys are compared as written: NSIDs have no escapes */
	if (!op_cheap_ok(s, is_commit, did, col, act, rkey, kind_name))
		return decide(s, 0);
	if (s->text) {
		struct atfh_str text = ev_str(s, &s->p_text, err, &rc);
		if (rc)
			return -1;
		if (!text.p || !text_matches(s, unescaped(s, text)))
			return decide(s, 0);
	}
	if (s->jq) {
		if (!atfh_jqhint_line_may_match(&s->jqhint, p, n))
			return decide(s, 0);
		int r = atfh_jqexpr_test(s->jq, p, n, err);
		return decide(s, r < 0 ? 0 : r);
	}
	return decide(s, 1);
}
