/*
 * splitter.h — atfh-split's files: events appended to files keyed by their
 * rendered name, written as `NAME.part` and completed when the name
 * changes, a size / event / age limit is reached, the least recently used
 * file must make room (--max-open), or the caller says so (SIGHUP, the
 * end).  Completing is batched: finished files wait (data flushed,
 * writeback started) until a batch is full or the caller settles them;
 * then one round makes them durable (fsync each), lets the caller record
 * its cursor, links each to NAME (never replacing a file), fsyncs each
 * directory once, prints each NAME, and only then removes each `.part`
 * name, so a run killed before the print leaves a `.part` that is the
 * same file as NAME and the next start prints NAME again.  A bucket that
 * needs several files numbers them before the extension (`13.ndjson.zst`,
 * `13.1.ndjson.zst`).  `.zst` names are written through a streaming zstd
 * compressor (worker threads for the first two open at once, where libzstd has
 * them).
 * Also owns records held back until their position is whole (the lines
 * of one commit), checkpoints (every file made durable, so a cursor may
 * name what was written so far) and the recovery of `.part` files a
 * killed run left behind (a torn last record cut, and with a cursor
 * everything after the last event at or before it), read as a stream.
 */
#ifndef ATFH_SPLITTER_H
#define ATFH_SPLITTER_H

#include "atfh.h"
#include "out.h"
#include "template.h"

#include <stdio.h>

struct atfh_sfile;

struct atfh_splitter {
	/* settings */
	const struct atfh_template *tpl;
	uint64_t max_bytes, max_events, max_age_ms; /* 0 = no limit */
	size_t max_open;
	int level;                 /* zstd level */
	FILE *done;                /* completed paths, one a line */
	size_t max_record;         /* recovery: longest record (--max-frame) */
	/* called when every record written so far is in fsynced files, before
	 * finished files get their names: the caller records its cursor, so no
	 * completed file ever holds events past the cursor file.  0 or -1
	 * after reporting (the files then stay .part) */
	int (*durable)(struct atfh_splitter *s, void *arg);
	void *arg;

	/* state */
	struct atfh_sfile **open;  /* the open files, unordered */
	size_t nopen;
	struct atfh_sfile **bucket; /* hash chains by key */
	size_t nbucket;
	struct atfh_sfile *last;   /* the file the previous event went to */
	struct atfh_sfile **closing; /* finished, waiting for the next round */
	size_t nclosing;
	uint64_t closing_ms;       /* when the oldest of them was finished */
	unsigned nmt;              /* open files compressed by worker threads */
	int zworkers;              /* threads compressing them */
	struct atfh_zpool *zpool;  /* those threads */
	/* held records: NUL-terminated name then record, back to back */
	char *hbuf;
	size_t hlen, hcap, nheld;
	uint64_t tick;
	uint64_t now_ms;           /* the clock of the last write or expire */
	uint64_t completed;        /* files completed */
	bool dirty;                /* written since the last checkpoint */
	bool failed;               /* a write error was reported: stop */
};

void atfh_splitter_init(struct atfh_splitter *s);
/* Append record P (N bytes; a frame gets its 4-byte length, a line its
 * newline) to the file named NAME.  NOW_MS is a monotonic clock for
 * --max-age.  SAME_GROUP: the record shares its position with the one
 * before (the lines of one commit), so no limit starts a new file before
 * it.  0, or -1 after reporting a write error (s->failed). */
int atfh_splitter_write(struct atfh_splitter *s, const char *name, bool frames,
			const void *p, size_t n, uint64_t now_ms, bool same_group);
/* Hold line P (N bytes, no newline) for the file NAME until the caller
 * knows its position is whole; atfh_splitter_release writes the held lines
 * (as one group no limit splits), atfh_splitter_drop forgets them. */
void atfh_splitter_hold(struct atfh_splitter *s, const char *name, const void *p, size_t n);
int atfh_splitter_release(struct atfh_splitter *s, uint64_t now_ms);
void atfh_splitter_drop(struct atfh_splitter *s);
/* After the caller has taken note of the record just written: complete
 * its file when it reached --max-events or --max-bytes.  0 or -1. */
int atfh_splitter_rotate(struct atfh_splitter *s);
/* Complete the files older than --max-age; returns how many ms until the
 * next one is due (-1: none), or -2 after a write error. */
int64_t atfh_splitter_expire(struct atfh_splitter *s, uint64_t now_ms);
/* Make every open and finished file durable (flush, zstd flush, fsync),
 * call durable(), then complete the finished files.  0 or -1. */
int atfh_splitter_checkpoint(struct atfh_splitter *s);
/* Complete the finished files (a checkpoint when durable is set). */
int atfh_splitter_settle(struct atfh_splitter *s);
/* Complete every open file.  0 or -1. */
int atfh_splitter_complete_all(struct atfh_splitter *s);
/* Drop every open file without completing it (after a failure). */
void atfh_splitter_free(struct atfh_splitter *s);

/* `.part` files of the template's directory left by an earlier run.  With
 * ACT false they are only reported; else a `.part` that is already linked
 * to its completed name (killed before the print) has that name printed
 * again and goes; any other is completed: cut after its last complete
 * record, and with HAS_CURSOR after its last event at or before CURSOR
 * (an empty result is removed).  Read as a stream: memory is bounded by
 * max_record, not the file.  Returns the number found, or -1 after
 * reporting an I/O error. */
long atfh_splitter_recover(struct atfh_splitter *s, bool act, bool has_cursor, int64_t cursor);

/* The position of one record (a frame's seq; a line's seq, else cursor,
 * else time_us): true when it has one. */
bool atfh_record_pos(bool frames, const void *p, size_t n, int64_t *pos);

#endif
