/*
 * input.h — reading events from files or stdin.  Owns the file sequence
 * (`-` or none = stdin), format detection per file (zstd magic → stream
 * decompression and detect again; 0x00 → frames; `{` → NDJSON), framing
 * (4-byte big-endian length records, newline-terminated lines), the
 * --max-frame limit, and the position of every record (file, frame index,
 * byte offset) for error messages.  Before a read that could block on a
 * pipe it calls a hook so output can be flushed, and it waits for input
 * in poll(2) with the timeout another hook gives, so periodic work goes
 * on while the input is quiet.
 */
#ifndef ATFH_INPUT_H
#define ATFH_INPUT_H

#include "atfh.h"
#include <signal.h>
#include <sys/types.h>

/* Set by SIGINT/SIGTERM (atfh_cli_catch_interrupts): reads then end as if
 * the input were over, so the run finishes normally with what it has. */
extern volatile sig_atomic_t atfh_interrupted;

enum atfh_informat {
	ATFH_IN_EMPTY,
	ATFH_IN_FRAMES,
	ATFH_IN_NDJSON,
	ATFH_IN_UNKNOWN,
};

struct atfh_input {
	char *const *files;
	size_t nfiles, next_file;
	const char *name; /* current file, "stdin" for - */
	int fd;
	bool is_reg, zstd, zstd_mid, eof;
	bool ztrunc;       /* the zstd stream ended mid-frame: not yet reported */
	const char *zerr;  /* a zstd error met after the bytes before it: not
			    * yet reported */
	bool to_lines;     /* NDJSON follows frames: read lines from here on */
	off_t size;        /* of a regular file, else -1 */
	off_t base;        /* a regular file's position at offset 0 (stdin
			    * may start anywhere in its file) */
	uint64_t raw_read; /* bytes read from the current file (compressed) */
	uint64_t raw_total;/* over all files */

	uint8_t *buf;      /* decoded bytes [start, end) */
	size_t cap, start, end;
	uint8_t *raw;      /* compressed bytes for zstd */
	size_t raw_cap, raw_pos, raw_end;
	void *zd;          /* ZSTD_DCtx */

	uint64_t offset;   /* byte offset of the current record in the file */
	uint64_t index;    /* 1-based index of the current record */
	uint64_t next_offset;
	size_t max_frame;

	void (*before_block)(void *);
	void *before_block_arg;
	/* called while the input is quiet, before each wait and after each
	 * wake-up (a signal, a deadline): does what is due (timers, signals
	 * that must act while input is idle) and returns how long the next
	 * wait may be in milliseconds, -1 for as long as it takes */
	int (*on_idle)(void *);
	void *on_idle_arg;

	/* when set, atfh_input_error hands its line (with the newline) here
	 * instead of writing stderr (a worker thread's reports, kept in order) */
	void (*report)(void *arg, const char *line);
	void *report_arg;

	char err[256];     /* message of the last -1 */
	bool fatal;        /* the error was I/O, not malformed input */
};

void atfh_input_init(struct atfh_input *in, char *const *files, size_t nfiles,
		     size_t max_frame);
void atfh_input_free(struct atfh_input *in);
/* Open the next file.  1: opened; 0: no more files; -1: could not open
 * (in->err says why; the caller reports it and goes on). */
int atfh_input_next_file(struct atfh_input *in);
/* What the current file holds (reads ahead without consuming). */
enum atfh_informat atfh_input_detect(struct atfh_input *in);
/* Next frame record.  1: P and N hold it (valid until the next call);
 * 0: end of file; -1: malformed record or read error (see err/fatal) —
 * the reader has already skipped past it where that is possible. */
int atfh_input_frame(struct atfh_input *in, const uint8_t **p, size_t *n);
/* Next NDJSON line without its newline; same returns.  Blank lines are
 * skipped. */
int atfh_input_line(struct atfh_input *in, const char **p, size_t *n);
/* NDJSON in blocks of whole lines, for threads to cut into lines
 * themselves (atfh_input_split_line): about WANT bytes (less at the end of
 * the input), up to and with a newline; valid until the next read.
 * in->index moves past its lines (blank ones too, as atfh_input_line
 * counts them).  Plain files only (not zstd).  1 with *P, *N set, 0 at the
 * end, -1 a read error, 2: read the next line with atfh_input_line instead
 * (a line longer than what is buffered, or lines before a read error). */
int atfh_input_lines_block(struct atfh_input *in, const uint8_t **p, size_t *n, size_t want);
/* The same for frames: whole frames (length prefix and record) of the
 * sizes --max-frame allows, about WANT bytes of them, for threads to walk
 * themselves; in->index moves past them.  2: read the next frame with
 * atfh_input_frame (a frame not all read yet, too long, too short). */
int atfh_input_frames_block(struct atfh_input *in, const uint8_t **p, size_t *n, size_t want_n);
/* Take the read buffer (its old capacity in *OLD_CAP), a block from
 * atfh_input_lines_block in it, and go on in BUF (CAP bytes; NULL or too
 * small: freed, a new one made) with what was read past the block: the
 * block is not copied. */
uint8_t *atfh_input_swap_buf(struct atfh_input *in, uint8_t *buf, size_t cap, size_t *old_cap);
/* The next line of a block from atfh_input_lines_block, as atfh_input_line
 * reads it: *POS moves past it and its newline, the line is *LINE, *LEN
 * without "\r\n" or "\n".  0: a blank line (spaces and tabs only), skipped
 * but counted as a line; 1 a line; -1 a line longer than MAX. */
int atfh_input_split_line(const uint8_t *b, size_t n, size_t *pos, size_t max,
			  const uint8_t **line, size_t *len);
/* Plain regular files only (not zstd): go on reading at OFF (a record's
 * start) as record INDEX, what is buffered dropped; threads that read
 * their own parts of the file (pread(2) at base + offset) hand the reader
 * back the position they reached.  0, or -1 with err set. */
int atfh_input_reposition(struct atfh_input *in, uint64_t off, uint64_t index);
/* The same in a regular zstd file: OFF in the decoded stream, which the
 * zstd frame that starts at compressed offset ZOFF (decoded offset UOFF,
 * at most OFF) reaches; decodes from there. */
int atfh_input_reposition_zstd(struct atfh_input *in, uint64_t zoff, uint64_t uoff,
			       uint64_t off, uint64_t index);
/* The newlines in P (N bytes). */
uint64_t atfh_input_count_newlines(const uint8_t *p, size_t n);
/* Size of all regular input files, -1 if any is not one (no progress). */
int64_t atfh_input_total_size(char *const *files, size_t nfiles);

#endif
