/*
 * idcheck.c — see idcheck.h.
 */
#include "idcheck.h"
#include "cli.h"
#include "dagcbor.h"
#include "json.h"
#include "jsonscan.h"
#include "sigverify.h"
#include "util.h"

#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define FRESH_S 60.0 /* a document fetched this long ago is not fetched again
		      * for a failed signature */

const char *const atfh_unresolved_names[] = { "keep", "drop", "fail", NULL };

/* The check that started (one per program): the loop's hooks and the
 * stats callbacks take no context of their own. */
static struct atfh_idcheck *running;

void atfh_idcheck_init(struct atfh_idcheck *c)
{
	memset(c, 0, sizeof *c);
	atfh_identity_cfg_init(&c->cfg);
}

int atfh_idcheck_option(struct atfh_idcheck *c, int id, const char *arg)
{
	uint64_t v;
	switch (id) {
	case ATFH_OPT_PLC:
		c->cfg.plc = arg;
		return 1;
	case ATFH_OPT_CACERT:
		c->cfg.cainfo = arg;
		return 1;
	case ATFH_OPT_CAPATH:
		c->cfg.capath = arg;
		return 1;
	case ATFH_OPT_IDENTITY_CACHE:
		c->cfg.cache_file = arg;
		return 1;
	case ATFH_OPT_IDENTITY_CACHE_SIZE:
		if (atfh_parse_uint(arg, &v) || v == 0) {
			atfh_err("--identity-cache-size: '%s' is not a positive number", arg);
			return -1;
		}
		c->cfg.cache_size = v;
		return 1;
	case ATFH_OPT_IDENTITY_CONCURRENCY:
		if (atfh_parse_uint(arg, &v) || v == 0 || v > 1024) {
			atfh_err("--identity-concurrency: '%s' is not a number from 1 to 1024", arg);
			return -1;
		}
		c->cfg.concurrency = v;
		return 1;
	case ATFH_OPT_IDENTITY_TTL:
	case ATFH_OPT_IDENTITY_TIMEOUT:
		if (atfh_parse_duration_ms(arg, &v) || v == 0 || v > (uint64_t)LONG_MAX / 2) {
			atfh_err("--%s: '%s' is not a duration", id == ATFH_OPT_IDENTITY_TTL
				 ? "identity-ttl" : "identity-timeout", arg);
			return -1;
		}
		*(id == ATFH_OPT_IDENTITY_TTL ? &c->cfg.ttl_ms : &c->cfg.timeout_ms) = v;
		return 1;
	case ATFH_OPT_ON_UNRESOLVED:
		for (int i = 0; atfh_unresolved_names[i]; i++)
			if (strcmp(arg, atfh_unresolved_names[i]) == 0) {
				c->policy = (enum atfh_unresolved)(i + 1);
				return 1;
			}
		atfh_err("--on-unresolved: '%s' is not keep, drop or fail", arg);
		return -1;
	}
	return 0;
}

int atfh_idcheck_pds(struct atfh_idcheck *c, const char *glob, bool ignore)
{
	char err[256];
	if (atfh_globs_add(ignore ? &c->ignore_pds : &c->pds, glob, err, sizeof err)) {
		atfh_err("%s: bad glob '%s': %s", ignore ? "--ignore-pds" : "--pds", glob, err);
		return -1;
	}
	return 0;
}

static void print_more(struct atfh_stats *s)
{
	(void)s;
	if (running)
		atfh_resolver_print(&running->r, stderr);
}

static void metrics_more(struct atfh_stats *s, struct atfh_metrics_buf *m)
{
	(void)s;
	if (running)
		atfh_resolver_metrics(&running->r, m);
}

/* Between records: hand on what the resolver finished. */
static int on_idle(struct atfh_loop *l)
{
	(void)l;
	return atfh_idq_idle(&running->q);
}

/* At the end of the input: wait for every account still in flight. */
static void on_end(struct atfh_loop *l)
{
	(void)l;
	atfh_idq_drain(&running->q, true);
}

int atfh_idcheck_start(struct atfh_idcheck *c, struct atfh_loop *l,
		       int (*settle)(void *, const struct atfh_idq_item *, struct atfh_identity *,
				     bool, const char **),
		       void *ctx)
{
	c->on = c->pds.n || c->ignore_pds.n || c->verify_sig || c->metadata;
	if (!c->on)
		return 0;
	if (c->policy == ATFH_UNRES_DEFAULT)
		c->policy = c->verify_sig ? ATFH_UNRES_FAIL : ATFH_UNRES_KEEP;
	c->cfg.want_metadata = c->metadata;
	c->cfg.need_doc = c->metadata || c->verify_sig; /* --pds: the host only */
	if (atfh_resolver_init(&c->r, &c->cfg))
		return -1;
	atfh_idq_init(&c->q, &c->r, l);
	c->q.settle = settle;
	c->q.ctx = ctx;
	running = c;
	l->stats.print_more = print_more;
	l->stats.metrics_more = metrics_more;
	l->on_idle = on_idle;
	l->on_end = on_end;
	return 0;
}

int atfh_idcheck_finish(struct atfh_idcheck *c, int status)
{
	atfh_globs_free(&c->pds);
	atfh_globs_free(&c->ignore_pds);
	free(c->verdict);
	c->verdict = NULL;
	if (!c->on)
		return status;
	atfh_idq_free(&c->q);
	running = NULL;
	if (atfh_resolver_finish(&c->r) && status != ATFH_EXIT_FAIL && status < 128)
		return ATFH_EXIT_FAIL;
	return status;
}

/* Does an event of KIND need its account? */
static bool wants(const struct atfh_idcheck *c, enum atfh_kind kind)
{
	if (c->pds.n || c->ignore_pds.n)
		return true;
	if (c->verify_sig && (kind == ATFH_K_COMMIT || kind == ATFH_K_SYNC))
		return true;
	return c->metadata &&
	       (kind == ATFH_K_COMMIT || kind == ATFH_K_IDENTITY || kind == ATFH_K_ACCOUNT);
}

void atfh_idcheck_identity_event(struct atfh_idcheck *c, const char *did, size_t n, int64_t at_us)
{
	atfh_resolver_drop(&c->r, did, n, at_us);
}

const char *atfh_idcheck_msg_did(const struct atfh_idcheck *c, const struct atfh_msg *m,
				 size_t *n)
{
	if (!m->did.p || !m->did.n || m->did.json || !wants(c, m->kind))
		return NULL;
	*n = m->did.n;
	return m->did.p;
}

const char *atfh_idcheck_did(struct atfh_idcheck *c, const struct atfh_msg *m, size_t *n)
{
	if (m->kind == ATFH_K_IDENTITY && m->did.p && m->did.n && !m->did.json)
		atfh_idcheck_identity_event(c, m->did.p, m->did.n, m->has_time ? m->time_us : 0);
	return atfh_idcheck_msg_did(c, m, n);
}

int atfh_idcheck_line_fields(const struct atfh_idcheck *c, const char *p, size_t n,
			     struct atfh_idcheck_line *f, const char **err)
{
	struct atfh_jobj o;
	const struct atfh_jval *v, *k, *t;
	memset(f, 0, sizeof *f);
	f->kind = ATFH_K_OTHER;
	if (atfh_jobj_parse(&o, p, n, err))
		return -1;
	/* a DID with an escape is not one a resolver could be asked for */
	if (!(v = atfh_jobj_get(&o, "did")) || v->type != ATFH_J_STR || !v->n ||
	    memchr(v->p, '\\', v->n))
		return 0;
	if ((k = atfh_jobj_get(&o, "kind")) && k->type == ATFH_J_STR)
		f->kind = atfh_kind_lookup(k->p, k->n);
	if ((t = atfh_jobj_get(&o, "time_us")) && !atfh_jval_i64(t, &f->at_us))
		f->at_us = 0;
	f->event_did = v->p;
	f->did_len = v->n;
	if (wants(c, f->kind))
		f->did = v->p;
	return 0;
}

int atfh_idcheck_line_did(struct atfh_idcheck *c, const char *p, size_t n, const char **did,
			  size_t *dn, const char **err)
{
	struct atfh_idcheck_line f;
	*did = NULL;
	*dn = 0;
	if (atfh_idcheck_line_fields(c, p, n, &f, err))
		return -1;
	if (f.kind == ATFH_K_IDENTITY && f.event_did)
		atfh_idcheck_identity_event(c, f.event_did, f.did_len, f.at_us);
	*dn = f.did_len;
	*did = f.did;
	return 0;
}

static int unresolved(struct atfh_idcheck *c, const char *did, size_t n,
		      struct atfh_identity *e, const char **err)
{
	c->r.c.unresolved++;
	switch (c->policy) {
	case ATFH_UNRES_DROP:
		return ATFH_IDC_DROP;
	case ATFH_UNRES_FAIL:
		snprintf(c->errbuf, sizeof c->errbuf, "%.*s: account not resolved: %s", (int)n, did,
			 !e ? "not a did:plc or did:web DID" : e->why ? e->why : "no DID document");
		*err = c->errbuf;
		return ATFH_REC_BAD;
	default:
		return ATFH_IDC_PASS;
	}
}

/* Is E resolved, with what the checks need (lib/identity parses the
 * document only when more than the PDS host is needed)? */
static bool resolved(const struct atfh_idcheck *c, const struct atfh_identity *e)
{
	return e && e->state == ATFH_ID_OK && (e->doc || (e->host && !c->cfg.need_doc));
}

/* The verdict on host H (N bytes). */
static bool host_passes(const struct atfh_idcheck *c, const char *h, size_t hn)
{
	if (c->pds.n && !(hn && atfh_globs_any(&c->pds, h, hn)))
		return false;
	if (c->ignore_pds.n && hn && atfh_globs_any(&c->ignore_pds, h, hn))
		return false;
	return true;
}

/* Does the account's PDS host pass --pds / --ignore-pds?  The verdict of
 * the last host asked about is kept (accounts of one PDS come in runs). */
static bool pds_passes(struct atfh_idcheck *c, const struct atfh_identity *e)
{
	size_t hn;
	const char *h = atfh_identity_pds_host(e, &hn);
	if (!h)
		hn = 0;
	if (c->memo_ok && c->memo_len == hn && memcmp(c->memo, h, hn) == 0)
		return c->memo_pass;
	bool pass = host_passes(c, h, hn);
	if (hn <= sizeof c->memo) {
		memcpy(c->memo, h, hn);
		c->memo_len = hn;
		c->memo_pass = pass;
		c->memo_ok = true;
	}
	return pass;
}

/* Can a verdict come from the cache alone: nothing waits, and only the
 * PDS host is asked about? */
static bool fast_usable(const struct atfh_idcheck *c)
{
	return !c->q.count && !c->verify_sig && !c->metadata && (c->pds.n || c->ignore_pds.n);
}

int atfh_idcheck_fast(struct atfh_idcheck *c, const char *did, size_t n)
{
	struct atfh_idkey k;
	if (!fast_usable(c))
		return -1;
	atfh_idkey_of(did, n, &k);
	return atfh_idcheck_fast_key(c, &k);
}

int atfh_idcheck_fast_key(struct atfh_idcheck *c, const struct atfh_idkey *k)
{
	if (!fast_usable(c))
		return -1;
	uint32_t id = atfh_resolver_host_id_key(&c->r, k);
	if (!id)
		return -1;
	if (id >= c->verdict_cap) {
		size_t cap = c->verdict_cap ? c->verdict_cap : 64;
		while (cap <= id)
			cap *= 2;
		c->verdict = atfh_xrealloc(c->verdict, cap);
		memset(c->verdict + c->verdict_cap, 0, cap - c->verdict_cap);
		c->verdict_cap = cap;
	}
	if (!c->verdict[id]) {
		size_t hn;
		const char *h = atfh_resolver_host_name(&c->r, id, &hn);
		c->verdict[id] = host_passes(c, h, hn) ? 1 : 2;
	}
	return c->verdict[id] == 1 ? ATFH_IDC_PASS : ATFH_IDC_DROP;
}

static void prefetch(void *ctx, const char *did, size_t n)
{
	struct atfh_idcheck *c = ctx;
	atfh_resolver_prefetch(&c->r, did, n);
}

void atfh_idcheck_prefetch_key(const struct atfh_idcheck *c, const struct atfh_idkey *k)
{
	atfh_resolver_prefetch_key(&c->r, k);
}

void atfh_idcheck_prefetch_hook(struct atfh_idcheck *c, struct atfh_msg *m)
{
	if (c->on && !c->verify_sig && !c->metadata && (c->pds.n || c->ignore_pds.n)) {
		m->on_did = prefetch;
		m->on_did_ctx = c;
	}
}

int atfh_idcheck_line(struct atfh_idcheck *c, const char *did, size_t n,
		      struct atfh_identity *e, const char **err)
{
	if (!c->pds.n && !c->ignore_pds.n)
		return ATFH_IDC_PASS;
	if (!resolved(c, e))
		return unresolved(c, did, n, e, err);
	return pds_passes(c, e) ? ATFH_IDC_PASS : ATFH_IDC_DROP;
}

/* The link under KEY in the CBOR map at P (FIRST: the first link of the
 * array there, as the CAR header's roots).  0, or -1. */
static int map_link(const uint8_t *p, size_t n, const char *key, bool first,
		    struct atfh_cbor_item *link)
{
	struct atfh_cbor c;
	struct atfh_cbor_item it;
	atfh_cbor_init(&c, p, n);
	if (atfh_cbor_next(&c, &it) || it.kind != ATFH_CB_MAP)
		return -1;
	for (uint64_t i = 0; i < it.count; i++) {
		struct atfh_str k;
		if (atfh_cbor_text(&c, &k, "key"))
			return -1;
		if (strlen(key) == k.n && memcmp(k.p, key, k.n) == 0) {
			if (atfh_cbor_next(&c, link))
				return -1;
			if (first) {
				if (link->kind != ATFH_CB_ARRAY || link->count == 0 ||
				    atfh_cbor_next(&c, link))
					return -1;
			}
			return link->kind == ATFH_CB_LINK ? 0 : -1;
		}
		if (atfh_cbor_skip_unchecked(&c))
			return -1;
	}
	return -1;
}

/* Why M's commit does not verify with E's key, or NULL when it does. */
static const char *sig_problem(struct atfh_msg *m, struct atfh_identity *e)
{
	struct atfh_cbor_item commit, root;
	const char *why = NULL;
	if (!m->blocks)
		return "no blocks: the signed commit is missing";
	if (atfh_msg_load_blocks(m, false))
		return m->err;
	if (map_link(m->car.header, m->car.header_len, "roots", true, &root))
		return "the CAR has no root";
	if (m->kind == ATFH_K_COMMIT) {
		if (map_link(m->body, m->body_len, "commit", false, &commit))
			return "no commit CID";
		if (commit.n != root.n || memcmp(commit.p, root.p, root.n))
			return "the CAR's root is not the commit";
	} else {
		commit = root;
	}
	const struct atfh_block *b = atfh_car_get(&m->car, commit.p, commit.n);
	struct atfh_cid cid;
	if (!b)
		return "the commit block is not in the CAR";
	if (!atfh_cid_parse(commit.p, commit.n, &cid) || cid.n != commit.n ||
	    atfh_cid_verify(&cid, b->data, b->len) != 1)
		return "the commit block does not match its CID";
	const struct atfh_pubkey *key = atfh_identity_key(e, &why);
	if (!key)
		return why;
	if (atfh_commit_verify_n(b->data, b->len, m->did.p, m->did.n, key, &why))
		return why ? why : "signature does not verify";
	return NULL;
}

int atfh_idcheck_msg(struct atfh_idcheck *c, struct atfh_msg *m, struct atfh_identity *e,
		     bool retried, const char **err)
{
	bool pds = c->pds.n || c->ignore_pds.n;
	bool sig = c->verify_sig && (m->kind == ATFH_K_COMMIT || m->kind == ATFH_K_SYNC);
	if (!m->did.p || (!pds && !sig))
		return ATFH_IDC_PASS;
	if (!resolved(c, e)) {
		if (!pds && !sig)
			return ATFH_IDC_PASS;
		return unresolved(c, m->did.p, m->did.n, e, err);
	}
	if (pds && !pds_passes(c, e))
		return ATFH_IDC_DROP;
	if (!sig)
		return ATFH_IDC_PASS;
	const char *why = sig_problem(m, e);
	if (why && !retried && (!e->fetched_mono || atfh_now() - e->fetched_mono > FRESH_S))
		return ATFH_IDQ_RETRY; /* the key may have rotated: fetch it again */
	c->r.c.sig_checked++;
	if (!why)
		return ATFH_IDC_PASS;
	c->r.c.sig_failed++;
	snprintf(c->errbuf, sizeof c->errbuf, "%.*s: signature check failed: %s", (int)m->did.n,
		 m->did.p, why);
	*err = c->errbuf;
	return ATFH_REC_BAD;
}

void atfh_idcheck_metadata(struct atfh_out *o, const struct atfh_identity *e, double now_s)
{
	const char *h = atfh_identity_handle(e);
	if (e->hv == ATFH_HV_REFUSED) {
		/* indigo's LookupDID fails as a whole: at-kafka has no
		 * document, PDS or handle, only the audit log and profile */
		atfh_out_lit(o, "{\"didDocument\":{\"id\":\"\"}");
	} else {
		atfh_out_lit(o, "{\"didDocument\":");
		atfh_out_put(o, e->doc->indigo, e->doc->indigo_len);
		if (e->doc->pds[0]) {
			atfh_out_lit(o, ",\"pdsHost\":");
			atfh_json_str(o, e->doc->pds, strlen(e->doc->pds));
		}
	}
	if (h) {
		atfh_out_lit(o, ",\"handle\":");
		atfh_json_str(o, h, strlen(h));
	}
	int64_t age = -1, us;
	if (e->created[0]) {
		atfh_out_lit(o, ",\"didCreatedAt\":");
		atfh_json_str(o, e->created, strlen(e->created));
		if (atfh_parse_time_us(e->created, strlen(e->created), &us) == 0)
			age = (int64_t)(now_s - (double)us / 1e6);
	}
	atfh_out_lit(o, ",\"accountAge\":");
	atfh_json_i64(o, age);
	atfh_out_lit(o, ",\"profile\":");
	if (e->profile)
		atfh_out_put(o, e->profile, strlen(e->profile));
	else
		atfh_out_lit(o, "null");
	atfh_out_c(o, '}');
}
