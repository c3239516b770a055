/*
 * test_util.c — the shared helpers (util.c): strict integer parsing, the
 * growable string, ISO 8601 timestamps, clocks, allocation failure, and
 * close_from (both the close_range path and the /proc/self/fd fallback).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#ifdef TUSK_SANITIZE
/* Let malloc return NULL for impossible sizes so xmalloc's own path runs. */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}
#endif

static void
parse_ll_ranges(void **state)
{
	long long v;
	(void)state;
	static const struct {
		const char *s;
		long long min, max;
		int rc;
		long long v;
	} cases[] = {
		{ "0", 0, 10, 0, 0 },
		{ "10", 0, 10, 0, 10 },
		{ "11", 0, 10, -ERANGE, 0 },
		{ "-1", 0, 10, -ERANGE, 0 },
		{ "-1", -1, 10, 0, -1 },
		{ "-0", 0, 0, 0, 0 },
		{ "007", 0, 10, 0, 7 },
		{ "9223372036854775807", LLONG_MIN, LLONG_MAX, 0, LLONG_MAX },
		{ "-9223372036854775808", LLONG_MIN, LLONG_MAX, 0, LLONG_MIN },
		{ "9223372036854775808", LLONG_MIN, LLONG_MAX, -ERANGE, 0 },
		{ "-9223372036854775809", LLONG_MIN, LLONG_MAX, -ERANGE, 0 },
		{ "99999999999999999999999", 0, 10, -ERANGE, 0 },
		{ "65535", 1, 65535, 0, 65535 },
		{ "65536", 1, 65535, -ERANGE, 0 },
		{ "", 0, 10, -EINVAL, 0 },
		{ "-", 0, 10, -EINVAL, 0 },
		{ "1x", 0, 10, -EINVAL, 0 },
		{ "x1", 0, 10, -EINVAL, 0 },
		{ "1 ", 0, 10, -EINVAL, 0 },
		{ " 1", 0, 10, -EINVAL, 0 },
		{ "\t1", 0, 10, -EINVAL, 0 },
		{ "+1", 0, 10, -EINVAL, 0 },
		{ "--1", -10, 10, -EINVAL, 0 },
		{ "0x10", 0, 100, -EINVAL, 0 },
		{ "1e3", 0, 10000, -EINVAL, 0 },
		{ "1.0", 0, 10, -EINVAL, 0 },
	};
	for (size_t i = 0; i < nitems(cases); i++) {
		v = 4242;
		int rc = parse_ll(cases[i].s, cases[i].min, cases[i].max, &v);
		if (rc != cases[i].rc)
			fail_msg("parse_ll(\"%s\", %lld, %lld) = %d, want %d", cases[i].s,
			    cases[i].min, cases[i].max, rc, cases[i].rc);
		assert_int_equal(v, rc == 0 ? cases[i].v : 4242); /* untouched on failure */
	}
	assert_int_equal(parse_ll(NULL, 0, 1, &v), -EINVAL);
}

static void
strbuf_growth(void **state)
{
	struct strbuf sb;
	(void)state;
	sb_init(&sb);
	for (int i = 0; i < 10000; i++) {
		sb_addc(&sb, (char)('a' + i % 26));
		assert_int_equal(sb.len, (size_t)i + 1);
		assert_true(sb.cap >= sb.len + 1);
		assert_int_equal(sb.buf[sb.len], '\0');
	}
	for (int i = 0; i < 10000; i++)
		assert_int_equal(sb.buf[i], 'a' + i % 26);
	/* capacity at most doubles past what was needed */
	assert_true(sb.cap < 2 * (sb.len + 1));
	sb_free(&sb);
	assert_null(sb.buf);
	assert_int_equal(sb.len, 0);

	/* bytes with NUL inside, strings, formats that cross a growth step */
	sb_add(&sb, "a\0b", 3);
	assert_int_equal(sb.len, 3);
	assert_memory_equal(sb.buf, "a\0b", 4);
	sb_adds(&sb, "cd");
	char big[300];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	sb_addf(&sb, "[%s|%d]", big, 42);
	assert_int_equal(sb.len, 3 + 2 + 1 + 299 + 4);
	assert_memory_equal(sb.buf + 5, "[x", 2);
	assert_string_equal(sb.buf + sb.len - 4, "|42]");
	sb_addf(&sb, "%s", ""); /* formats to nothing */
	assert_int_equal(sb.len, 309);
	char *s = sb_detach(&sb);
	assert_null(sb.buf);
	assert_int_equal(sb.len, 0);
	assert_int_equal(sb.cap, 0);
	assert_memory_equal(s, "a\0bcd[", 6);
	free(s);
	/* an empty buffer detaches as an empty string the caller frees */
	s = sb_detach(&sb);
	assert_string_equal(s, "");
	free(s);
	sb_free(&sb);
}

static void
timestamps(void **state)
{
	char buf[40];
	(void)state;
	static const struct {
		int64_t ms;
		const char *s;
	} cases[] = {
		{ 0, "1970-01-01T00:00:00.000Z" },
		{ 1, "1970-01-01T00:00:00.001Z" },
		{ 999, "1970-01-01T00:00:00.999Z" },
		{ 1000, "1970-01-01T00:00:01.000Z" },
		{ 1709251199999, "2024-02-29T23:59:59.999Z" },
		{ 1709251200000, "2024-03-01T00:00:00.000Z" },
		{ 1767225600123, "2026-01-01T00:00:00.123Z" },
		{ 4102444800000, "2100-01-01T00:00:00.000Z" },  /* past 2038 */
		{ -1, "1969-12-31T23:59:59.999Z" },
		{ -1000, "1969-12-31T23:59:59.000Z" },
		{ -1001, "1969-12-31T23:59:58.999Z" },
	};
	for (size_t i = 0; i < nitems(cases); i++) {
		iso8601_utc(cases[i].ms, buf, sizeof buf);
		assert_string_equal(buf, cases[i].s);
	}
	/* a short buffer is truncated, still terminated */
	memset(buf, 'Z', sizeof buf);
	iso8601_utc(0, buf, 11);
	assert_string_equal(buf, "1970-01-01");
	/* the wall clock formats as now, give or take a minute */
	int64_t now = wall_ms();
	int64_t t = (int64_t)time(NULL) * 1000;
	assert_true(now > t - 60000 && now < t + 60000);
}

static void
clocks(void **state)
{
	(void)state;
	int64_t last_us = mono_us(), last_ms = mono_ms();
	for (int i = 0; i < 10000; i++) {
		int64_t us = mono_us(), ms = mono_ms();
		assert_true(us >= last_us);
		assert_true(ms >= last_ms);
		last_us = us;
		last_ms = ms;
	}
	int64_t a = mono_ms();
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	assert_true(mono_ms() - a >= 20);
}

static void
strings(void **state)
{
	(void)state;
	assert_null(xstrdup(NULL));
	char *s = xstrdup("abc");
	assert_string_equal(s, "abc");
	free(s);
	s = xstrndup("abcdef", 3);
	assert_string_equal(s, "abc");
	free(s);
	s = xstrndup("a\0c", 3); /* copies bytes, NUL or not */
	assert_memory_equal(s, "a\0c\0", 4);
	free(s);
	s = xasprintf("%s-%05d", "x", 42);
	assert_string_equal(s, "x-00042");
	free(s);
	secret_free(NULL);
	secret_free(xstrdup("hunter2"));
	void *p = xmalloc(0); /* a real allocation, never NULL */
	assert_non_null(p);
	p = xrealloc(p, 0);
	assert_non_null(p);
	free(p);
	p = xcalloc(0, 0);
	assert_non_null(p);
	free(p);
	assert_int_equal(MIN(3, 4), 3);
	assert_int_equal(MAX(3, 4), 4);
}

/* Run fn in a child with stderr on a pipe; return its exit status and output. */
static int
in_child(void (*fn)(void), char *out, size_t outlen)
{
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pfd[1], STDERR_FILENO);
		close(pfd[0]);
		fn();
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
oom_malloc(void)
{
	xalloc_exit_status = 42;
	xmalloc(SIZE_MAX - 4096);
}

static void
oom_calloc(void)
{
	xalloc_exit_status = 43;
	xcalloc(SIZE_MAX / 2, 4); /* the product overflows */
}

static void
oom_realloc(void)
{
	xalloc_exit_status = 44;
	void *p = xmalloc(16);
	xrealloc(p, SIZE_MAX - 4096);
}

static void
oom_abort(void)
{
	xalloc_exit_status = 0;
	xmalloc(SIZE_MAX - 4096);
}

/* An allocation failure ends the process, with a message and the chosen status. */
static void
out_of_memory(void **state)
{
	char out[256];
	(void)state;
	int st = in_child(oom_malloc, out, sizeof out);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 42);
	assert_non_null(strstr(out, "tusk: out of memory ("));
	st = in_child(oom_calloc, out, sizeof out);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 43);
	assert_non_null(strstr(out, "out of memory"));
	st = in_child(oom_realloc, out, sizeof out);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 44);
	st = in_child(oom_abort, out, sizeof out);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
	assert_non_null(strstr(out, "out of memory"));
}

/* Is fd open? */
static bool
fd_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

/* Open 40, 41, 90, 200, 201; close_from(90); report which survived as the exit status. */
static void
close_from_probe(void)
{
	int base = open("/dev/null", O_RDONLY);
	if (base < 0)
		_exit(100);
	int fds[] = { 40, 41, 90, 200, 201 };
	for (size_t i = 0; i < nitems(fds); i++)
		if (dup2(base, fds[i]) != fds[i])
			_exit(101);
	close_from(90);
	int mask = 0;
	for (size_t i = 0; i < nitems(fds); i++)
		if (fd_open(fds[i]))
			mask |= 1 << i;
	/* the fds below 90 still work */
	char c;
	if (read(40, &c, 1) != 0)
		_exit(102);
	_exit(mask);
}

#if defined(__x86_64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/* The same probe with close_range(2) failing as on kernels without it. */
static void
close_from_probe_fallback(void)
{
#if defined(SYS_close_range) && defined(TEST_AUDIT_ARCH)
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TEST_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_close_range, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { (unsigned short)nitems(f), f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		_exit(110);
	/* the filter really hides close_range */
	if (syscall(SYS_close_range, 1000U, 1000U, 0) != -1 || errno != ENOSYS)
		_exit(111);
#endif
	close_from_probe();
}

static void
close_from_closes_higher(void **state)
{
	char out[256];
	(void)state;
	int st = in_child(close_from_probe, out, sizeof out);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0x3); /* 40 and 41 open, 90, 200, 201 closed */
	st = in_child(close_from_probe_fallback, out, sizeof out);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0x3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_ll_ranges),
		cmocka_unit_test(strbuf_growth),
		cmocka_unit_test(timestamps),
		cmocka_unit_test(clocks),
		cmocka_unit_test(strings),
		cmocka_unit_test(out_of_memory),
		cmocka_unit_test(close_from_closes_higher),
	};
	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
