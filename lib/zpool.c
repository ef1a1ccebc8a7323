/*
 * zpool.c — see zpool.h.
 */
#include "zpool.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <zstd.h>

struct atfh_zpool {
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	struct atfh_zjob *first, *last; /* queued, oldest first */
	pthread_t *tid;
	unsigned n;
	int level;
	bool quit;
};

static void *worker_main(void *arg)
{
	struct atfh_zpool *z = arg;
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	if (cc) {
		ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, z->level);
		ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
	}
	pthread_mutex_lock(&z->mu);
	for (;;) {
		while (!z->first && !z->quit)
			pthread_cond_wait(&z->work, &z->mu);
		struct atfh_zjob *j = z->first;
		if (!j)
			break;
		z->first = j->next;
		pthread_mutex_unlock(&z->mu);
		size_t bound = ZSTD_compressBound(j->inlen);
		if (j->outcap < bound) {
			free(j->out);
			j->out = atfh_xmalloc(bound);
			j->outcap = bound;
		}
		size_t r = cc ? ZSTD_compress2(cc, j->out, j->outcap, j->in, j->inlen) : 0;
		pthread_mutex_lock(&z->mu);
		j->failed = !cc || ZSTD_isError(r);
		j->outlen = j->failed ? 0 : r;
		j->done = true;
		pthread_cond_broadcast(&z->done);
	}
	pthread_mutex_unlock(&z->mu);
	ZSTD_freeCCtx(cc);
	return NULL;
}

struct atfh_zpool *atfh_zpool_new(unsigned threads, int level)
{
	struct atfh_zpool *z = atfh_xcalloc(1, sizeof *z);
	z->level = level;
	z->tid = atfh_xcalloc(threads, sizeof *z->tid);
	pthread_mutex_init(&z->mu, NULL);
	pthread_cond_init(&z->work, NULL);
	pthread_cond_init(&z->done, NULL);
	for (; z->n < threads; z->n++)
		if (atfh_thread_start(&z->tid[z->n], worker_main, z))
			break;
	if (!z->n) {
		atfh_zpool_free(z);
		return NULL;
	}
	return z;
}

void atfh_zpool_free(struct atfh_zpool *z)
{
	if (!z)
		return;
	pthread_mutex_lock(&z->mu);
	z->quit = true;
	pthread_cond_broadcast(&z->work);
	pthread_mutex_unlock(&z->mu);
	for (unsigned i = 0; i < z->n; i++)
		pthread_join(z->tid[i], NULL);
	pthread_mutex_destroy(&z->mu);
	pthread_cond_destroy(&z->work);
	pthread_cond_destroy(&z->done);
	free(z->tid);
	free(z);
}

/* The oldest frame of S, waited for if WAIT; written and dropped.  1 one
 * was taken, 0 none (ready), -1 a failure. */
static int take_head(struct atfh_zpool *z, struct atfh_zstream *s, bool wait,
		     atfh_zwrite_fn write, void *arg)
{
	if (!s->count)
		return 0;
	struct atfh_zjob *j = &s->job[s->head];
	pthread_mutex_lock(&z->mu);
	while (wait && !j->done)
		pthread_cond_wait(&z->done, &z->mu);
	bool done = j->done;
	pthread_mutex_unlock(&z->mu);
	if (!done)
		return 0;
	s->head = (s->head + 1) % ATFH_ZSTREAM_DEPTH;
	s->count--;
	if (j->failed || (write && write(arg, j->out, j->outlen)))
		return -1;
	return 1;
}

int atfh_zstream_put(struct atfh_zpool *z, struct atfh_zstream *s, uint8_t **in, size_t *n,
		     size_t *cap, atfh_zwrite_fn write, void *arg)
{
	if (s->count == ATFH_ZSTREAM_DEPTH && take_head(z, s, true, write, arg) < 0)
		return -1;
	struct atfh_zjob *j = &s->job[(s->head + s->count) % ATFH_ZSTREAM_DEPTH];
	/* the job's old input buffer is the next one to fill */
	uint8_t *spare = j->in;
	size_t spare_cap = j->incap;
	j->in = *in;
	j->incap = *cap;
	j->inlen = *n;
	j->done = j->failed = false;
	j->next = NULL;
	*in = spare ? spare : atfh_xmalloc(*cap);
	*cap = spare ? spare_cap : *cap;
	*n = 0;
	s->count++;
	pthread_mutex_lock(&z->mu);
	if (z->last && z->first)
		z->last->next = j;
	else
		z->first = j;
	z->last = j;
	pthread_cond_signal(&z->work);
	pthread_mutex_unlock(&z->mu);
	int r;
	while ((r = take_head(z, s, false, write, arg)) > 0)
		;
	return r;
}

int atfh_zstream_flush(struct atfh_zpool *z, struct atfh_zstream *s, atfh_zwrite_fn write,
		       void *arg)
{
	int r;
	while ((r = take_head(z, s, true, write, arg)) > 0)
		;
	return r;
}

void atfh_zstream_free(struct atfh_zpool *z, struct atfh_zstream *s)
{
	while (s->count)
		take_head(z, s, true, NULL, NULL);
	for (unsigned i = 0; i < ATFH_ZSTREAM_DEPTH; i++) {
		free(s->job[i].in);
		free(s->job[i].out);
	}
	memset(s, 0, sizeof *s);
}
