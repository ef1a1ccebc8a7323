/*
 * cli.c — see cli.h.
 */
#include "cli.h"
#include "outfile.h"
#include "stats.h"
#include "util.h"
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

const char *atfh_progname = "atfh";

/* Every message on stderr goes through here: text from the input (a DID
 * file line, a file name, a field value) may hold control characters, and
 * an ESC sequence must not reach the terminal as is.  Bytes below 0x20 and
 * DEL are written as \xHH; everything else (UTF-8 included) as it is. */
static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

void atfh_err(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: ", atfh_progname);
	put_escaped(stderr, buf);
	fputc('\n', stderr);
}

int atfh_common_option(const struct atfh_common_opts *c, int id, const char *arg)
{
	uint64_t v;
	switch (id) {
	case ATFH_OPT_STRICT:
		*c->strict = true;
		return 1;
	case ATFH_OPT_QUIET:
		*c->quiet = true;
		return 1;
	case ATFH_OPT_STATS:
		c->stats->print_at_end = true;
		return 1;
	case ATFH_OPT_STATS_INTERVAL:
		if (atfh_parse_duration_ms(arg, &v) || v == 0) {
			atfh_err("--stats-interval: '%s' is not a duration (e.g. 10s, 500ms, 1m)", arg);
			return -1;
		}
		c->stats->interval_ms = v;
		return 1;
	case ATFH_OPT_METRICS:
		if (atfh_outfile_check(arg) < 0) { /* now, not at the first write */
			atfh_err("--metrics: %s: %s", arg, strerror(errno));
			return -1;
		}
		c->stats->metrics_path = arg;
		return 1;
	case ATFH_OPT_MAX_FRAME:
		if (atfh_parse_size(arg, &v) || v < 16 || v > ATFH_MAX_FRAME_LIMIT) {
			atfh_err("--max-frame: '%s' is not a size between 16 and 1G", arg);
			return -1;
		}
		*c->max_frame = (size_t)v;
		return 1;
	}
	return 0;
}

void atfh_input_error(const struct atfh_input *in, bool lines, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	char *mem = NULL;
	size_t memlen = 0;
	FILE *f = in->report ? open_memstream(&mem, &memlen) : stderr;
	if (!f)
		f = stderr;
	fprintf(f, "%s: ", atfh_progname);
	put_escaped(f, in->name);
	fprintf(f, ": %s %llu (byte %llu): ", lines ? "line" : "frame",
		(unsigned long long)in->index, (unsigned long long)in->offset);
	put_escaped(f, buf);
	fputc('\n', f);
	if (f != stderr) {
		fclose(f);
		in->report(in->report_arg, mem);
		free(mem);
	}
}

_Noreturn void atfh_usage_error(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: ", atfh_progname);
	put_escaped(stderr, buf);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", atfh_progname);
	exit(ATFH_EXIT_FAIL);
}

/* "  -o, --output=FILE   help" with the help column at 28, wrapped at 79 */
void atfh_cli_help(const struct atfh_program *prog, FILE *f)
{
	fprintf(f, "Usage: %s [OPTION]... %s\n%s\n\n", prog->name, prog->args, prog->summary);
	for (const struct atfh_option *o = prog->options; o->name; o++) {
		char left[64];
		int n;
		if (o->id > 0 && o->id < 256)
			n = snprintf(left, sizeof left, "  -%c, --%s", o->id, o->name);
		else
			n = snprintf(left, sizeof left, "      --%s", o->name);
		if (o->arg && n > 0 && (size_t)n < sizeof left)
			snprintf(left + n, sizeof left - (size_t)n, "=%s", o->arg);
		if (strlen(left) > 26)
			fprintf(f, "%s\n%28s", left, "");
		else
			fprintf(f, "%-28s", left);
		/* wrap the help text at word boundaries */
		const char *h = o->help;
		int col = 28;
		while (*h) {
			const char *w = h;
			while (*w && *w != ' ')
				w++;
			int wl = (int)(w - h);
			if (col > 28 && col + 1 + wl > 79) {
				fprintf(f, "\n%28s", "");
				col = 28;
			} else if (col > 28) {
				fputc(' ', f);
				col++;
			}
			fwrite(h, 1, (size_t)wl, f);
			col += wl;
			h = *w ? w + 1 : w;
		}
		fputc('\n', f);
	}
	if (prog->epilog)
		fprintf(f, "\n%s", prog->epilog);
	fprintf(f, "\nSee %s(1) and atfh(7).\n", prog->name);
}

static const char *const type_names[] = {
	"flag", "file", "choice", "number", "size", "duration", "string",
};

/* Machine-readable option list: short, long, metavar, type, choices, help. */
static void list_options(const struct atfh_program *prog)
{
	for (const struct atfh_option *o = prog->options; o->name; o++) {
		printf("%c\t%s\t%s\t%s\t", o->id > 0 && o->id < 256 ? o->id : '-', o->name,
		       o->arg ? o->arg : "-", type_names[o->type]);
		if (o->choices)
			for (const char *const *c = o->choices; *c; c++)
				printf("%s%s", c == o->choices ? "" : " ", *c);
		else
			putchar('-');
		printf("\t%s\n", o->help);
	}
}

/* Length of the long option getopt has just stopped at (`--name` up to any
 * `=`), 0 if that was not a long option. */
static int typed_long(char **argv, int optind_now)
{
	const char *a = optind_now > 0 ? argv[optind_now - 1] : NULL;
	if (!a || a[0] != '-' || a[1] != '-' || !a[2])
		return 0;
	size_t n = strcspn(a, "=");
	return n > 200 ? 200 : (int)n;
}

int atfh_cli_parse(const struct atfh_program *prog, int argc, char **argv,
		   int (*handle)(int id, const char *arg, void *ctx), void *ctx)
{
	enum { MAX_OPTIONS = 64 };
	struct option lo[MAX_OPTIONS + 2];
	char shorts[MAX_OPTIONS * 2 + 2];
	size_t n = 0, si = 0;
	for (const struct atfh_option *o = prog->options; o->name; o++)
		n++;
	if (n > MAX_OPTIONS) {
		fprintf(stderr, "%s: option table larger than %d\n", prog->name, MAX_OPTIONS);
		abort();
	}
	memset(lo, 0, sizeof lo);
	shorts[si++] = ':';
	for (size_t i = 0; i < n; i++) {
		const struct atfh_option *o = &prog->options[i];
		lo[i] = (struct option){ o->name, o->arg ? required_argument : no_argument, NULL, o->id };
		if (o->id > 0 && o->id < 256) {
			shorts[si++] = (char)o->id;
			if (o->arg)
				shorts[si++] = ':';
		}
	}
	shorts[si] = '\0';
	lo[n] = (struct option){ "list-options", no_argument, NULL, ATFH_OPT_LIST_OPTIONS };

	atfh_progname = prog->name;
	opterr = 0;
	int c, li, prev = optind;
	/* a long option always moves optind on; an error inside a cluster of
	 * short options (-qx) does not, and argv[optind - 1] is then older */
#define TYPED_LONG() (optind > prev ? typed_long(argv, optind) : 0)
	while ((c = getopt_long(argc, argv, shorts, lo, &li)) != -1) {
		switch (c) {
		case ATFH_OPT_HELP:
			atfh_cli_help(prog, stdout);
			exit(0);
		case ATFH_OPT_VERSION:
			printf("%s (atfh) %s\n", prog->name, PACKAGE_VERSION);
			exit(0);
		case ATFH_OPT_LIST_OPTIONS:
			list_options(prog);
			exit(0);
		case '?':
			if (TYPED_LONG())
				atfh_usage_error("%s '%.*s'",
						 optopt ? "option takes no value:" : "unknown option",
						 TYPED_LONG(), argv[optind - 1]);
			if (optopt && optopt < 256)
				atfh_usage_error("unknown option '-%c'", optopt);
			atfh_usage_error("unknown option '%s'", argv[optind - 1]);
		case ':':
			if (TYPED_LONG()) /* name it as typed, not by its short form */
				atfh_usage_error("option '%.*s' needs a value", TYPED_LONG(),
						 argv[optind - 1]);
			if (optopt && optopt < 256)
				atfh_usage_error("option '-%c' needs a value", optopt);
			atfh_usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			if (handle(c, optarg, ctx)) {
				fprintf(stderr, "Try '%s --help' for more information.\n", prog->name);
				exit(ATFH_EXIT_FAIL);
			}
		}
		prev = optind;
	}
#undef TYPED_LONG
	return optind;
}

int atfh_parse_uint(const char *s, uint64_t *out)
{
	char *end;
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/* The decimal digits S starts with (no sign, no space), and where they
 * end; -1 when there are none or they overflow. */
static int leading_uint(const char *s, unsigned long long *v, char **end)
{
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, end, 10);
	return errno ? -1 : 0;
}

static int scaled(const char *s, uint64_t *out, const char *const *units,
		  const uint64_t *mult, size_t nunits)
{
	char *end;
	unsigned long long v;
	if (leading_uint(s, &v, &end))
		return -1;
	for (size_t i = 0; i < nunits; i++) {
		if (strcmp(end, units[i]) == 0) {
			if (mult[i] && v > UINT64_MAX / mult[i])
				return -1;
			*out = v * mult[i];
			return 0;
		}
	}
	return -1;
}

int atfh_parse_size(const char *s, uint64_t *out)
{
	static const char *const u[] = { "", "k", "K", "KiB", "m", "M", "MiB", "g", "G", "GiB" };
	static const uint64_t m[] = { 1, 1 << 10, 1 << 10, 1 << 10, 1 << 20, 1 << 20,
				      1 << 20, 1 << 30, 1 << 30, 1 << 30 };
	return scaled(s, out, u, m, sizeof u / sizeof u[0]);
}

/* A number with an optional fraction (2.5s, 0.25h, 1.5ms → 2 ms) and a
 * unit, rounded to the nearest millisecond. */
int atfh_parse_duration_ms(const char *s, uint64_t *ms)
{
	static const char *const u[] = { "ms", "", "s", "m", "h", "d" };
	static const uint64_t m[] = { 1, 1000, 1000, 60000, 3600000, 86400000 };
	char *end;
	unsigned long long v;
	if (leading_uint(s, &v, &end))
		return -1;
	uint64_t frac = 0, scale = 1; /* fraction = frac / scale */
	if (*end == '.') {
		end++;
		if (*end < '0' || *end > '9')
			return -1;
		for (; *end >= '0' && *end <= '9'; end++)
			if (scale < 1000000000) { /* digits past 1e-9 cannot matter */
				frac = frac * 10 + (uint64_t)(*end - '0');
				scale *= 10;
			}
	}
	for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
		if (strcmp(end, u[i]) != 0)
			continue;
		if (v > UINT64_MAX / m[i])
			return -1;
		uint64_t whole = v * m[i];
		/* frac < scale ≤ 1e9 and m ≤ 8.64e7: the product fits */
		uint64_t part = (frac * m[i] + scale / 2) / scale;
		if (whole > UINT64_MAX - part)
			return -1;
		*ms = whole + part;
		return 0;
	}
	return -1;
}

void atfh_refuse_tty(int fd, const char *hint)
{
	if (isatty(fd)) {
		atfh_err("refusing to write binary frames to a terminal");
		fprintf(stderr, "%s: %s\n", atfh_progname, hint);
		exit(ATFH_EXIT_FAIL);
	}
}
