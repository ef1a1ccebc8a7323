/*
 * fuzz_event.c — one frame end to end: parse the message, then write it in
 * every output format (with and without --verify, --no-record, expanded
 * blocks).  Output is always valid JSON lines, or nothing after an error.
 */
#include "fuzz.h"
#include "event.h"
#include "format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct atfh_msg m;
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
	atfh_out_free(&o);
	return 0;
}
