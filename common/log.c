/*
 * log.c — level check, formatting, escaping and the sink hook (see log.h).
 */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

int tlog_level = TLOG_INFO;

static char log_tag[32] = "tusk";
static tlog_sink_fn log_sink = log_sink_stderr;
static void *log_sink_arg;
static int log_busy; /* a sink that logs must not recurse */

static const char *const level_names[] = { "error", "warn", "info", "debug", "trace" };

/* Name the process in every record. */
void
log_init(const char *tag)
{
	snprintf(log_tag, sizeof log_tag, "%s", tag);
}

/* Send records somewhere else. */
void
log_set_sink(tlog_sink_fn sink, void *arg)
{
	log_sink = sink ? sink : log_sink_stderr;
	log_sink_arg = arg;
}

/* Change the level at run time. */
void
log_set_level(int level)
{
	if (level >= TLOG_ERROR && level <= TLOG_TRACE)
		tlog_level = level;
}

/* A level's name; "info" for a level out of range. */
const char *
log_level_name(int level)
{
	if (level < TLOG_ERROR || level > TLOG_TRACE)
		return "info";
	return level_names[level];
}

int
log_level_parse(const char *name)
{
	for (int i = 0; i < (int)nitems(level_names); i++)
		if (strcasecmp(name, level_names[i]) == 0)
			return i;
	if (strcasecmp(name, "warning") == 0)
		return TLOG_WARN;
	return -1;
}

/* Copy s with control bytes and backslashes written as escapes. */
char *
log_escape(const char *s)
{
	struct strbuf sb;
	sb_init(&sb);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			sb_addf(&sb, "\\x%02x", *p);
		else if (*p == '\\')
			sb_adds(&sb, "\\\\");
		else
			sb_addc(&sb, (char)*p);
	}
	return sb_detach(&sb);
}

/* Format, escape, deliver. */
void
log_emitv(int level, const char *fmt, va_list ap)
{
	if (level > tlog_level || log_busy)
		return;
	char *raw = xvasprintf(fmt, ap);
	char *msg = log_escape(raw);
	free(raw);
	log_busy = 1;
	log_sink(level, log_tag, msg, log_sink_arg);
	log_busy = 0;
	free(msg);
}

/* Log a formatted message at a level (see log_emitv). */
void
log_emit(int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_emitv(level, fmt, ap);
	va_end(ap);
}

/* A record that arrived from elsewhere (a worker): escape and deliver. */
void
log_forward(int level, const char *tag, const char *msg)
{
	if (level > tlog_level || log_busy)
		return;
	char *esc = log_escape(msg);
	log_busy = 1;
	log_sink(level, tag, esc, log_sink_arg);
	log_busy = 0;
	free(esc);
}

/* Plain stderr sink. */
void
log_sink_stderr(int level, const char *tag, const char *msg, void *arg)
{
	UNUSED(arg);
	fprintf(stderr, "%s %s: %s\n", log_level_name(level), tag, msg);
}

/* Log at error level and exit: only for this process's own broken invariants. */
void
fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_emitv(TLOG_ERROR, fmt, ap);
	va_end(ap);
	exit(70);
}
