/*
 * fuzz_evpath.c — event paths: the first line of the input is a path (the
 * --by syntax of atfh-count), the rest one NDJSON event.  Parsing either
 * never crashes; a value found lies inside the event, and its canonical
 * JSON form is valid JSON.
 */
#include "fuzz.h"
#include "evpath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	const char *nl = memchr(p, '\n', size);
	if (!nl)
		return 0;
	char *src = malloc((size_t)(nl - p) + 1);
	memcpy(src, p, (size_t)(nl - p));
	src[nl - p] = '\0';
	struct atfh_evpath path;
	char err[256];
	if (strlen(src) != (size_t)(nl - p) || atfh_evpath_parse(&path, src, err, sizeof err)) {
		free(src);
		return 0;
	}
	const char *line = nl + 1;
	size_t n = size - (size_t)(line - p);
	struct atfh_ev ev;
	const char *e;
	atfh_ev_init(&ev);
	if (atfh_ev_set_line(&ev, line, n, &e) == 0) {
		struct atfh_evval v;
		if (atfh_evpath_eval(&path, &ev, &v, &e) == 0 && v.type != ATFH_EV_MISSING) {
			if (v.s.n && (v.s.p < line || v.s.p + v.s.n > line + n))
				abort();
			struct atfh_out o = fuzz_out();
			atfh_evval_json(&o, &v);
			fuzz_check_json(o.buf, o.len);
			atfh_out_free(&o);
		}
	}
	atfh_ev_free(&ev);
	atfh_evpath_free(&path);
	free(src);
	return 0;
}
