/*
 * cursor.h — cursor files (DESIGN.md): one decimal number and a newline,
 * the relay seq (or Jetstream time_us) up to which everything is done.
 * Read at start; replaced atomically (a temporary file in the same
 * directory, fsync, rename, fsync of the directory).  What the number may
 * claim is the writer's business: it must already be durable.
 */
#ifndef ATFH_CURSOR_H
#define ATFH_CURSOR_H

#include "atfh.h"

/* 1 with *V set; 0 when PATH does not exist; -1 with ERR set when it
 * cannot be read or does not hold a cursor. */
int atfh_cursor_read(const char *path, int64_t *v, char *err, size_t errn);
/* 0, or -1 with errno set. */
int atfh_cursor_write(const char *path, int64_t v);

#endif
