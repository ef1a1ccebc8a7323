/*
 * identity.h — resolving accounts' DID documents, with a cache.  Owns:
 *  - where a DID's document comes from: did:plc from a PLC directory
 *    (--plc URL, else $ATFH_PLC, else https://plc.directory) as
 *    GET PLC/DID; did:web:HOST (a port as %3A) from
 *    https://HOST/.well-known/did.json (no paths, no redirects), verified
 *    against the system's CAs or --cacert/--capath; for --event-metadata
 *    also the PLC audit log (GET PLC/DID/log/audit, the first entry's
 *    createdAt), with an AppView app.bsky.actor.getProfile, and the
 *    check of the declared handle (below);
 *  - the handle check (--event-metadata; indigo's BaseDirectory.LookupDID
 *    as at-kafka configures it): the handle the document declares
 *    (lib/diddoc) counts only if it resolves back to the same DID.
 *    Resolved by DNS first (TXT _atproto.HANDLE through lib/dnstxt:
 *    c-ares, the system's servers or --dns-server; skipped for
 *    .bsky.social and .staging.bsky.dev), then, when DNS gives no DID,
 *    over HTTPS (GET https://HANDLE/.well-known/atproto-did, redirects
 *    followed; with --dns-server the host's address is asked of those
 *    servers too, so that every lookup goes where the user said); or, with --handle-resolver URL, only by
 *    com.atproto.identity.resolveHandle there.  Each step within the
 *    request timeout.  The verdict: the handle (resolves to the DID);
 *    "handle.invalid" (none declared, another DID, not found, a failure
 *    or a timeout); refused (a reserved TLD such as .local or .invalid,
 *    where indigo's lookup fails as a whole: at-kafka then writes the
 *    metadata of an unresolved account).  An entry whose handle is
 *    "handle.invalid" is fetched again after 15 minutes (indigo's
 *    InvalidHandleTTL in at-kafka), within its TTL otherwise;
 *  - the requests: libcurl's multi interface, at most `concurrency` at a
 *    time (others wait their turn), each with a total timeout; the caller
 *    drives them (atfh_resolver_poll) between records, so the stream keeps
 *    flowing while documents arrive;
 *  - the cache: in memory an LRU of at most `cache_size` accounts, each
 *    good for `ttl_ms` after it was fetched (a failure for a minute at
 *    most), found through lib/idindex; a disk cache line is indexed as it
 *    is (DID, host number, fetch time) and made an entry only when one is
 *    needed, and lines never used go first when the cache is full; the
 *    fast path (atfh_resolver_host_id) answers a did:plc's PDS host from
 *    the index alone, moving nothing in the LRU; on disk
 *    (--identity-cache FILE) one JSON line per account, format 2:
 *    {"v":2,"did","fetched","pds","len","doc","created","profile",
 *    "handle"} with "pds" the document's PDS host, derived when it was
 *    fetched, "len" the bytes from "doc"'s value to the end of the line
 *    and "handle" the handle check's verdict (the handle,
 *    "handle.invalid", or null when refused).  "handle" was added to
 *    format 2 compatibly: a reader ignores fields it does not know, and
 *    a line without it (written before, or without --event-metadata) has
 *    no verdict, so --event-metadata fetches that account again.
 *    Read at start in one pass: a line that starts the way this module
 *    writes it is only split (DID, time, host), its document parsed when
 *    something needs more than the host (cfg.need_doc, or an entry
 *    written back); other lines (format 1, without "v" and "pds", or
 *    edited) are parsed as JSON and a format-1 file is rewritten as
 *    format 2; a line of an unknown version, past its TTL or unreadable is
 *    ignored (with a notice).  Written at the end, only when something
 *    changed, through atfh_write_atomic, so a second run over a capture
 *    makes no requests and every program can share the file;
 *  - invalidation: atfh_resolver_drop (an #identity event) forgets an
 *    account; atfh_resolver_refresh fetches it again (a key that may have
 *    rotated);
 *  - the counters (--stats, --metrics).
 * An entry handed out stays valid until the next call into the resolver
 * that can evict (lookup, poll, drop); entries with requests in flight are
 * never evicted.
 */
#ifndef ATFH_IDENTITY_H
#define ATFH_IDENTITY_H

#include "diddoc.h"
#include "idindex.h"
#include "sigverify.h"
#include "stats.h"

#include <stdio.h>

#define ATFH_PLC_DEFAULT "https://plc.directory"

struct atfh_identity_cfg {
	const char *plc;          /* NULL: $ATFH_PLC or ATFH_PLC_DEFAULT */
	const char *appview;      /* profiles (--appview), NULL: none */
	const char *handle_resolver; /* resolveHandle there (--handle-resolver),
				      * NULL: DNS, then HTTPS */
	const char *dns_servers;  /* --dns-server, NULL: the system's */
	const char *cainfo, *capath;
	const char *cache_file;   /* --identity-cache, NULL: memory only */
	uint64_t cache_size;      /* accounts in memory (default 100000) */
	uint64_t ttl_ms;          /* default 24 h */
	uint64_t timeout_ms;      /* per request (default 10 s) */
	uint64_t concurrency;     /* requests at a time (default 16) */
	bool want_metadata;       /* also the audit log (and a profile) */
	bool need_doc;            /* callers use e->doc, not only the PDS host */
};

#define ATFH_IDCACHE_VERSION 2    /* of the disk cache's lines */

enum atfh_id_state { ATFH_ID_PENDING, ATFH_ID_OK, ATFH_ID_FAILED };
/* The handle check's verdict (want_metadata only). */
enum atfh_handle_verdict { ATFH_HV_UNKNOWN, ATFH_HV_OK, ATFH_HV_INVALID, ATFH_HV_REFUSED };

struct atfh_identity {
	struct atfh_idkey ikey;   /* its key in the index (lib/idindex) */
	struct atfh_identity *hnext; /* another DID of the same inexact key */
	char *did;                /* not NUL-terminated (did_len bytes) */
	size_t did_len;
	char did_buf[32];         /* short DIDs (did:plc) are kept here */
	enum atfh_id_state state;
	struct atfh_diddoc *doc;  /* state OK: the parsed document */
	struct atfh_pubkey key;   /* its #atproto key: atfh_identity_key */
	bool key_ok, key_parsed;
	const char *key_why;      /* why not (static text) */
	char *why;                /* state FAILED: what went wrong (or NULL) */
	char created[64];         /* audit log createdAt, "" if unknown */
	uint8_t hv;               /* enum atfh_handle_verdict */
	char *profile;            /* getProfile's JSON, NULL if none */
	double fetched;           /* wall clock, seconds */
	double fetched_mono;      /* monotonic, 0: came from the disk cache */
	double started;           /* wall clock of the last fetch's start */
	const char *host;         /* state OK: the PDS host (lowercase, not
				   * NUL-terminated; "" if none), or NULL
				   * when only the document can tell */
	size_t host_len;
	/* private */
	const char *line;         /* its disk cache line, not parsed yet */
	size_t line_len;
	char *raw;                /* the document, minified (disk cache) */
	size_t raw_len;
	int inflight;             /* requests of this entry not finished */
	bool doc_ok, doc_parsed, failed_now, stale;
	uint64_t tick;            /* lookup count when moved to the LRU's front */
	struct atfh_identity *lprev, *lnext;
};

struct atfh_resolver_counters {
	uint64_t requests, hits, misses, failures, evictions, invalidations;
	uint64_t sig_checked, sig_failed, refreshes; /* kept here for the report */
	uint64_t unresolved;      /* events the --on-unresolved policy decided */
	uint64_t handle_requests; /* DNS queries and HTTP requests for handles */
	uint64_t handle_invalid;  /* handles that did not resolve back */
};

struct atfh_resolver_priv;

struct atfh_resolver {
	struct atfh_identity_cfg cfg;
	struct atfh_resolver_counters c;
	size_t n;                 /* accounts in memory */
	struct atfh_resolver_priv *p;
};

/* Set the defaults in CFG (before option parsing). */
void atfh_identity_cfg_init(struct atfh_identity_cfg *cfg);
/* Start: curl, and the disk cache read.  0, or -1 after reporting. */
int atfh_resolver_init(struct atfh_resolver *r, const struct atfh_identity_cfg *cfg);
/* Write the disk cache (if any) and free everything.  0, or -1 after
 * reporting a failed write. */
int atfh_resolver_finish(struct atfh_resolver *r);
/* The entry of DID: cached (state OK or FAILED, counted as a hit) or
 * new and PENDING with its requests queued (a miss).  NULL if DID is not
 * a DID this resolver can resolve (counted as a failure). */
struct atfh_identity *atfh_resolver_lookup(struct atfh_resolver *r, const char *did, size_t n);
/* The entry of DID as it is, without counting or starting anything. */
struct atfh_identity *atfh_resolver_peek(struct atfh_resolver *r, const char *did, size_t n);
/* The fast path for callers that need only the PDS host (not
 * cfg.need_doc): the number of DID's host (lib/idindex) when the cache
 * knows it without a request (a did:plc resolved, within its TTL, with
 * the host known), counted as a hit, with nothing written but a bit in
 * the DID's index slot; 0: ask atfh_resolver_lookup.  The same DID asked
 * there would give an entry of the same host. */
uint32_t atfh_resolver_host_id(struct atfh_resolver *r, const char *did, size_t n);
/* The same for the DID of key K (atfh_idkey_of). */
uint32_t atfh_resolver_host_id_key(struct atfh_resolver *r, const struct atfh_idkey *k);
/* Prefetch what atfh_resolver_host_id will read for DID (or key K). */
void atfh_resolver_prefetch(const struct atfh_resolver *r, const char *did, size_t n);
void atfh_resolver_prefetch_key(const struct atfh_resolver *r, const struct atfh_idkey *k);
/* The name of host number ID (from atfh_resolver_host_id) into *N. */
const char *atfh_resolver_host_name(const struct atfh_resolver *r, uint32_t id, size_t *n);
/* The PDS host of E (state OK) into *N, NULL if unknown (no document). */
static inline const char *atfh_identity_pds_host(const struct atfh_identity *e, size_t *n)
{
	*n = e->host_len;
	return e->host;
}
/* The disk cache line at LINE (N bytes to the end of the file) as this
 * module writes it (format ATFH_IDCACHE_VERSION,
 * {"v":2,"did":D,"fetched":T,"pds":H,"len":L,"doc":{… with L the bytes
 * from the document's '{' to the end of the line): its DID, fetch time,
 * PDS host (spans of LINE, no escapes), where the document starts and the
 * line's length (its end, a '}' followed by a newline or the end of LINE,
 * is checked, not searched for).  0, or -1 when LINE does not start that
 * way (then it is read as JSON up to its newline). */
struct atfh_idcache_head {
	const char *did, *host, *doc;
	size_t did_len, host_len, line_len;
	int64_t fetched;
};
int atfh_idcache_head(const char *line, size_t n, struct atfh_idcache_head *h);
/* The signing key of E (state OK), parsed on first use; NULL with *WHY
 * when the document has none that parses. */
const struct atfh_pubkey *atfh_identity_key(struct atfh_identity *e, const char **why);
/* The handle eventMetadata shows for E (state OK): the verified handle,
 * "handle.invalid", or NULL (refused or not checked). */
const char *atfh_identity_handle(const struct atfh_identity *e);
/* Forget DID (an #identity event at AT_US microseconds since the epoch,
 * 0 if unknown) unless its document was fetched after that time (a replay
 * of an old capture does not throw away what was fetched since).  An
 * entry whose requests started before AT_US is fetched again when they
 * end. */
void atfh_resolver_drop(struct atfh_resolver *r, const char *did, size_t n, int64_t at_us);
/* Fetch E again (it becomes PENDING). */
void atfh_resolver_refresh(struct atfh_resolver *r, struct atfh_identity *e);
/* Run the requests: wait up to TIMEOUT_MS (0: do not wait) for one to make
 * progress, and finish those that are done.  Returns how many accounts
 * are still in flight. */
size_t atfh_resolver_poll(struct atfh_resolver *r, int timeout_ms);
size_t atfh_resolver_inflight(const struct atfh_resolver *r);

/* The counters as --stats lines and --metrics text (PREFIX_identity_…). */
void atfh_resolver_print(const struct atfh_resolver *r, FILE *f);
void atfh_resolver_metrics(const struct atfh_resolver *r, struct atfh_metrics_buf *m);

#endif
