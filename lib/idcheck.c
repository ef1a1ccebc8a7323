/*
 * idcheck.c — see idcheck.h.
 */
#include "idcheck.h"
#include "cli.h"

#include <stdio.h>
#include <limits.h>
#include <stdlib.h>

#define FRESH_S 60.0 /* a document fetched this long ago is not fetched again
		      * for a failed signature */

const char *const atfh_unresolved_names[] = { "keep", "drop", "fail", NULL };

static struct atfh_idcheck *stats_owner;

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
	if (stats_owner)
		atfh_resolver_print(&stats_owner->r, stderr);
}

static void metrics_more(struct atfh_stats *s, struct atfh_metrics_buf *m)
{
	(void)s;
	if (stats_owner)
		atfh_resolver_metrics(&stats_owner->r, m);
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
	if (atfh_resolver_init(&c->r, &c->cfg))
		return -1;
	atfh_idq_init(&c->q, &c->r, l);
	c->q.settle = settle;
	c->q.ctx = ctx;
	stats_owner = c;
	l->stats.print_more = print_more;
	l->stats.metrics_more = metrics_more;
	return 0;
}

int atfh_idcheck_finish(struct atfh_idcheck *c, int status)
{
	atfh_globs_free(&c->pds);
	atfh_globs_free(&c->ignore_pds);
	if (!c->on)
		return status;
	atfh_idq_free(&c->q);
	stats_owner = NULL;
	if (atfh_resolver_finish(&c->r) && status != ATFH_EXIT_FAIL && status < 128)
		return ATFH_EXIT_FAIL;
	return status;
}

const char *atfh_idcheck_did(struct atfh_idcheck *c, const struct atfh_msg *m, size_t *n)
{
	if (!m->did.p || !m->did.n || m->did.json)
		return NULL;
	if (m->kind == ATFH_K_IDENTITY)
		atfh_resolver_drop(&c->r, m->did.p, m->did.n, m->has_time ? m->time_us : 0);
	bool need = c->pds.n || c->ignore_pds.n;
	if (c->verify_sig && (m->kind == ATFH_K_COMMIT || m->kind == ATFH_K_SYNC))
		need = true;
	if (c->metadata && (m->kind == ATFH_K_COMMIT || m->kind == ATFH_K_IDENTITY ||
			    m->kind == ATFH_K_ACCOUNT))
		need = true;
	if (!need)
		return NULL;
	*n = m->did.n;
	return m->did.p;
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
			 e ? e->why : "not a did:plc or did:web DID");
		*err = c->errbuf;
		return ATFH_REC_BAD;
	default:
		return ATFH_IDC_PASS;
	}
}

/* Does the account's PDS host pass --pds / --ignore-pds? */
static bool pds_passes(const struct atfh_idcheck *c, const struct atfh_identity *e)
{
	const char *h = e->doc.pds_host;
	size_t hn = strlen(h);
	if (c->pds.n && !(hn && atfh_globs_any(&c->pds, h, hn)))
		return false;
	if (c->ignore_pds.n && hn && atfh_globs_any(&c->ignore_pds, h, hn))
		return false;
	return true;
}

int atfh_idcheck_line(struct atfh_idcheck *c, const char *did, size_t n,
		      struct atfh_identity *e, const char **err)
{
	if (!c->pds.n && !c->ignore_pds.n)
		return ATFH_IDC_PASS;
	if (!e || e->state != ATFH_ID_OK)
		return unresolved(c, did, n, e, err);
	return pds_passes(c, e) ? ATFH_IDC_PASS : ATFH_IDC_DROP;
}

int atfh_idcheck_msg(struct atfh_idcheck *c, struct atfh_msg *m, struct atfh_identity *e,
		     bool retried, const char **err)
{
	bool pds = c->pds.n || c->ignore_pds.n;
	bool sig = c->verify_sig && (m->kind == ATFH_K_COMMIT || m->kind == ATFH_K_SYNC);
	(void)retried;
	if (!m->did.p || (!pds && !sig))
		return ATFH_IDC_PASS;
	if (!e || e->state != ATFH_ID_OK) {
		if (!pds && !sig)
			return ATFH_IDC_PASS;
		return unresolved(c, m->did.p, m->did.n, e, err);
	}
	if (pds && !pds_passes(c, e))
		return ATFH_IDC_DROP;
	return ATFH_IDC_PASS;
}
