/*
 * util.c — see util.h.
 */
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Noreturn void atfh_die_oom(void)
{
	fputs("atfh: out of memory\n", stderr);
	exit(ATFH_EXIT_FAIL);
}

void *atfh_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		atfh_die_oom();
	return p;
}

void *atfh_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		atfh_die_oom();
	return p;
}

void *atfh_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		atfh_die_oom();
	return p;
}

char *atfh_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(atfh_xmalloc(n), s, n);
}

size_t atfh_uvarint(const uint8_t *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n && i < 9; i++) {
		v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			if (i > 0 && p[i] == 0)
				return 0; /* not minimal */
			*out = v;
			return i + 1;
		}
	}
	return 0;
}

int atfh_thread_start(pthread_t *tid, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int r = pthread_create(tid, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

void atfh_grow_array(void **buf, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return;
	size_t c = *cap ? *cap : 16;
	while (c < need)
		c *= 2;
	*buf = atfh_xrealloc(*buf, c * size);
	*cap = c;
}

void atfh_strv_push(struct atfh_strv *l, const char *s, size_t n)
{
	atfh_grow_array((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v);
	char *c = atfh_xmalloc(n + 1);
	memcpy(c, s, n);
	c[n] = '\0';
	l->v[l->n++] = c;
}

void atfh_strv_free(struct atfh_strv *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}
