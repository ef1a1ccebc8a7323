/*
 * outfile.c — see outfile.h.
 */
#include "outfile.h"
#include "cli.h"
#include "input.h"
#include "signals.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_LINKS 40

/* PATH with its symbolic links followed to the end (which need not exist:
 * a dangling link names the file to create).  NULL with errno. */
static char *follow_links(const char *path)
{
	char *p = atfh_xstrdup(path);
	for (int hops = 0;; hops++) {
		struct stat st;
		if (lstat(p, &st) < 0 || !S_ISLNK(st.st_mode))
			return p;
		char buf[PATH_MAX];
		ssize_t n;
		if (hops == MAX_LINKS) {
			errno = ELOOP;
			n = -1;
		} else {
			n = readlink(p, buf, sizeof buf - 1);
		}
		if (n < 0) {
			int e = errno;
			free(p);
			errno = e;
			return NULL;
		}
		buf[n] = '\0';
		const char *slash = strrchr(p, '/');
		size_t dl = buf[0] != '/' && slash ? (size_t)(slash - p) + 1 : 0;
		char *q = atfh_xmalloc(dl + (size_t)n + 1);
		memcpy(q, p, dl);
		memcpy(q + dl, buf, (size_t)n + 1);
		free(p);
		p = q;
	}
}

enum kind { K_ERROR = -1, K_REPLACE, K_IN_PLACE };

/* How PATH is written.  K_REPLACE: *TARGET (to free) is the file to
 * replace, *EXISTS whether it does, *ST its status then. */
static enum kind classify(const char *path, char **target, struct stat *st, bool *exists)
{
	*target = NULL;
	*exists = false;
	if (stat(path, st) == 0) {
		if (S_ISDIR(st->st_mode)) {
			errno = EISDIR;
			return K_ERROR;
		}
		if (!S_ISREG(st->st_mode))
			return K_IN_PLACE;
	} else if (errno != ENOENT) {
		return K_ERROR;
	}
	if (!(*target = follow_links(path)))
		return K_ERROR;
	*exists = stat(*target, st) == 0;
	return K_REPLACE;
}

/* A FIFO, device or socket, for writing.  NONBLOCK: a FIFO without a
 * reader fails (ENXIO) instead of waiting for one.  -1 with errno. */
static int open_in_place(const char *path, const struct stat *st, bool nonblock)
{
	if (S_ISSOCK(st->st_mode)) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		if (strlen(path) >= sizeof sa.sun_path) {
			errno = ENAMETOOLONG;
			return -1;
		}
		strcpy(sa.sun_path, path);
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
		    shutdown(fd, SHUT_RD) < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		return fd;
	}
	for (;;) { /* a FIFO waits for its reader */
		int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC | (nonblock ? O_NONBLOCK : 0));
		if (fd >= 0 && nonblock)
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		if (fd >= 0 || errno != EINTR || atfh_interrupted)
			return fd;
	}
}

/* An exclusive temporary file next to TARGET with the permission bits
 * (and owner) of the file it will replace.  Its descriptor with *TMP (to
 * free), or -1 with errno. */
static int make_temp(const char *target, const struct stat *st, bool exists, char **tmp)
{
	const char *slash = strrchr(target, '/');
	size_t dl = slash ? (size_t)(slash - target) + 1 : 0;
	const char *base = target + dl;
	int bl = (int)(strlen(base) > 200 ? 200 : strlen(base)); /* within NAME_MAX */
	size_t n = dl + (size_t)bl + 16;
	*tmp = atfh_xmalloc(n);
	snprintf(*tmp, n, "%.*s.%.*s.XXXXXX", (int)dl, target, bl, base);
	int fd = mkostemp(*tmp, O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		free(*tmp);
		*tmp = NULL;
		errno = e;
		return -1;
	}
	mode_t mode;
	if (exists) {
		if (fchown(fd, st->st_uid, st->st_gid) < 0) { /* not ours to give: keep ours */
		}
		mode = st->st_mode & 07777;
	} else {
		mode_t mask = umask(0);
		umask(mask);
		mode = 0666 & ~mask;
	}
	if (fchmod(fd, mode) < 0) {
		int e = errno;
		close(fd);
		unlink(*tmp);
		free(*tmp);
		*tmp = NULL;
		errno = e;
		return -1;
	}
	return fd;
}

int atfh_outfile_open(struct atfh_outfile *f, struct atfh_out *o, const char *path)
{
	memset(f, 0, sizeof *f);
	f->slot = -1;
	if (!path || strcmp(path, "-") == 0) {
		atfh_out_init(o, STDOUT_FILENO, "stdout");
		atfh_signals_set_output(o);
		return 0;
	}
	struct stat st;
	bool exists;
	int fd = -1;
	enum kind k = classify(path, &f->target, &st, &exists);
	if (k == K_IN_PLACE)
		fd = open_in_place(path, &st, false);
	else if (k == K_REPLACE)
		fd = make_temp(f->target, &st, exists, &f->tmp);
	if (fd < 0) {
		atfh_err("%s: %s", path, strerror(errno));
		free(f->target);
		f->target = NULL;
		return -1;
	}
	f->path = atfh_xstrdup(path);
	atfh_out_init(o, fd, f->path);
	if (f->tmp)
		f->slot = atfh_signals_add_temp(f->tmp);
	else
		atfh_signals_set_output(o);
	return 0;
}

int atfh_outfile_finish(struct atfh_outfile *f, struct atfh_out *o, int status)
{
	bool abandon = status >= 128; /* interrupted before the end */
	atfh_out_flush(o);
	atfh_signals_set_output(NULL);
	if (!f->path) {
		if (atfh_out_report(o) && status < 128)
			status = ATFH_EXIT_FAIL;
		return status;
	}
	if (f->tmp && !abandon && !o->error && fsync(o->fd) < 0)
		o->error = errno;
	if (close(o->fd) < 0 && !o->error && !abandon && !o->broken_pipe)
		o->error = errno;
	o->fd = -1;
	if (atfh_out_report(o) && status < 128)
		status = ATFH_EXIT_FAIL;
	if (f->tmp) {
		if (o->error || abandon) {
			unlink(f->tmp);
		} else if (rename(f->tmp, f->target) < 0) {
			atfh_err("%s: %s", f->path, strerror(errno));
			unlink(f->tmp);
			status = ATFH_EXIT_FAIL;
		}
		atfh_signals_drop_temp(f->slot);
	}
	free(f->path);
	free(f->target);
	free(f->tmp);
	f->path = f->target = f->tmp = NULL;
	return status;
}

int atfh_outfile_append(const char *path, bool *regular, bool *created)
{
	struct stat st;
	*regular = *created = false;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode)) {
			errno = EISDIR;
			return -1;
		}
		return open_in_place(path, &st, false);
	}
	*regular = true;
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0666);
	if (fd >= 0) {
		*created = true;
		return fd;
	}
	if (errno != EEXIST)
		return -1;
	return open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
}

static int write_all(int fd, const char *data, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t w = write(fd, data + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		done += (size_t)w;
	}
	return 0;
}

int atfh_write_atomic(const char *path, const char *data, size_t n)
{
	struct stat st;
	bool exists;
	char *target, *tmp = NULL;
	enum kind k = classify(path, &target, &st, &exists);
	if (k == K_ERROR)
		return -1;
	if (k == K_IN_PLACE) { /* never wait here for a FIFO's reader */
		int fd = open_in_place(path, &st, true);
		if (fd < 0)
			return -1;
		int rc = write_all(fd, data, n);
		int e = errno;
		close(fd);
		errno = e;
		return rc;
	}
	int fd = make_temp(target, &st, exists, &tmp);
	if (fd < 0) {
		int e = errno;
		free(target);
		errno = e;
		return -1;
	}
	int slot = atfh_signals_add_temp(tmp);
	int rc = write_all(fd, data, n) < 0 || fsync(fd) < 0 ? -1 : 0;
	int e = errno;
	if (close(fd) < 0 && rc == 0) {
		rc = -1;
		e = errno;
	}
	if (rc == 0 && rename(tmp, target) < 0) {
		rc = -1;
		e = errno;
	}
	if (rc < 0)
		unlink(tmp);
	atfh_signals_drop_temp(slot);
	free(tmp);
	free(target);
	errno = e;
	return rc;
}

int atfh_outfile_check(const char *path)
{
	struct stat st;
	bool exists;
	char *target, *tmp = NULL;
	enum kind k = classify(path, &target, &st, &exists);
	if (k != K_REPLACE)
		return k == K_ERROR ? -1 : 0;
	int fd = make_temp(target, &st, exists, &tmp);
	int e = errno;
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(tmp);
	free(target);
	errno = e;
	return fd < 0 ? -1 : 0;
}
