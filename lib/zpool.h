/*
 * zpool.h — zstd frames compressed on worker threads and handed back in
 * order.  A stream (one output file) hands over its input a frame at a
 * time; any free thread of the pool compresses it as one whole frame
 * (with its content size and a checksum), and the stream takes the
 * frames back in the order given.  Frames are independent, so two
 * threads compress two frames of one file at once, and a reader
 * decompresses them at once too (lib/zparts): unlike libzstd's own
 * threads, whose frame must end before the next can start.
 */
#ifndef ATFH_ZPOOL_H
#define ATFH_ZPOOL_H

#include "atfh.h"

#define ATFH_ZSTREAM_DEPTH 4 /* frames of a stream in flight */

struct atfh_zpool;

struct atfh_zjob {
	uint8_t *in, *out;
	size_t inlen, incap, outlen, outcap;
	bool done, failed;
	struct atfh_zjob *next;   /* in the pool's queue */
};

struct atfh_zstream {
	struct atfh_zjob job[ATFH_ZSTREAM_DEPTH];
	unsigned head, count;
};

/* What a stream's frames are written with: 0, or -1 (the stream fails). */
typedef int (*atfh_zwrite_fn)(void *arg, const void *p, size_t n);

/* THREADS threads compressing at LEVEL; NULL when none can be started
 * (the caller compresses itself). */
struct atfh_zpool *atfh_zpool_new(unsigned threads, int level);
void atfh_zpool_free(struct atfh_zpool *z);

/* Hand over *IN (*N bytes, a buffer of *CAP) as the stream's next frame;
 * *IN becomes an empty buffer to fill next (*N 0).  Frames done at the
 * head are written (WRITE, ARG) on the way, the oldest waited for when
 * DEPTH are in flight.  0, or -1 if a write or a compression failed. */
int atfh_zstream_put(struct atfh_zpool *z, struct atfh_zstream *s, uint8_t **in, size_t *n,
		     size_t *cap, atfh_zwrite_fn write, void *arg);
/* Every frame in flight waited for and written, in order.  0 or -1. */
int atfh_zstream_flush(struct atfh_zpool *z, struct atfh_zstream *s, atfh_zwrite_fn write,
		       void *arg);
/* Frames in flight waited for and dropped; the buffers freed. */
void atfh_zstream_free(struct atfh_zpool *z, struct atfh_zstream *s);

#endif
