/*
 * template.c — see template.h.
 */
#include "template.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

static const struct {
	const char *name;
	enum atfh_tfield f;
} fields[] = {
	{ "collection", ATFH_TF_COLLECTION },
	{ "did", ATFH_TF_DID },
	{ "kind", ATFH_TF_KIND },
	{ "action", ATFH_TF_ACTION },
};

static void add_part(struct atfh_template *t, size_t *cap, enum atfh_tfield f, char *text)
{
	atfh_grow_array((void **)&t->parts, cap, t->n + 1, sizeof *t->parts);
	t->parts[t->n++] = (struct atfh_tpart){ f, text, text && strchr(text, '%') };
}

void atfh_template_free(struct atfh_template *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->parts[i].text);
	free(t->parts);
	free(t->dir);
	free(t->glob);
	memset(t, 0, sizeof *t);
}

/* A `..` or `.` component anywhere in the literal text would let the
 * template itself leave its directory in ways the user did not mean;
 * refuse `..` (absolute paths and `./` are the user's business). */
static bool has_dotdot(const char *s)
{
	for (const char *p = s; (p = strstr(p, "..")); p++) {
		bool start = p == s || p[-1] == '/';
		bool end = p[2] == '\0' || p[2] == '/';
		if (start && end)
			return true;
	}
	return false;
}

int atfh_template_parse(struct atfh_template *t, const char *s, char *err, size_t errn)
{
	memset(t, 0, sizeof *t);
	size_t cap = 0, len = strlen(s);
	if (!len) {
		snprintf(err, errn, "empty template");
		return -1;
	}
	if (s[len - 1] == '/') {
		snprintf(err, errn, "template ends in '/': it must name files");
		return -1;
	}
	if (len >= ATFH_TEMPLATE_PATH_MAX) {
		snprintf(err, errn, "template too long");
		return -1;
	}
	if (has_dotdot(s)) {
		snprintf(err, errn, "template has a '..' component");
		return -1;
	}
	char *lit = atfh_xmalloc(len + 1), *glob = atfh_xmalloc(2 * len + 2);
	size_t ln = 0, gn = 0;
	size_t fixed_end = 0; /* end of the fixed directory prefix */
	bool fixed = true;
	for (size_t i = 0; i < len;) {
		char c = s[i];
		if (c == '{' && i + 1 < len && s[i + 1] == '{') {
			lit[ln++] = '{';
			glob[gn++] = '[';
			glob[gn++] = '{';
			glob[gn++] = ']';
			i += 2;
			continue;
		}
		if (c == '}' && i + 1 < len && s[i + 1] == '}') {
			lit[ln++] = '}';
			glob[gn++] = '}';
			i += 2;
			continue;
		}
		if (c == '}') {
			snprintf(err, errn, "unbalanced '}' at offset %zu (write '}}' for a brace)", i);
			goto fail;
		}
		if (c == '{') {
			const char *close = strchr(s + i, '}');
			size_t k;
			if (!close) {
				snprintf(err, errn, "unclosed '{' at offset %zu", i);
				goto fail;
			}
			size_t nl = (size_t)(close - (s + i + 1));
			for (k = 0; k < sizeof fields / sizeof *fields; k++)
				if (strlen(fields[k].name) == nl && !memcmp(fields[k].name, s + i + 1, nl))
					break;
			if (k == sizeof fields / sizeof *fields) {
				snprintf(err, errn,
					 "unknown field '{%.*s}' (collection, did, kind, action)",
					 (int)(nl > 40 ? 40 : nl), s + i + 1);
				goto fail;
			}
			if (ln) {
				lit[ln] = '\0';
				add_part(t, &cap, ATFH_TF_TEXT, atfh_xstrdup(lit));
				ln = 0;
			}
			add_part(t, &cap, fields[k].f, NULL);
			t->uses_fields = true;
			if (gn == 0 || glob[gn - 1] != '*')
				glob[gn++] = '*';
			fixed = false;
			i = (size_t)(close - s) + 1;
			continue;
		}
		if (c == '%') {
			if (i + 1 < len && s[i + 1] == '%') {
				lit[ln++] = '%';
				lit[ln++] = '%';
				glob[gn++] = '%';
				i += 2;
				continue;
			}
			t->uses_time = true;
			fixed = false;
			if (gn == 0 || glob[gn - 1] != '*')
				glob[gn++] = '*';
			lit[ln++] = c;
			i++;
			/* copy the conversion (with E/O modifiers) whole */
			while (i < len && (s[i] == 'E' || s[i] == 'O'))
				lit[ln++] = s[i++];
			if (i < len)
				lit[ln++] = s[i++];
			continue;
		}
		if (fixed && c == '/')
			fixed_end = i + 1;
		if (c == '*' || c == '?' || c == '[' || c == '\\')
			glob[gn++] = '\\';
		glob[gn++] = c;
		lit[ln++] = c;
		i++;
	}
	if (ln) {
		lit[ln] = '\0';
		add_part(t, &cap, ATFH_TF_TEXT, atfh_xstrdup(lit));
	}
	glob[gn] = '\0';
	free(lit);
	t->glob = glob;
	if (fixed_end > 1) {
		t->dir = atfh_xmalloc(fixed_end);
		memcpy(t->dir, s, fixed_end - 1);
		t->dir[fixed_end - 1] = '\0';
	} else {
		t->dir = atfh_xstrdup(fixed_end ? "/" : ".");
	}
	return 0;
fail:
	free(lit);
	free(glob);
	atfh_template_free(t);
	return -1;
}

static bool safe_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == ':' || c == '+' || c == '@' || c == '=' || c == '-';
}

size_t atfh_template_sanitize(struct atfh_str v, char *out)
{
	size_t n = 0;
	for (size_t i = 0; i < v.n && n < ATFH_TEMPLATE_FIELD_MAX; i++) {
		unsigned char c = (unsigned char)v.p[i];
		if (!safe_byte(c))
			c = '_';
		/* no leading '-' or '.', and never two dots in a row */
		if ((n == 0 && (c == '-' || c == '.')) || (c == '.' && n && out[n - 1] == '.'))
			c = '_';
		out[n++] = (char)c;
	}
	if (!n)
		out[n++] = '_';
	out[n] = '\0';
	return n;
}

int atfh_template_render(const struct atfh_template *t, time_t when,
			 const struct atfh_tvalues *v, char *out, size_t outn)
{
	struct tm tm;
	if (t->uses_time && !gmtime_r(&when, &tm))
		return -1;
	size_t n = 0;
	if (!outn)
		return -1;
	for (size_t i = 0; i < t->n; i++) {
		const struct atfh_tpart *p = &t->parts[i];
		if (p->field == ATFH_TF_TEXT) {
			if (!p->has_conv) {
				size_t l = strlen(p->text);
				if (l >= outn - n)
					return -1;
				memcpy(out + n, p->text, l);
				n += l;
				continue;
			}
			size_t l = strftime(out + n, outn - n, p->text, &tm);
			if (l == 0)
				return -1; /* too long, or a conversion that yields nothing */
			n += l;
			continue;
		}
		struct atfh_str s = p->field == ATFH_TF_COLLECTION ? v->collection
				    : p->field == ATFH_TF_DID	   ? v->did
				    : p->field == ATFH_TF_KIND	   ? v->kind
								   : v->action;
		char buf[ATFH_TEMPLATE_FIELD_MAX + 1];
		size_t l = atfh_template_sanitize(s, buf);
		if (l >= outn - n)
			return -1;
		memcpy(out + n, buf, l);
		n += l;
	}
	out[n] = '\0';
	/* a file name the file system would refuse */
	size_t comp = 0;
	for (size_t i = 0; i < n; i++) {
		comp = out[i] == '/' ? 0 : comp + 1;
		if (comp > ATFH_TEMPLATE_NAME_MAX)
			return -1;
	}
	return (int)n;
}
