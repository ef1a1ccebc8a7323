/*
 * fuzz_connstr — Event Hubs connection strings (lib/connstr.c): never a
 * crash; on success the bootstrap is HOST:9093 with a host from the
 * Endpoint, and every message is a NUL-terminated string.
 */
#include "connstr.h"
#include "fuzz.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct atfh_connstr c;
	char err[256];
	err[0] = 0;
	if (atfh_connstr_parse(&c, (const char *)data, size, err, sizeof err) == 0) {
		size_t n = strnlen(c.bootstrap, sizeof c.bootstrap);
		if (n < 6 || n >= sizeof c.bootstrap || strcmp(c.bootstrap + n - 5, ":9093"))
			__builtin_trap();
		if (strnlen(c.topic, sizeof c.topic) >= sizeof c.topic)
			__builtin_trap();
		if (!memmem(data, size, "sb://", 5) && !memmem(data, size, "SB://", 5) &&
		    !memmem(data, size, "Sb://", 5) && !memmem(data, size, "sB://", 5))
			__builtin_trap();
	} else if (strnlen(err, sizeof err) == 0 || strnlen(err, sizeof err) >= sizeof err)
		__builtin_trap();
	return 0;
}
