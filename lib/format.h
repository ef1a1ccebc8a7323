/*
 * format.h — the output shapes of atfh-decode: jetstream (DESIGN.md),
 * frame (lossless), atkafka and osprey (the at-kafka service), and
 * cloudevents (CloudEvents 1.0 structured JSON of the Bluesky Firehose
 * Producer).  format.c builds the views and writes jetstream and frame;
 * fmt_atkafka.c and fmt_cloudevents.c write their shapes (lib/fmt.h).
 * Every shape is written from an atfh_view — one output event, whose record and body are either
 * DAG-CBOR from a frame or JSON text from an NDJSON line — so frames and
 * jetstream NDJSON convert through the same code.
 */
#ifndef ATFH_FORMAT_H
#define ATFH_FORMAT_H

#include "event.h"
#include "jsonscan.h"
#include "out.h"

enum atfh_format {
	ATFH_FMT_JETSTREAM,
	ATFH_FMT_FRAME,
	ATFH_FMT_ATKAFKA,
	ATFH_FMT_OSPREY,
	ATFH_FMT_CLOUDEVENTS,
};

/* The Bluesky Firehose Producer's default CloudEvents source. */
#define ATFH_CE_SOURCE "wss://bsky.network/xrpc/com.atproto.sync.subscribeRepos"

extern const char *const atfh_format_names[];
int atfh_format_lookup(const char *name); /* -1 if unknown */

/* A CBOR value, or the text of a JSON value. */
struct atfh_value {
	const uint8_t *cbor;
	size_t cbor_len;
	const char *json;
	size_t json_len;
	const char *skip_key; /* CBOR maps: leave this entry out */
};

struct atfh_view {
	enum atfh_kind kind;
	struct atfh_str kind_name; /* for ATFH_K_OTHER */
	struct atfh_str did, time;
	bool has_seq, has_time;
	int64_t seq, time_us;
	size_t op_index;
	/* commit op */
	struct atfh_str rev, operation, collection, rkey, cid_str;
	const uint8_t *cid; /* binary, when cid_str is not set */
	size_t cid_len;
	struct atfh_value record; /* empty: no record */
	/* identity / account */
	struct atfh_str handle, status;
	bool has_handle, has_status, has_active, active;
	/* info */
	struct atfh_str name, message;
	bool has_message;
	struct atfh_value body; /* identity/account/sync/info/error object */
};

struct atfh_format_opts {
	enum atfh_format format;
	bool no_record;     /* leave records out */
	bool expand_blocks; /* frame format: blocks as {cid: decoded} */
	bool verify;        /* check block hashes */
	bool sort_keys;     /* records and bodies with their keys sorted */
	/* cloudevents: every event, not only the producer's six types */
	bool ce_all;
	const char *ce_source; /* CloudEvents source; NULL: ATFH_CE_SOURCE */
	/* atkafka/osprey: keep sync, error and unknown kinds at-kafka drops */
	bool atkafka_all;
	int64_t osprey_last_id; /* action_ids stay increasing and unique */
	/* atkafka/osprey: the eventMetadata of the account of the event being
	 * written (a resolved account, --event-metadata), NULL: none */
	const char *event_metadata;
	size_t event_metadata_len;
	/* NDJSON input: the ops of one commit are consecutive lines with the
	 * same seq; counting them recovers each op's index */
	int64_t json_last_seq;
	size_t json_op_index;
};

/* Write every output line of one frame.  0, or -1 with *err (the output
 * since the call must be rolled back by the caller).  Lines past
 * ATFH_MAX_EXPANSION times the frame's length are an error: memory stays
 * proportional to the input. */
int atfh_format_msg(struct atfh_out *o, struct atfh_msg *m,
		    struct atfh_format_opts *opt, const char **err);
/* Write the output line of one jetstream NDJSON event.  LINE is copied as
 * is when the format is jetstream. */
int atfh_format_json(struct atfh_out *o, const char *line, size_t n,
		     struct atfh_format_opts *opt, const char **err);

/* CloudEvents' Kafka protocol binding, binary content mode: one structured
 * event of the cloudevents shape (a line atfh_format_* wrote) split into
 * headers, ce_NAME for each attribute (datacontenttype becomes
 * content-type), and the data, the message value (its JSON text).
 * Header values are the attributes' strings unescaped, in B->buf. */
#define ATFH_CE_ATTRS_MAX 16
struct atfh_ce_binary {
	struct {
		char name[40];
		size_t off, len; /* the value in buf */
	} h[ATFH_CE_ATTRS_MAX];
	size_t nh;
	const char *data;
	size_t data_len;
	struct atfh_out buf;
};
/* 0, or -1 with *err (not an object with data, an attribute that is not a
 * string or number, too many attributes). */
int atfh_cloudevents_binary(struct atfh_ce_binary *b, const char *line, size_t n,
			    const char **err);

#endif
