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

int atfh_ws_connect(struct atfh_ws *w, const char *url, long timeout_ms, int wake_fd)
{
	drop_connection(w);
	w->in_msg = w->dropping = w->returned = false;
	w->len = 0;
	w->ctrl_len = 0;
	w->http_status = 0;
	w->close_code = 0;
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
	CURLcode rc = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	w->http_status = code;
	if (rc != CURLE_OK) {
		fail(w, "cannot connect", rc);
		if (rc == CURLE_ABORTED_BY_CALLBACK)
			snprintf(w->err, sizeof w->err, "interrupted while connecting");
		drop_connection(w);
		return -1;
	}
	if (code != 101) {
		snprintf(w->err, sizeof w->err, "the server refused the websocket upgrade (HTTP %ld)",
			 code);
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
			fail(w, "connection lost", rc);
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
