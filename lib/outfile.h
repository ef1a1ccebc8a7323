/*
 * outfile.h — `-o FILE` done the DESIGN.md way: the output is written to a
 * temporary name in the same directory and renamed over FILE only once it
 * is complete and fsynced, so FILE never holds half a run.  Without -o (or
 * with -o -) it is stdout.
 */
#ifndef ATFH_OUTFILE_H
#define ATFH_OUTFILE_H

#include "out.h"

struct atfh_outfile {
	char *path, *tmp;
};

/* 0, or -1 after reporting why the file cannot be created. */
int atfh_outfile_open(struct atfh_outfile *f, struct atfh_out *o, const char *path);
/* Flush; for a file fsync and rename into place (or remove it after a
 * write error).  0, or -1 after reporting. */
int atfh_outfile_close(struct atfh_outfile *f, struct atfh_out *o);

#endif
