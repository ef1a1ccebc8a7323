/*
 * jszstd.h — the compression of Jetstream's v2 stream (dict-zstd, lexicon
 * network.bsky.jetstream.getZstdDictionary and subscribeEvents'
 * zstdDictionary parameter).  Owns the dictionary: where it is served
 * (getZstdDictionary on the stream's host), fetching it over HTTP(S) with
 * the websocket's TLS settings, checking it (a zstd structured dictionary,
 * RFC 8878 section 5, with an ID), digested once (a ZSTD_DDict); and
 * decompressing one binary websocket message, which must be exactly one
 * zstd frame, with one reused ZSTD_DCtx, into at most a given number of
 * bytes.  What the decompressed text means is lib/jetstream.h.
 *
 * Only v2 serves its dictionary: v1's compress=true uses one compiled into
 * the server, which no endpoint hands out (atfh_js_v1_compress).
 */
#ifndef ATFH_JSZSTD_H
#define ATFH_JSZSTD_H

#include "atfh.h"
#include "ws.h"
#include <signal.h>

/* The path of getZstdDictionary on the stream's host. */
#define ATFH_JSZ_PATH "/xrpc/network.bsky.jetstream.getZstdDictionary"
/* The largest dictionary taken (zstd's trainer makes 110 KiB by default). */
#define ATFH_JSZ_DICT_MAX (4u << 20)

struct atfh_jsz {
	uint32_t id;          /* the dictionary's ID; 0: none loaded */
	void *ddict;          /* ZSTD_DDict */
	void *dctx;           /* ZSTD_DCtx, made once, reused */
	uint8_t *out;         /* the last message decompressed (len bytes, NUL after) */
	size_t len, cap;
	char err[256];        /* why the last call failed */
};

void atfh_jsz_init(struct atfh_jsz *z);
void atfh_jsz_free(struct atfh_jsz *z);
/* Forget the dictionary (it was retired): the next use needs a new one. */
void atfh_jsz_drop(struct atfh_jsz *z);

/* Take the N bytes at D as the dictionary.  0, or -1 with err set (not a
 * zstd structured dictionary, no ID, too big, refused by libzstd). */
int atfh_jsz_load(struct atfh_jsz *z, const uint8_t *d, size_t n);

/* Decompress the binary message P (N bytes): exactly one zstd frame, made
 * with no dictionary or with this one, into z->out and z->len, at most MAX
 * bytes.  0, or -1 with err set (not a zstd frame, bytes after it, another
 * dictionary, corrupt, truncated, more than MAX bytes). */
int atfh_jsz_decompress(struct atfh_jsz *z, const uint8_t *p, size_t n, size_t max);

/* The getZstdDictionary URL of the stream URL STREAM (ws:// → http://,
 * wss:// → https://, the same host and port; caller frees). */
char *atfh_jsz_url(const char *stream);

/* Fetch the server's current dictionary from URL (GET, redirects followed
 * to http(s) only, W's TLS settings and User-Agent, TIMEOUT_MS in all; a
 * STOP flag set ends it) and load it.  0; -1 with err set and *TRANSIENT
 * true when trying again later may help (no answer, HTTP 408, 429, 5xx),
 * false when the answer itself is wrong (another 4xx, shown as its XRPC
 * error; a body that is no dictionary). */
int atfh_jsz_fetch(struct atfh_jsz *z, const char *url, const struct atfh_ws *w,
		   long timeout_ms, volatile sig_atomic_t *stop, bool *transient);

#endif
