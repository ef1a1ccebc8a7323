/*
 * jsonscan_scalar.c — see jsonscan_scalar.h: lib/jsonscan.c again, scalar.
 */
#include "jsonscan_scalar.h"

#define ATFH_JSONSCAN_SCALAR 1
#define atfh_jobj_parse atfh_jobj_parse_scalar
#define atfh_json_check atfh_json_check_scalar
#define atfh_jobj_get atfh_jobj_get_scalar
#define atfh_jarr_next atfh_jarr_next_scalar
#define atfh_jval_unescape atfh_jval_unescape_scalar
#define atfh_jval_i64 atfh_jval_i64_scalar
#include "jsonscan.c"
