/*
 * fuzz_event.c — one frame end to end: parse the message, then write it in
 * every output format (with and without --verify, --no-record, expanded
 * blocks).  Output is always valid JSON lines, or nothing after an error.
 * And the fast path for commits (msgscan.c) agrees with the general
 * parser: the same verdict, the same message, the same fields.
 */
#include "fuzz.h"
#include "event.h"
#include "format.h"
#include "msgscan.h"

/* Allocation bound (fuzz.h): each format's lines stay under
 * ATFH_MAX_EXPANSION times the frame plus 1 MiB (in a reused buffer that
 * doubles as it grows: 4 times that), plus the parsed message and block
 * index; FIXED also covers one-time setup (OpenSSL on the first
 * --verify). */
enum { ALLOC_PER_BYTE = 320, ALLOC_FIXED = 8 << 20 };

#define SAME_STR(f) \
	(a->f.n == b->f.n && a->f.json == b->f.json && (a->f.p == b->f.p || !a->f.n))

static void same_parse(const uint8_t *data, size_t size, bool lazy)
{
	static struct atfh_msg fast, general;
	fast.lazy_ops = general.lazy_ops = lazy;
	int rf = atfh_msg_parse(&fast, data, size);
	int rg = atfh_msg_parse_general(&general, data, size);
	const struct atfh_msg *a = &fast, *b = &general;
	if (rf != rg || (rf && strcmp(a->err, b->err) != 0)) {
		fprintf(stderr, "fast path %d (%s), general parser %d (%s)\n", rf,
			rf ? a->err : "", rg, rg ? b->err : "");
		abort();
	}
	if (rf)
		return;
	bool same = a->kind == b->kind && a->op == b->op && SAME_STR(type) &&
		    a->header_len == b->header_len && a->body == b->body &&
		    a->body_len == b->body_len && a->has_seq == b->has_seq && a->seq == b->seq &&
		    a->has_time == b->has_time && a->time_us == b->time_us && SAME_STR(did) &&
		    SAME_STR(time) && SAME_STR(rev) && SAME_STR(since) &&
		    a->too_big == b->too_big && a->rebase == b->rebase && a->blocks == b->blocks &&
		    a->blocks_len == b->blocks_len && a->ops_cbor == b->ops_cbor &&
		    a->ops_len == b->ops_len && a->nops == b->nops && SAME_STR(handle) &&
		    SAME_STR(status) && a->has_handle == b->has_handle &&
		    a->has_active == b->has_active && a->has_status == b->has_status &&
		    a->active == b->active;
	for (size_t i = 0; same && i < a->nops; i++)
		same = a->ops[i].action.p == b->ops[i].action.p &&
		       a->ops[i].path.n == b->ops[i].path.n && a->ops[i].cid == b->ops[i].cid &&
		       a->ops[i].prev == b->ops[i].prev;
	if (!same) {
		fprintf(stderr, "fast path and general parser read different fields\n");
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct atfh_msg m;
	fuzz_alloc_start();
	same_parse(data, size, true);
	same_parse(data, size, false);
	struct atfh_out o = fuzz_out();
	if (atfh_msg_parse(&m, data, size)) {
		if (!m.err)
			abort();
		return 0;
	}
	for (int f = ATFH_FMT_JETSTREAM; f <= ATFH_FMT_CLOUDEVENTS; f++) {
		for (int variant = 0; variant < 2; variant++) {
			struct atfh_format_opts opt = {
				.format = (enum atfh_format)f,
				.verify = variant,
				.no_record = variant,
				.expand_blocks = !variant,
			};
			const char *err = NULL;
			o.len = 0;
			m.car_loaded = false;
			if (atfh_format_msg(&o, &m, &opt, &err)) {
				if (!err)
					abort();
				continue;
			}
			fuzz_check_json_lines(o.buf, o.len);
		}
	}
	fuzz_alloc_check(size, ALLOC_PER_BYTE, ALLOC_FIXED);
	atfh_out_free(&o);
	return 0;
}
