/*
 * ws.c — websocket client on libcurl; see ws.h.
 *
 * libcurl (8.x) hands out one websocket frame, or a piece of one, per
 * curl_ws_recv call, with meta->bytesleft saying how much of that frame is
 * still to come and CURLWS_CONT marking every fragment of a message but the
 * last.  Data frames are read straight into the message buffer; a control
 * frame (ping, pong, close: at most 125 bytes) that lands there instead is
 * moved to ctrl[] and the message length is not advanced.
 */
#include "ws.h"
#include "util.h"
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#define RECV_ROOM (64u << 10) /* free space kept for each curl_ws_recv */
#define LOOPBACK_RCVBUF (32 << 10) /* SO_RCVBUF towards this host: see open_socket */

void atfh_ws_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void atfh_ws_init(struct atfh_ws *w, size_t max_msg)
{
	memset(w, 0, sizeof *w);
	w->max_msg = max_msg;
	w->sock = CURL_SOCKET_BAD;
	w->wake_fd = -1;
}

static void drop_connection(struct atfh_ws *w)
{
	if (w->curl)
		curl_easy_cleanup(w->curl);
	w->curl = NULL;
	w->sock = CURL_SOCKET_BAD;
}

void atfh_ws_free(struct atfh_ws *w)
{
	drop_connection(w);
	free(w->msg);
	free(w->scratch);
	w->msg = w->scratch = NULL;
	w->cap = w->len = 0;
}

static int fail(struct atfh_ws *w, const char *what, CURLcode rc)
{
	if (w->curl_err[0])
		snprintf(w->err, sizeof w->err, "%s: %s", what, w->curl_err);
	else
		snprintf(w->err, sizeof w->err, "%s: %s", what, curl_easy_strerror(rc));
	/* "Refused WebSocket upgrade: 404" and the like */
	size_t n = strlen(w->err);
	while (n && (w->err[n - 1] == '\n' || w->err[n - 1] == '\r'))
		w->err[--n] = '\0';
	return -1;
}

/* libcurl calls this about once a second while it connects. */
static int progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt, (void)dn, (void)ut, (void)un;
	struct atfh_ws *w = arg;
	if (w->wake_fd < 0)
		return 0;
	struct pollfd p = { .fd = w->wake_fd, .events = POLLIN };
	return poll(&p, 1, 0) > 0;
}

static bool loopback(const struct curl_sockaddr *a)
{
	if (a->family == AF_INET && a->addrlen >= sizeof(struct sockaddr_in)) {
		struct sockaddr_in in;
		memcpy(&in, &a->addr, sizeof in);
		return (ntohl(in.sin_addr.s_addr) >> 24) == 127;
	}
	if (a->family == AF_INET6 && a->addrlen >= sizeof(struct sockaddr_in6)) {
		struct sockaddr_in6 in6;
		memcpy(&in6, &a->addr, sizeof in6);
		const uint8_t *b = in6.sin6_addr.s6_addr;
		static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
		return IN6_IS_ADDR_LOOPBACK(&in6.sin6_addr) ||
		       (memcmp(b, mapped, sizeof mapped) == 0 && b[12] == 127);
	}
	return false;
}

/*
 * The socket, opened as libcurl would, but with a small receive buffer when
 * the server is on this host.  libcurl 8.x keeps received websocket data in
 * a queue of 64 KB chunks with no hard limit (lib/ws.c: Curl_bufq_init2(
 * &ws->recvbuf, WS_CHUNK_SIZE, WS_CHUNK_COUNT, BUFQ_OPT_SOFT_LIMIT)), and
 * curl_ws_recv, once that queue is empty, refills it with Curl_bufq_slurp,
 * which goes on reading as long as each read fills a whole chunk.  A sender
 * on the same host outruns that copy and keeps the kernel's receive queue
 * (autotuned up to net.ipv4.tcp_rmem's maximum) over 64 KB, so one
 * curl_ws_recv could take in the whole stream: 1.3 GB of heap for 2 GB sent.
 * With a receive buffer under one chunk a read (almost) never fills one,
 * and libcurl holds a chunk or two; the smaller TCP window costs nothing
 * when a round trip takes microseconds.  Over a network the link is slower
 * than the copy, and over TLS a read returns at most one record (16 KB):
 * reads come up short without help, and the window is left to the kernel.
 */
static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	(void)arg;
	curl_socket_t s = socket(a->family, a->socktype, a->protocol);
	if (s == CURL_SOCKET_BAD)
		return s;
	fcntl(s, F_SETFD, FD_CLOEXEC);
	if (purpose == CURLSOCKTYPE_IPCXN && loopback(a)) {
		int v = LOOPBACK_RCVBUF;
		setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
	}
	return s;
}

/* The body of a refused upgrade, as far as libcurl reads it: its start is
 * kept, for the first line. */
static size_t body_write(char *p, size_t size, size_t n, void *arg)
{
	struct atfh_ws *w = arg;
	size_t len = size * n, have = strlen(w->body);
	size_t take = len < sizeof w->body - 1 - have ? len : sizeof w->body - 1 - have;
	memcpy(w->body + have, p, take);
	w->body[have + take] = '\0';
	return take == len ? len : 0; /* enough: stop reading */
}

/* Retry-After: delay-seconds or an HTTP date (RFC 9110 10.2.3); -1 if
 * absent or neither. */
static double retry_after(CURL *c)
{
	struct curl_header *h;
	if (curl_easy_header(c, "Retry-After", 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
		return -1;
	const char *v = h->value;
	while (*v == ' ' || *v == '\t')
		v++;
	if (*v >= '0' && *v <= '9') {
		char *end;
		errno = 0;
		double d = strtod(v, &end);
		while (*end == ' ' || *end == '\t')
			end++;
		return errno || *end || d < 0 ? -1 : d;
	}
	time_t t = curl_getdate(v, NULL);
	if (t == (time_t)-1)
		return -1;
	double d = difftime(t, time(NULL));
	return d < 0 ? 0 : d;
}

/* The CAs: --cacert/--capath, else what curl(1) reads from the environment
 * (CURL_CA_BUNDLE, then SSL_CERT_FILE), else libcurl's built-in default.
 * Never unverified. */
static void tls_options(const struct atfh_ws *w, CURL *c)
{
	const char *ca = w->cainfo;
	if (!ca && !w->capath) {
		ca = getenv("CURL_CA_BUNDLE");
		if (!ca || !*ca)
			ca = getenv("SSL_CERT_FILE");
		if (ca && !*ca)
			ca = NULL;
	}
	if (ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	if (w->capath)
		curl_easy_setopt(c, CURLOPT_CAPATH, w->capath);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
}

/* HTTP Basic auth, when a user name is set; sent with the first request
 * (no round trip to learn that the server wants it). */
static void basic_auth(const struct atfh_ws *w, CURL *c)
{
	if (!w->username)
		return;
	curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(c, CURLOPT_USERNAME, w->username);
	curl_easy_setopt(c, CURLOPT_PASSWORD, w->password ? w->password : "");
}

void atfh_ws_http_options(const struct atfh_ws *w, CURL *c)
{
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT,
			 w->user_agent ? w->user_agent : "atfh/" PACKAGE_VERSION);
	tls_options(w, c);
	basic_auth(w, c);
}

/* Location, made absolute against URL. */
static void location(struct atfh_ws *w, CURL *c, const char *url)
{
	struct curl_header *h;
	if (curl_easy_header(c, "Location", 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
		return;
	CURLU *u = curl_url();
	char *abs = NULL;
	if (u && curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, h->value, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &abs, 0) == CURLUE_OK)
		snprintf(w->location, sizeof w->location, "%s", abs);
	else
		snprintf(w->location, sizeof w->location, "%s", h->value);
	curl_free(abs);
	curl_url_cleanup(u);
}

/*
 * libcurl stops at the headers of a refused upgrade.  For a 400, 401 or
 * 403 the body says why (often an XRPC JSON error): ask again, as plain HTTP(S) with the
 * upgrade's headers, for its first line.  Best effort, a few seconds.
 */
static void refused_body(struct atfh_ws *w, const char *url)
{
	size_t n = strlen(url);
	char *http = atfh_xmalloc(n + 3);
	if (strncasecmp(url, "wss://", 6) == 0)
		snprintf(http, n + 3, "https://%s", url + 6);
	else if (strncasecmp(url, "ws://", 5) == 0)
		snprintf(http, n + 3, "http://%s", url + 5);
	else
		snprintf(http, n + 3, "%s", url);
	CURL *c = curl_easy_init();
	if (c) {
		struct curl_slist *hd = NULL;
		hd = curl_slist_append(hd, "Connection: Upgrade");
		hd = curl_slist_append(hd, "Upgrade: websocket");
		hd = curl_slist_append(hd, "Sec-WebSocket-Version: 13");
		hd = curl_slist_append(hd, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==");
		curl_easy_setopt(c, CURLOPT_URL, http);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hd);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
		curl_easy_setopt(c, CURLOPT_USERAGENT,
				 w->user_agent ? w->user_agent : "atfh/" PACKAGE_VERSION);
		tls_options(w, c);
		basic_auth(w, c);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
		curl_easy_perform(c);
		long code = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (code != w->http_status)
			w->body[0] = '\0';
		curl_easy_cleanup(c);
		curl_slist_free_all(hd);
	}
	free(http);
	/* one line of it, printable */
	size_t k = strcspn(w->body, "\r\n");
	w->body[k] = '\0';
	for (char *q = w->body; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = '?';
}

/* What a refused upgrade said: status, Location, Retry-After, body. */
static void refused(struct atfh_ws *w, CURL *c, const char *url)
{
	if (w->http_status >= 300 && w->http_status < 400)
		location(w, c, url);
	w->retry_after = retry_after(c);
	snprintf(w->err, sizeof w->err, "the server refused the websocket upgrade (HTTP %ld)",
		 w->http_status);
}

int atfh_ws_connect(struct atfh_ws *w, const char *url, long timeout_ms, int wake_fd)
{
	drop_connection(w);
	w->in_msg = w->dropping = w->returned = false;
	w->len = 0;
	w->ctrl_len = 0;
	w->http_status = 0;
	w->close_code = 0;
	w->close_reason[0] = '\0';
	w->location[0] = w->body[0] = '\0';
	w->retry_after = -1;
	w->cert_error = false;
	w->curl_err[0] = w->err[0] = '\0';
	w->wake_fd = wake_fd;
	if (!(w->curl = curl_easy_init())) {
		snprintf(w->err, sizeof w->err, "cannot initialise libcurl");
		return -1;
	}
	CURL *c = w->curl;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 2L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, w->curl_err);
	curl_easy_setopt(c, CURLOPT_USERAGENT,
			 w->user_agent ? w->user_agent : "atfh/" PACKAGE_VERSION);
	/* we answer pings ourselves (and so know that they are answered) */
	curl_easy_setopt(c, CURLOPT_WS_OPTIONS, (long)CURLWS_NOAUTOPONG);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	tls_options(w, c);
	basic_auth(w, c);
	CURLcode rc = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	w->http_status = code;
	if (code >= 200 && code != 101) { /* curl's "Refused WebSockets upgrade: N" */
		refused(w, c, url);
		drop_connection(w);
		if (code == 400 || code == 401 || code == 403)
			refused_body(w, url);
		return -1;
	}
	if (rc != CURLE_OK) {
		fail(w, "cannot connect", rc);
		if (rc == CURLE_ABORTED_BY_CALLBACK)
			snprintf(w->err, sizeof w->err, "interrupted while connecting");
		if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
		    rc == CURLE_SSL_ISSUER_ERROR) {
			w->cert_error = true;
			char detail[sizeof w->err];
			snprintf(detail, sizeof detail, "%s", w->err);
			snprintf(w->err, sizeof w->err,
				 "the server's TLS certificate cannot be verified (%.*s); "
				 "--cacert FILE or --capath DIR names the CA that signed it",
				 (int)(sizeof w->err - 120), detail);
		}
		drop_connection(w);
		return -1;
	}
	curl_socket_t s = CURL_SOCKET_BAD;
	if (curl_easy_getinfo(c, CURLINFO_ACTIVESOCKET, &s) != CURLE_OK || s == CURL_SOCKET_BAD) {
		snprintf(w->err, sizeof w->err, "no socket after the upgrade");
		drop_connection(w);
		return -1;
	}
	w->sock = s;
	return 0;
}

static void ensure_room(struct atfh_ws *w, size_t need)
{
	if (w->cap - w->len >= need)
		return;
	size_t cap = w->cap ? w->cap : RECV_ROOM * 2;
	while (cap - w->len < need) {
		if (cap > SIZE_MAX / 2)
			atfh_die_oom();
		cap *= 2;
	}
	w->msg = atfh_xrealloc(w->msg, cap);
	w->cap = cap;
}

static int send_frame(struct atfh_ws *w, const void *p, size_t n, unsigned flags, long timeout_ms)
{
	const char *q = p;
	size_t left = n;
	bool first = true;
	while (first || left) {
		size_t sent = 0;
		CURLcode rc = curl_ws_send(w->curl, q, left, &sent, 0, flags);
		first = false;
		if (rc == CURLE_AGAIN) {
			struct pollfd pf = { .fd = w->sock, .events = POLLOUT };
			int r = poll(&pf, 1, (int)timeout_ms);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				snprintf(w->err, sizeof w->err, "cannot send: the connection is stuck");
				return -1;
			}
			continue;
		}
		if (rc != CURLE_OK)
			return fail(w, "cannot send", rc);
		q += sent;
		left -= sent;
	}
	return 0;
}

int atfh_ws_send_ping(struct atfh_ws *w)
{
	return send_frame(w, "atfh", 4, CURLWS_PING, 5000);
}

int atfh_ws_send_text(struct atfh_ws *w, const char *p, size_t n, long timeout_ms)
{
	return send_frame(w, p, n, CURLWS_TEXT, timeout_ms);
}

void atfh_ws_close(struct atfh_ws *w)
{
	if (w->curl && w->sock != CURL_SOCKET_BAD) {
		static const unsigned char bye[2] = { 0x03, 0xe8 }; /* 1000 normal */
		size_t sent;
		curl_ws_send(w->curl, bye, sizeof bye, &sent, 0, CURLWS_CLOSE);
	}
	drop_connection(w);
}

static enum atfh_ws_status closed(struct atfh_ws *w, const char *fmt, const char *detail)
{
	snprintf(w->err, sizeof w->err, fmt, detail);
	return ATFH_WS_CLOSED;
}

/* The server's close frame: code and reason into err. */
static enum atfh_ws_status close_frame(struct atfh_ws *w)
{
	if (w->ctrl_len >= 2) {
		w->close_code = (w->ctrl[0] << 8) | w->ctrl[1];
		char reason[128];
		size_t rn = w->ctrl_len - 2;
		for (size_t i = 0; i < rn; i++) {
			unsigned char ch = w->ctrl[2 + i];
			reason[i] = ch >= 0x20 && ch != 0x7f ? (char)ch : '?';
		}
		reason[rn] = '\0';
		memcpy(w->close_reason, reason, rn + 1);
		snprintf(w->err, sizeof w->err, "the server closed the connection (code %d%s%s)",
			 w->close_code, rn ? ": " : "", reason);
	} else {
		snprintf(w->err, sizeof w->err, "the server closed the connection");
	}
	return ATFH_WS_CLOSED;
}

enum atfh_ws_status atfh_ws_recv(struct atfh_ws *w)
{
	if (!w->curl)
		return closed(w, "%s", "not connected");
	if (w->returned) { /* the caller is done with the last message */
		w->len = 0;
		w->returned = false;
	}
	for (;;) {
		uint8_t *dst;
		size_t room;
		if (w->dropping) {
			if (!w->scratch)
				w->scratch = atfh_xmalloc(RECV_ROOM);
			dst = w->scratch;
			room = RECV_ROOM;
		} else {
			ensure_room(w, RECV_ROOM);
			dst = w->msg + w->len;
			room = w->cap - w->len;
		}
		size_t got = 0;
		const struct curl_ws_frame *meta = NULL;
		w->curl_err[0] = '\0';
		CURLcode rc = curl_ws_recv(w->curl, dst, room, &got, &meta);
		if (rc == CURLE_AGAIN)
			return ATFH_WS_AGAIN;
		if (rc == CURLE_GOT_NOTHING)
			return closed(w, "%s", w->in_msg ? "the connection ended in the middle of a message"
							 : "the server closed the connection without a close frame");
		if (rc != CURLE_OK) {
			/* the caller says "connection lost: " */
			snprintf(w->err, sizeof w->err, "%s",
				 w->curl_err[0] ? w->curl_err : curl_easy_strerror(rc));
			size_t n = strlen(w->err);
			while (n && (w->err[n - 1] == '\n' || w->err[n - 1] == '\r'))
				w->err[--n] = '\0';
			return ATFH_WS_CLOSED;
		}
		w->activity = true;
		w->rx_bytes += got;
		int fl = meta->flags;
		if (fl & (CURLWS_PING | CURLWS_PONG | CURLWS_CLOSE)) {
			size_t off = (size_t)meta->offset;
			if (off == 0)
				w->ctrl_len = 0;
			if (off + got <= sizeof w->ctrl) {
				memcpy(w->ctrl + off, dst, got);
				w->ctrl_len = off + got;
			}
			if (meta->bytesleft)
				continue;
			if (fl & CURLWS_CLOSE)
				return close_frame(w);
			if ((fl & CURLWS_PING) &&
			    send_frame(w, w->ctrl, w->ctrl_len, CURLWS_PONG, 5000) < 0)
				return ATFH_WS_CLOSED;
			continue;
		}
		if (!w->in_msg) {
			w->in_msg = true;
			w->text = (fl & CURLWS_TEXT) != 0;
			w->msg_total = 0;
		}
		w->msg_total += got;
		if (!w->dropping) {
			w->len += got;
			uint64_t left = (uint64_t)meta->bytesleft;
			if (w->len + left > w->max_msg) {
				w->dropping = true;
				w->len = 0;
			} else if (left) {
				ensure_room(w, (size_t)left);
			}
		}
		if (meta->bytesleft == 0 && !(fl & CURLWS_CONT)) {
			w->in_msg = false;
			w->msg_done = true;
			if (w->dropping) {
				w->dropping = false;
				w->dropped = w->msg_total;
				w->len = 0;
				return ATFH_WS_TOOBIG;
			}
			w->returned = true;
			return ATFH_WS_MSG;
		}
	}
}

int atfh_ws_wait(struct atfh_ws *w, int timeout_ms)
{
	struct pollfd p[2] = {
		{ .fd = w->sock, .events = POLLIN },
		{ .fd = w->wake_fd, .events = POLLIN },
	};
	int r = poll(p, w->wake_fd >= 0 ? 2 : 1, timeout_ms);
	if (r < 0)
		return errno == EINTR ? -1 : 1; /* an odd error: let recv find out */
	if (r == 0)
		return 0;
	if (w->wake_fd >= 0 && (p[1].revents & POLLIN))
		return -1;
	return 1;
}
