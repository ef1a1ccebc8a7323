/*
 * dnstxt.h — DNS TXT queries that never block, with c-ares.  Owns the
 * c-ares channel: TXT queries (and a host's address, for callers that
 * must reach it through the same servers); its servers (the system's /etc/resolv.conf, or a list
 * "ADDR[:PORT],…" given by the caller, --dns-server), its timeout (split
 * over two tries), its sockets (handed to the caller's poll loop: the
 * identity resolver passes them to curl_multi_poll as extra fds) and the
 * reading of an answer's TXT records (c-ares parses the wire; the records'
 * strings are concatenated per record, as Go's LookupTXT returns them).
 * Why c-ares: a DNS query must not stall the stream, and getaddrinfo-style
 * resolvers (res_query) block; c-ares reads resolv.conf, retries, falls
 * back to TCP for truncated answers and exposes its sockets, so it joins
 * the libcurl multi loop with no thread.
 */
#ifndef ATFH_DNSTXT_H
#define ATFH_DNSTXT_H

#include "atfh.h"

#include <poll.h>

#define ATFH_DNSTXT_FDS 16 /* sockets handed out at most */

enum atfh_dns_status { ATFH_DNS_OK, ATFH_DNS_NOTFOUND, ATFH_DNS_FAILED };

/* A query's end: STATUS, the answer (OK), or WHY (static text). */
typedef void (*atfh_dnstxt_cb)(void *arg, enum atfh_dns_status status,
			       const unsigned char *abuf, size_t alen, const char *why);

struct atfh_dnstxt;

/* A channel: SERVERS NULL for the system's; TIMEOUT_MS per query.  NULL
 * with *WHY when SERVERS does not parse or c-ares cannot start. */
struct atfh_dnstxt *atfh_dnstxt_new(const char *servers, uint64_t timeout_ms, const char **why);
/* The end of an address query: ADDR the first address (IPv6 in
 * brackets), NULL with WHY on failure. */
typedef void (*atfh_dnsaddr_cb)(void *arg, const char *addr, const char *why);

/* Ask for NAME's TXT records; CB is called from atfh_dnstxt_process (or
 * at once when the query cannot be sent). */
void atfh_dnstxt_query(struct atfh_dnstxt *d, const char *name, atfh_dnstxt_cb cb, void *arg);
/* Ask for HOST's address (A or AAAA, as c-ares's getaddrinfo). */
void atfh_dnstxt_addr(struct atfh_dnstxt *d, const char *host, atfh_dnsaddr_cb cb, void *arg);
size_t atfh_dnstxt_pending(const struct atfh_dnstxt *d);
/* The sockets to wait on into FDS (at most ATFH_DNSTXT_FDS), *TIMEOUT_MS
 * lowered to the next retry.  Returns how many. */
int atfh_dnstxt_fds(struct atfh_dnstxt *d, struct pollfd *fds, int *timeout_ms);
/* Read/write the sockets whose revents are set, and time queries out. */
void atfh_dnstxt_process(struct atfh_dnstxt *d, const struct pollfd *fds, int n);
/* Without waiting: poll the sockets once and process them. */
void atfh_dnstxt_step(struct atfh_dnstxt *d);
/* End every query (their callbacks see ATFH_DNS_FAILED) and free. */
void atfh_dnstxt_free(struct atfh_dnstxt *d);

/* The TXT records of answer ABUF: F(ARG, text, n) per record until it
 * returns nonzero.  That value, 0 when none did, or -1 when ABUF is not a
 * TXT answer. */
int atfh_dnstxt_records(const unsigned char *abuf, size_t alen,
			int (*f)(void *arg, const char *txt, size_t n), void *arg);

#endif
