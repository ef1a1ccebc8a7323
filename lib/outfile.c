/*
 * outfile.c — see outfile.h.
 */
#include "outfile.h"
#include "cli.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int atfh_outfile_open(struct atfh_outfile *f, struct atfh_out *o, const char *path)
{
	memset(f, 0, sizeof *f);
	if (!path || strcmp(path, "-") == 0) {
		atfh_out_init(o, STDOUT_FILENO, "stdout");
		return 0;
	}
	size_t n = strlen(path) + 32;
	f->path = atfh_xstrdup(path);
	f->tmp = atfh_xmalloc(n);
	snprintf(f->tmp, n, "%s.tmp.%ld", path, (long)getpid());
	int fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0) {
		atfh_err("%s: %s", path, strerror(errno));
		free(f->path);
		free(f->tmp);
		return -1;
	}
	atfh_out_init(o, fd, f->path);
	return 0;
}

int atfh_outfile_close(struct atfh_outfile *f, struct atfh_out *o)
{
	int rc = 0;
	if (!f->path)
		return atfh_out_flush(o) < 0 && o->error ? -1 : 0;
	if (atfh_out_flush(o) < 0 || fsync(o->fd) < 0) {
		if (!o->error)
			o->error = errno;
	}
	if (close(o->fd) < 0 && !o->error)
		o->error = errno;
	o->fd = -1;
	if (o->error) {
		atfh_err("%s: %s", f->path, strerror(o->error));
		unlink(f->tmp);
		rc = -1;
	} else if (rename(f->tmp, f->path) < 0) {
		atfh_err("%s: %s", f->path, strerror(errno));
		unlink(f->tmp);
		rc = -1;
	}
	free(f->path);
	free(f->tmp);
	f->path = f->tmp = NULL;
	return rc;
}
