/*
 * ack.h — the page's flow-control message, "ack N" (bridge.c): N bytes of
 * the broker's stream processed. Pure parsing, no libsoup, so a unit test
 * can hold it to account.
 */
#ifndef TUSK_GW_ACK_H
#define TUSK_GW_ACK_H

#include <stddef.h>
#include <stdint.h>

/* "ack " and 1 to 19 digits, no sign, no blanks, within int64 (nothing
 * wraps): 0 with *n set, or -1. The text is not NUL-terminated. */
int ack_parse(const char *p, size_t len, uint64_t *n);

#endif
