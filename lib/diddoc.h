/*
 * diddoc.h — DID documents (W3C DID core, as did:plc and did:web serve
 * them for atproto accounts): the parts atfh uses, read from the JSON
 * text.  Owns the checks: the document's "id" is the DID asked for; the
 * PDS is the service whose id is "#atproto_pds" (or "DID#atproto_pds"),
 * of type AtprotoPersonalDataServer, with an http(s) URL; the signing key
 * is the verification method "#atproto" (type and publicKeyMultibase as
 * given: lib/sigverify decodes them); the declared handle is the first
 * alsoKnownAs entry at://HANDLE whose HANDLE is a handle by the syntax
 * (lib/handle), lowercased, as indigo's DeclaredHandle picks it (declared,
 * not verified: lib/identity checks it resolves back).  Also the document as
 * at-kafka writes it (indigo's identity.DIDDocument: id, alsoKnownAs,
 * verificationMethod, service, in that order).  Every string is bounded;
 * a document larger than ATFH_DIDDOC_MAX is refused.  Not thread-safe
 * (one scratch buffer).
 */
#ifndef ATFH_DIDDOC_H
#define ATFH_DIDDOC_H

#include "atfh.h"

#define ATFH_DIDDOC_MAX (64u << 10) /* bytes of one document */
#define ATFH_DID_MAX 2048           /* a DID's length (atproto's limit) */

struct atfh_diddoc {
	char pds[512];        /* #atproto_pds endpoint URL, "" if none */
	char pds_host[256];   /* its host name, lowercase, no port */
	char handle[256];     /* declared in alsoKnownAs, "" if none */
	char key_type[64];    /* #atproto verification method type, "" if none */
	char key_mb[256];     /* its publicKeyMultibase */
	char *indigo;         /* the document as at-kafka writes it (malloc) */
	size_t indigo_len;
};

/* Parse the document JSON (N bytes) of DID (DN bytes) into D.  0, or -1
 * with *WHY a static message.  On success D->indigo must be freed with
 * atfh_diddoc_free. */
int atfh_diddoc_parse(struct atfh_diddoc *d, const char *json, size_t n,
		      const char *did, size_t dn, const char **why);
/* The same; without INDIGO, D->indigo stays NULL (no allocation). */
int atfh_diddoc_parse_opt(struct atfh_diddoc *d, const char *json, size_t n,
			  const char *did, size_t dn, bool indigo, const char **why);
void atfh_diddoc_free(struct atfh_diddoc *d);

/* The host of an http(s) URL, lowercased, without port or user info, into
 * HOST (CAP bytes).  0, or -1 when URL is not an http(s) URL with a host. */
int atfh_url_host(const char *url, char *host, size_t cap);

#endif
