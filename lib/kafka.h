/*
 * kafka.h — atfh's use of librdkafka: building a client configuration
 * (properties, properties files, atfh's delivery defaults), a producer that
 * never drops (a full queue waits), tracks every delivery report and knows
 * the highest event sequence number acknowledged together with everything
 * before it (for cursor files), and a consumer that hands out messages and
 * stores their offsets only once the caller says they are written.
 */
#ifndef ATFH_KAFKA_H
#define ATFH_KAFKA_H

#include "atfh.h"
#include <librdkafka/rdkafka.h>

/* Set PROP=VALUE on CONF.  0, or -1 after reporting. */
int atfh_kafka_set(rd_kafka_conf_t *conf, const char *prop, const char *value);
/* librdkafka's log lines (a broker that cannot be reached, ...) written as
 * atfh's errors are, "PROGRAM: kafka: TEXT", not as "%3|TIME|FAC|...". */
void atfh_kafka_log_to_stderr(rd_kafka_conf_t *conf);
/* "prop=value" as given to -X.  0, or -1 after reporting. */
int atfh_kafka_set_kv(rd_kafka_conf_t *conf, const char *kv);
/* A Java-style properties file: prop=value lines, # and ! comments.  0, or
 * -1 after reporting (with the line number). */
int atfh_kafka_load_file(rd_kafka_conf_t *conf, const char *path);

/* atfh's producer defaults, set on CONF before the user's -X and -F so
 * that those override them (man/atfh-emit.1 lists them):
 *   enable.idempotence=true, acks=all    delivery (never lose, never dup)
 *   linger.ms=20, batch.num.messages=10000, batch.size=1000000,
 *   queue.buffering.max.messages=100000,
 *   queue.buffering.max.kbytes=1048576   batches and the queue's bounds
 *   message.copy.max.bytes=0             values are not copied again into
 *                                        the request buffers (sent by
 *                                        reference; see the TLS note at
 *                                        atfh_kafka_producer_final)
 * 0, or -1 after reporting. */
int atfh_kafka_producer_defaults(rd_kafka_conf_t *conf);
/* After -X/-F and the connection settings: over TLS (security.protocol ssl
 * or sasl_ssl) librdkafka writes each buffer segment as its own TLS
 * record, so values passed by reference would make one record (and one
 * write) per message: message.copy.max.bytes goes back to librdkafka's
 * 65535 unless it was set to something other than atfh's 0. */
int atfh_kafka_producer_final(rd_kafka_conf_t *conf);
/* The producer-only properties set (by defaults or the user) back to
 * librdkafka's own values, for a consumer built from the same settings. */
void atfh_kafka_consumer_reset(rd_kafka_conf_t *conf);

/* SASL credentials: PLAIN over TLS (security.protocol SASL_SSL,
 * sasl.mechanisms PLAIN) unless CONF already chose a protocol or mechanism
 * (-X, -F), then USER and PASS.  0, or -1 after reporting. */
int atfh_kafka_sasl(rd_kafka_conf_t *conf, const char *user, const char *pass);

struct atfh_kafka_hdr {
	const char *name;
	const void *value;
	size_t len;
};

/* Delivery bookkeeping, in the order messages were produced. */
struct atfh_ackwin {
	int64_t *seq;     /* the event's seq, or INT64_MIN without one */
	uint8_t *state;   /* 0 in flight, 1 delivered, 2 failed */
	size_t head, tail, cap;  /* ring: [head, tail) are in flight or undecided */
	uint64_t base;    /* message number of seq[head] */
	int64_t acked_seq;       /* highest seq with all before it delivered */
	bool acked_any;
	bool blocked;     /* a failure: the cursor stops moving */
	/* the seq of the last delivered message: several messages may share
	 * one (the ops of a commit), so it becomes acked_seq only once a
	 * message with another seq follows, or at the end */
	int64_t cand;
	bool have_cand;
};

/* A topic's handle, kept for the producer's life: producing by handle
 * spares librdkafka a lookup of the name (under its lock) per message. */
struct atfh_kafka_topic {
	char *name;
	rd_kafka_topic_t *rkt;
};

struct atfh_producer {
	rd_kafka_t *rk;
	struct atfh_kafka_topic *topics; /* open addressing by name hash */
	size_t ntopics, topics_cap;
	const char *last_name;   /* the name the last send was given ... */
	rd_kafka_topic_t *last_rkt; /* ... and its handle */
	struct atfh_ackwin win;
	uint64_t produced, delivered, failed, queue_waits;
	uint64_t retried;        /* messages sent again (librdkafka's statistics) */
	double latency_sum;      /* seconds, over delivered messages */
	double latency_max;
	char last_error[256];
};

/* Create the producer from CONF (taken over, also on failure).  TOPIC, if
 * not NULL, is the topic the messages will go to: its handle is made
 * before the brokers are added, so the metadata request made on the first
 * connection asks for it (a topic first named after that request waits
 * for librdkafka's next topic scan, up to a second, with every message
 * queued meanwhile).  0, or -1 after reporting. */
int atfh_producer_open(struct atfh_producer *p, rd_kafka_conf_t *conf, const char *topic);
/* Produce one message; waits while the queue is full.  SEQ is the event's
 * seq (INT64_MIN if none).  0; 1 when interrupted (SIGINT/SIGTERM) while
 * waiting, the message not sent; or -1 after reporting a permanent error. */
int atfh_producer_send(struct atfh_producer *p, const char *topic, int32_t partition,
		       const void *key, size_t keylen, const void *value, size_t len,
		       const struct atfh_kafka_hdr *h, size_t nh, int64_t seq);
/* Serve delivery reports without blocking. */
void atfh_producer_poll(struct atfh_producer *p, int ms);
/* Wait up to TIMEOUT_MS for every outstanding report; returns how many
 * messages were not delivered (failed or still outstanding). */
uint64_t atfh_producer_flush(struct atfh_producer *p, int timeout_ms);
void atfh_producer_close(struct atfh_producer *p);
uint64_t atfh_producer_inflight(const struct atfh_producer *p);

/* The ring alone (tested in tests/unit.c). */
void atfh_ackwin_push(struct atfh_ackwin *w, int64_t seq);
void atfh_ackwin_done(struct atfh_ackwin *w, uint64_t msgno, bool ok);
/* The input ended and everything is reported: the last seq counts. */
void atfh_ackwin_finish(struct atfh_ackwin *w);
void atfh_ackwin_free(struct atfh_ackwin *w);

#endif

/* ---- the consumer ---------------------------------------------------------- */
struct atfh_out;
struct atfh_stats;

struct atfh_consume {
	const char *topic;
	int32_t partition;    /* RD_KAFKA_PARTITION_UA: all */
	const char *group;    /* NULL: assign partitions, no commits */
	const char *offset;   /* beginning, end, N, -N; NULL: group's or end */
	bool exit_eof;
	uint64_t count;       /* 0: no limit */
	struct atfh_out *out;
	struct atfh_stats *stats;
};

/* Consume until interrupted, -c or -e.  Values that start with '{' are
 * written as NDJSON lines (a newline added), others as frames (4-byte
 * length first).  With a group, offsets are stored only after the values
 * were written and flushed, and committed at the end.  CONF is taken over.
 * Returns the exit status. */
int atfh_consume_run(const struct atfh_consume *c, rd_kafka_conf_t *conf);
