/*
 * fuzz_sqlmask.c — libFuzzer target for the history's password masking
 * (sqlmask.c): any bytes are SQL a client may send. Nothing may crash, leak
 * or read out of bounds; the result is never longer than the input plus
 * the masks put in, and text without "password" and without "://" comes
 * back unchanged. (Masking is not idempotent for every odd quoting: a mask
 * can change how a stray quote after it reads; that costs no secret.)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sqlmask.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Does the buffer hold needle, ignoring case? */
static int
has_ci(const char *s, const char *needle)
{
	size_t n = strlen(needle);
	for (; *s; s++)
		if (strncasecmp(s, needle, n) == 0)
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* SQL reaches the broker as a string without NUL bytes */
	char *sql = malloc(size + 1);
	memcpy(sql, data, size);
	sql[size] = '\0';
	size_t len = strlen(sql), n = 0;
	char *m = sqlmask(sql, len, &n);
	if (strlen(m) > len + n * strlen(SQLMASK_TEXT))
		abort();
	if (!has_ci(sql, "password") && !strstr(sql, "://") && (n != 0 || strcmp(m, sql) != 0))
		abort();
	free(m);
	free(sql);
	return 0;
}
