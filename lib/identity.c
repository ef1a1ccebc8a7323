/*
 * identity.c — see identity.h.
 */
#include "identity.h"
#include "cli.h"
#include "config.h"
#include "didset.h"
#include "dnstxt.h"
#include "handle.h"
#include "json.h"
#include "jsonscan.h"
#include "outfile.h"
#include "util.h"

#include <curl/curl.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define FAIL_TTL 60.0               /* seconds a failure is remembered */
#define HANDLE_INVALID_TTL 900.0    /* an invalid handle (indigo's InvalidHandleTTL) */
#define BODY_MAX (256u << 10)       /* bytes of one response */
#define CACHE_FILE_MAX (1u << 30)   /* bytes of the disk cache read */

enum req_kind { REQ_DOC, REQ_AUDIT, REQ_PROFILE, REQ_HANDLE_WK, REQ_HANDLE_XRPC };

struct req {
	struct atfh_identity *e;
	enum req_kind kind;
	CURL *h;
	struct atfh_out body;
	bool too_big;
	char url[ATFH_DID_MAX + 640];
	char curl_err[CURL_ERROR_SIZE];
	struct curl_slist *pin;       /* REQ_HANDLE_WK: the host's address (--dns-server) */
	struct req *next;             /* waiting list */
};

/* A slot's host field (lib/idindex): the PDS host's number (0: ask the
 * entry), and whether the fast path (atfh_resolver_host_id) used the slot
 * since the evictor last looked (its stand-in for moving it in the LRU). */
#define HOST_ID 0x7fffffffu
#define HOST_USED 0x80000000u
/* A slot's ref: its entry, or a disk cache line not made into an entry
 * (yet): the line's offset in the file times two, plus one. */
#define LINE_REF(off) ((uintptr_t)(off) * 2 + 1)
#define IS_LINE(ref) (((ref) & 1) != 0)

struct atfh_resolver_priv {
	CURLM *multi;
	struct atfh_idindex ix;       /* every account: an entry or a line */
	struct atfh_identity *lru_head, *lru_tail; /* entries; head: most recent */
	struct req *wait_head, *wait_tail;
	size_t running;               /* requests handed to curl */
	size_t accounts_inflight;
	bool dirty;                   /* the disk cache needs writing */
	char *file;                   /* the disk cache as read (its lines) */
	size_t file_len;
	bool file_mapped;             /* mmap(2)ed, else malloc'ed */
	size_t *lines;                /* offsets of lines in the index, in file
				       * order (older than any entry) */
	size_t lines_n, lines_head, lines_cap;
	struct atfh_identity *last;   /* the entry found last */
	uint64_t tick;                /* lookups, for the LRU */
	char plc[512];
	char hres[512];               /* --handle-resolver, no trailing '/' */
	struct atfh_dnstxt *dns;      /* handle checks by DNS (want_metadata) */
	bool closing;                 /* atfh_resolver_finish under way */
};

/* A DNS query of a handle check. */
struct dnsq {
	struct atfh_resolver *r;
	struct atfh_identity *e;
};

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void atfh_identity_cfg_init(struct atfh_identity_cfg *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->cache_size = 100000;
	cfg->ttl_ms = 24ull * 3600 * 1000;
	cfg->timeout_ms = 10000;
	cfg->concurrency = 16;
}

/* ---- index and LRU ------------------------------------------------------ */

static void lru_unlink(struct atfh_resolver_priv *p, struct atfh_identity *e)
{
	if (e->lprev)
		e->lprev->lnext = e->lnext;
	else
		p->lru_head = e->lnext;
	if (e->lnext)
		e->lnext->lprev = e->lprev;
	else
		p->lru_tail = e->lprev;
	e->lprev = e->lnext = NULL;
}

static void lru_front(struct atfh_resolver_priv *p, struct atfh_identity *e)
{
	e->tick = ++p->tick;
	if (p->lru_head == e)
		return;
	if (e->lprev || e->lnext || p->lru_tail == e)
		lru_unlink(p, e);
	e->lnext = p->lru_head;
	if (p->lru_head)
		p->lru_head->lprev = e;
	p->lru_head = e;
	if (!p->lru_tail)
		p->lru_tail = e;
}

/* A new entry of DID with key K, in no list yet. */
static struct atfh_identity *new_entry(const char *did, size_t n, const struct atfh_idkey *k)
{
	struct atfh_identity *e = atfh_xcalloc(1, sizeof *e);
	e->did = n <= sizeof e->did_buf ? e->did_buf : atfh_xmalloc(n);
	memcpy(e->did, did, n);
	e->did_len = n;
	e->ikey = *k;
	return e;
}

/* The slot of the disk cache line at offset OFF while it stands for its
 * account (not made into an entry, not replaced), else NULL. */
static struct atfh_idslot *line_slot(struct atfh_resolver *r, size_t off)
{
	struct atfh_resolver_priv *p = r->p;
	struct atfh_idcache_head h;
	struct atfh_idkey k;
	if (atfh_idcache_head(p->file + off, p->file_len - off, &h))
		return NULL;
	atfh_idkey_of(h.did, h.did_len, &k);
	struct atfh_idslot *s = atfh_idindex_get(&p->ix, &k);
	return s && s->ref == LINE_REF(off) ? s : NULL;
}

/* The line of slot S made into an entry (at the LRU's front). */
static struct atfh_identity *materialize(struct atfh_resolver *r, struct atfh_idslot *s)
{
	struct atfh_resolver_priv *p = r->p;
	size_t off = (size_t)(s->ref - 1) / 2;
	struct atfh_idcache_head h;
	/* it was read this way when indexed: the file is not changed */
	if (atfh_idcache_head(p->file + off, p->file_len - off, &h))
		atfh_die_oom();
	struct atfh_identity *e = new_entry(h.did, h.did_len, &s->k);
	e->state = ATFH_ID_OK;
	e->doc_ok = true;
	e->fetched = (double)h.fetched;
	e->line = p->file + off;
	e->line_len = h.line_len;
	e->host = h.host;
	e->host_len = h.host_len;
	s->ref = (uintptr_t)e;
	lru_front(p, e);
	return e;
}

/* The entry of DID, or NULL: the one found last without a probe; a line
 * of the disk cache made into one. */
static struct atfh_identity *find(struct atfh_resolver *r, const char *did, size_t n)
{
	struct atfh_identity *e = r->p->last;
	if (e && e->did_len == n && memcmp(e->did, did, n) == 0)
		return e;
	struct atfh_idkey k;
	atfh_idkey_of(did, n, &k);
	struct atfh_idslot *s = atfh_idindex_get(&r->p->ix, &k);
	if (!s)
		return NULL;
	if (IS_LINE(s->ref))
		e = materialize(r, s);
	else
		for (e = (struct atfh_identity *)s->ref; e; e = e->hnext)
			if (e->did_len == n && memcmp(e->did, did, n) == 0)
				break;
	if (e)
		r->p->last = e;
	return e;
}

/* What the fast path may answer for E, into its slot: the host's number
 * while E is resolved with a known host, else 0. */
static void index_sync(struct atfh_resolver *r, struct atfh_identity *e)
{
	if (!atfh_idkey_exact(&e->ikey))
		return; /* the fast path takes only exact keys */
	struct atfh_idslot *s = atfh_idindex_get(&r->p->ix, &e->ikey);
	if (!s || s->ref != (uintptr_t)e)
		return;
	uint32_t id = 0;
	if (e->state == ATFH_ID_OK && e->host && e->fetched >= 0 && e->fetched < 4294967295.0)
		id = atfh_idindex_host(&r->p->ix, e->host, e->host_len) & HOST_ID;
	s->host = (s->host & HOST_USED) | id;
	s->fetched = id ? (uint32_t)e->fetched : 0;
}

const struct atfh_pubkey *atfh_identity_key(struct atfh_identity *e, const char **why)
{
	if (!e->key_parsed) {
		e->key_parsed = true;
		e->key_ok = false;
		e->key_why = "the DID document has no #atproto verification method";
		if (e->doc && e->doc->key_type[0] &&
		    atfh_pubkey_parse(e->doc->key_type, e->doc->key_mb, strlen(e->doc->key_mb),
				      &e->key, &e->key_why) == 0)
			e->key_ok = true;
	}
	*why = e->key_why;
	return e->key_ok ? &e->key : NULL;
}

static void entry_clear(struct atfh_identity *e)
{
	if (e->key_ok)
		atfh_pubkey_free(&e->key);
	e->key_ok = e->key_parsed = false;
	if (e->doc) {
		atfh_diddoc_free(e->doc);
		free(e->doc);
		e->doc = NULL;
	}
	free(e->raw);
	e->raw = NULL;
	e->line = NULL;
	e->line_len = 0;
	e->host = NULL;
	e->host_len = 0;
	free(e->profile);
	e->profile = NULL;
	e->created[0] = '\0';
	e->hv = ATFH_HV_UNKNOWN;
	e->doc_ok = e->doc_parsed = false;
}

static void entry_free(struct atfh_identity *e)
{
	entry_clear(e);
	free(e->why);
	if (e->did != e->did_buf)
		free(e->did);
	free(e);
}

static void remove_entry(struct atfh_resolver *r, struct atfh_identity *e)
{
	struct atfh_resolver_priv *p = r->p;
	p->dirty = true;
	if (p->last == e)
		p->last = NULL;
	struct atfh_idslot *s = atfh_idindex_get(&p->ix, &e->ikey);
	if (s && s->ref == (uintptr_t)e) {
		if (e->hnext)
			s->ref = (uintptr_t)e->hnext;
		else
			atfh_idindex_del(&p->ix, s);
	} else if (s && !IS_LINE(s->ref)) {
		struct atfh_identity *x = (struct atfh_identity *)s->ref;
		while (x->hnext && x->hnext != e)
			x = x->hnext;
		if (x->hnext == e)
			x->hnext = e->hnext;
	}
	lru_unlink(p, e);
	r->n--;
	entry_free(e);
}

/* Forget the line of slot S. */
static void remove_line(struct atfh_resolver *r, struct atfh_idslot *s)
{
	r->p->dirty = true;
	atfh_idindex_del(&r->p->ix, s);
	r->n--;
}

/* Down to cache_size accounts: first the lines not made into entries, the
 * oldest first (a line the fast path used is made an entry instead), then
 * the entries from the LRU's end (one the fast path used is moved to the
 * front once instead: a second chance). */
static void evict(struct atfh_resolver *r)
{
	struct atfh_resolver_priv *p = r->p;
	while (r->n > r->cfg.cache_size && p->lines_head < p->lines_n) {
		struct atfh_idslot *s = line_slot(r, p->lines[p->lines_head++]);
		if (!s)
			continue;
		if (s->host & HOST_USED) {
			s->host &= ~HOST_USED;
			materialize(r, s);
			continue;
		}
		remove_line(r, s);
		r->c.evictions++;
	}
	struct atfh_identity *e = p->lru_tail;
	size_t guard = 2 * r->n + 16;
	while (r->n > r->cfg.cache_size && e && guard--) {
		struct atfh_identity *prev = e->lprev;
		if (!e->inflight) {
			struct atfh_idslot *s = atfh_idkey_exact(&e->ikey)
						? atfh_idindex_get(&p->ix, &e->ikey) : NULL;
			if (s && (s->host & HOST_USED)) {
				s->host &= ~HOST_USED;
				lru_front(p, e);
			} else {
				remove_entry(r, e);
				r->c.evictions++;
			}
		}
		e = prev;
	}
}

/* A new entry of DID (N bytes), not in the index before (an exact key's
 * slot is new; an inexact one's may hold other DIDs). */
static struct atfh_identity *insert(struct atfh_resolver *r, const char *did, size_t n)
{
	struct atfh_resolver_priv *p = r->p;
	struct atfh_idkey k;
	atfh_idkey_of(did, n, &k);
	struct atfh_identity *e = new_entry(did, n, &k);
	struct atfh_idslot *s = atfh_idindex_put(&p->ix, &k);
	if (IS_LINE(s->ref)) /* not for callers that looked first */
		remove_line(r, s), s = atfh_idindex_put(&p->ix, &k);
	e->hnext = (struct atfh_identity *)s->ref;
	s->ref = (uintptr_t)e;
	s->host &= HOST_USED;
	s->fetched = 0;
	r->n++;
	lru_front(p, e);
	return e;
}

/* ---- requests ----------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct req *q = arg;
	size_t n = size * nmemb;
	if (q->body.len + n > BODY_MAX) {
		q->too_big = true;
		return 0;
	}
	atfh_out_put(&q->body, data, n);
	return n;
}

/* did:web:HOST → https://HOST/.well-known/did.json; -1 if not one */
static int web_url(const char *did, size_t n, char *url, size_t cap)
{
	const char *h = did + 8;
	size_t hn = n - 8, k = 0;
	char host[300];
	for (size_t i = 0; i < hn; i++) {
		char c = h[i];
		if (c == '%' && i + 2 < hn && h[i + 1] == '3' && (h[i + 2] == 'A' || h[i + 2] == 'a')) {
			c = ':';
			i += 2;
		} else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || c == '.' || c == '-')) {
			return -1; /* a path (':'), or anything else */
		}
		if (k + 1 >= sizeof host)
			return -1;
		host[k++] = c;
	}
	if (!k || host[0] == ':')
		return -1;
	host[k] = '\0';
	int w = snprintf(url, cap, "https://%s/.well-known/did.json", host);
	return w > 0 && (size_t)w < cap ? 0 : -1;
}

static void start_req(struct atfh_resolver *r, struct req *q)
{
	struct atfh_resolver_priv *p = r->p;
	q->h = curl_easy_init();
	if (!q->h)
		atfh_die_oom();
	curl_easy_setopt(q->h, CURLOPT_URL, q->url);
	curl_easy_setopt(q->h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(q->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(q->h, CURLOPT_TIMEOUT_MS, (long)r->cfg.timeout_ms);
	curl_easy_setopt(q->h, CURLOPT_CONNECTTIMEOUT_MS, (long)r->cfg.timeout_ms);
	curl_easy_setopt(q->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(q->h, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(q->h, CURLOPT_PRIVATE, q);
	curl_easy_setopt(q->h, CURLOPT_ERRORBUFFER, q->curl_err);
	curl_easy_setopt(q->h, CURLOPT_USERAGENT, "atfh/" PACKAGE_VERSION);
	curl_easy_setopt(q->h, CURLOPT_ACCEPT_ENCODING, "");
	if (r->cfg.cainfo)
		curl_easy_setopt(q->h, CURLOPT_CAINFO, r->cfg.cainfo);
	if (r->cfg.capath)
		curl_easy_setopt(q->h, CURLOPT_CAPATH, r->cfg.capath);
	if (q->pin)
		curl_easy_setopt(q->h, CURLOPT_RESOLVE, q->pin);
	if (q->kind == REQ_HANDLE_WK) { /* as Go's http.Client does */
		curl_easy_setopt(q->h, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(q->h, CURLOPT_MAXREDIRS, 10L);
		curl_easy_setopt(q->h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	}
	if (q->kind == REQ_HANDLE_WK || q->kind == REQ_HANDLE_XRPC)
		r->c.handle_requests++;
	curl_multi_add_handle(p->multi, q->h);
	p->running++;
	r->c.requests++;
}

static void fetch(struct atfh_resolver *r, struct atfh_identity *e);

/* A request of E; PIN: the address of a REQ_HANDLE_WK's host. */
static void queue_req_pin(struct atfh_resolver *r, struct atfh_identity *e, enum req_kind kind,
			  const char *pin)
{
	struct atfh_resolver_priv *p = r->p;
	struct req *q = atfh_xcalloc(1, sizeof *q);
	q->e = e;
	q->kind = kind;
	if (pin) {
		char line[ATFH_HANDLE_MAX + 80];
		snprintf(line, sizeof line, "%s:443:%s", e->doc->handle, pin);
		if (!(q->pin = curl_slist_append(NULL, line)))
			atfh_die_oom();
	}
	q->body.fd = -1;
	bool web = e->did_len > 8 && memcmp(e->did, "did:web:", 8) == 0;
	switch (kind) {
	case REQ_DOC:
		if (web)
			web_url(e->did, e->did_len, q->url, sizeof q->url);
		else
			snprintf(q->url, sizeof q->url, "%s/%.*s", p->plc, (int)e->did_len, e->did);
		break;
	case REQ_AUDIT:
		snprintf(q->url, sizeof q->url, "%s/%.*s/log/audit", p->plc, (int)e->did_len, e->did);
		break;
	case REQ_PROFILE:
		snprintf(q->url, sizeof q->url, "%s/xrpc/app.bsky.actor.getProfile?actor=%.*s",
			 r->cfg.appview, (int)e->did_len, e->did);
		break;
	case REQ_HANDLE_WK: /* the handle: letters, digits, '-' and '.' only */
		snprintf(q->url, sizeof q->url, "https://%s/.well-known/atproto-did", e->doc->handle);
		break;
	case REQ_HANDLE_XRPC:
		snprintf(q->url, sizeof q->url, "%s/xrpc/com.atproto.identity.resolveHandle?handle=%s",
			 r->cfg.handle_resolver, e->doc->handle);
		break;
	}
	if (!e->inflight++)
		p->accounts_inflight++;
	if (p->running < r->cfg.concurrency) {
		start_req(r, q);
		return;
	}
	if (p->wait_tail)
		p->wait_tail->next = q;
	else
		p->wait_head = q;
	p->wait_tail = q;
}

static void queue_req(struct atfh_resolver *r, struct atfh_identity *e, enum req_kind kind)
{
	queue_req_pin(r, e, kind, NULL);
}

/* Can DID be resolved at all? */
static bool resolvable(const char *did, size_t n)
{
	char url[ATFH_DID_MAX + 64];
	if (n > ATFH_DID_MAX || !atfh_did_valid(did, n))
		return false;
	if (n > 8 && memcmp(did, "did:plc:", 8) == 0)
		return true;
	return n > 8 && memcmp(did, "did:web:", 8) == 0 && web_url(did, n, url, sizeof url) == 0;
}

static void fetch(struct atfh_resolver *r, struct atfh_identity *e)
{
	entry_clear(e);
	e->started = wall_now();
	e->state = ATFH_ID_PENDING;
	free(e->why);
	e->why = NULL;
	e->failed_now = false;
	queue_req(r, e, REQ_DOC);
	if (r->cfg.want_metadata) {
		if (e->did_len > 8 && memcmp(e->did, "did:plc:", 8) == 0)
			queue_req(r, e, REQ_AUDIT);
		if (r->cfg.appview)
			queue_req(r, e, REQ_PROFILE);
	}
	index_sync(r, e);
}

static void entry_step_done(struct atfh_resolver *r, struct atfh_identity *e);

/* The verdict of E's handle check from the DID it resolved to (RES). */
static void handle_verdict(struct atfh_resolver *r, struct atfh_identity *e, int res,
			   const char *did)
{
	if (res == ATFH_HR_DID && did && strlen(did) == e->did_len && memcmp(did, e->did, e->did_len) == 0) {
		e->hv = ATFH_HV_OK;
	} else {
		e->hv = ATFH_HV_INVALID;
		r->c.handle_invalid++;
	}
}

/* A DNS answer for DQ (ARG) came: its resolver and entry, and whether
 * to go on (not while the resolver is closing down). */
static bool dnsq_done(void *arg, struct atfh_resolver **r, struct atfh_identity **e)
{
	struct dnsq *dq = arg;
	*r = dq->r;
	*e = dq->e;
	free(dq);
	return !(*r)->p->closing;
}

static void on_handle_addr(void *arg, const char *addr, const char *why)
{
	(void)why;
	struct atfh_resolver *r;
	struct atfh_identity *e;
	if (!dnsq_done(arg, &r, &e))
		return;
	if (addr)
		queue_req_pin(r, e, REQ_HANDLE_WK, addr);
	else
		handle_verdict(r, e, ATFH_HR_NOTFOUND, NULL);
	entry_step_done(r, e);
}

static void on_handle_txt(void *arg, enum atfh_dns_status st, const unsigned char *abuf,
			  size_t alen, const char *why)
{
	(void)why;
	struct atfh_resolver *r;
	struct atfh_identity *e;
	if (!dnsq_done(arg, &r, &e))
		return;
	char did[ATFH_DID_MAX + 1];
	int res = st == ATFH_DNS_OK ? atfh_handle_txt_did(abuf, alen, did) : ATFH_HR_NOTFOUND;
	if (res == ATFH_HR_DID) {
		handle_verdict(r, e, res, did);
	} else if (r->cfg.dns_servers) {
		/* no DID by DNS (any error): over HTTPS, the host's address
		 * asked of the same servers */
		struct dnsq *aq = atfh_xmalloc(sizeof *aq);
		aq->r = r;
		aq->e = e;
		e->inflight++;
		r->c.handle_requests++;
		atfh_dnstxt_addr(r->p->dns, e->doc->handle, on_handle_addr, aq);
	} else { /* no DID by DNS (any error): over HTTPS */
		queue_req(r, e, REQ_HANDLE_WK);
	}
	entry_step_done(r, e);
}

/* Check E's declared handle (its document just arrived). */
static void handle_check(struct atfh_resolver *r, struct atfh_identity *e)
{
	const char *h = e->doc->handle;
	if (!h[0]) { /* none declared */
		e->hv = ATFH_HV_INVALID;
		r->c.handle_invalid++;
		return;
	}
	if (!atfh_handle_allowed_tld(h)) {
		e->hv = ATFH_HV_REFUSED;
		return;
	}
	if (r->cfg.handle_resolver) {
		queue_req(r, e, REQ_HANDLE_XRPC);
		return;
	}
	if (atfh_handle_skip_dns(h) || !r->p->dns) {
		queue_req(r, e, REQ_HANDLE_WK);
		return;
	}
	char name[ATFH_HANDLE_MAX + 16];
	snprintf(name, sizeof name, "_atproto.%s", h);
	struct dnsq *dq = atfh_xmalloc(sizeof *dq);
	dq->r = r;
	dq->e = e;
	if (!e->inflight++)
		r->p->accounts_inflight++;
	r->c.handle_requests++;
	atfh_dnstxt_query(r->p->dns, name, on_handle_txt, dq);
}

const char *atfh_identity_handle(const struct atfh_identity *e)
{
	switch (e->hv) {
	case ATFH_HV_OK:
		return e->doc && e->doc->handle[0] ? e->doc->handle : NULL;
	case ATFH_HV_INVALID:
		return ATFH_HANDLE_INVALID;
	default:
		return NULL;
	}
}

/* Parse the document JSON into E->doc.  0, or -1 with *WHY. */
static int parse_doc(struct atfh_resolver *r, struct atfh_identity *e, const char *json,
		     size_t n, const char **why)
{
	struct atfh_diddoc d;
	if (atfh_diddoc_parse_opt(&d, json, n, e->did, e->did_len, r->cfg.want_metadata, why))
		return -1;
	if (!e->doc)
		e->doc = atfh_xmalloc(sizeof *e->doc);
	*e->doc = d;
	e->host = e->doc->pds_host;
	e->host_len = strlen(e->doc->pds_host);
	return 0;
}

static void set_why(struct atfh_identity *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void set_why(struct atfh_identity *e, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	free(e->why);
	e->why = atfh_xstrdup(buf);
}

/* The JSON text P (N bytes, valid) without white space outside strings. */
static char *minify(const char *p, size_t n, size_t *outn)
{
	char *o = atfh_xmalloc(n + 1);
	size_t k = 0;
	bool in_str = false;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (in_str) {
			o[k++] = c;
			if (c == '\\' && i + 1 < n)
				o[k++] = p[++i];
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
			o[k++] = c;
		} else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			o[k++] = c;
		}
	}
	o[k] = '\0';
	*outn = k;
	return o;
}

static void req_done(struct atfh_resolver *r, struct req *q, CURLcode rc)
{
	struct atfh_resolver_priv *p = r->p;
	struct atfh_identity *e = q->e;
	long status = 0;
	curl_easy_getinfo(q->h, CURLINFO_RESPONSE_CODE, &status);
	const char *why = NULL;
	char whybuf[512];
	if (rc != CURLE_OK) {
		snprintf(whybuf, sizeof whybuf, "%.200s", q->too_big ? "response too large"
				  : q->curl_err[0] ? q->curl_err : curl_easy_strerror(rc));
		why = whybuf;
	} else if (status != 200) {
		snprintf(whybuf, sizeof whybuf, "HTTP status %ld", status);
		why = whybuf;
	}
	const char *body = q->body.buf ? q->body.buf : "";
	switch (q->kind) {
	case REQ_DOC:
		if (!why) {
			size_t mn;
			const char *jerr;
			char *min = atfh_json_check(body, q->body.len, &jerr) ? NULL
				    : minify(body, q->body.len, &mn);
			if (!min) {
				why = "DID document is not JSON";
			} else if (parse_doc(r, e, min, mn, &why)) {
				free(min);
			} else {
				free(e->raw);
				e->raw = min;
				e->raw_len = mn;
				e->doc_ok = e->doc_parsed = true;
				r->p->dirty = true;
				if (r->cfg.want_metadata && !e->stale)
					handle_check(r, e);
			}
		}
		if (why)
			set_why(e, "%.280s: %.200s", q->url, why);
		break;
	case REQ_AUDIT:
		if (!why) {
			struct atfh_jval arr = { ATFH_J_ARR, body, q->body.len, false }, el;
			const char *pos = NULL, *jerr;
			struct atfh_jobj o;
			/* the whole array checked first: atfh_jarr_next needs it */
			if (!atfh_json_check(body, q->body.len, &jerr)) {
				while (arr.n && (*arr.p == ' ' || *arr.p == '\n' || *arr.p == '\r' || *arr.p == '\t'))
					arr.p++, arr.n--;
				while (arr.n && (arr.p[arr.n - 1] == ' ' || arr.p[arr.n - 1] == '\n' ||
						 arr.p[arr.n - 1] == '\r' || arr.p[arr.n - 1] == '\t'))
					arr.n--;
				if (arr.n && *arr.p == '[' && atfh_jarr_next(&arr, &pos, &el) &&
				    el.type == ATFH_J_OBJ && !atfh_jobj_parse(&o, el.p, el.n, &jerr)) {
					const struct atfh_jval *c = atfh_jobj_get(&o, "createdAt");
					if (!c || c->type != ATFH_J_STR ||
					    atfh_jval_unescape(c, e->created, sizeof e->created) < 0)
						e->created[0] = '\0';
				}
			}
		}
		break;
	case REQ_PROFILE: {
		const char *jerr;
		if (!why && !atfh_json_check(body, q->body.len, &jerr)) {
			size_t mn;
			free(e->profile);
			e->profile = minify(body, q->body.len, &mn);
		}
		break;
	}
	case REQ_HANDLE_WK:
	case REQ_HANDLE_XRPC: {
		char did[ATFH_DID_MAX + 1];
		int res = why ? ATFH_HR_FAILED
			  : q->kind == REQ_HANDLE_WK ? atfh_handle_wk_did(body, q->body.len, did)
						     : atfh_handle_xrpc_did(body, q->body.len, did);
		handle_verdict(r, e, res, did);
		break;
	}
	}
	curl_multi_remove_handle(p->multi, q->h);
	curl_easy_cleanup(q->h);
	atfh_out_free(&q->body);
	curl_slist_free_all(q->pin);
	free(q);
	p->running--;
	entry_step_done(r, e);
}

/* One request of E ended. */
static void entry_step_done(struct atfh_resolver *r, struct atfh_identity *e)
{
	struct atfh_resolver_priv *p = r->p;
	if (--e->inflight == 0) {
		p->accounts_inflight--;
		if (e->stale) { /* dropped while in flight: fetch it afresh */
			e->stale = false;
			fetch(r, e);
			return;
		}
		e->fetched = wall_now();
		e->fetched_mono = atfh_now();
		if (e->doc_ok) {
			e->state = ATFH_ID_OK;
		} else {
			e->state = ATFH_ID_FAILED;
			e->failed_now = true;
			if (!e->why)
				set_why(e, "%s", "no DID document");
			r->c.failures++;
		}
		index_sync(r, e);
	}
}


/* ---- disk cache --------------------------------------------------------- */

int atfh_idcache_head(const char *s, size_t n, struct atfh_idcache_head *h)
{
	static const char p1[] = "{\"v\":2,\"did\":\"", p2[] = "\",\"fetched\":",
			  p3[] = ",\"pds\":\"", p4[] = "\",\"len\":", p5[] = ",\"doc\":{";
	const char *end = s + n, *q = s + sizeof p1 - 1;
	if (n < sizeof p1 - 1 || memcmp(s, p1, sizeof p1 - 1))
		return -1;
	h->did = q;
	while (q < end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
		q++;
	h->did_len = (size_t)(q - h->did);
	if ((size_t)(end - q) < sizeof p2 - 1 || memcmp(q, p2, sizeof p2 - 1))
		return -1;
	q += sizeof p2 - 1;
	const char *d0 = q;
	int64_t v = 0;
	while (q < end && *q >= '0' && *q <= '9' && q - d0 < 18)
		v = v * 10 + (*q++ - '0');
	if (q == d0 || (size_t)(end - q) < sizeof p3 - 1 || memcmp(q, p3, sizeof p3 - 1))
		return -1;
	h->fetched = v;
	q += sizeof p3 - 1;
	h->host = q;
	while (q < end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
		q++;
	h->host_len = (size_t)(q - h->host);
	if ((size_t)(end - q) < sizeof p4 - 1 || memcmp(q, p4, sizeof p4 - 1) ||
	    h->host_len >= sizeof ((struct atfh_diddoc *)0)->pds_host)
		return -1;
	q += sizeof p4 - 1;
	d0 = q;
	size_t len = 0;
	while (q < end && *q >= '0' && *q <= '9' && q - d0 < 12)
		len = len * 10 + (size_t)(*q++ - '0');
	if (q == d0 || (size_t)(end - q) < sizeof p5 - 1 || memcmp(q, p5, sizeof p5 - 1))
		return -1;
	h->doc = q + sizeof p5 - 2;
	h->line_len = (size_t)(h->doc - s) + len;
	/* the line ends there ('}' then a newline or the end of S) */
	if (len < 2 || h->line_len > n || s[h->line_len - 1] != '}' ||
	    (h->line_len < n && s[h->line_len] != '\n'))
		return -1;
	return 0;
}

/* One disk cache line read as JSON. */
struct cline {
	char did[ATFH_DID_MAX + 1];
	size_t did_len;
	int64_t fetched, version;     /* version 1: no "v" */
	const struct atfh_jval *doc, *created, *profile, *pds, *handle;
	struct atfh_jobj o;
};

/* 0, -1 when unreadable, 1 when of an unknown version. */
static int cline_parse(struct cline *c, const char *line, size_t len)
{
	const char *err;
	if (atfh_jobj_parse(&c->o, line, len, &err))
		return -1;
	const struct atfh_jval *vd = atfh_jobj_get(&c->o, "did"),
			       *vf = atfh_jobj_get(&c->o, "fetched"),
			       *vv = atfh_jobj_get(&c->o, "v");
	c->doc = atfh_jobj_get(&c->o, "doc");
	c->created = atfh_jobj_get(&c->o, "created");
	c->profile = atfh_jobj_get(&c->o, "profile");
	c->pds = atfh_jobj_get(&c->o, "pds");
	c->handle = atfh_jobj_get(&c->o, "handle");
	c->version = 1;
	if (vv && (!atfh_jval_i64(vv, &c->version) || c->version < 1))
		return -1;
	if (c->version > ATFH_IDCACHE_VERSION)
		return 1;
	long dn;
	if (!vd || vd->type != ATFH_J_STR || (dn = atfh_jval_unescape(vd, c->did, sizeof c->did)) < 0 ||
	    !vf || !atfh_jval_i64(vf, &c->fetched) || !c->doc || c->doc->type != ATFH_J_OBJ ||
	    !resolvable(c->did, (size_t)dn))
		return -1;
	c->did_len = (size_t)dn;
	return 0;
}

/* The document, creation time and profile of line C into E. */
static void cline_fill(struct atfh_identity *e, const struct cline *c)
{
	free(e->raw);
	e->raw = atfh_xmalloc(c->doc->n + 1);
	memcpy(e->raw, c->doc->p, c->doc->n);
	e->raw[c->doc->n] = '\0';
	e->raw_len = c->doc->n;
	e->created[0] = '\0';
	const struct atfh_jval *vc = c->created, *vp = c->profile;
	if (vc && vc->type == ATFH_J_STR && atfh_jval_unescape(vc, e->created, sizeof e->created) < 0)
		e->created[0] = '\0';
	const struct atfh_jval *vh = c->handle;
	e->hv = !vh ? ATFH_HV_UNKNOWN
		: vh->type == ATFH_J_NULL ? ATFH_HV_REFUSED
		: vh->type != ATFH_J_STR ? ATFH_HV_UNKNOWN
		: vh->n == sizeof ATFH_HANDLE_INVALID - 1 &&
		  memcmp(vh->p, ATFH_HANDLE_INVALID, vh->n) == 0 ? ATFH_HV_INVALID
		: ATFH_HV_OK;
	free(e->profile);
	e->profile = NULL;
	if (vp && vp->type == ATFH_J_OBJ) {
		e->profile = atfh_xmalloc(vp->n + 1);
		memcpy(e->profile, vp->p, vp->n);
		e->profile[vp->n] = '\0';
	}
}

/* A new cached entry of DID, fetched at FETCHED (a later line of the same
 * DID wins). */
static struct atfh_identity *cached_entry(struct atfh_resolver *r, const char *did, size_t n,
					  int64_t fetched)
{
	struct atfh_identity *e = find(r, did, n);
	if (e)
		remove_entry(r, e);
	e = insert(r, did, n);
	e->doc_ok = true;
	e->state = ATFH_ID_OK;
	e->fetched = (double)fetched;
	return e;
}

/* The whole file at PATH (at most CACHE_FILE_MAX bytes, cut after its
 * last newline then) into *LEN, mapped (*MAPPED) or read; NULL (reported
 * unless missing). */
static char *read_file(const char *path, size_t *len, bool *mapped)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			atfh_err("%s: %s (identity cache not read)", path, strerror(errno));
		return NULL;
	}
	size_t cap = 1 << 16, n = 0;
	struct stat st;
	*mapped = false;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (size_t)st.st_size < CACHE_FILE_MAX) {
		/* the file is replaced by rename, never rewritten in place */
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
		if (m != MAP_FAILED) {
			close(fd);
			*mapped = true;
			*len = (size_t)st.st_size;
			return m;
		}
		cap = (size_t)st.st_size + 1;
	}
	char *buf = atfh_xmalloc(cap);
	for (;;) {
		if (n + 1 >= cap) {
			if (cap > CACHE_FILE_MAX)
				break;
			cap *= 2;
			buf = atfh_xrealloc(buf, cap);
		}
		size_t want = cap - 1 - n;
		if (n + want > CACHE_FILE_MAX)
			want = CACHE_FILE_MAX - n;
		if (!want)
			break;
		ssize_t k = read(fd, buf + n, want);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			atfh_err("%s: %s (identity cache %s)", path, strerror(errno),
				 n ? "read in part" : "not read");
			break;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	if (n >= CACHE_FILE_MAX) { /* only whole lines */
		while (n && buf[n - 1] != '\n')
			n--;
		atfh_err("%s: larger than %u bytes (identity cache read in part)", path,
			 CACHE_FILE_MAX);
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Lines of the disk cache to index (a did:plc's, written by this module):
 * key, offset, fetch time, host number. */
struct pending {
	struct atfh_idkey k;
	size_t off;
	uint32_t fetched, host;
};
#define PENDING 16

/* Index the lines V[0..N) in their order (a later line of a DID wins).
 * Returns 0. */
static size_t index_lines(struct atfh_resolver *r, const struct pending *v, size_t n)
{
	struct atfh_resolver_priv *p = r->p;
	for (size_t i = 0; i < n; i++) {
		struct atfh_idslot *s = atfh_idindex_get(&p->ix, &v[i].k);
		if (s && !IS_LINE(s->ref)) { /* an older line's entry */
			remove_entry(r, (struct atfh_identity *)s->ref);
			s = NULL;
		}
		if (!s) {
			s = atfh_idindex_put(&p->ix, &v[i].k);
			r->n++;
		}
		s->ref = LINE_REF(v[i].off);
		s->host = v[i].host;
		s->fetched = v[i].fetched;
		if (p->lines_n == p->lines_cap) {
			p->lines_cap = p->lines_cap ? p->lines_cap * 2 : 1024;
			p->lines = atfh_xrealloc(p->lines, p->lines_cap * sizeof *p->lines);
		}
		p->lines[p->lines_n++] = v[i].off;
		evict(r);
	}
	return 0;
}

/* Read the disk cache: true when it should be written back in the
 * current format. */
static bool load_cache(struct atfh_resolver *r, const char *path)
{
	size_t len, bad = 0, newer = 0, old = 0;
	bool mapped;
	char *buf = read_file(path, &len, &mapped);
	if (!buf)
		return false;
	r->p->file = buf;
	r->p->file_len = len;
	r->p->file_mapped = mapped;
	if (mapped)
		madvise(buf, len, MADV_SEQUENTIAL);
	struct atfh_resolver_priv *p = r->p;
	atfh_idindex_free(&p->ix);
	atfh_idindex_init(&p->ix, len / 512); /* about a line per 600 bytes */
	double now = wall_now(), ttl = (double)r->cfg.ttl_ms / 1000;
	struct cline *c = atfh_xmalloc(sizeof *c);
	struct pending pend[PENDING];
	size_t np = 0;
	for (char *line = buf, *end = buf + len, *nl; line < end; line = nl < end ? nl + 1 : end) {
		struct atfh_idcache_head h;
		if (atfh_idcache_head(line, (size_t)(end - line), &h) == 0) {
			nl = line + h.line_len; /* its end known without reading it */
			/* the heads of the lines ahead, guessed at this one's
			 * length (the next one's is known: both) */
			__builtin_prefetch(nl + 1);
			__builtin_prefetch(nl + 65);
			if (h.line_len * 5 < (size_t)(end - line)) {
				__builtin_prefetch(line + h.line_len * 4);
				__builtin_prefetch(line + h.line_len * 4 + 64);
				__builtin_prefetch(line + h.line_len * 4 + 128);
			}
			struct atfh_idkey k;
			atfh_idkey_of(h.did, h.did_len, &k);
			/* an exact key is a did:plc, resolvable */
			if (!atfh_idkey_exact(&k) && !resolvable(h.did, h.did_len)) {
				bad++;
				continue;
			}
			/* as written here: split, parsed when needed */
			if ((double)h.fetched + ttl <= now)
				continue; /* too old */
			if (atfh_idkey_exact(&k) && h.fetched >= 0 && h.fetched < UINT32_MAX) {
				/* indexed as a line, made an entry when needed; its
				 * slot prefetched, indexed a few lines later */
				if (np == PENDING)
					np = index_lines(r, pend, np);
				atfh_idindex_prefetch(&p->ix, &k);
				pend[np++] = (struct pending){
					k, (size_t)(line - buf), (uint32_t)h.fetched,
					atfh_idindex_host(&p->ix, h.host, h.host_len) & HOST_ID };
				continue;
			}
			np = index_lines(r, pend, np); /* in file order */
			struct atfh_identity *e = cached_entry(r, h.did, h.did_len, h.fetched);
			e->line = line;
			e->line_len = h.line_len;
			e->host = h.host;
			e->host_len = h.host_len;
			index_sync(r, e);
			evict(r);
			continue;
		}
		np = index_lines(r, pend, np);
		nl = memchr(line, '\n', (size_t)(end - line));
		if (!nl)
			nl = end;
		size_t n = (size_t)(nl - line);
		while (n && line[n - 1] == '\r')
			n--;
		if (!n)
			continue;
		int rc = cline_parse(c, line, n);
		if (rc) {
			*(rc > 0 ? &newer : &bad) += 1;
			continue;
		}
		if (c->version < ATFH_IDCACHE_VERSION)
			old++;
		if ((double)c->fetched + ttl <= now)
			continue; /* too old */
		struct atfh_identity *e = cached_entry(r, c->did, c->did_len, c->fetched);
		cline_fill(e, c); /* its document parsed when first used */
		if (c->pds && c->pds->type == ATFH_J_STR && !memchr(c->pds->p, '\\', c->pds->n) &&
		    c->pds->n < sizeof e->doc->pds_host) {
			e->host = c->pds->p;
			e->host_len = c->pds->n;
		}
		index_sync(r, e);
		evict(r);
	}
	index_lines(r, pend, np);
	free(c);
	if (bad)
		atfh_err("%s: %zu unreadable line%s ignored", path, bad, bad == 1 ? "" : "s");
	if (newer)
		atfh_err("%s: %zu line%s of a newer format than %d ignored", path, newer,
			 newer == 1 ? "" : "s", ATFH_IDCACHE_VERSION);
	return old > 0;
}

/* The document of a cache line not parsed yet into E.  0, or -1. */
static int unsplit(struct atfh_identity *e)
{
	struct cline *c = atfh_xmalloc(sizeof *c);
	int rc = cline_parse(c, e->line, e->line_len);
	if (rc == 0)
		cline_fill(e, c);
	free(c);
	e->line = NULL;
	e->line_len = 0;
	return rc ? -1 : 0;
}

static int save_cache(struct atfh_resolver *r, const char *path)
{
	struct atfh_out w = { 0 }, t = { 0 };
	w.fd = t.fd = -1;
	/* oldest first, so that reading it back leaves the LRU order as it is:
	 * the lines never made into entries, then the entries */
	for (size_t i = r->p->lines_head; i < r->p->lines_n; i++) {
		size_t off = r->p->lines[i];
		struct atfh_idcache_head h;
		if (line_slot(r, off) && !atfh_idcache_head(r->p->file + off, r->p->file_len - off, &h)) {
			atfh_out_put(&w, r->p->file + off, h.line_len);
			atfh_out_c(&w, '\n');
		}
	}
	for (struct atfh_identity *e = r->p->lru_tail; e; e = e->lprev) {
		if (!e->doc_ok || e->state != ATFH_ID_OK)
			continue;
		if (e->line) { /* as read */
			atfh_out_put(&w, e->line, e->line_len);
			atfh_out_c(&w, '\n');
			continue;
		}
		const char *why;
		if (!e->raw || ((!e->host || (e->hv == ATFH_HV_OK && !e->doc)) &&
				parse_doc(r, e, e->raw, e->raw_len, &why)))
			continue;
		/* the part from the document on first: its length goes before */
		t.len = 0;
		atfh_out_put(&t, e->raw, e->raw_len);
		if (e->created[0]) {
			atfh_out_lit(&t, ",\"created\":");
			atfh_json_str(&t, e->created, strlen(e->created));
		}
		if (e->profile) {
			atfh_out_lit(&t, ",\"profile\":");
			atfh_out_put(&t, e->profile, strlen(e->profile));
		}
		if (e->hv != ATFH_HV_UNKNOWN) {
			const char *h = atfh_identity_handle(e);
			atfh_out_lit(&t, ",\"handle\":");
			if (h)
				atfh_json_str(&t, h, strlen(h));
			else
				atfh_out_lit(&t, "null");
		}
		atfh_out_c(&t, '}');
		atfh_out_lit(&w, "{\"v\":2,\"did\":");
		atfh_json_str(&w, e->did, e->did_len);
		atfh_out_lit(&w, ",\"fetched\":");
		atfh_json_i64(&w, (int64_t)e->fetched);
		atfh_out_lit(&w, ",\"pds\":");
		atfh_json_str(&w, e->host, e->host_len);
		atfh_out_lit(&w, ",\"len\":");
		atfh_json_i64(&w, (int64_t)t.len);
		atfh_out_lit(&w, ",\"doc\":");
		atfh_out_put(&w, t.buf, t.len);
		atfh_out_c(&w, '\n');
	}
	int rc = atfh_write_atomic(path, w.buf ? w.buf : "", w.len);
	if (rc < 0)
		atfh_err("%s: cannot write the identity cache: %s", path, strerror(errno));
	atfh_out_free(&w);
	atfh_out_free(&t);
	return rc;
}

/* ---- the API ------------------------------------------------------------ */

int atfh_resolver_init(struct atfh_resolver *r, const struct atfh_identity_cfg *cfg)
{
	memset(r, 0, sizeof *r);
	r->cfg = *cfg;
	if (!r->cfg.concurrency)
		r->cfg.concurrency = 1;
	r->p = atfh_xcalloc(1, sizeof *r->p);
	const char *plc = cfg->plc ? cfg->plc : getenv("ATFH_PLC");
	if (!plc || !*plc)
		plc = ATFH_PLC_DEFAULT;
	size_t pn = strlen(plc);
	while (pn && plc[pn - 1] == '/')
		pn--;
	if (pn >= sizeof r->p->plc || atfh_url_host(plc, (char[256]){ 0 }, 256)) {
		atfh_err("--plc: '%s' is not an http(s) URL", plc);
		return -1;
	}
	memcpy(r->p->plc, plc, pn);
	r->p->plc[pn] = '\0';
	if (cfg->appview && atfh_url_host(cfg->appview, (char[256]){ 0 }, 256)) {
		atfh_err("--appview: '%s' is not an http(s) URL", cfg->appview);
		return -1;
	}
	if (cfg->handle_resolver) {
		size_t hn = strlen(cfg->handle_resolver);
		while (hn && cfg->handle_resolver[hn - 1] == '/')
			hn--;
		if (hn >= sizeof r->p->hres || atfh_url_host(cfg->handle_resolver, (char[256]){ 0 }, 256)) {
			atfh_err("--handle-resolver: '%s' is not an http(s) URL", cfg->handle_resolver);
			return -1;
		}
		memcpy(r->p->hres, cfg->handle_resolver, hn);
		r->p->hres[hn] = '\0';
		r->cfg.handle_resolver = r->p->hres;
	} else if (cfg->want_metadata) {
		const char *why;
		if (!(r->p->dns = atfh_dnstxt_new(cfg->dns_servers, cfg->timeout_ms, &why))) {
			atfh_err("%s%s%s: %s", cfg->dns_servers ? "--dns-server: '" : "DNS",
				 cfg->dns_servers ? cfg->dns_servers : "", cfg->dns_servers ? "'" : "", why);
			return -1;
		}
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	r->p->multi = curl_multi_init();
	if (!r->p->multi)
		atfh_die_oom();
	atfh_idindex_init(&r->p->ix, 0);
	if (cfg->cache_file) {
		bool upgrade = load_cache(r, cfg->cache_file);
		/* what was read needs no writing back, unless in an old format */
		r->p->dirty = upgrade;
	}
	return 0;
}

int atfh_resolver_finish(struct atfh_resolver *r)
{
	struct atfh_resolver_priv *p = r->p;
	int rc = 0;
	if (!p)
		return 0;
	if (r->cfg.cache_file && p->dirty)
		rc = save_cache(r, r->cfg.cache_file);
	p->closing = true; /* DNS queries still pending end without effect */
	atfh_dnstxt_free(p->dns);
	p->dns = NULL;
	/* requests still in flight (a run cut short) */
	CURL **handles = curl_multi_get_handles(p->multi);
	for (size_t i = 0; handles && handles[i]; i++) {
		struct req *q = NULL;
		curl_easy_getinfo(handles[i], CURLINFO_PRIVATE, (char **)&q);
		curl_multi_remove_handle(p->multi, handles[i]);
		curl_easy_cleanup(handles[i]);
		if (q) {
			atfh_out_free(&q->body);
			curl_slist_free_all(q->pin);
			free(q);
		}
	}
	curl_free(handles);
	for (struct req *q = p->wait_head, *next; q; q = next) {
		next = q->next;
		curl_slist_free_all(q->pin);
		free(q);
	}
	for (struct atfh_identity *e = p->lru_head, *next; e; e = next) {
		next = e->lnext;
		entry_free(e);
	}
	curl_multi_cleanup(p->multi);
	atfh_idindex_free(&p->ix);
	free(p->lines);
	if (p->file_mapped)
		munmap(p->file, p->file_len);
	else
		free(p->file);
	free(p);
	r->p = NULL;
	return rc;
}

/* A document read from the disk cache is parsed when first used (with
 * only the PDS host needed, not at all when the line had it); one that
 * does not parse (any more) is fetched again. */
static void ensure_parsed(struct atfh_resolver *r, struct atfh_identity *e)
{
	const char *why;
	if (e->state != ATFH_ID_OK || e->doc_parsed || (e->host && !r->cfg.need_doc))
		return;
	if ((!e->line || unsplit(e) == 0) && parse_doc(r, e, e->raw, e->raw_len, &why) == 0) {
		e->doc_parsed = true;
		index_sync(r, e);
		return;
	}
	r->c.misses++;
	fetch(r, e);
}

uint32_t atfh_resolver_host_id(struct atfh_resolver *r, const char *did, size_t n)
{
	struct atfh_idkey k;
	if (r->cfg.need_doc)
		return 0;
	atfh_idkey_of(did, n, &k);
	return atfh_resolver_host_id_key(r, &k);
}

uint32_t atfh_resolver_host_id_key(struct atfh_resolver *r, const struct atfh_idkey *k)
{
	if (r->cfg.need_doc || !atfh_idkey_exact(k))
		return 0;
	struct atfh_idslot *s = atfh_idindex_get(&r->p->ix, k);
	if (!s || !(s->host & HOST_ID))
		return 0;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	/* fetched is rounded down, the coarse clock (a few ms behind) given
	 * 10 ms more: never fresh when the slow path's TTL says expired */
	if ((uint64_t)s->fetched * 1000 + r->cfg.ttl_ms <=
	    (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + 10)
		return 0;
	if (!(s->host & HOST_USED))
		s->host |= HOST_USED;
	r->c.hits++;
	return s->host & HOST_ID;
}

void atfh_resolver_prefetch(const struct atfh_resolver *r, const char *did, size_t n)
{
	struct atfh_idkey k;
	atfh_idkey_of(did, n, &k);
	atfh_idindex_prefetch(&r->p->ix, &k);
}

void atfh_resolver_prefetch_key(const struct atfh_resolver *r, const struct atfh_idkey *k)
{
	atfh_idindex_prefetch(&r->p->ix, k);
}

const char *atfh_resolver_host_name(const struct atfh_resolver *r, uint32_t id, size_t *n)
{
	return atfh_idindex_host_name(&r->p->ix, id, n);
}

struct atfh_identity *atfh_resolver_peek(struct atfh_resolver *r, const char *did, size_t n)
{
	if (n > ATFH_DID_MAX)
		return NULL;
	struct atfh_identity *e = find(r, did, n);
	if (e)
		ensure_parsed(r, e);
	return e;
}

struct atfh_identity *atfh_resolver_lookup(struct atfh_resolver *r, const char *did, size_t n)
{
	if (!resolvable(did, n)) {
		r->c.failures++;
		return NULL;
	}
	struct atfh_identity *e = find(r, did, n);
	if (e) {
		/* to the front unless it went there in the last quarter of
		 * the cache's lookups (in the front part already: an LRU
		 * whose list is not rewritten at every record) */
		if (e->tick == 0 || r->p->tick - e->tick >= r->n / 4)
			lru_front(r->p, e);
		else
			r->p->tick++;
		if (e->state == ATFH_ID_PENDING) {
			r->c.hits++; /* no request of its own */
			return e;
		}
		double age = wall_now() - e->fetched, ttl = (double)r->cfg.ttl_ms / 1000;
		if (age < (e->state == ATFH_ID_OK ? ttl : (ttl < FAIL_TTL ? ttl : FAIL_TTL))) {
			ensure_parsed(r, e);
			/* metadata needs the handle's verdict: fetched again
			 * without one, or an invalid one grown old (indigo) */
			if (!r->cfg.want_metadata || e->state != ATFH_ID_OK ||
			    (e->hv != ATFH_HV_UNKNOWN &&
			     (e->hv != ATFH_HV_INVALID || age < HANDLE_INVALID_TTL))) {
				r->c.hits++;
				return e;
			}
			if (e->state == ATFH_ID_PENDING) /* ensure_parsed fetches it */
				return e;
		}
		r->c.misses++;
		fetch(r, e);
		return e;
	}
	r->c.misses++;
	e = insert(r, did, n);
	fetch(r, e);
	evict(r);
	return e;
}

void atfh_resolver_drop(struct atfh_resolver *r, const char *did, size_t n, int64_t at_us)
{
	if (n > ATFH_DID_MAX)
		return;
	struct atfh_identity *e = find(r, did, n);
	if (!e)
		return;
	double at = at_us > 0 ? (double)at_us / 1e6 : 0;
	if (e->inflight) {
		if (!at || e->started < at) {
			e->stale = true;
			r->c.invalidations++;
		}
		return;
	}
	if (at && e->fetched >= at)
		return; /* fetched after the event: already up to date */
	r->c.invalidations++;
	remove_entry(r, e);
}

void atfh_resolver_refresh(struct atfh_resolver *r, struct atfh_identity *e)
{
	r->c.refreshes++;
	if (e->inflight) {
		e->stale = true;
		return;
	}
	fetch(r, e);
}

static void drive(struct atfh_resolver *r)
{
	struct atfh_resolver_priv *p = r->p;
	int still;
	atfh_dnstxt_step(p->dns); /* answers that arrived (they may queue requests) */
	for (;;) {
		curl_multi_perform(p->multi, &still);
		CURLMsg *m;
		int left;
		bool any = false;
		while ((m = curl_multi_info_read(p->multi, &left))) {
			if (m->msg != CURLMSG_DONE)
				continue;
			struct req *q = NULL;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&q);
			req_done(r, q, m->data.result);
			any = true;
		}
		while (p->wait_head && p->running < r->cfg.concurrency) {
			struct req *q = p->wait_head;
			p->wait_head = q->next;
			if (!p->wait_head)
				p->wait_tail = NULL;
			q->next = NULL;
			start_req(r, q);
			any = true;
		}
		if (!any)
			break;
	}
}

size_t atfh_resolver_poll(struct atfh_resolver *r, int timeout_ms)
{
	struct atfh_resolver_priv *p = r->p;
	if (!p->accounts_inflight)
		return 0;
	drive(r);
	if (timeout_ms > 0 && (p->running || atfh_dnstxt_pending(p->dns))) {
		/* curl's sockets and c-ares's, waited on together */
		struct pollfd pf[ATFH_DNSTXT_FDS];
		struct curl_waitfd wf[ATFH_DNSTXT_FDS];
		int t = timeout_ms, nf = atfh_dnstxt_fds(p->dns, pf, &t);
		for (int i = 0; i < nf; i++) {
			wf[i].fd = pf[i].fd;
			wf[i].events = (short)(((pf[i].events & POLLIN) ? CURL_WAIT_POLLIN : 0) |
					       ((pf[i].events & POLLOUT) ? CURL_WAIT_POLLOUT : 0));
			wf[i].revents = 0;
		}
		curl_multi_poll(p->multi, wf, (unsigned)nf, t, NULL);
		for (int i = 0; i < nf; i++)
			pf[i].revents = (short)(((wf[i].revents & CURL_WAIT_POLLIN) ? POLLIN : 0) |
						((wf[i].revents & CURL_WAIT_POLLOUT) ? POLLOUT : 0));
		if (p->dns)
			atfh_dnstxt_process(p->dns, pf, nf);
		drive(r);
	}
	return p->accounts_inflight;
}

size_t atfh_resolver_inflight(const struct atfh_resolver *r)
{
	return r->p ? r->p->accounts_inflight : 0;
}

void atfh_resolver_print(const struct atfh_resolver *r, FILE *f)
{
	fprintf(f, "%s: identity: %llu requests, %llu cache hits, %llu misses, %zu cached, "
		   "%llu failed, %llu invalidated; signatures: %llu checked, %llu failed; "
		   "%llu events unresolved\n",
		atfh_progname, (unsigned long long)r->c.requests, (unsigned long long)r->c.hits,
		(unsigned long long)r->c.misses, r->n, (unsigned long long)r->c.failures,
		(unsigned long long)r->c.invalidations, (unsigned long long)r->c.sig_checked,
		(unsigned long long)r->c.sig_failed, (unsigned long long)r->c.unresolved);
}

void atfh_resolver_metrics(const struct atfh_resolver *r, struct atfh_metrics_buf *m)
{
	atfh_metric(m, "counter", "identity_requests_total", "DID resolution HTTP requests made.",
		    "%llu", (unsigned long long)r->c.requests);
	atfh_metric(m, "counter", "identity_cache_hits_total", "Identity lookups answered by the cache.",
		    "%llu", (unsigned long long)r->c.hits);
	atfh_metric(m, "counter", "identity_cache_misses_total", "Identity lookups that needed a request.",
		    "%llu", (unsigned long long)r->c.misses);
	atfh_metric(m, "gauge", "identity_cache_size", "Accounts in the identity cache.", "%zu", r->n);
	atfh_metric(m, "counter", "identity_failures_total", "Accounts whose resolution failed.",
		    "%llu", (unsigned long long)r->c.failures);
	atfh_metric(m, "counter", "identity_invalidations_total",
		    "Cached accounts dropped by #identity events.", "%llu",
		    (unsigned long long)r->c.invalidations);
	atfh_metric(m, "counter", "signatures_checked_total", "Commit signatures checked.", "%llu",
		    (unsigned long long)r->c.sig_checked);
	atfh_metric(m, "counter", "signatures_failed_total", "Commit signatures that failed.", "%llu",
		    (unsigned long long)r->c.sig_failed);
	atfh_metric(m, "counter", "identity_handle_requests_total",
		    "DNS queries and HTTP requests resolving declared handles.", "%llu",
		    (unsigned long long)r->c.handle_requests);
	atfh_metric(m, "counter", "identity_handles_invalid_total",
		    "Declared handles that did not resolve back to their DID (handle.invalid).",
		    "%llu", (unsigned long long)r->c.handle_invalid);
	atfh_metric(m, "counter", "identity_unresolved_events_total",
		    "Events of accounts that could not be resolved.", "%llu",
		    (unsigned long long)r->c.unresolved);
}
