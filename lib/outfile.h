/*
 * outfile.h — writing to a named output, the same way in every program
 * (-o FILE, count's snapshot file, --metrics, the cursor file,
 * atfh-subscribe's appended -o):
 *  - a regular file or a path that does not exist yet is replaced
 *    atomically: the output goes to a temporary file created exclusively
 *    (mkostemp, O_EXCL) next to it, with FILE's permission bits (and owner,
 *    where allowed), and is fsynced and renamed over FILE only once it is
 *    complete; after a write error or an interrupted finite run (lib/loop)
 *    it is removed and FILE is untouched;
 *  - a symbolic link is followed: the file it leads to is replaced that way
 *    and the link stays;
 *  - a FIFO, a character or block device or a socket is written in place
 *    (opened, or connected to), never replaced;
 *  - the temporary file is registered with lib/signals, so an exit forced
 *    by a signal removes it too.
 * Without -o (or with -o -) the output is stdout.  A write error is
 * reported once, naming the output, and makes the exit status 2.
 */
#ifndef ATFH_OUTFILE_H
#define ATFH_OUTFILE_H

#include "out.h"

struct atfh_outfile {
	char *path;    /* as given, for messages; NULL: stdout */
	char *target;  /* the file the rename replaces (PATH or a link's end) */
	char *tmp;     /* the temporary file; NULL when PATH is written in place */
	int slot;      /* its lib/signals slot */
};

/* Open the output (NULL or "-": stdout).  0, or -1 after reporting. */
int atfh_outfile_open(struct atfh_outfile *f, struct atfh_out *o, const char *path);
/* The run is over with exit status STATUS: flush, then publish a
 * temporary file (fsync, rename) — unless a write failed or STATUS is
 * 128 + a signal (an interrupted finite run), when it is removed.
 * Reports a write error once.  Returns the exit status: STATUS, or 2
 * after a write error. */
int atfh_outfile_finish(struct atfh_outfile *f, struct atfh_out *o, int status);

/* Open PATH for appending (atfh-subscribe -o): created if missing (then
 * *CREATED is true, so a run that writes nothing can remove it again), links
 * followed; a FIFO, device or socket opened for writing only, and
 * *REGULAR false.  The descriptor, or -1 with errno set. */
int atfh_outfile_append(const char *path, bool *regular, bool *created);

/* Replace PATH with DATA the way -o does (written in place if PATH is a
 * FIFO, device or socket).  0, or -1 with errno set. */
int atfh_write_atomic(const char *path, const char *data, size_t n);

/* Can PATH be written that way?  Creates (and removes) a temporary file
 * next to it.  0, or -1 with errno set. */
int atfh_outfile_check(const char *path);

#endif
