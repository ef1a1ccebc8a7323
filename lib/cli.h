/*
 * cli.h — what every program's command line has in common.  Each tool
 * declares ONE option table; from it come getopt parsing, --help, and the
 * hidden --list-options dump that generates the shell completions and
 * checks the man pages (tests/options.test); the options most programs
 * share (--strict, --max-frame, --stats…).  Also error reporting in the
 * DESIGN.md form `atfh-NAME: FILE: frame N (byte B): what is wrong`, number
 * and duration parsing, and the refusal to write binary to a terminal.
 */
#ifndef ATFH_CLI_H
#define ATFH_CLI_H

#include "atfh.h"
#include "input.h"
#include <stdio.h>

enum atfh_argtype {
	ATFH_ARG_NONE,
	ATFH_ARG_FILE,     /* a path: completes file names */
	ATFH_ARG_CHOICE,   /* one of `choices` */
	ATFH_ARG_NUMBER,
	ATFH_ARG_SIZE,     /* 16M, 1G … */
	ATFH_ARG_DURATION, /* 500ms, 10s, 5m, 1h */
	ATFH_ARG_STRING,
};

struct atfh_option {
	int id;              /* short option character, or an id >= 256 */
	const char *name;    /* long name */
	const char *arg;     /* metavariable (FILE, N …), NULL for a flag */
	enum atfh_argtype type;
	const char *const *choices;
	const char *help;
};

struct atfh_program {
	const char *name;    /* atfh-decode */
	const char *args;    /* "[FILE]..." */
	const char *summary; /* one line */
	const struct atfh_option *options; /* ends with {0} */
	const char *epilog;  /* examples etc., may be NULL */
};

/* Ids of the options most programs share. */
enum {
	ATFH_OPT_HELP = 'h',
	ATFH_OPT_VERSION = 'V',
	ATFH_OPT_QUIET = 'q',
	ATFH_OPT_OUTPUT = 'o',
	ATFH_OPT_THREADS = 'T',
	ATFH_OPT_STATS = 256,
	ATFH_OPT_STATS_INTERVAL,
	ATFH_OPT_METRICS,
	ATFH_OPT_STRICT,
	ATFH_OPT_MAX_FRAME,
	ATFH_OPT_LIST_OPTIONS,
	ATFH_OPT_TOOL_FIRST = 300, /* first id free for a tool's own options */
};

#define ATFH_OPTS_OUTPUT_FILE                                                    \
	{ ATFH_OPT_OUTPUT, "output", "FILE", ATFH_ARG_FILE, NULL,                \
	  "write to FILE (completed atomically) instead of stdout" }
#define ATFH_OPTS_COMMON_INPUT                                                   \
	{ ATFH_OPT_STRICT, "strict", NULL, ATFH_ARG_NONE, NULL,                  \
	  "stop at the first malformed record (exit 3)" },                       \
	{ ATFH_OPT_MAX_FRAME, "max-frame", "SIZE", ATFH_ARG_SIZE, NULL,          \
	  "largest record accepted (default 16M)" }
/* -T, for the programs that read in threads (lib/parallel) */
#define ATFH_OPTS_THREADS                                                        \
	{ ATFH_OPT_THREADS, "threads", "N", ATFH_ARG_NUMBER, NULL,               \
	  "N worker threads (default: online CPUs, at most 8); same output" }
#define ATFH_OPTS_COMMON_STATS                                                   \
	{ ATFH_OPT_STATS, "stats", NULL, ATFH_ARG_NONE, NULL,                    \
	  "print counters to stderr at the end" },                               \
	{ ATFH_OPT_STATS_INTERVAL, "stats-interval", "DUR", ATFH_ARG_DURATION,   \
	  NULL, "print counters to stderr every DUR while running" },       \
	{ ATFH_OPT_METRICS, "metrics", "FILE", ATFH_ARG_FILE, NULL,              \
	  "keep Prometheus counters in FILE" },                                  \
	{ ATFH_OPT_QUIET, "quiet", NULL, ATFH_ARG_NONE, NULL,                    \
	  "no progress bar" }
#define ATFH_OPTS_COMMON_END                                                     \
	{ ATFH_OPT_HELP, "help", NULL, ATFH_ARG_NONE, NULL,                      \
	  "show this help and exit" },                                           \
	{ ATFH_OPT_VERSION, "version", NULL, ATFH_ARG_NONE, NULL,                \
	  "show the version and exit" },                                         \
	{ 0, NULL, NULL, 0, NULL, NULL }

extern const char *atfh_progname;

struct atfh_stats;

/* Where the shared options (ATFH_OPTS_COMMON_INPUT, ATFH_OPTS_COMMON_STATS)
 * land: each program keeps these settings in its own structures. */
struct atfh_common_opts {
	bool *strict, *quiet;
	size_t *max_frame;
	struct atfh_stats *stats;
};

/* Handle one of the shared options: 1 if ID was one, 0 if not, -1 on a bad
 * value (reported). */
int atfh_common_option(const struct atfh_common_opts *c, int id, const char *arg);

/* Parse argv; calls HANDLE for every option except --help, --version and
 * --list-options (which print and exit 0).  HANDLE returns 0, or -1 after
 * reporting a bad value.  Returns the index of the first operand; exits 2
 * on a usage error. */
int atfh_cli_parse(const struct atfh_program *prog, int argc, char **argv,
		   int (*handle)(int id, const char *arg, void *ctx), void *ctx);
void atfh_cli_help(const struct atfh_program *prog, FILE *f);
_Noreturn void atfh_usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* "atfh-NAME: msg" on stderr. */
void atfh_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "atfh-NAME: FILE: frame N (byte B): msg" (or "line N") on stderr. */
void atfh_input_error(const struct atfh_input *in, bool lines, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

int atfh_parse_size(const char *s, uint64_t *out);       /* 16M, 4096, 1G */
int atfh_parse_duration_ms(const char *s, uint64_t *ms); /* 500ms, 10s, 5m, 2h, 1d */
int atfh_parse_uint(const char *s, uint64_t *out);

/* Refuse binary output to a terminal (zstd's rule); exits 2 with a hint. */
void atfh_refuse_tty(int fd, const char *hint);
/* What signals do in every program: lib/signals (signals.h). */
void atfh_cli_signals(void);

#endif
