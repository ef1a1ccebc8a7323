/* filewatch.c — see filewatch.h. */
#include "filewatch.h"

#include <errno.h>

void atfh_filestamp_take(struct atfh_filestamp *s, const char *path)
{
	s->have = stat(path, &s->st) == 0;
	s->err = s->have ? 0 : errno;
}

bool atfh_filestamp_changed(const struct atfh_filestamp *s, const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return s->have || s->err != errno;
	return !s->have || st.st_dev != s->st.st_dev || st.st_ino != s->st.st_ino ||
	       st.st_size != s->st.st_size || st.st_mtim.tv_sec != s->st.st_mtim.tv_sec ||
	       st.st_mtim.tv_nsec != s->st.st_mtim.tv_nsec;
}
