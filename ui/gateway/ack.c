/*
 * ack.c — parsing the page's "ack N" (ack.h).
 */
#include "ack.h"

#include <limits.h>
#include <string.h>

#include "util.h"

/* The longest "ack N": N within int64 has at most 19 digits. */
#define ACK_MAX (4 + 19)

/* "ack N" to N, refusing anything else (ack.h). */
int
ack_parse(const char *p, size_t len, uint64_t *n)
{
	char buf[ACK_MAX + 1];
	long long v;
	if (len < 5 || len > ACK_MAX || memcmp(p, "ack ", 4) != 0 || memchr(p, '\0', len) != NULL)
		return -1;
	memcpy(buf, p + 4, len - 4);
	buf[len - 4] = '\0';
	/* parse_ll refuses blanks, signs other than '-', and overflow */
	if (buf[0] == '-' || parse_ll(buf, 0, LLONG_MAX, &v) < 0)
		return -1;
	*n = (uint64_t)v;
	return 0;
}
