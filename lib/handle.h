/*
 * handle.h — atproto handles: their syntax, and what the three ways of
 * resolving a handle to a DID answer, read as indigo's identity package
 * (atproto/identity, handle.go) reads them.  Owns:
 *  - the syntax (atproto's handle spec: at most 253 characters, labels of
 *    1 to 63 letters, digits and hyphens not at either end, at least two
 *    labels, the last starting with a letter), lowercase normalisation
 *    and the TLDs the ecosystem refuses (local, arpa, invalid, localhost,
 *    internal, example, onion, alt; "test" is allowed);
 *  - the domains whose DNS step is skipped (at-kafka's configuration of
 *    indigo: .bsky.social and .staging.bsky.dev go straight to HTTPS);
 *  - the DNS answer: the TXT records of _atproto.HANDLE (a record's
 *    strings concatenated); the first that starts with "did=" names the
 *    DID (an invalid DID there is a failure, not a miss);
 *  - the HTTPS body of https://HANDLE/.well-known/atproto-did: at most
 *    ATFH_HANDLE_WK_MAX bytes, the DID with white space around it;
 *  - the XRPC answer of com.atproto.identity.resolveHandle: {"did":…}.
 * Every parser takes bytes from the wire, checks every length, and writes
 * the DID NUL-terminated into a caller's buffer of ATFH_DID_MAX + 1.
 */
#ifndef ATFH_HANDLE_H
#define ATFH_HANDLE_H

#include "atfh.h"

#define ATFH_HANDLE_MAX 253
#define ATFH_HANDLE_INVALID "handle.invalid"
#define ATFH_HANDLE_WK_MAX 2048   /* bytes of a well-known body (indigo's) */

enum atfh_handle_res { ATFH_HR_DID = 0, ATFH_HR_NOTFOUND = 1, ATFH_HR_FAILED = -1 };

/* Is S (N bytes) a handle by the syntax? */
bool atfh_handle_valid(const char *s, size_t n);
/* Is H (valid, NUL-terminated) under a TLD the ecosystem accepts? */
bool atfh_handle_allowed_tld(const char *h);
/* Should H skip DNS and go straight to HTTPS? */
bool atfh_handle_skip_dns(const char *h);

/* The DID a DNS answer (ABUF, ALEN bytes, a reply to a TXT query) names
 * into DID: ATFH_HR_DID, ATFH_HR_NOTFOUND (no "did=" record), or
 * ATFH_HR_FAILED (not an answer, or an invalid DID). */
int atfh_handle_txt_did(const unsigned char *abuf, size_t alen, char *did);
/* The DID a well-known body (N bytes) names: ATFH_HR_DID or ATFH_HR_FAILED. */
int atfh_handle_wk_did(const char *body, size_t n, char *did);
/* The DID a resolveHandle answer (JSON, N bytes) names: ATFH_HR_DID or
 * ATFH_HR_FAILED. */
int atfh_handle_xrpc_did(const char *body, size_t n, char *did);

#endif
