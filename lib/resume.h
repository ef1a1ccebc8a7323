/*
 * resume.h — picking up an output file that an earlier run appended to and
 * may have left mid-write (kill -9, power loss): find the end of its last
 * complete record (a frame, or an NDJSON line), so that a partial one can be
 * cut off, and the position of that record (a frame's seq, a line's
 * time_us), so that a resumed subscription does not write it again.
 *
 * Frames files up to FORWARD_MAX bytes are walked from the start, exactly.
 * Bigger ones are searched backwards from the end: the last complete frame
 * is the last offset where a length prefix is followed by a message that
 * parses (atfh_msg_parse) and ends either at the end of the file or where a
 * partial frame starts that runs past it.  Only the tail is read.
 */
#ifndef ATFH_RESUME_H
#define ATFH_RESUME_H

#include "atfh.h"

struct atfh_resume {
	uint64_t size;  /* of the file as found */
	uint64_t end;   /* just after the last complete record */
	bool has_pos;   /* pos is known */
	int64_t pos;    /* the highest seq (of the whole file when walked from the
			 * start, else of the last frame that has one) / time_us
			 * of the last line */
	uint64_t after_pos; /* frames without a seq (#info...) after the last with one */
	uint64_t *ids;      /* lines: when the last has no "cursor", the identities
			     * (atfh_js_identity) of the last lines that share its
			     * time_us, as far as the window read reaches; caller frees */
	size_t nids;
};

#define ATFH_RESUME_FORWARD_MAX (64u << 20)

/* FD must be readable.  0, or -1 with ERR set (I/O error, or the file is not
 * a frames stream, so appending frames to it would be wrong). */
int atfh_resume_frames(int fd, size_t max_frame, uint64_t forward_max,
		       struct atfh_resume *r, char *err, size_t errn);
/* The same for NDJSON (Jetstream events: the position is the last line's
 * "cursor", else its time_us). */
int atfh_resume_lines(int fd, struct atfh_resume *r, char *err, size_t errn);

#endif
