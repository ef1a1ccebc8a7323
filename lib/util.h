/*
 * util.h — allocation that never returns NULL, varints and small helpers
 * with no better home.
 */
#ifndef ATFH_UTIL_H
#define ATFH_UTIL_H

#include "atfh.h"
#include <pthread.h>

void *atfh_xmalloc(size_t n);
void *atfh_xcalloc(size_t n, size_t size);
void *atfh_xrealloc(void *p, size_t n);
char *atfh_xstrdup(const char *s);
_Noreturn void atfh_die_oom(void);

/* Unsigned LEB128 as used by CIDs and CAR framing.  Returns the number of
 * bytes read, or 0 if the varint is truncated, longer than 9 bytes or not
 * minimally encoded. */
size_t atfh_uvarint(const uint8_t *p, size_t n, uint64_t *out);

/* Grow *buf (of *cap elements of size `size`) to hold at least `need`. */
void atfh_grow_array(void **buf, size_t *cap, size_t need, size_t size);
/* pthread_create with every signal blocked in the new thread: signals
 * stay the calling thread's, whose reads and polls they must wake.
 * 0, or pthread_create's error. */
int atfh_thread_start(pthread_t *tid, void *(*fn)(void *), void *arg);

/* A list of strings in the order given, each a copy the list owns. */
struct atfh_strv {
	char **v;
	size_t n, cap;
};

void atfh_strv_push(struct atfh_strv *l, const char *s, size_t n);
void atfh_strv_free(struct atfh_strv *l);

#endif
