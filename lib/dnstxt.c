/*
 * dnstxt.c — see dnstxt.h.
 */
#include "dnstxt.h"
#include "util.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>

#define CLASS_IN 1
#define TYPE_TXT 16
#define TXT_MAX (64u << 10) /* bytes of one record's strings together */

struct atfh_dnstxt {
	ares_channel ch;
	size_t pending;
};

struct query {
	struct atfh_dnstxt *d;
	atfh_dnstxt_cb cb;
	atfh_dnsaddr_cb acb;
	void *arg;
};

/* A query of D for ARG, counted as pending until its callback ran. */
static struct query *new_query(struct atfh_dnstxt *d, void *arg)
{
	struct query *q = atfh_xcalloc(1, sizeof *q);
	q->d = d;
	q->arg = arg;
	d->pending++;
	return q;
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	(void)timeouts;
	struct query *q = arg;
	q->d->pending--;
	enum atfh_dns_status st = ATFH_DNS_FAILED;
	const char *why = ares_strerror(status);
	if (status == ARES_SUCCESS && abuf && alen > 0)
		st = ATFH_DNS_OK, why = NULL;
	else if (status == ARES_ENOTFOUND || status == ARES_ENODATA)
		st = ATFH_DNS_NOTFOUND;
	q->cb(q->arg, st, st == ATFH_DNS_OK ? abuf : NULL, st == ATFH_DNS_OK ? (size_t)alen : 0, why);
	free(q);
}

struct atfh_dnstxt *atfh_dnstxt_new(const char *servers, uint64_t timeout_ms, const char **why)
{
	static bool lib_ready;
	if (!lib_ready) {
		if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
			*why = "c-ares does not start";
			return NULL;
		}
		lib_ready = true;
	}
	struct atfh_dnstxt *d = atfh_xcalloc(1, sizeof *d);
	struct ares_options o = { 0 };
	uint64_t t = timeout_ms / 3; /* c-ares doubles it for the second try */
	o.timeout = (int)(t < 100 ? 100 : t > 60000 ? 60000 : t);
	o.tries = 2;
	int rc = ares_init_options(&d->ch, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
	if (rc != ARES_SUCCESS) {
		*why = ares_strerror(rc);
		free(d);
		return NULL;
	}
	if (servers && (rc = ares_set_servers_ports_csv(d->ch, servers)) != ARES_SUCCESS) {
		*why = rc == ARES_EBADSTR ? "not a list of ADDR[:PORT] (IPv6 as [ADDR]:PORT)"
					  : ares_strerror(rc);
		ares_destroy(d->ch);
		free(d);
		return NULL;
	}
	return d;
}

void atfh_dnstxt_query(struct atfh_dnstxt *d, const char *name, atfh_dnstxt_cb cb, void *arg)
{
	struct query *q = new_query(d, arg);
	q->cb = cb;
	ares_query(d->ch, name, CLASS_IN, TYPE_TXT, on_answer, q);
}

static void on_addr(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	(void)timeouts;
	struct query *q = arg;
	q->d->pending--;
	char buf[INET6_ADDRSTRLEN + 2];
	const char *addr = NULL, *why = ares_strerror(status);
	struct ares_addrinfo_node *nd = status == ARES_SUCCESS && res ? res->nodes : NULL;
	for (; nd && !addr; nd = nd->ai_next) {
		if (nd->ai_family == AF_INET &&
		    inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)nd->ai_addr)->sin_addr, buf, sizeof buf)) {
			addr = buf;
		} else if (nd->ai_family == AF_INET6 &&
			   inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)nd->ai_addr)->sin6_addr,
				     buf + 1, sizeof buf - 2)) {
			buf[0] = '[';
			strcat(buf, "]");
			addr = buf;
		}
	}
	if (!addr && status == ARES_SUCCESS)
		why = "no address";
	if (res)
		ares_freeaddrinfo(res);
	q->acb(q->arg, addr, addr ? NULL : why);
	free(q);
}

void atfh_dnstxt_addr(struct atfh_dnstxt *d, const char *host, atfh_dnsaddr_cb cb, void *arg)
{
	struct query *q = new_query(d, arg);
	q->acb = cb;
	struct ares_addrinfo_hints hints = { 0 };
	hints.ai_family = AF_UNSPEC;
	ares_getaddrinfo(d->ch, host, NULL, &hints, on_addr, q);
}

size_t atfh_dnstxt_pending(const struct atfh_dnstxt *d)
{
	return d ? d->pending : 0;
}

int atfh_dnstxt_fds(struct atfh_dnstxt *d, struct pollfd *fds, int *timeout_ms)
{
	if (!d || !d->pending)
		return 0;
	ares_socket_t s[ARES_GETSOCK_MAXNUM];
	int bits = ares_getsock(d->ch, s, ARES_GETSOCK_MAXNUM), n = 0;
	for (int i = 0; i < ARES_GETSOCK_MAXNUM && n < ATFH_DNSTXT_FDS; i++) {
		short ev = 0; /* (c-ares's macros shift a signed 1 up to bit 31) */
		if (((unsigned)bits >> i) & 1u)
			ev |= POLLIN;
		if (((unsigned)bits >> (i + ARES_GETSOCK_MAXNUM)) & 1u)
			ev |= POLLOUT;
		if (!ev)
			continue;
		fds[n].fd = s[i];
		fds[n].events = ev;
		fds[n].revents = 0;
		n++;
	}
	struct timeval max, tv, *t;
	max.tv_sec = *timeout_ms / 1000;
	max.tv_usec = (*timeout_ms % 1000) * 1000;
	t = ares_timeout(d->ch, &max, &tv);
	if (t) {
		int ms = (int)(t->tv_sec * 1000 + (t->tv_usec + 999) / 1000);
		if (ms < *timeout_ms)
			*timeout_ms = ms;
	}
	return n;
}

void atfh_dnstxt_process(struct atfh_dnstxt *d, const struct pollfd *fds, int n)
{
	if (!d)
		return;
	for (int i = 0; i < n; i++) {
		if (!fds[i].revents)
			continue;
		ares_socket_t r = fds[i].revents & (POLLIN | POLLERR | POLLHUP) ? fds[i].fd : ARES_SOCKET_BAD;
		ares_socket_t w = fds[i].revents & POLLOUT ? fds[i].fd : ARES_SOCKET_BAD;
		ares_process_fd(d->ch, r, w);
	}
	ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD); /* timeouts */
}

void atfh_dnstxt_step(struct atfh_dnstxt *d)
{
	if (!d || !d->pending)
		return;
	struct pollfd fds[ATFH_DNSTXT_FDS];
	int t = 0, n = atfh_dnstxt_fds(d, fds, &t);
	if (n > 0 && poll(fds, (nfds_t)n, 0) < 0)
		n = 0;
	atfh_dnstxt_process(d, fds, n);
}

void atfh_dnstxt_free(struct atfh_dnstxt *d)
{
	if (!d)
		return;
	ares_destroy(d->ch); /* calls back every query still pending */
	free(d);
}

int atfh_dnstxt_records(const unsigned char *abuf, size_t alen,
			int (*f)(void *arg, const char *txt, size_t n), void *arg)
{
	struct ares_txt_ext *txt = NULL;
	if (alen > 65535 || ares_parse_txt_reply_ext(abuf, (int)alen, &txt) != ARES_SUCCESS)
		return -1;
	char *buf = atfh_xmalloc(TXT_MAX);
	size_t n = 0;
	int rc = 0;
	bool have = false;
	for (struct ares_txt_ext *t = txt; t && !rc; t = t->next) {
		if (t->record_start && have) {
			rc = f(arg, buf, n);
			n = 0;
		}
		have = true;
		size_t k = t->length;
		if (k > TXT_MAX - n)
			k = TXT_MAX - n;
		if (k)
			memcpy(buf + n, t->txt, k);
		n += k;
	}
	if (!rc && have)
		rc = f(arg, buf, n);
	free(buf);
	ares_free_data(txt);
	return rc;
}
