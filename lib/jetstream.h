/*
 * jetstream.h — the Jetstream wire as a client sees it.  Owns which filter
 * values the server takes (collections: NSIDs as the atproto spec and
 * indigo's ParseNSID define them, or a prefix ending in a whole ".*"
 * segment; DIDs as the DID spec says), its caps (100 collections, 10,000
 * DIDs, counted after removing repeats), the filter as a percent-encoded
 * query string or as an options_update message, and the position of a v1
 * line: its "cursor" (Jetstream's own seq) when it carries one, else its
 * time_us, plus an identity for telling apart events that share a time_us.
 */
#ifndef ATFH_JETSTREAM_H
#define ATFH_JETSTREAM_H

#include "atfh.h"
#include "util.h"

#define ATFH_JS_MAX_COLLECTIONS 100
#define ATFH_JS_MAX_DIDS 10000

/* An NSID: at least three segments, the first starting with a letter, the
 * last (the name) letters and digits only, the middle ones letters, digits
 * and inner hyphens; segments of 1 to 63 characters, 317 in all. */
bool atfh_js_nsid_valid(const char *s, size_t n);
/* What Jetstream takes as a wanted collection: an NSID, or one or more
 * domain segments followed by ".*" (app.bsky.*, app.bsky.feed.*). */
bool atfh_js_collection_valid(const char *s, size_t n);

/* A filter as sent: each list without repeats, in the order first given. */
struct atfh_js_filter {
	struct atfh_strv collections, dids;
	uint64_t max_message_size;  /* maxMessageSizeBytes; 0 none */
	unsigned kinds;             /* v2 kinds: ATFH_JS_KIND_* bits; 0 all */
};

/* The v2 event kinds (the kinds query parameter). */
enum {
	ATFH_JS_KIND_COMMIT = 1,
	ATFH_JS_KIND_IDENTITY = 2,
	ATFH_JS_KIND_ACCOUNT = 4,
	ATFH_JS_KIND_SYNC = 8,
};
/* The bit of the kind named S, or 0 for none. */
unsigned atfh_js_kind(const char *s);

/* Replace F's lists with COLS and DIDS without their repeats (the values
 * are not checked here). */
void atfh_js_filter_set(struct atfh_js_filter *f, char *const *cols, size_t ncol,
			char *const *dids, size_t ndid);
/* NULL when the server would take F's sizes, else why not (static). */
const char *atfh_js_filter_too_big(const struct atfh_js_filter *f, char *buf, size_t n);
/* The query parameters (no leading '?'; "" for no filter; caller frees):
 * v1 wantedCollections/wantedDids, v2 collections/dids; values
 * percent-encoded; maxMessageSizeBytes when set. */
char *atfh_js_filter_query(const struct atfh_js_filter *f, bool v2);
/* The v1 options_update message carrying F (caller frees). */
char *atfh_js_filter_update(const struct atfh_js_filter *f);
void atfh_js_filter_free(struct atfh_js_filter *f);

/* A position value below this is a seq, at or above a time_us (as the
 * server tells its ?cursor= namespaces apart). */
#define ATFH_JS_TIME_MIN 1000000000000000LL

/* Where a v1 line stands. */
struct atfh_js_pos {
	bool has_cursor;
	int64_t cursor;   /* Jetstream's seq */
	int64_t time_us;
	uint64_t id;      /* the event's identity: a hash of its JSON text
			   * without white space between tokens */
};

/* Read P (one JSON object).  0, or -1 with *ERR set (not JSON, no
 * time_us, a cursor that is not a non-negative integer). */
int atfh_js_line_pos(const char *p, size_t n, struct atfh_js_pos *pos, const char **err);
/* The identity of the JSON text P (white space outside strings ignored). */
uint64_t atfh_js_identity(const char *p, size_t n);

/* A pre-upgrade XRPC error body, {"error":NAME,"message":TEXT} (message
 * optional): true with NAME and TEXT copied into the buffers, unescaped,
 * control characters as '?', cut to fit. */
bool atfh_js_xrpc_error(const char *p, size_t n, char *name, size_t namen, char *msg,
			size_t msgn);
/* Does URL's query ask for v1's compress=true? */
bool atfh_js_v1_compress(const char *url);
/* Does URL's query have the parameter NAME (NAME=...)? */
bool atfh_js_url_has(const char *url, const char *name);
/* The path of the v2 stream (lexicon network.bsky.jetstream.subscribeEvents). */
#define ATFH_JS_V2_PATH "/xrpc/network.bsky.jetstream.subscribeEvents"

/*
 * One v2 frame (xrpc.v1.json, atproto proposal 0015): a message
 * {"$type":"message","payload":{"$type":"...subscribeEvents#KIND",...}}
 * or an error {"$type":"error","error":NAME,"message":TEXT}.  A commit,
 * identity, account or sync message becomes the v1 line of DESIGN.md:
 * {"did","time_us" (from time),"cursor" (from seq),"kind","KIND":{...}},
 * the commit's fields (all but $type, seq, did, time) under "commit", the
 * other kinds' wrapped event as it came; #info is kept as NAME and TEXT.
 */
enum atfh_js_frame { ATFH_JS_EVENT, ATFH_JS_INFO, ATFH_JS_ERROR };
struct atfh_js_v2 {
	enum atfh_js_frame type;
	char *line;          /* EVENT: the v1 line (no newline), reused across calls */
	size_t len, cap;
	char name[64];       /* INFO, ERROR: unescaped, control characters as '?' */
	char message[256];
};
/* Read the frame P.  0, or -1 with *ERR set to why it is not one. */
int atfh_js_v2_frame(const char *p, size_t n, struct atfh_js_v2 *out, const char **err);
void atfh_js_v2_free(struct atfh_js_v2 *v);

/* The last decimal number in S (a CursorTooOld message's floor seq). */
bool atfh_js_last_number(const char *s, int64_t *v);

#endif
