/*
 * filewatch.h — noticing that a file named on the command line changed
 * since it was last read: edited in place, replaced by a rename, removed,
 * or back again.  grep -D, Tap's and Jetstream's --did-file reload their
 * lists when it says so.  It polls with stat(2) (the callers ask about
 * once a second): that works on every file system and through symlinks,
 * where inotify misses NFS edits and renames of the link's target.
 */
#ifndef ATFH_FILEWATCH_H
#define ATFH_FILEWATCH_H

#include <stdbool.h>
#include <sys/stat.h>

struct atfh_filestamp {
	bool have;  /* stat succeeded: st holds the file as read */
	int err;    /* else its errno, so an unchanged failure is not news */
	struct stat st;
};

/* Note what PATH is now (before reading it). */
void atfh_filestamp_take(struct atfh_filestamp *s, const char *path);
/* Is PATH now different from S: another inode, size or modification
 * time, gone, or failing differently? */
bool atfh_filestamp_changed(const struct atfh_filestamp *s, const char *path);

#endif
