/*
 * test_log.c — leveled logging (log.c): level names both ways, the level
 * check before any formatting, escaping of control bytes and backslashes,
 * records forwarded from workers, the sink hook, the stderr sink, fatal().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* A sink that records what it is given. */
struct capture {
	int calls;
	int level;
	char tag[64];
	char msg[512];
};

static void
capture_sink(int level, const char *tag, const char *msg, void *arg)
{
	struct capture *c = arg;
	c->calls++;
	c->level = level;
	snprintf(c->tag, sizeof c->tag, "%s", tag);
	snprintf(c->msg, sizeof c->msg, "%s", msg);
}

static struct capture cap;

static int
capture_setup(void **state)
{
	(void)state;
	memset(&cap, 0, sizeof cap);
	log_init("tuskd");
	log_set_level(TLOG_INFO);
	log_set_sink(capture_sink, &cap);
	return 0;
}

static int
capture_teardown(void **state)
{
	(void)state;
	log_set_sink(NULL, NULL);
	log_set_level(TLOG_INFO);
	return 0;
}

static void
level_names(void **state)
{
	(void)state;
	const char *names[] = { "error", "warn", "info", "debug", "trace" };
	for (int i = 0; i < 5; i++) {
		assert_string_equal(log_level_name(i), names[i]);
		assert_int_equal(log_level_parse(names[i]), i);
	}
	assert_int_equal(TLOG_ERROR, 0);
	assert_int_equal(TLOG_TRACE, 4);
	assert_int_equal(log_level_parse("WARN"), TLOG_WARN);
	assert_int_equal(log_level_parse("Debug"), TLOG_DEBUG);
	assert_int_equal(log_level_parse("warning"), TLOG_WARN);
	assert_int_equal(log_level_parse("WARNING"), TLOG_WARN);
	assert_int_equal(log_level_parse(""), -1);
	assert_int_equal(log_level_parse("verbose"), -1);
	assert_int_equal(log_level_parse("info "), -1);
	assert_int_equal(log_level_parse("inf"), -1);
	assert_int_equal(log_level_parse("3"), -1);
	/* out-of-range levels have a harmless name */
	assert_string_equal(log_level_name(-1), "info");
	assert_string_equal(log_level_name(5), "info");
	/* and are refused by log_set_level */
	log_set_level(TLOG_DEBUG);
	log_set_level(7);
	log_set_level(-1);
	assert_int_equal(tlog_level, TLOG_DEBUG);
	log_set_level(TLOG_INFO);
}

static void
escaping(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain text", "plain text" },
		{ "", "" },
		{ "two\nlines", "two\\x0alines" },
		{ "cr\r\tz", "cr\\x0d\\x09z" },
		{ "esc\x1b[31mred", "esc\\x1b[31mred" },
		{ "del\x7f", "del\\x7f" },
		{ "back\\slash", "back\\\\slash" },
		{ "\\x0a is not a newline", "\\\\x0a is not a newline" },
		{ "\x01\x1f", "\\x01\\x1f" },
		{ "caf\xc3\xa9 \xe2\x9c\x93", "caf\xc3\xa9 \xe2\x9c\x93" }, /* UTF-8 passes */
		{ "\xff\x80", "\xff\x80" },
	};
	for (size_t i = 0; i < nitems(cases); i++) {
		char *s = log_escape(cases[i].in);
		assert_string_equal(s, cases[i].out);
		free(s);
	}
}

/* Counts how often a format argument is evaluated. */
static int evaluated;

static int
expensive(void)
{
	return ++evaluated;
}

static void
level_check_before_formatting(void **state)
{
	(void)state;
	evaluated = 0;
	log_debug("debug %d", expensive());
	log_trace("trace %d", expensive());
	/* the macros skip even the argument evaluation */
	assert_int_equal(evaluated, 0);
	assert_int_equal(cap.calls, 0);
	/* log_emit checks again for callers that bypass the macros */
	log_emit(TLOG_DEBUG, "%s", "nope");
	assert_int_equal(cap.calls, 0);
	log_info("info %d", expensive());
	assert_int_equal(evaluated, 1);
	assert_int_equal(cap.calls, 1);
	assert_int_equal(cap.level, TLOG_INFO);
	assert_string_equal(cap.tag, "tuskd");
	assert_string_equal(cap.msg, "info 1");
	log_warn("w");
	log_error("e");
	assert_int_equal(cap.calls, 3);
	assert_int_equal(cap.level, TLOG_ERROR);
	/* raise the level at run time */
	log_set_level(TLOG_TRACE);
	log_trace("t %d", expensive());
	assert_int_equal(cap.calls, 4);
	assert_string_equal(cap.msg, "t 2");
	/* lower it to errors only */
	log_set_level(TLOG_ERROR);
	log_warn("w %d", expensive());
	assert_int_equal(cap.calls, 4);
	assert_int_equal(evaluated, 2);
}

static void
formatted_text_is_escaped(void **state)
{
	(void)state;
	log_info("server said: %s", "ERROR\nINFO fake line\\");
	assert_string_equal(cap.msg, "server said: ERROR\\x0aINFO fake line\\\\");
	/* but the format itself is the program's: also escaped if it has a newline */
	log_info("a\nb");
	assert_string_equal(cap.msg, "a\\x0ab");
}

static void
forward(void **state)
{
	(void)state;
	log_forward(TLOG_WARN, "worker[42]", "libpq: \"line one\nline two\"");
	assert_int_equal(cap.calls, 1);
	assert_int_equal(cap.level, TLOG_WARN);
	assert_string_equal(cap.tag, "worker[42]");
	assert_string_equal(cap.msg, "libpq: \"line one\\x0aline two\"");
	/* a forwarded record obeys the broker's level */
	log_forward(TLOG_DEBUG, "worker[42]", "chatty");
	assert_int_equal(cap.calls, 1);
	/* and is never used as a format */
	log_forward(TLOG_ERROR, "w", "%s%n%x");
	assert_string_equal(cap.msg, "%s%n%x");
}

static void
tag(void **state)
{
	(void)state;
	log_init("worker");
	log_info("x");
	assert_string_equal(cap.tag, "worker");
	/* long tags are cut to the buffer, not overflowing it */
	log_init("a-very-long-process-tag-that-goes-on-and-on");
	log_info("x");
	assert_int_equal(strlen(cap.tag), 31);
	assert_memory_equal(cap.tag, "a-very-long-process-tag-that-go", 31);
	log_init("tuskd");
}

/* A sink that logs again: the inner record is dropped, not recursed into. */
static void
reentrant_sink(int level, const char *t, const char *msg, void *arg)
{
	struct capture *c = arg;
	capture_sink(level, t, msg, arg);
	if (c->calls < 100) {
		log_error("from inside the sink");
		log_forward(TLOG_ERROR, "w", "forwarded from inside the sink");
	}
}

static void
sink_does_not_recurse(void **state)
{
	(void)state;
	log_set_sink(reentrant_sink, &cap);
	log_info("outer");
	assert_int_equal(cap.calls, 1);
	assert_string_equal(cap.msg, "outer");
	/* and the guard is released afterwards */
	log_info("second");
	assert_int_equal(cap.calls, 2);
}

/* Run fn in a child with stderr on a pipe; its exit status and output. */
static int
in_child(void (*fn)(void), char *out, size_t outlen)
{
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pfd[1], STDERR_FILENO);
		close(pfd[0]);
		fn();
		fflush(stderr);
		_exit(0);
	}
	close(pfd[1]);
	size_t got = 0;
	ssize_t n;
	while (got + 1 < outlen && (n = read(pfd[0], out + got, outlen - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(pfd[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static void
stderr_records(void)
{
	log_set_sink(NULL, NULL); /* back to the default */
	log_init("tuskctl");
	log_warn("disk %d%% full", 93);
	log_debug("hidden");
	log_forward(TLOG_ERROR, "worker", "tab\there");
}

static void
die(void)
{
	log_set_sink(NULL, NULL);
	log_init("tuskd");
	fatal("invariant broken: %s", "two owners");
}

static void
stderr_sink_and_fatal(void **state)
{
	char out[512];
	(void)state;
	int st = in_child(stderr_records, out, sizeof out);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_string_equal(out, "warn tuskctl: disk 93% full\nerror worker: tab\\x09here\n");
	st = in_child(die, out, sizeof out);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 70);
	assert_string_equal(out, "error tuskd: invariant broken: two owners\n");
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, capture_setup, capture_teardown)
	const struct CMUnitTest tests[] = {
		T(level_names),
		T(escaping),
		T(level_check_before_formatting),
		T(formatted_text_is_escaped),
		T(forward),
		T(tag),
		T(sink_does_not_recurse),
		T(stderr_sink_and_fatal),
	};
	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
