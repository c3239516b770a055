/* dtoa.h — shortest round-trip text of a double, PostgreSQL-style. */
#ifndef TUSK_DTOA_H
#define TUSK_DTOA_H

/* Longest output: "-2.2250738585072014e-308" and a NUL. */
#define DTOA_BUFSIZE 32

/* Write d into out (at least DTOA_BUFSIZE bytes); returns the length.
 * NaN, Infinity and -Infinity are written as PostgreSQL writes them. */
int dtoa_shortest(double d, char *out);

#endif
