/*
 * atfh.h — the small vocabulary every libatfh module shares: byte spans,
 * exit codes and resource limits.  Modules include this and their own
 * header; tools include the headers of the modules they use.
 */
#ifndef ATFH_H
#define ATFH_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <string.h>

/* Exit statuses (DESIGN.md, atfh(7)). */
enum {
	ATFH_EXIT_OK = 0,
	ATFH_EXIT_NONE = 1,      /* nothing selected (grep) */
	ATFH_EXIT_FAIL = 2,      /* usage, I/O or network failure */
	ATFH_EXIT_MALFORMED = 3, /* malformed input was skipped */
};

/* Resource limits; documented in atfh(7).  Every length read from the wire
 * is checked against the buffer it claims to live in before it is used. */
#define ATFH_MAX_FRAME_DEFAULT (16u << 20) /* bytes per frame record */
#define ATFH_MAX_FRAME_LIMIT   (1u << 30)  /* --max-frame cannot exceed it */
#define ATFH_DIDFILE_LINE_MAX  (1u << 20)  /* a line of a DID file (-D) */
#define ATFH_MAX_DEPTH         128         /* CBOR nesting */
/* JSON may nest deeper than the CBOR it came from: a record at the CBOR
 * limit sits inside an event envelope, and bytes and links become objects.
 * The NDJSON reader must accept everything the programs write. */
#define ATFH_MAX_JSON_DEPTH    (ATFH_MAX_DEPTH + 16)
#define ATFH_MAX_CAR_BLOCKS    100000      /* blocks in one CAR */
#define ATFH_MAX_OPS           10000       /* ops in one commit */
/* The JSON lines of one message: at most this many times its length, plus
 * ATFH_MAX_EXPANSION_SLACK.  Each op's line repeats the commit's DID and
 * rev and may repeat a block other ops share, so without a bound a 16 MiB
 * frame could ask for terabytes; honest commits stay far below it. */
#define ATFH_MAX_EXPANSION       64
#define ATFH_MAX_EXPANSION_SLACK (1u << 20)

/* A view of bytes owned by someone else.  `json` marks the inside of a JSON
 * string literal that is already escaped (it came from NDJSON input). */
struct atfh_str {
	const char *p;
	size_t n;
	bool json;
};

#define ATFH_STR_NULL ((struct atfh_str){ NULL, 0, false })

static inline bool atfh_str_eq(struct atfh_str s, const char *lit, size_t n)
{
	return s.n == n && s.p && memcmp(s.p, lit, n) == 0;
}
#define ATFH_STR_IS(s, lit) atfh_str_eq((s), (lit), sizeof(lit) - 1)

#endif
