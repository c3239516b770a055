/*
 * log.h — leveled logging for every process.
 *
 * One level check happens before any formatting. Each record is tagged with
 * the process ("tuskd", "worker"), and its text is escaped: control bytes
 * become \xNN, so untrusted text (server messages, SQL, peer input) cannot
 * forge lines. Secrets are never passed to these functions.
 *
 * Where a record goes is the process's choice (log_set_sink): the broker
 * writes daily files (logfile.h), a worker sends records to the broker over
 * its socketpair, the CLI prints to stderr.
 */
#ifndef TUSK_LOG_H
#define TUSK_LOG_H

#include <stdarg.h>

enum tlog_level { TLOG_ERROR = 0, TLOG_WARN, TLOG_INFO, TLOG_DEBUG, TLOG_TRACE };

extern int tlog_level;

/* sink receives the escaped message without a trailing newline. */
typedef void (*tlog_sink_fn)(int level, const char *tag, const char *msg, void *arg);

void log_init(const char *tag);
void log_set_sink(tlog_sink_fn sink, void *arg);
void log_set_level(int level);
const char *log_level_name(int level);
/* Level from its name (error, warn, info, debug, trace), or -1. */
int log_level_parse(const char *name);

void log_emit(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_emitv(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Deliver an already formatted (untrusted) record with another tag. */
void log_forward(int level, const char *tag, const char *msg);

/* Escape control bytes of s into a new string. */
char *log_escape(const char *s);

/* The default sink: "LEVEL tag: msg" on stderr. */
void log_sink_stderr(int level, const char *tag, const char *msg, void *arg);

#define log_error(...) do { if (tlog_level >= TLOG_ERROR) log_emit(TLOG_ERROR, __VA_ARGS__); } while (0)
#define log_warn(...) do { if (tlog_level >= TLOG_WARN) log_emit(TLOG_WARN, __VA_ARGS__); } while (0)
#define log_info(...) do { if (tlog_level >= TLOG_INFO) log_emit(TLOG_INFO, __VA_ARGS__); } while (0)
#define log_debug(...) do { if (tlog_level >= TLOG_DEBUG) log_emit(TLOG_DEBUG, __VA_ARGS__); } while (0)
#define log_trace(...) do { if (tlog_level >= TLOG_TRACE) log_emit(TLOG_TRACE, __VA_ARGS__); } while (0)

/* A broken invariant of this process: log and exit. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
