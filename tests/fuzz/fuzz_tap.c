/*
 * fuzz_tap.c — Tap's events into jetstream lines (lib/tapevent.c).  An
 * event is converted or reported: a converted one is one line of valid
 * JSON (no line break in it, whatever white space the record had) in the
 * jetstream shape, with the event's id as tap.id, that every output format
 * of NDJSON reads; a reported one leaves the output as it was.
 */
#include "fuzz.h"
#include "format.h"
#include "jsonscan.h"
#include "tapevent.h"

/* Allocation bound (fuzz.h): the line, then each format of it. */
enum { ALLOC_PER_BYTE = 64, ALLOC_FIXED = 1 << 20 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_alloc_start();
	struct atfh_out o = fuzz_out(), f = fuzz_out();
	struct atfh_tap_event ev;
	const char *err = NULL;
	atfh_out_lit(&o, "x"); /* something before: kept on failure */
	int rc = atfh_tap_convert(&o, (const char *)data, size, 1732000000123456, &ev, &err);
	if (rc) {
		if (o.len != 1 || !err)
			abort();
		goto done;
	}
	const char *line = o.buf + 1;
	size_t n = o.len - 1;
	if (!ev.has_id || ev.id < 0 || memchr(line, '\n', n) || memchr(line, '\r', n))
		abort();
	fuzz_check_json(line, n);
	struct atfh_jobj top, tap;
	if (atfh_jobj_parse(&top, line, n, &err))
		abort();
	const struct atfh_jval *v = atfh_jobj_get(&top, "tap");
	int64_t id, t;
	if (!v || v->type != ATFH_J_OBJ || atfh_jobj_parse(&tap, v->p, v->n, &err) ||
	    !(v = atfh_jobj_get(&tap, "id")) || !atfh_jval_i64(v, &id) || id != ev.id)
		abort();
	if (!(v = atfh_jobj_get(&top, "time_us")) || !atfh_jval_i64(v, &t) || t != 1732000000123456)
		abort();
	for (int i = ATFH_FMT_JETSTREAM; i <= ATFH_FMT_CLOUDEVENTS; i++) {
		if (i == ATFH_FMT_FRAME)
			continue; /* frames only */
		struct atfh_format_opts opt = { .format = (enum atfh_format)i,
						.json_op_index = (size_t)-1, .ce_all = true,
						.atkafka_all = true };
		f.len = 0;
		if (atfh_format_json(&f, line, n, &opt, &err)) {
			fprintf(stderr, "format %d cannot read the line (%s): %.*s\n", i, err,
				(int)(n > 300 ? 300 : n), line);
			abort();
		}
		fuzz_check_json_lines(f.buf, f.len);
	}
done:
	fuzz_alloc_check(size, ALLOC_PER_BYTE, ALLOC_FIXED);
	atfh_out_free(&o);
	atfh_out_free(&f);
	return 0;
}
