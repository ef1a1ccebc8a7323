/*
 * fuzz_ndjson.c — NDJSON event input: the JSON scanner and the conversion
 * of a jetstream line to every output format.  Whatever the line, the
 * output is valid JSON or the line is reported.  The scanner's SSE2 build
 * and its scalar build (tests/jsonscan_scalar.c) agree on every input.
 */
#include "fuzz.h"
#include "format.h"
#include "../jsonscan_scalar.h"

/* Allocation bound (fuzz.h): the line again in each format, escaped, in
 * an output buffer that doubles as it grows. */
enum { ALLOC_PER_BYTE = 64, ALLOC_FIXED = 1 << 20 };

/* Each CloudEvent line splits: headers for its attributes, JSON data. */
static void check_binary(const char *p, size_t n)
{
	struct atfh_ce_binary b = { .buf = fuzz_out() };
	const char *err;
	for (const char *end = p + n; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (atfh_cloudevents_binary(&b, p, len, &err) || b.nh < 5 ||
		    atfh_json_check(b.data, b.data_len, &err))
			abort();
		p += len + 1;
	}
	atfh_out_free(&b.buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_alloc_start();
	struct atfh_out o = fuzz_out();
	const char *line = (const char *)data;
	struct atfh_jobj obj;
	const char *err = NULL;
	int valid = atfh_json_check(line, size, &err) == 0;
	if (atfh_jobj_parse(&obj, line, size, &err) == 0 && !valid)
		abort(); /* the two scanners disagree */
	const char *why;
	if (!atfh_jsonscan_builds_agree(line, size, &why))
		abort(); /* SIMD and scalar strings differ */
	/* every format, then cloudevents and atkafka with their wider sets */
	for (int i = ATFH_FMT_JETSTREAM; i <= ATFH_FMT_CLOUDEVENTS + 2; i++) {
		int f = i <= ATFH_FMT_CLOUDEVENTS ? i
			: i == ATFH_FMT_CLOUDEVENTS + 1 ? ATFH_FMT_CLOUDEVENTS : ATFH_FMT_ATKAFKA;
		struct atfh_format_opts opt = { .format = (enum atfh_format)f,
						.json_op_index = (size_t)-1,
						.ce_all = i > ATFH_FMT_CLOUDEVENTS,
						.atkafka_all = i > ATFH_FMT_CLOUDEVENTS };
		o.len = 0;
		if (atfh_format_json(&o, line, size, &opt, &err) == 0) {
			if (memchr(line, '\n', size))
				continue; /* the reader never hands over a newline */
			fuzz_check_json_lines(o.buf, o.len);
			if (f == ATFH_FMT_CLOUDEVENTS)
				check_binary(o.buf, o.len);
		}
	}
	fuzz_alloc_check(size, ALLOC_PER_BYTE, ALLOC_FIXED);
	atfh_out_free(&o);
	return 0;
}
