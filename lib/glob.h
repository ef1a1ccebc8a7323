/*
 * glob.h — shell patterns for collection NSIDs (-c 'app.bsky.feed.*'):
 * compiled once, matched bytewise on the hot path without copying the
 * name into a NUL-terminated buffer.  The language is fnmatch(3)'s with
 * flags 0 in the C locale: `*` (also across dots and slashes), `?`, `\x`,
 * bracket expressions with ranges, `!`/`^` negation and the POSIX classes.
 * A pattern fnmatch would read in a surprising way (an unterminated `[`, a
 * trailing `\`, `\` inside brackets, an unknown class, a reversed range)
 * is refused with a message rather than silently matching nothing.
 */
#ifndef ATFH_GLOB_H
#define ATFH_GLOB_H

#include "atfh.h"

struct atfh_glob_tok;

struct atfh_glob {
	struct atfh_glob_tok *tok;
	size_t ntok;
	const char *text;  /* the pattern as given (for messages) */
	bool literal;      /* no wildcard at all: a plain compare */
	bool has_star;
};

/* Compile PAT.  0, or -1 with a message in ERR. */
int atfh_glob_compile(struct atfh_glob *g, const char *pat, char *err, size_t errlen);
void atfh_glob_free(struct atfh_glob *g);
bool atfh_glob_match(const struct atfh_glob *g, const char *s, size_t n);

/* A list of globs: does any match? */
struct atfh_globs {
	struct atfh_glob *v;
	size_t n;
};

int atfh_globs_add(struct atfh_globs *l, const char *pat, char *err, size_t errlen);
void atfh_globs_free(struct atfh_globs *l);
bool atfh_globs_any(const struct atfh_globs *l, const char *s, size_t n);

#endif
