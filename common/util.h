/*
 * util.h — small helpers every Tusk process uses: allocation that cannot
 * return NULL, bounded string building, clocks, secret wiping.
 */
#ifndef TUSK_UTIL_H
#define TUSK_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define nitems(a) (sizeof(a) / sizeof((a)[0]))
#ifndef MIN /* GLib defines the same */
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif
#define UNUSED(x) ((void)(x))

/* Allocation: out of memory is fatal for a Tusk process (it is not a
 * peer-controlled condition: every peer-controlled size is bounded first). */
void *xmalloc(size_t n);
/* When nonzero, an allocation failure exits with this status instead of
 * aborting (workers report "out of memory" this way). */
extern int xalloc_exit_status;
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Free a string that held a secret: wipe it first. Accepts NULL. */
void secret_free(char *s);

/* Milliseconds on the monotonic clock. */
int64_t mono_ms(void);
/* Microseconds on the monotonic clock. */
int64_t mono_us(void);
/* Milliseconds since the epoch (wall clock). */
int64_t wall_ms(void);
/* ISO 8601 UTC timestamp with milliseconds into buf (at least 32 bytes). */
void iso8601_utc(int64_t epoch_ms, char *buf, size_t len);

/* A growable byte string. */
struct strbuf {
	char *buf;
	size_t len;
	size_t cap;
};
void sb_init(struct strbuf *sb);
void sb_add(struct strbuf *sb, const void *p, size_t n);
void sb_addc(struct strbuf *sb, char c);
void sb_adds(struct strbuf *sb, const char *s);
void sb_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Detach the NUL-terminated string; the caller owns it. */
char *sb_detach(struct strbuf *sb);
void sb_free(struct strbuf *sb);

/* Parse a whole decimal string (an optional '-', then digits only: no blanks,
 * no '+') into a long long within [min, max]; 0, -EINVAL or -ERANGE. */
int parse_ll(const char *s, long long min, long long max, long long *ret);

/* Close every fd >= lowfd (close_range when the kernel has it). */
void close_from(int lowfd);

#endif
