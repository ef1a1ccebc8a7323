/*
 * template.h — atfh-split's file name templates: parsing `-o TEMPLATE`
 * (strftime conversions, and the fields {collection} {did} {kind}
 * {action}; `{{` and `}}` are literal braces), rendering a path for one
 * event, and sanitizing the parts of it that come from the data, so that
 * no event can name a path outside the template's directory: a field
 * never contains `/`, `..`, a control character or a byte outside
 * [A-Za-z0-9._:+@=-], never starts with `-` or `.`, is never empty and
 * never longer than ATFH_TEMPLATE_FIELD_MAX bytes.
 */
#ifndef ATFH_TEMPLATE_H
#define ATFH_TEMPLATE_H

#include "atfh.h"
#include <time.h>

enum atfh_tfield { ATFH_TF_TEXT, ATFH_TF_COLLECTION, ATFH_TF_DID, ATFH_TF_KIND, ATFH_TF_ACTION };

#define ATFH_TEMPLATE_FIELD_MAX 100
#define ATFH_TEMPLATE_NAME_MAX 240 /* a path component, leaving room for a part number and .part */
#define ATFH_TEMPLATE_PATH_MAX 4096

struct atfh_tpart {
	enum atfh_tfield field;
	char *text;       /* ATFH_TF_TEXT: a strftime format (may hold %) */
	bool has_conv;    /* text holds a % conversion */
};

struct atfh_template {
	struct atfh_tpart *parts;
	size_t n;
	bool uses_time;   /* some part has a % conversion */
	bool uses_fields; /* some part is a data field */
	char *dir;        /* the fixed directory the template starts with ("." if none) */
	char *glob;       /* fnmatch(3) pattern matching every rendered path */
};

/* The data fields of one event (any may be empty). */
struct atfh_tvalues {
	struct atfh_str collection, did, kind, action;
};

/* 0, or -1 with ERR set (unknown {field}, unbalanced brace, empty
 * template, a template ending in `/`, a `..` component). */
int atfh_template_parse(struct atfh_template *t, const char *s, char *err, size_t errn);
void atfh_template_free(struct atfh_template *t);
/* Render into OUT (OUTN bytes) for time T (UTC) and V.  Returns the length,
 * or -1 when the result does not fit, a conversion yields nothing, or a
 * path component is longer than ATFH_TEMPLATE_NAME_MAX. */
int atfh_template_render(const struct atfh_template *t, time_t when,
			 const struct atfh_tvalues *v, char *out, size_t outn);
/* Sanitize one data-derived value into OUT (at least
 * ATFH_TEMPLATE_FIELD_MAX + 1 bytes); returns its length (>= 1). */
size_t atfh_template_sanitize(struct atfh_str v, char *out);

#endif
