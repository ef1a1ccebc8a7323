/*
 * event.h — the event model shared by every program: a firehose message
 * (header + body of one frame) parsed into named fields that point into
 * the frame, and the per-op events a commit splits into.  Parsing reads
 * only the body's top level; records and the CAR are looked at only when
 * a caller asks (atfh_msg_load_blocks), so filters stay cheap.
 */
#ifndef ATFH_EVENT_H
#define ATFH_EVENT_H

#include "atfh.h"
#include "car.h"

enum atfh_kind {
	ATFH_K_COMMIT,
	ATFH_K_IDENTITY,
	ATFH_K_ACCOUNT,
	ATFH_K_SYNC,
	ATFH_K_INFO,
	ATFH_K_ERROR,
	ATFH_K_OTHER, /* a message type this version does not know */
};

extern const char *const atfh_kind_names[]; /* "commit", "identity", … */
/* The kind named NAME (N bytes), or ATFH_K_OTHER. */
enum atfh_kind atfh_kind_lookup(const char *name, size_t n);

struct atfh_op {
	struct atfh_str action, path, collection, rkey;
	const uint8_t *cid;  /* binary CID, NULL on delete */
	size_t cid_len;
	const uint8_t *prev; /* binary CID of the previous record, or NULL */
	size_t prev_len;
};

struct atfh_msg {
	const uint8_t *frame;  /* the whole message */
	size_t frame_len;
	const uint8_t *header; /* CBOR header map */
	size_t header_len;
	const uint8_t *body;   /* CBOR body map */
	size_t body_len;

	int64_t op;            /* header op: 1 message, -1 error */
	struct atfh_str type;  /* header t, e.g. "#commit"; empty for errors */
	enum atfh_kind kind;

	bool has_seq, has_time;
	int64_t seq, time_us;
	struct atfh_str did;   /* repo (commit) or did */
	struct atfh_str time;  /* as sent */

	/* commit */
	struct atfh_str rev, since;
	bool too_big, rebase;
	const uint8_t *blocks; /* CAR bytes (commit, sync) */
	size_t blocks_len;
	struct atfh_op *ops;
	size_t nops, ops_cap;
	const uint8_t *ops_cbor; /* the ops array as sent */
	size_t ops_len;
	bool lazy_ops;         /* set before parsing: ops wait for atfh_msg_parse_ops */
	/* set before parsing (kept): called by the fast path (lib/msgscan) with
	 * a #commit's repo as soon as it is read, before the rest of the
	 * body: time for the caller to prefetch what the DID will look up */
	void (*on_did)(void *ctx, const char *did, size_t n);
	void *on_did_ctx;
	bool ops_parsed;

	/* identity / account */
	struct atfh_str handle, status;
	bool has_handle, has_active, has_status, active;

	/* info / error */
	struct atfh_str name, message, error;
	bool has_message;

	struct atfh_car car;   /* filled by atfh_msg_load_blocks */
	bool car_loaded;

	const char *err;
	char errbuf[120];
};

void atfh_msg_init(struct atfh_msg *m);
void atfh_msg_free(struct atfh_msg *m);
/* Parse one frame.  0, or -1 with m->err saying what is wrong. */
int atfh_msg_parse(struct atfh_msg *m, const uint8_t *p, size_t n);
/* With lazy_ops set, parse the ops when they are first needed (a filter
 * that looks only at the DID never pays for them).  0, or -1 with m->err. */
int atfh_msg_parse_ops(struct atfh_msg *m);
/* Read the CAR of a commit/sync (and with VERIFY check every block). */
int atfh_msg_load_blocks(struct atfh_msg *m, bool verify);
/* The record block of op I, or NULL when the CAR does not hold it. */
const struct atfh_block *atfh_msg_record(struct atfh_msg *m, size_t i);

/* Parse an RFC 3339 timestamp to microseconds since the epoch.  Impossible
 * dates and times (02-30, 23:59:60) are refused, not rolled over; digits
 * below a microsecond are dropped. */
int atfh_parse_time_us(const char *s, size_t n, int64_t *us);
/* The same for a bound (--since/--until): digits below a microsecond round
 * up, so an event earlier than the bound never compares equal to it. */
int atfh_parse_time_bound_us(const char *s, size_t n, int64_t *us);

#endif
