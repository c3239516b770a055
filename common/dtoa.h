/* dtoa.h — shortest round-trip text of a double, PostgreSQL-style. */
#ifndef TUSK_DTOA_H
#define TUSK_DTOA_H

#include <stdbool.h>
#include <stddef.h>

/* Longest output: "-2.2250738585072014e-308" and a NUL. */
#define DTOA_BUFSIZE 32

/* Write d into out (at least DTOA_BUFSIZE bytes); returns the length.
 * NaN, Infinity and -Infinity are written as PostgreSQL writes them. */
int dtoa_shortest(double d, char *out);
/* The same for a float4 (float32): the fewest digits that read back as the
 * same float, plain below 1e6 as PostgreSQL's float4out writes them. */
int dtoa_shortest_float(float f, char *out);

/* Read PostgreSQL's text of a float8 (len bytes, no NUL needed) exactly
 * as strtod would: false if it is not a plain decimal number whose value
 * the fast path can round exactly (then call strtod). */
bool dtoa_parse_fast(const char *s, size_t len, double *out);

#endif
