/*
 * ws.h — a websocket client on libcurl's websocket API (CURLOPT_CONNECT_ONLY
 * 2, curl_ws_recv, curl_ws_send).  Owns the connection: the upgrade
 * handshake (HTTP Basic auth when given; with a timeout, cut short by a
 * wake-up descriptor; TLS verified against the system's CAs or
 * --cacert/--capath; what a refused upgrade said: its status, Location,
 * Retry-After and a line of its body), whole messages out of fragments, a size limit enforced without ever holding an
 * oversized message, pings answered with pongs, pings sent, close frames
 * read, and waiting for the socket.  It knows nothing about the firehose;
 * that is firehose.h.
 *
 * The reading side never blocks: atfh_ws_recv returns ATFH_WS_AGAIN when
 * nothing more can be read without waiting, so the caller can flush its
 * output before it calls atfh_ws_wait.
 */
#ifndef ATFH_WS_H
#define ATFH_WS_H

#include "atfh.h"
#include <curl/curl.h>

enum atfh_ws_status {
	ATFH_WS_AGAIN,  /* nothing more without waiting: atfh_ws_wait */
	ATFH_WS_MSG,    /* a whole message: msg, len, text */
	ATFH_WS_TOOBIG, /* a message over max_msg was read and dropped: dropped */
	ATFH_WS_CLOSED, /* the connection is over: err says how */
};

struct atfh_ws {
	CURL *curl;
	curl_socket_t sock;
	size_t max_msg;       /* largest message accepted */
	const char *user_agent;
	const char *cainfo;   /* CA bundle file, NULL: curl's default */
	const char *capath;   /* CA directory, NULL: curl's default */
	const char *username, *password; /* HTTP Basic auth, NULL: none */

	uint8_t *msg;         /* the message (valid until the next recv) */
	size_t len, cap;
	bool text;            /* it came as a text message */
	uint64_t dropped;     /* size of the message ATFH_WS_TOOBIG dropped */
	bool activity;        /* something (any frame) arrived; the caller clears it */
	bool msg_done;        /* a whole message (or a dropped one) ended; the caller clears it */
	uint64_t rx_bytes;    /* payload bytes received, messages and control */

	long http_status;     /* of the upgrade response, 0 if none came */
	int close_code;       /* from the server's close frame, 0 if none */
	char close_reason[128]; /* and its reason, printable, "" if none */
	/* of a refused upgrade: */
	char location[1024];  /* where a 3xx answer points (absolute), "" if none */
	double retry_after;   /* seconds the server asks to wait, -1 if it did not */
	char body[512];       /* the first line of its body (400, 401, 403), "" if none */
	bool cert_error;      /* the server's TLS certificate could not be verified */

	/* internal */
	bool in_msg, dropping, returned;
	uint64_t msg_total;
	uint8_t ctrl[128];
	size_t ctrl_len;
	uint8_t *scratch;
	int wake_fd;
	char curl_err[CURL_ERROR_SIZE];
	char err[CURL_ERROR_SIZE + 96];
};

/* Once per process (curl_global_init). */
void atfh_ws_global_init(void);
void atfh_ws_init(struct atfh_ws *w, size_t max_msg);
void atfh_ws_free(struct atfh_ws *w);
/* Connect and upgrade.  WAKE_FD (or -1) becoming readable cuts the
 * handshake short.  0, or -1 with err and, for a refused upgrade,
 * http_status, location, retry_after and body set. */
int atfh_ws_connect(struct atfh_ws *w, const char *url, long timeout_ms, int wake_fd);
/* Read on; see enum atfh_ws_status.  Pings are answered on the way. */
enum atfh_ws_status atfh_ws_recv(struct atfh_ws *w);
/* Wait until the socket has something, WAKE_FD is readable or TIMEOUT_MS
 * (-1 forever) passes: 1 readable, 0 timed out, -1 interrupted (a signal
 * or the wake-up descriptor; the caller looks at its flags). */
int atfh_ws_wait(struct atfh_ws *w, int timeout_ms);
int atfh_ws_send_ping(struct atfh_ws *w);
/* Send a whole text message (waits while the socket is full).  0 or -1. */
int atfh_ws_send_text(struct atfh_ws *w, const char *p, size_t n, long timeout_ms);
/* The settings of W that a plain HTTP(S) request to the same server
 * needs too: TLS verification (--cacert, --capath), Basic auth, the
 * User-Agent. */
void atfh_ws_http_options(const struct atfh_ws *w, CURL *c);
/* Say goodbye (a close frame, best effort) and drop the connection. */
void atfh_ws_close(struct atfh_ws *w);

#endif
