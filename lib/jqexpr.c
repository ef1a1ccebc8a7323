/*
 * jqexpr.c — see jqexpr.h.
 */
#include "jqexpr.h"
#include "evpath.h"
#include "signals.h"
#include "util.h"

#include <jq.h>
#include <stdio.h>
#include <stdlib.h>

static void on_error(void *arg, jv msg)
{
	struct atfh_jqexpr *x = arg;
	if (x->err[0]) { /* keep the first message: the later ones summarise */
		jv_free(msg);
		return;
	}
	msg = jq_format_error(msg);
	if (jv_get_kind(msg) == JV_KIND_STRING) {
		const char *s = jv_string_value(msg);
		if (strncmp(s, "jq: error: ", 11) == 0)
			s += 11;
		snprintf(x->err, sizeof x->err, "%s", s);
		/* one line: jq goes on with the source text, which the
		 * caller quotes anyway */
		char *nl = strchr(x->err, '\n');
		if (nl)
			*nl = '\0';
		size_t n = strlen(x->err);
		while (n && (x->err[n - 1] == ':' || x->err[n - 1] == ' '))
			x->err[--n] = '\0';
	}
	jv_free(msg);
}

int atfh_jqexpr_compile(struct atfh_jqexpr *x, const char *src, char *err, size_t errlen)
{
	memset(x, 0, sizeof *x);
	jq_state *jq = jq_init();
	if (!jq)
		atfh_die_oom();
	x->jq = jq;
	jq_set_error_cb(jq, on_error, x);
	if (!jq_compile(jq, src)) {
		snprintf(err, errlen, "bad jq expression '%s': %s", src,
			 x->err[0] ? x->err : "does not compile");
		jq_teardown(&jq);
		x->jq = NULL;
		return -1;
	}
	x->src = atfh_xstrdup(src);
	atfh_watchdog_init(); /* jq cannot be asked to stop */
	return 0;
}

void atfh_jqexpr_free(struct atfh_jqexpr *x)
{
	if (x->jq) {
		jq_state *jq = x->jq;
		jq_teardown(&jq);
	}
	free(x->src);
	memset(x, 0, sizeof *x);
}

int atfh_jqexpr_start(struct atfh_jqexpr *x, const char *p, size_t n, const char **err)
{
	x->running = false;
	if (n > INT32_MAX) {
		*err = "event too large for jq";
		return -1;
	}
	jv in = jv_parse_sized(p, (int)n);
	if (!jv_is_valid(in)) {
		jv msg = jv_invalid_get_msg(in);
		snprintf(x->err, sizeof x->err, "jq cannot parse the event: %s",
			 jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "invalid JSON");
		jv_free(msg);
		*err = x->err;
		return -1;
	}
	jq_start(x->jq, in, 0);
	x->running = true;
	return 0;
}

/* The next output as a jv, or invalid at the end (*failed on an error). */
static jv next_jv(struct atfh_jqexpr *x, bool *failed, const char **err)
{
	*failed = false;
	if (!x->running)
		return jv_invalid();
	atfh_busy_begin(); /* may never return: the watchdog ends it */
	jv r = jq_next(x->jq);
	atfh_busy_end();
	if (jv_is_valid(r))
		return r;
	x->running = false;
	if (jq_halted(x->jq)) {
		jv_free(r);
		return jv_invalid();
	}
	if (!jv_invalid_has_msg(jv_copy(r))) {
		jv_free(r);
		return jv_invalid();
	}
	jv msg = jv_invalid_get_msg(r);
	if (jv_get_kind(msg) == JV_KIND_STRING) {
		snprintf(x->err, sizeof x->err, "jq: %s", jv_string_value(msg));
		jv_free(msg);
	} else {
		jv s = jv_dump_string(msg, 0);
		snprintf(x->err, sizeof x->err, "jq: %s (not a string)", jv_string_value(s));
		jv_free(s);
	}
	*failed = true;
	*err = x->err;
	return jv_invalid();
}

int atfh_jqexpr_next(struct atfh_jqexpr *x, struct atfh_out *o, bool raw, const char **err)
{
	bool failed;
	jv r = next_jv(x, &failed, err);
	if (!jv_is_valid(r)) {
		jv_free(r);
		return failed ? -1 : 0;
	}
	if (raw && jv_get_kind(r) == JV_KIND_STRING) {
		atfh_out_put(o, jv_string_value(r), (size_t)jv_string_length_bytes(jv_copy(r)));
		jv_free(r);
		return 1;
	}
	jv s = jv_dump_string(r, 0);
	atfh_json_canonical(o, jv_string_value(s), (size_t)jv_string_length_bytes(jv_copy(s)));
	jv_free(s);
	return 1;
}

int atfh_jqexpr_test(struct atfh_jqexpr *x, const char *p, size_t n, const char **err)
{
	if (atfh_jqexpr_start(x, p, n, err))
		return -1;
	bool failed;
	jv r = next_jv(x, &failed, err);
	x->running = false;
	if (!jv_is_valid(r)) {
		jv_free(r);
		return failed ? -1 : 0;
	}
	jv_kind k = jv_get_kind(r);
	jv_free(r);
	return k != JV_KIND_NULL && k != JV_KIND_FALSE;
}
