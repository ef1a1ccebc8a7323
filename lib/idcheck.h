/*
 * idcheck.h — what grep and decode do with an account's identity, the
 * same way in both: the shared options (ATFH_OPTS_IDENTITY: --plc,
 * --cacert, --capath, --identity-cache, --identity-cache-size,
 * --identity-ttl, --identity-timeout, --identity-concurrency,
 * --on-unresolved), which DID a message needs resolved (--pds and
 * --ignore-pds: every message with a DID; --verify-sig: #commit and #sync;
 * --event-metadata: #commit, #identity and #account), an #identity
 * message dropping its account's cached document, and the verdict on a
 * message once its account is known: kept or left out by the PDS host
 * globs, its signature checked (lib/sigverify) with one re-resolution
 * before a failure, and the --on-unresolved policy when the account could
 * not be resolved (default keep, but fail with --verify-sig: a commit
 * that cannot be checked is malformed, never kept silently).  The
 * counters go into --stats and --metrics.
 */
#ifndef ATFH_IDCHECK_H
#define ATFH_IDCHECK_H

#include "event.h"
#include "glob.h"
#include "idqueue.h"
#include "identity.h"

enum {
	ATFH_OPT_PLC = 280,
	ATFH_OPT_CACERT,
	ATFH_OPT_CAPATH,
	ATFH_OPT_IDENTITY_CACHE,
	ATFH_OPT_IDENTITY_CACHE_SIZE,
	ATFH_OPT_IDENTITY_TTL,
	ATFH_OPT_IDENTITY_TIMEOUT,
	ATFH_OPT_IDENTITY_CONCURRENCY,
	ATFH_OPT_ON_UNRESOLVED,
};

extern const char *const atfh_unresolved_names[]; /* keep, drop, fail */

#define ATFH_OPTS_IDENTITY                                                       \
	{ ATFH_OPT_ON_UNRESOLVED, "on-unresolved", "WHAT", ATFH_ARG_CHOICE,      \
	  atfh_unresolved_names,                                                 \
	  "an account that cannot be resolved: keep, drop or fail (malformed)" }, \
	{ ATFH_OPT_PLC, "plc", "URL", ATFH_ARG_STRING, NULL,                     \
	  "PLC directory for did:plc (default $ATFH_PLC or plc.directory)" },    \
	{ ATFH_OPT_CACERT, "cacert", "FILE", ATFH_ARG_FILE, NULL,                \
	  "verify resolvers' TLS certificates with the CAs in FILE" },           \
	{ ATFH_OPT_CAPATH, "capath", "DIR", ATFH_ARG_FILE, NULL,                 \
	  "verify them with the CAs in DIR (hashed names, c_rehash)" },          \
	{ ATFH_OPT_IDENTITY_CACHE, "identity-cache", "FILE", ATFH_ARG_FILE, NULL,\
	  "keep resolved DID documents in FILE across runs" },                   \
	{ ATFH_OPT_IDENTITY_CACHE_SIZE, "identity-cache-size", "N",              \
	  ATFH_ARG_NUMBER, NULL, "accounts cached in memory (default 100000)" }, \
	{ ATFH_OPT_IDENTITY_TTL, "identity-ttl", "DUR", ATFH_ARG_DURATION, NULL, \
	  "a resolved document is good for DUR (default 24h)" },                 \
	{ ATFH_OPT_IDENTITY_TIMEOUT, "identity-timeout", "DUR",                  \
	  ATFH_ARG_DURATION, NULL, "give up a resolution request after DUR (default 10s)" }, \
	{ ATFH_OPT_IDENTITY_CONCURRENCY, "identity-concurrency", "N",            \
	  ATFH_ARG_NUMBER, NULL, "resolution requests at a time (default 16)" }

enum atfh_unresolved { ATFH_UNRES_DEFAULT, ATFH_UNRES_KEEP, ATFH_UNRES_DROP, ATFH_UNRES_FAIL };

/* The verdict on a message. */
enum { ATFH_IDC_PASS = 0, ATFH_IDC_DROP = 3 }; /* or ATFH_REC_BAD, ATFH_IDQ_RETRY */

struct atfh_idcheck {
	struct atfh_identity_cfg cfg;
	struct atfh_resolver r;
	struct atfh_idq q;
	struct atfh_globs pds, ignore_pds;
	bool verify_sig, metadata;
	enum atfh_unresolved policy;
	bool on;                 /* anything needs identities */
	char errbuf[ATFH_DID_MAX + 700];
	char memo[256];          /* the last PDS host judged */
	size_t memo_len;
	bool memo_ok, memo_pass;
	uint8_t *verdict;        /* by host number: 0 not judged, 1 pass, 2 drop */
	size_t verdict_cap;
};

void atfh_idcheck_init(struct atfh_idcheck *c);
/* Handle one of ATFH_OPTS_IDENTITY: 1 if ID was one, 0 if not, -1 on a
 * bad value (reported). */
int atfh_idcheck_option(struct atfh_idcheck *c, int id, const char *arg);
/* Add a --pds (IGNORE false) or --ignore-pds glob; -1 after reporting. */
int atfh_idcheck_pds(struct atfh_idcheck *c, const char *glob, bool ignore);
/* After option parsing: start the resolver and the queue if anything
 * needs identities (SETTLE and CTX as in struct atfh_idq), hook the
 * counters into L's stats and the queue into L's idle and end hooks.
 * 0, or -1 after reporting. */
int atfh_idcheck_start(struct atfh_idcheck *c, struct atfh_loop *l,
		       int (*settle)(void *, const struct atfh_idq_item *, struct atfh_identity *,
				     bool, const char **),
		       void *ctx);
/* Save the disk cache, free.  Returns STATUS, or 2 if the cache could not
 * be written. */
int atfh_idcheck_finish(struct atfh_idcheck *c, int status);
/* The DID message M needs resolved (N bytes), or NULL; drops the cached
 * document of an #identity message's account first. */
const char *atfh_idcheck_did(struct atfh_idcheck *c, const struct atfh_msg *m, size_t *n);
/* The same without dropping anything (a -T worker's view; the reading
 * thread calls atfh_idcheck_identity_event in the event's turn). */
const char *atfh_idcheck_msg_did(const struct atfh_idcheck *c, const struct atfh_msg *m,
				 size_t *n);
/* An #identity event of DID (N bytes) at AT_US (0: unknown) was read: its
 * account's cached document is dropped. */
void atfh_idcheck_identity_event(struct atfh_idcheck *c, const char *did, size_t n, int64_t at_us);
/* An NDJSON event's fields that matter here. */
struct atfh_idcheck_line {
	const char *did;        /* the DID to resolve, or NULL */
	const char *event_did;  /* its "did" (usable one), or NULL */
	size_t did_len;
	enum atfh_kind kind;
	int64_t at_us;
};
/* Read them without dropping anything: 0, or -1 with *ERR when the line is
 * not a JSON object. */
int atfh_idcheck_line_fields(const struct atfh_idcheck *c, const char *p, size_t n,
			     struct atfh_idcheck_line *f, const char **err);
/* The same for an NDJSON event, by its "did", "kind" and "time_us":
 * *DID (*DN bytes) or NULL.  -1 with *ERR when the line is not a JSON
 * object. */
int atfh_idcheck_line_did(struct atfh_idcheck *c, const char *p, size_t n, const char **did,
			  size_t *dn, const char **err);
/* The verdict on a message of DID (N bytes) from the cache alone, when
 * nothing waits in the queue and only --pds/--ignore-pds need the account
 * (atfh_resolver_host_id): ATFH_IDC_PASS or ATFH_IDC_DROP, the same as
 * atfh_idq_submit would settle; -1: submit it. */
int atfh_idcheck_fast(struct atfh_idcheck *c, const char *did, size_t n);
/* The same by the DID's key K (atfh_idkey_of), and its prefetch. */
int atfh_idcheck_fast_key(struct atfh_idcheck *c, const struct atfh_idkey *k);
void atfh_idcheck_prefetch_key(const struct atfh_idcheck *c, const struct atfh_idkey *k);
/* Hook the fast path's prefetch into M's parser (when it will be used). */
void atfh_idcheck_prefetch_hook(struct atfh_idcheck *c, struct atfh_msg *m);
/* The verdict on M with its account E (NULL or FAILED: unresolved):
 * ATFH_IDC_PASS, ATFH_IDC_DROP, ATFH_REC_BAD with *err, or (while
 * !RETRIED) ATFH_IDQ_RETRY. */
int atfh_idcheck_msg(struct atfh_idcheck *c, struct atfh_msg *m, struct atfh_identity *e,
		     bool retried, const char **err);
/* at-kafka's eventMetadata for the resolved account E into O:
 * didDocument, pdsHost, handle, didCreatedAt (omitted when empty),
 * accountAge (seconds since didCreatedAt at NOW_S, -1 when unknown),
 * profile (null without one). */
void atfh_idcheck_metadata(struct atfh_out *o, const struct atfh_identity *e, double now_s);
/* The same for an NDJSON line's DID (only --pds applies). */
int atfh_idcheck_line(struct atfh_idcheck *c, const char *did, size_t n,
		      struct atfh_identity *e, const char **err);

#endif
