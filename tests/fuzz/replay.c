/*
 * replay.c — runs a fuzz harness over files without libFuzzer, so the
 * regression corpus is replayed by `make check` with the normal compiler
 * (and under ASan/UBSan by `make check-sanitize`).  Prints TAP.
 */
#include "fuzz.h"

#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

static int n;

static void one(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		printf("not ok 1 - %s: cannot open\n1..1\n", path);
		exit(1);
	}
	size_t cap = 1 << 16, len = 0;
	uint8_t *buf = malloc(cap);
	size_t r;
	while ((r = fread(buf + len, 1, cap - len, f)) > 0) {
		len += r;
		if (len == cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, len); /* a finding aborts the run */
	free(buf);
	n++;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			DIR *d = opendir(argv[i]);
			struct dirent *e;
			while (d && (e = readdir(d))) {
				if (e->d_name[0] == '.')
					continue;
				char p[4096];
				snprintf(p, sizeof p, "%s/%s", argv[i], e->d_name);
				one(p);
			}
			if (d)
				closedir(d);
		} else {
			one(argv[i]);
		}
	}
	printf("ok 1 - %s: %d inputs replayed without a finding\n", argv[0], n);
	printf("1..1\n");
	return 0;
}
