/*
 * fmt_atkafka.c — the atkafka and osprey shapes: the events the at-kafka
 * service (haileyok/at-kafka, atkafka/types.go and atkafka.go) puts on
 * Kafka, field for field.  Owns what at-kafka drops (sync, error and
 * unknown kinds; create/update ops whose record is not in the CAR), the
 * eventMetadata it writes for an account it could not resolve, and the
 * Osprey envelope with its action_id.
 */
#include "fmt.h"

#include <stdio.h>
#include <time.h>

static void put_timestamp(struct atfh_out *o, const struct atfh_view *v)
{
	if (v->time.p)
		fmt_put_str(o, v->time);
	else
		atfh_out_lit(o, "\"\"");
}

/* at-kafka's FetchEventMetadata when neither the DID document nor the PLC
 * audit log could be fetched (and no appview is set): a zero DIDDocument
 * (only its "id" has no omitempty), accountAge -1, profile null.
 * Without --event-metadata (opt->event_metadata NULL) this is what every
 * commit carries; with it, a resolved account's metadata (lib/idcheck).
 * Account and identity events get metadata only for a resolved account,
 * else null, as info's always is. */
#define UNRESOLVED_METADATA \
	"{\"didDocument\":{\"id\":\"\"},\"accountAge\":-1,\"profile\":null}"

/* Whether at-kafka would write anything for V. */
static bool atkafka_keeps(const struct fmt *f, const struct atfh_view *v)
{
	switch (v->kind) {
	case ATFH_K_COMMIT:
		/* a create/update whose record block is missing: at-kafka logs
		 * "failed to get record bytes" and goes on with the next op */
		if (!f->opt->no_record && !fmt_has_value(&v->record) &&
		    (ATFH_STR_IS(v->operation, "create") || ATFH_STR_IS(v->operation, "update")))
			return f->opt->atkafka_all;
		return true;
	case ATFH_K_ACCOUNT:
	case ATFH_K_IDENTITY:
	case ATFH_K_INFO:
		return true;
	default: /* sync, error, unknown: "unhandled event received" */
		return f->opt->atkafka_all;
	}
}

static int put_atkafka_event(struct fmt *f, const struct atfh_view *v)
{
	struct atfh_out *o = f->o;
	atfh_out_lit(o, "{\"did\":");
	if (v->did.p && v->kind != ATFH_K_INFO)
		fmt_put_str(o, v->did);
	else
		atfh_out_lit(o, "\"\"");
	atfh_out_lit(o, ",\"timestamp\":");
	if (v->kind == ATFH_K_INFO)
		atfh_out_lit(o, "\"\"");
	else
		put_timestamp(o, v);
	atfh_out_lit(o, ",\"eventMetadata\":");
	const struct atfh_format_opts *opt = f->opt;
	if (opt->event_metadata && v->kind != ATFH_K_INFO)
		atfh_out_put(o, opt->event_metadata, opt->event_metadata_len);
	else if (v->kind == ATFH_K_COMMIT)
		atfh_out_lit(o, UNRESOLVED_METADATA);
	else
		atfh_out_lit(o, "null");
	switch (v->kind) {
	case ATFH_K_COMMIT:
		put_key_str(o, ",\"operation\":{\"action\":", v->operation);
		put_key_str(o, ",\"collection\":", v->collection);
		put_key_str(o, ",\"rkey\":", v->rkey);
		atfh_out_lit(o, ",\"uri\":");
		fmt_put_uri(o, v, true);
		atfh_out_lit(o, ",\"cid\":");
		if (fmt_has_cid(v)) /* absent on delete */
			fmt_put_cid(o, v);
		else
			atfh_out_lit(o, "\"\"");
		atfh_out_lit(o, ",\"path\":\"");
		atfh_json_part(o, v->collection);
		atfh_out_c(o, '/');
		atfh_json_part(o, v->rkey);
		atfh_out_lit(o, "\",\"record\":");
		if (fmt_has_value(&v->record)) {
			if (fmt_put_value(f, &v->record, "record"))
				return -1;
		} else {
			atfh_out_lit(o, "null");
		}
		atfh_out_c(o, '}');
		break;
	case ATFH_K_ACCOUNT:
		atfh_out_lit(o, ",\"account\":{\"active\":");
		if (v->active)
			atfh_out_lit(o, "true");
		else
			atfh_out_lit(o, "false");
		atfh_out_lit(o, ",\"seq\":");
		atfh_json_i64(o, v->seq);
		if (v->has_status)
			put_key_str(o, ",\"status\":", v->status);
		atfh_out_c(o, '}');
		break;
	case ATFH_K_IDENTITY:
		atfh_out_lit(o, ",\"identity\":{\"seq\":");
		atfh_json_i64(o, v->seq);
		atfh_out_lit(o, ",\"handle\":");
		if (v->has_handle)
			fmt_put_str(o, v->handle);
		else
			atfh_out_lit(o, "\"\"");
		atfh_out_c(o, '}');
		break;
	case ATFH_K_INFO:
		put_key_str(o, ",\"info\":{\"name\":", v->name);
		if (v->has_message)
			put_key_str(o, ",\"message\":", v->message);
		atfh_out_c(o, '}');
		break;
	default: { /* only with --atkafka-all: the kind's body */
		size_t kn;
		const char *kind = fmt_kind_name(v, &kn);
		atfh_out_c(o, ',');
		atfh_json_str(o, kind, kn);
		atfh_out_c(o, ':');
		if (fmt_put_value(f, &v->body, "body"))
			return -1;
	}
	}
	atfh_out_c(o, '}');
	return 0;
}

int fmt_put_atkafka(struct fmt *f, const struct atfh_view *v)
{
	if (!atkafka_keeps(f, v))
		return 0;
	if (put_atkafka_event(f, v))
		return -1;
	atfh_out_c(f->o, '\n');
	return 0;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Go's time.RFC3339Nano of NS: fraction without trailing zeros. */
static size_t rfc3339_nano(char *buf, size_t size, int64_t ns)
{
	time_t t = (time_t)(ns / 1000000000);
	long frac = (long)(ns % 1000000000);
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		return 0;
	size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	if (frac) {
		char f9[16];
		snprintf(f9, sizeof f9, "%09ld", frac);
		size_t k = 9;
		while (k && f9[k - 1] == '0')
			k--;
		n += (size_t)snprintf(buf + n, size - n, ".%.*s", (int)k, f9);
	}
	n += (size_t)snprintf(buf + n, size - n, "Z");
	return n < size ? n : 0;
}

/* at-kafka takes action_id from a nanosecond clock.  Here it is the
 * event's time in nanoseconds plus the op's index, raised past the last
 * id written when needed: unique and increasing within a run, and the
 * same on a replay of the same input.  Info events have no time: the
 * next id after the last one, or the clock (as at-kafka) when they come
 * first, without pushing the ids of the events after them off their
 * times. */
static int64_t action_id(struct fmt *f, const struct atfh_view *v)
{
	int64_t id;
	if (!v->has_time || __builtin_mul_overflow(v->time_us, 1000, &id) ||
	    __builtin_add_overflow(id, (int64_t)(v->op_index % 1000), &id)) {
		if (!f->opt->osprey_last_id)
			return now_ns(); /* and the events after keep their times */
		id = f->opt->osprey_last_id;
	}
	if (id <= f->opt->osprey_last_id && f->opt->osprey_last_id < INT64_MAX)
		id = f->opt->osprey_last_id + 1;
	f->opt->osprey_last_id = id;
	return id;
}

int fmt_put_osprey(struct fmt *f, const struct atfh_view *v)
{
	struct atfh_out *o = f->o;
	char now[40], ts[48];

	if (!atkafka_keeps(f, v))
		return 0;
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);

	atfh_out_lit(o, "{\"data\":{\"action_name\":\"");
	if (v->kind == ATFH_K_COMMIT) {
		atfh_out_lit(o, "operation#");
		atfh_json_part(o, v->operation);
	} else {
		size_t kn;
		const char *kind = fmt_kind_name(v, &kn);
		atfh_json_part(o, (struct atfh_str){ kind, kn, false });
	}
	atfh_out_lit(o, "\",\"action_id\":");
	atfh_json_i64(o, action_id(f, v));
	atfh_out_lit(o, ",\"data\":");
	if (put_atkafka_event(f, v))
		return -1;
	atfh_out_lit(o, ",\"timestamp\":");
	if (v->kind == ATFH_K_INFO) {
		/* at-kafka: time.Now().Format(time.RFC3339Nano) */
		size_t n = rfc3339_nano(ts, sizeof ts, now_ns());
		atfh_out_c(o, '"');
		atfh_out_put(o, ts, n);
		atfh_out_c(o, '"');
	} else {
		put_timestamp(o, v);
	}
	atfh_out_lit(o, ",\"secret_data\":{},\"encoding\":\"UTF8\"},\"send_time\":\"");
	atfh_out_put(o, now, strlen(now));
	atfh_out_lit(o, "\"}\n");
	return 0;
}
