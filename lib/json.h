/*
 * json.h — JSON output primitives on top of atfh_out.  Owns RFC 8259
 * string escaping with UTF-8 validation (invalid bytes never reach the
 * output: they become U+FFFD and are reported to the caller), exact
 * integers and the atproto `$bytes` base64 form.
 */
#ifndef ATFH_JSON_H
#define ATFH_JSON_H

#include "out.h"

/* Write S as a JSON string literal.  Returns the number of invalid UTF-8
 * sequences replaced by \ufffd (0 for valid input). */
size_t atfh_json_str(struct atfh_out *o, const char *s, size_t n);
/* Write an atfh_str: copied as is when it is already escaped JSON. */
size_t atfh_json_astr(struct atfh_out *o, struct atfh_str s);
/* Write the inside of a string literal (no quotes), for strings built
 * from several parts such as at:// URIs. */
size_t atfh_json_part(struct atfh_out *o, struct atfh_str s);
/* Check S is valid UTF-8 (no overlongs, surrogates or values > U+10FFFF). */
bool atfh_utf8_valid(const char *s, size_t n);

void atfh_json_i64(struct atfh_out *o, int64_t v);
void atfh_json_u64(struct atfh_out *o, uint64_t v);
/* Standard base64 without padding, as the atproto JSON `$bytes` form. */
void atfh_json_base64(struct atfh_out *o, const uint8_t *p, size_t n);

/* `,"key":` — KEY is a literal that needs no escaping. */
#define atfh_json_key(o, lit) atfh_out_lit((o), "\"" lit "\":")

#endif
