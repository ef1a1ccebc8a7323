/*
 * replay.h — a saved capture standing in for a live feed (--replay): its
 * frames are handed to the firehose's write callback paced by their event
 * time (SPEED times real time, 0 = as fast as possible), with the same
 * rules of position as a live subscription (frames at or before the cursor
 * are skipped) and the input conventions of every atfh program (zstd or
 * plain, malformed records reported with their position and skipped).
 */
#ifndef ATFH_REPLAY_H
#define ATFH_REPLAY_H

#include "firehose.h"

/* Returns the exit status (ATFH_EXIT_OK, _FAIL, or _MALFORMED under
 * f->strict).  *RAW_READ follows the bytes read from PATH, for a progress
 * bar. */
int atfh_replay_run(struct atfh_firehose *f, const char *path, double speed, size_t max_frame,
		    volatile uint64_t *raw_read);

#endif
