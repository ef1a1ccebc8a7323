/*
 * idqueue.h — records that wait for their account's identity, released in
 * input order.  A program submits each record with the DID it needs (or
 * none); while nothing waits and the account is cached, the record is
 * settled at once, without a copy.  Otherwise it is copied into a bounded
 * queue (ATFH_IDQ_ITEMS records, ATFH_IDQ_BYTES bytes) and the stream goes
 * on: later records queue behind it (order = input order), the
 * resolver's requests run between records, and each record at the head is
 * settled as soon as its account is resolved or has failed.  When the
 * queue is full the stream waits for the head; nothing is ever dropped.
 * A record settled late that is malformed is reported with its own file
 * and position (lib/loop).  A settle callback may ask for its account to
 * be fetched again once (a signature that fails with a cached key).  A
 * record may also be output a -T worker made already (grep --pds):
 * queued the same way, written in its turn if its account passes.
 */
#ifndef ATFH_IDQUEUE_H
#define ATFH_IDQUEUE_H

#include "identity.h"
#include "loop.h"

#define ATFH_IDQ_ITEMS 4096
#define ATFH_IDQ_BYTES (64u << 20)

enum { ATFH_IDQ_RETRY = 2 }; /* settle: fetch the account again, ask again */

struct atfh_idq_item {
	uint8_t *data;        /* the record (a copy once queued) */
	size_t n;
	bool line;            /* NDJSON line, not a frame */
	char *did;            /* the account, NULL: none needed */
	size_t did_len;
	bool resolvable;      /* the resolver took the DID */
	const char *file;     /* position, for messages */
	uint64_t index, offset;
	bool retried;         /* the account was fetched again for it */
	/* output a -T worker made already: written in its turn if its
	 * account passes (or it has none), and EVENTS counted then */
	bool output;
	uint64_t events;
	bool bad;             /* output: DATA is the error to report instead */
};

struct atfh_idq {
	struct atfh_resolver *r;
	struct atfh_loop *loop;
	/* Settle one record.  E: its account (OK or FAILED; NULL when none is
	 * needed or the DID cannot be resolved); QUEUED: the record was
	 * copied, so the program parses IT->data again.  Returns ATFH_REC_OK,
	 * ATFH_REC_BAD with *err, ATFH_REC_STOP, or (only while !it->retried)
	 * ATFH_IDQ_RETRY. */
	int (*settle)(void *ctx, const struct atfh_idq_item *it, struct atfh_identity *e,
		      bool queued, const char **err);
	void *ctx;
	/* private */
	struct atfh_idq_item *v;
	size_t cap, head, count, bytes;
	unsigned since_poll;
	bool stop;
};

void atfh_idq_init(struct atfh_idq *q, struct atfh_resolver *r, struct atfh_loop *l);
void atfh_idq_free(struct atfh_idq *q);
/* Submit the current record of Q->loop.  Returns the loop code for it:
 * ATFH_REC_OK (settled or queued), ATFH_REC_BAD with *err (settled at once
 * and malformed), or ATFH_REC_STOP (a settle asked to stop). */
int atfh_idq_submit(struct atfh_idq *q, const void *data, size_t n, bool line,
		    const char *did, size_t did_len, const char **err);
/* The same for IT as the caller made it, its position included (a -T
 * worker's output, IT->output, whose record is not l->in's current one). */
int atfh_idq_submit_item(struct atfh_idq *q, struct atfh_idq_item *it, const char **err);
/* Settle what can be settled; with ALL, wait until the queue is empty (end
 * of input; SIGINT/SIGTERM stop the wait).  ATFH_REC_STOP when a settle
 * asked to stop, else ATFH_REC_OK. */
int atfh_idq_drain(struct atfh_idq *q, bool all);
/* For the loop's on_idle: run the requests, settle, and say how long the
 * input may be waited for (ms; -1 when nothing waits). */
int atfh_idq_idle(struct atfh_idq *q);

#endif
