/*
 * cursor.c — see cursor.h.
 */
#include "cursor.h"
#include "outfile.h"
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int atfh_cursor_read(const char *path, int64_t *v, char *err, size_t errn)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errn, "%s", strerror(errno));
		return -1;
	}
	char buf[64];
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errn, "%s", strerror(errno));
			close(fd);
			return -1;
		}
		if (r == 0 || (n += (size_t)r) == sizeof buf - 1)
			break;
	}
	close(fd);
	buf[n] = '\0';
	size_t i = 0;
	while (i < n && (buf[i] == ' ' || buf[i] == '\t'))
		i++;
	size_t start = i;
	uint64_t x = 0;
	while (i < n && buf[i] >= '0' && buf[i] <= '9') {
		if (x > (uint64_t)(INT64_MAX - 9) / 10)
			goto bad;
		x = x * 10 + (uint64_t)(buf[i++] - '0');
	}
	if (i == start)
		goto bad;
	while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	if (i != n)
		goto bad;
	*v = (int64_t)x;
	return 1;
bad:
	snprintf(err, errn, "not a cursor file (it must hold one decimal number)");
	return -1;
}

int atfh_cursor_write(const char *path, int64_t v)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%lld\n", (long long)v);
	if (atfh_write_atomic(path, buf, (size_t)n) < 0)
		return -1;
	/* make the rename itself durable */
	char *dir = strdup(path);
	if (!dir)
		return 0;
	char *slash = strrchr(dir, '/');
	const char *d = ".";
	if (slash == dir)
		d = "/";
	else if (slash) {
		*slash = '\0';
		d = dir;
	}
	int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
	return 0;
}
