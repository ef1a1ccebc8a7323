/*
 * kafka.c — librdkafka configuration, the producer with its delivery
 * bookkeeping (kafka.h).
 */
#include "kafka.h"
#include "cli.h"
#include "jsonscan.h"
#include "stats.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int atfh_kafka_set(rd_kafka_conf_t *conf, const char *prop, const char *value)
{
	char errstr[512];
	if (rd_kafka_conf_set(conf, prop, value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
		atfh_err("%s", errstr);
		return -1;
	}
	return 0;
}

/* librdkafka logs from its own threads; the whole line is written under
 * stderr's lock so it cannot interleave with another. */
static void log_line(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	(void)level;
	(void)fac;
	flockfile(stderr);
	atfh_err("kafka: %s", buf);
	funlockfile(stderr);
}

void atfh_kafka_log_to_stderr(rd_kafka_conf_t *conf)
{
	rd_kafka_conf_set_log_cb(conf, log_line);
}

int atfh_kafka_set_kv(rd_kafka_conf_t *conf, const char *kv)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv) {
		atfh_err("-X %s: expected PROPERTY=VALUE", kv);
		return -1;
	}
	char prop[256];
	size_t n = (size_t)(eq - kv);
	if (n >= sizeof prop) {
		atfh_err("-X: property name too long");
		return -1;
	}
	memcpy(prop, kv, n);
	prop[n] = 0;
	return atfh_kafka_set(conf, prop, eq + 1);
}

int atfh_kafka_load_file(rd_kafka_conf_t *conf, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		atfh_err("%s: %s", path, strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, rc = 0;
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		char *s = line;
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '#' || *s == '!')
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			atfh_err("%s: line %d: expected PROPERTY=VALUE", path, lineno);
			rc = -1;
			break;
		}
		char *e = eq;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		*e = 0;
		char *v = eq + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		char errstr[512];
		if (rd_kafka_conf_set(conf, s, v, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
			atfh_err("%s: line %d: %s", path, lineno, errstr);
			rc = -1;
			break;
		}
	}
	free(line);
	fclose(f);
	return rc;
}

static const char *const producer_defaults[][3] = {
	/* property, atfh's value, librdkafka's value */
	{ "enable.idempotence", "true", "false" },
	{ "acks", "all", "all" },
	{ "linger.ms", "20", "5" },
	{ "batch.num.messages", "10000", "10000" },
	{ "batch.size", "1000000", "1000000" },
	{ "queue.buffering.max.messages", "100000", "100000" },
	{ "queue.buffering.max.kbytes", "1048576", "1048576" },
	{ "message.copy.max.bytes", "0", "65535" },
};

int atfh_kafka_producer_defaults(rd_kafka_conf_t *conf)
{
	for (size_t i = 0; i < sizeof producer_defaults / sizeof *producer_defaults; i++)
		if (atfh_kafka_set(conf, producer_defaults[i][0], producer_defaults[i][1]))
			return -1;
	return 0;
}

int atfh_kafka_producer_final(rd_kafka_conf_t *conf)
{
	char proto[64], copy[32];
	size_t pn = sizeof proto, cn = sizeof copy;
	if (rd_kafka_conf_get(conf, "security.protocol", proto, &pn) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_get(conf, "message.copy.max.bytes", copy, &cn) != RD_KAFKA_CONF_OK)
		return 0;
	if ((!strcasecmp(proto, "ssl") || !strcasecmp(proto, "sasl_ssl")) && !strcmp(copy, "0"))
		return atfh_kafka_set(conf, "message.copy.max.bytes", "65535");
	return 0;
}

void atfh_kafka_consumer_reset(rd_kafka_conf_t *conf)
{
	char errstr[512];
	for (size_t i = 0; i < sizeof producer_defaults / sizeof *producer_defaults; i++)
		rd_kafka_conf_set(conf, producer_defaults[i][0], producer_defaults[i][2], errstr,
				  sizeof errstr);
}

int atfh_kafka_sasl(rd_kafka_conf_t *conf, const char *user, const char *pass)
{
	char cur[64];
	size_t cn = sizeof cur;
	if (rd_kafka_conf_get(conf, "security.protocol", cur, &cn) == RD_KAFKA_CONF_OK &&
	    !strcmp(cur, "plaintext") && atfh_kafka_set(conf, "security.protocol", "SASL_SSL"))
		return -1;
	cn = sizeof cur;
	if (rd_kafka_conf_get(conf, "sasl.mechanisms", cur, &cn) == RD_KAFKA_CONF_OK &&
	    !strcmp(cur, "GSSAPI") && atfh_kafka_set(conf, "sasl.mechanisms", "PLAIN"))
		return -1;
	return atfh_kafka_set(conf, "sasl.username", user) ||
	       atfh_kafka_set(conf, "sasl.password", pass) ? -1 : 0;
}

#include "input.h" /* atfh_interrupted */

/* ---- the acknowledgement window ------------------------------------------ */

/* The candidate's messages are all delivered: it becomes the cursor. */
static void ackwin_promote(struct atfh_ackwin *w)
{
	if (w->have_cand && (!w->acked_any || w->cand > w->acked_seq)) {
		w->acked_seq = w->cand;
		w->acked_any = true;
	}
	w->have_cand = false;
}

void atfh_ackwin_push(struct atfh_ackwin *w, int64_t seq)
{
	/* everything before is delivered and this one starts another seq */
	if (w->head == w->tail && !w->blocked && w->have_cand && seq != w->cand)
		ackwin_promote(w);
	size_t live = w->tail - w->head;
	if (w->tail == w->cap) {
		if (w->head > 0 && live < w->cap / 2) {
			memmove(w->seq, w->seq + w->head, live * sizeof *w->seq);
			memmove(w->state, w->state + w->head, live);
		} else {
			size_t nc = w->cap ? w->cap * 2 : 1024;
			int64_t *ns = atfh_xmalloc(nc * sizeof *ns);
			uint8_t *nst = atfh_xmalloc(nc);
			if (live) {
				memcpy(ns, w->seq + w->head, live * sizeof *ns);
				memcpy(nst, w->state + w->head, live);
			}
			free(w->seq);
			free(w->state);
			w->seq = ns;
			w->state = nst;
			w->cap = nc;
		}
		w->head = 0;
		w->tail = live;
	}
	w->seq[w->tail] = seq;
	w->state[w->tail] = 0;
	w->tail++;
}

void atfh_ackwin_done(struct atfh_ackwin *w, uint64_t msgno, bool ok)
{
	if (msgno < w->base || msgno - w->base >= w->tail - w->head)
		return;
	w->state[w->head + (msgno - w->base)] = ok ? 1 : 2;
	while (w->head < w->tail && w->state[w->head] == 1 && !w->blocked) {
		int64_t s = w->seq[w->head];
		if (s == INT64_MIN || (w->have_cand && s != w->cand))
			ackwin_promote(w); /* the group before it is complete */
		if (s != INT64_MIN) {
			w->cand = s;
			w->have_cand = true;
		}
		w->head++;
		w->base++;
	}
	if (w->head < w->tail && w->state[w->head] == 2)
		w->blocked = true;
	/* the next message, pushed but not yet delivered, has another seq */
	if (!w->blocked && w->head < w->tail && w->have_cand && w->seq[w->head] != w->cand)
		ackwin_promote(w);
}

void atfh_ackwin_finish(struct atfh_ackwin *w)
{
	if (w->head == w->tail && !w->blocked)
		ackwin_promote(w);
}

void atfh_ackwin_free(struct atfh_ackwin *w)
{
	free(w->seq);
	free(w->state);
	memset(w, 0, sizeof *w);
}

/* ---- the producer ----------------------------------------------------------- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	struct atfh_producer *p = opaque;
	uint64_t msgno = (uint64_t)(uintptr_t)m->_private;
	bool ok = m->err == RD_KAFKA_RESP_ERR_NO_ERROR;
	if (ok) {
		p->delivered++;
		int64_t us = rd_kafka_message_latency(m);
		double lat = us > 0 ? (double)us / 1e6 : 0;
		p->latency_sum += lat;
		if (lat > p->latency_max)
			p->latency_max = lat;
	} else {
		p->failed++;
		snprintf(p->last_error, sizeof p->last_error, "%s", rd_kafka_err2str(m->err));
	}
	atfh_ackwin_done(&p->win, msgno, ok);
}

/* An integer field of a statistics object, or 0. */
static int64_t stat_i64(const struct atfh_jobj *o, const char *key)
{
	const struct atfh_jval *v = atfh_jobj_get(o, key);
	int64_t n;
	return v && atfh_jval_i64(v, &n) ? n : 0;
}

/* librdkafka's statistics (statistics.interval.ms, set for --stats and
 * --metrics): messages sent again, per partition the transmissions
 * (txmsgs) beyond the messages sent at least once (msgs produced less
 * those still queued). */
static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
	(void)rk;
	struct atfh_producer *p = opaque;
	struct atfh_jobj top, topics, t, parts, pt;
	const struct atfh_jval *v;
	const char *err;
	if (atfh_jobj_parse(&top, json, len, &err) || !(v = atfh_jobj_get(&top, "topics")) ||
	    v->type != ATFH_J_OBJ || atfh_jobj_parse(&topics, v->p, v->n, &err))
		return 0;
	uint64_t sum = 0;
	for (size_t i = 0; i < topics.n; i++) {
		v = &topics.f[i].val;
		if (v->type != ATFH_J_OBJ || atfh_jobj_parse(&t, v->p, v->n, &err) ||
		    !(v = atfh_jobj_get(&t, "partitions")) || v->type != ATFH_J_OBJ ||
		    atfh_jobj_parse(&parts, v->p, v->n, &err))
			continue;
		for (size_t j = 0; j < parts.n; j++) {
			v = &parts.f[j].val;
			if (v->type != ATFH_J_OBJ || atfh_jobj_parse(&pt, v->p, v->n, &err))
				continue;
			int64_t sent = stat_i64(&pt, "msgs") - stat_i64(&pt, "msgq_cnt") -
				       stat_i64(&pt, "xmit_msgq_cnt");
			int64_t tx = stat_i64(&pt, "txmsgs");
			if (tx > sent && sent >= 0)
				sum += (uint64_t)(tx - sent);
		}
	}
	if (sum > p->retried)
		p->retried = sum;
	return 0; /* librdkafka frees JSON */
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	(void)rk;
	(void)opaque;
	/* transient connection trouble is retried by librdkafka; say only
	 * what is fatal */
	if (err == RD_KAFKA_RESP_ERR__FATAL || err == RD_KAFKA_RESP_ERR__AUTHENTICATION)
		atfh_err("kafka: %s", reason);
}

/* ---- topic handles ------------------------------------------------------------ */

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

/* The handle of topic NAME, made on first use; NULL after reporting. */
static rd_kafka_topic_t *topic_get(struct atfh_producer *p, const char *name)
{
	if (p->last_rkt && !strcmp(name, p->last_name))
		return p->last_rkt;
	if (2 * (p->ntopics + 1) > p->topics_cap) {
		size_t nc = p->topics_cap ? 2 * p->topics_cap : 16;
		struct atfh_kafka_topic *nt = atfh_xcalloc(nc, sizeof *nt);
		for (size_t i = 0; i < p->topics_cap; i++) {
			if (!p->topics[i].name)
				continue;
			size_t j = (size_t)name_hash(p->topics[i].name) & (nc - 1);
			while (nt[j].name)
				j = (j + 1) & (nc - 1);
			nt[j] = p->topics[i];
		}
		free(p->topics);
		p->topics = nt;
		p->topics_cap = nc;
	}
	size_t j = (size_t)name_hash(name) & (p->topics_cap - 1);
	while (p->topics[j].name && strcmp(p->topics[j].name, name))
		j = (j + 1) & (p->topics_cap - 1);
	struct atfh_kafka_topic *t = &p->topics[j];
	if (!t->name) {
		rd_kafka_topic_t *rkt = rd_kafka_topic_new(p->rk, name, NULL);
		if (!rkt) {
			atfh_err("kafka: %s: %s", name, rd_kafka_err2str(rd_kafka_last_error()));
			return NULL;
		}
		t->name = atfh_xstrdup(name);
		t->rkt = rkt;
		p->ntopics++;
	}
	p->last_name = t->name;
	p->last_rkt = t->rkt;
	return t->rkt;
}

int atfh_producer_open(struct atfh_producer *p, rd_kafka_conf_t *conf, const char *topic)
{
	char errstr[512];
	memset(p, 0, sizeof *p);
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_conf_set_error_cb(conf, on_error);
	rd_kafka_conf_set_stats_cb(conf, on_stats);
	rd_kafka_conf_set_opaque(conf, p);
	/* the brokers are added only once the topic is known (kafka.h) */
	char *brokers = NULL;
	size_t bn = 0;
	if (topic && rd_kafka_conf_get(conf, "bootstrap.servers", NULL, &bn) == RD_KAFKA_CONF_OK &&
	    bn > 1) {
		brokers = atfh_xmalloc(bn);
		if (rd_kafka_conf_get(conf, "bootstrap.servers", brokers, &bn) != RD_KAFKA_CONF_OK ||
		    rd_kafka_conf_set(conf, "bootstrap.servers", NULL, errstr, sizeof errstr) !=
			    RD_KAFKA_CONF_OK) {
			free(brokers);
			brokers = NULL;
		}
	}
	p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
	if (!p->rk) {
		atfh_err("kafka: %s", errstr);
		free(brokers);
		return -1;
	}
	int rc = 0;
	if (topic && !topic_get(p, topic))
		rc = -1;
	if (brokers) {
		rd_kafka_brokers_add(p->rk, brokers);
		free(brokers);
	}
	return rc;
}

uint64_t atfh_producer_inflight(const struct atfh_producer *p)
{
	return p->produced - p->delivered - p->failed;
}

int atfh_producer_send(struct atfh_producer *p, const char *topic, int32_t partition,
		       const void *key, size_t keylen, const void *value, size_t len,
		       const struct atfh_kafka_hdr *h, size_t nh, int64_t seq)
{
	rd_kafka_topic_t *rkt = topic_get(p, topic);
	if (!rkt)
		return -1;
	rd_kafka_headers_t *hdrs = NULL;
	if (nh) {
		hdrs = rd_kafka_headers_new(nh);
		for (size_t i = 0; i < nh; i++)
			rd_kafka_header_add(hdrs, h[i].name, -1, h[i].value, (ssize_t)h[i].len);
	}
	/* the message number is the opaque: no allocation per message */
	uint64_t msgno = p->win.base + (p->win.tail - p->win.head);
	void *o = (void *)(uintptr_t)msgno;
	for (;;) {
		rd_kafka_resp_err_t err = rd_kafka_producev(
			p->rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(partition),
			RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			RD_KAFKA_V_KEY(key, keylen), RD_KAFKA_V_VALUE((void *)value, len),
			RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(o), RD_KAFKA_V_END);
		if (!err)
			break;
		if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			/* backpressure: wait for deliveries, never drop;
			 * SIGINT/SIGTERM end the wait (the message is not
			 * sent, and nothing after it) */
			p->queue_waits++;
			rd_kafka_poll(p->rk, 100);
			if (atfh_interrupted) {
				if (hdrs)
					rd_kafka_headers_destroy(hdrs);
				return 1;
			}
			continue;
		}
		if (hdrs)
			rd_kafka_headers_destroy(hdrs);
		atfh_err("kafka: %s: %s", topic, rd_kafka_err2str(err));
		return -1;
	}
	atfh_ackwin_push(&p->win, seq);
	p->produced++;
	if ((p->produced & 1023) == 0)
		rd_kafka_poll(p->rk, 0); /* delivery reports, now and then */
	return 0;
}

void atfh_producer_poll(struct atfh_producer *p, int ms)
{
	rd_kafka_poll(p->rk, ms);
}

uint64_t atfh_producer_flush(struct atfh_producer *p, int timeout_ms)
{
	double end = atfh_now() + timeout_ms / 1000.0;
	while (atfh_producer_inflight(p) > 0) {
		double left = end - atfh_now();
		if (left <= 0)
			break;
		rd_kafka_flush(p->rk, left > 0.1 ? 100 : (int)(left * 1000) + 1);
	}
	if (atfh_producer_inflight(p) == 0)
		atfh_ackwin_finish(&p->win);
	return p->failed + atfh_producer_inflight(p);
}

void atfh_producer_close(struct atfh_producer *p)
{
	if (p->rk) {
		/* undelivered messages are purged so their opaques are freed */
		rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		rd_kafka_poll(p->rk, 0);
		for (size_t i = 0; i < p->topics_cap; i++)
			if (p->topics[i].name) {
				rd_kafka_topic_destroy(p->topics[i].rkt);
				free(p->topics[i].name);
			}
		rd_kafka_destroy(p->rk);
	}
	free(p->topics);
	p->topics = NULL;
	p->topics_cap = p->ntopics = 0;
	p->last_rkt = NULL;
	atfh_ackwin_free(&p->win);
	p->rk = NULL;
}

/* ---- the consumer ---------------------------------------------------------- */

#include "out.h"

static int parse_offset(const char *s, int64_t *off)
{
	if (!s || !strcmp(s, "end")) {
		*off = RD_KAFKA_OFFSET_END;
		return 0;
	}
	if (!strcmp(s, "beginning")) {
		*off = RD_KAFKA_OFFSET_BEGINNING;
		return 0;
	}
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || end == s)
		return -1;
	*off = v < 0 ? RD_KAFKA_OFFSET_TAIL(-v) : v;
	return 0;
}

/* Messages written to the buffer but not yet flushed: their offsets are
 * stored only after the flush. */
struct pending {
	rd_kafka_message_t **m;
	size_t n, cap;
};

static int flush_and_store(rd_kafka_t *rk, struct atfh_out *out, struct pending *pd, bool group)
{
	int rc = atfh_out_flush(out);
	if (rc == 0 && group && pd->n) {
		rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)pd->n);
		for (size_t i = 0; i < pd->n; i++) {
			rd_kafka_message_t *m = pd->m[i];
			rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_add(
				l, rd_kafka_topic_name(m->rkt), m->partition);
			tp->offset = m->offset + 1;
		}
		rd_kafka_offsets_store(rk, l);
		rd_kafka_topic_partition_list_destroy(l);
	}
	for (size_t i = 0; i < pd->n; i++)
		rd_kafka_message_destroy(pd->m[i]);
	pd->n = 0;
	return rc;
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			 rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	(void)opaque;
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		if (!strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE"))
			rd_kafka_incremental_assign(rk, parts);
		else
			rd_kafka_assign(rk, parts);
	} else {
		/* written offsets are committed before the partitions go */
		rd_kafka_commit(rk, NULL, 0);
		if (!strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE"))
			rd_kafka_incremental_unassign(rk, parts);
		else
			rd_kafka_assign(rk, NULL);
	}
}

int atfh_consume_run(const struct atfh_consume *c, rd_kafka_conf_t *conf)
{
	char errstr[512];
	int64_t off;
	if (parse_offset(c->offset, &off)) {
		atfh_err("-o %s: expected beginning, end, OFFSET or -N", c->offset);
		rd_kafka_conf_destroy(conf);
		return ATFH_EXIT_FAIL;
	}
	bool group = c->group != NULL;
	if (group) {
		if (atfh_kafka_set(conf, "group.id", c->group) ||
		    atfh_kafka_set(conf, "enable.auto.offset.store", "false") ||
		    atfh_kafka_set(conf, "auto.offset.reset",
				   off == RD_KAFKA_OFFSET_BEGINNING ? "earliest" : "latest")) {
			rd_kafka_conf_destroy(conf);
			return ATFH_EXIT_FAIL;
		}
		rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
	} else {
		/* no group: a private one that never commits */
		atfh_kafka_set(conf, "group.id", "atfh-emit");
		atfh_kafka_set(conf, "enable.auto.commit", "false");
	}
	if (c->exit_eof)
		atfh_kafka_set(conf, "enable.partition.eof", "true");
	/* producer-only defaults the caller set do not apply here */
	atfh_kafka_consumer_reset(conf);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
	if (!rk) {
		atfh_err("kafka: %s", errstr);
		return ATFH_EXIT_FAIL;
	}
	struct pending pd = { 0 };
	rd_kafka_poll_set_consumer(rk);
	int nparts = 0;
	rd_kafka_resp_err_t err;
	if (group && c->partition == RD_KAFKA_PARTITION_UA) {
		rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
		rd_kafka_topic_partition_list_add(l, c->topic, RD_KAFKA_PARTITION_UA);
		err = rd_kafka_subscribe(rk, l);
		rd_kafka_topic_partition_list_destroy(l);
	} else {
		rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
		if (c->partition != RD_KAFKA_PARTITION_UA)
			rd_kafka_topic_partition_list_add(l, c->topic, c->partition)->offset = off;
		else {
			rd_kafka_topic_t *t = rd_kafka_topic_new(rk, c->topic, NULL);
			const struct rd_kafka_metadata *md = NULL;
			err = RD_KAFKA_RESP_ERR__TIMED_OUT;
			for (int tries = 0; tries < 30 && atfh_interrupted == 0; tries++) {
				err = rd_kafka_metadata(rk, 0, t, &md, 2000);
				if (!err && md->topic_cnt == 1 && !md->topics[0].err &&
				    md->topics[0].partition_cnt > 0)
					break;
				if (!err)
					rd_kafka_metadata_destroy(md);
				md = NULL;
				if (!err)
					err = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
			}
			if (!md) {
				atfh_err("kafka: %s: %s", c->topic, rd_kafka_err2str(err));
				rd_kafka_topic_destroy(t);
				rd_kafka_topic_partition_list_destroy(l);
				rd_kafka_destroy(rk);
				return ATFH_EXIT_FAIL;
			}
			for (int i = 0; i < md->topics[0].partition_cnt; i++)
				rd_kafka_topic_partition_list_add(l, c->topic, md->topics[0].partitions[i].id)
					->offset = off;
			rd_kafka_metadata_destroy(md);
			rd_kafka_topic_destroy(t);
		}
		nparts = l->cnt;
		err = rd_kafka_assign(rk, l);
		rd_kafka_topic_partition_list_destroy(l);
	}
	if (err) {
		atfh_err("kafka: %s: %s", c->topic, rd_kafka_err2str(err));
		rd_kafka_destroy(rk);
		return ATFH_EXIT_FAIL;
	}
	uint64_t n = 0;
	int eofs = 0, status = ATFH_EXIT_OK;
	/* which partitions are at their end now (a message clears its mark;
	 * librdkafka reports the end again when it gets there) */
	uint8_t *at_end = NULL;
	size_t at_end_n = 0;
	/* partitions at their end; with a group the assignment decides */
	while (!atfh_interrupted) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, pd.n ? 0 : 200);
		if (!m) {
			if (flush_and_store(rk, c->out, &pd, group))
				break;
			if (c->stats)
				atfh_stats_poll(c->stats);
			continue;
		}
		if (m->err) {
			if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
				size_t pi = m->partition >= 0 ? (size_t)m->partition : 0;
				if (pi >= at_end_n) {
					at_end = atfh_xrealloc(at_end, pi + 1);
					memset(at_end + at_end_n, 0, pi + 1 - at_end_n);
					at_end_n = pi + 1;
				}
				if (!at_end[pi])
					eofs++;
				at_end[pi] = 1;
				int want = nparts;
				if (group) {
					rd_kafka_topic_partition_list_t *a = NULL;
					if (!rd_kafka_assignment(rk, &a) && a) {
						want = a->cnt;
						rd_kafka_topic_partition_list_destroy(a);
					}
				}
				rd_kafka_message_destroy(m);
				if (c->exit_eof && want > 0 && eofs >= want)
					break;
				continue;
			}
			atfh_err("kafka: %s", rd_kafka_message_errstr(m));
			bool fatal = m->err == RD_KAFKA_RESP_ERR__FATAL ||
				     m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
				     m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED;
			rd_kafka_message_destroy(m);
			if (fatal) {
				status = ATFH_EXIT_FAIL;
				break;
			}
			continue;
		}
		if (m->partition >= 0 && (size_t)m->partition < at_end_n && at_end[m->partition]) {
			at_end[m->partition] = 0;
			eofs--;
		}
		const uint8_t *v = m->payload;
		size_t len = m->len;
		if (len && v[0] == '{') {
			atfh_out_put(c->out, v, len);
			if (v[len - 1] != '\n')
				atfh_out_c(c->out, '\n');
		} else {
			uint8_t h[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
					 (uint8_t)len };
			atfh_out_put(c->out, h, 4);
			atfh_out_put(c->out, v, len);
		}
		if (c->stats) {
			c->stats->records++;
			c->stats->events++;
			c->stats->bytes += len;
		}
		if (pd.n == pd.cap) {
			pd.cap = pd.cap ? pd.cap * 2 : 256;
			pd.m = atfh_xrealloc(pd.m, pd.cap * sizeof *pd.m);
		}
		pd.m[pd.n++] = m;
		n++;
		if (c->count && n >= c->count)
			break;
		if (pd.n >= 4096 || c->out->len >= c->out->flush_at)
			if (flush_and_store(rk, c->out, &pd, group))
				break;
	}
	if (flush_and_store(rk, c->out, &pd, group) && !c->out->broken_pipe)
		status = ATFH_EXIT_FAIL;
	free(pd.m);
	free(at_end);
	if (group)
		rd_kafka_commit(rk, NULL, 0);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	if (c->out->error)
		status = ATFH_EXIT_FAIL;
	return status;
}
