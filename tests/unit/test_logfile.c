/*
 * test_logfile.c — the broker's daily log files (logfile.c): one file per
 * UTC day, append mode, rotation when the day changes, pruning of files
 * older than keep_days, and files that are not ours left alone. Time is
 * passed in (now_ms), so every day boundary is exact, never waited for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "logfile.h"
#include "util.h"

#define DAY_MS (86400LL * 1000)
/* 2024-03-10T12:00:00.000Z */
#define T0 1710072000000LL

static char dir[64];

static int
dir_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/tusk-logs-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

/* Remove one entry of the test tree. */
static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static int
dir_teardown(void **state)
{
	(void)state;
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* dir/name */
static char *
at(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

/* Create dir/name with content. */
static void
put(const char *name, const char *content)
{
	char *p = at(name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	free(p);
}

/* Does dir/name exist? */
static bool
exists(const char *name)
{
	char *p = at(name);
	bool r = access(p, F_OK) == 0;
	free(p);
	return r;
}

/* The content of dir/name (caller frees). */
static char *
slurp(const char *name)
{
	char *p = at(name);
	FILE *f = fopen(p, "r");
	free(p);
	if (f == NULL)
		fail_msg("cannot open %s/%s", dir, name);
	struct strbuf sb;
	char buf[512];
	size_t n;
	sb_init(&sb);
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		sb_add(&sb, buf, n);
	fclose(f);
	return sb_detach(&sb);
}

static void
name_per_utc_day(void **state)
{
	(void)state;
	static const struct {
		int64_t ms;
		const char *name;
	} cases[] = {
		{ 0, "tusk.1970-01-01.log" },
		{ T0, "tusk.2024-03-10.log" },
		{ 1710115199999LL, "tusk.2024-03-10.log" }, /* 23:59:59.999 */
		{ 1710115200000LL, "tusk.2024-03-11.log" }, /* midnight UTC */
		{ 1709164800000LL, "tusk.2024-02-29.log" },
		{ 4102444799999LL, "tusk.2099-12-31.log" },
	};
	for (size_t i = 0; i < nitems(cases); i++) {
		char *p = logfile_path("/var/log/tusk", cases[i].ms);
		char *want = xasprintf("/var/log/tusk/%s", cases[i].name);
		assert_string_equal(p, want);
		free(p);
		free(want);
	}
}

static void
open_write_append(void **state)
{
	struct logfile lf;
	struct tusk_error e = TUSK_ERROR_INIT;
	(void)state;
	put("tusk.2024-03-10.log", "earlier line\n");
	assert_int_equal(logfile_open(&lf, dir, 14, T0, &e), 0);
	assert_string_equal(lf.day, "2024-03-10");
	logfile_write(&lf, T0 + 1234, TLOG_WARN, "tuskd", "disk almost full");
	logfile_write(&lf, T0 + 5000, TLOG_ERROR, "worker", "x");
	logfile_close(&lf);
	assert_int_equal(lf.fd, -1);
	assert_null(lf.dir);
	logfile_close(&lf); /* twice is harmless */
	logfile_write(&lf, T0, TLOG_INFO, "t", "dropped"); /* closed: nothing happens */
	char *s = slurp("tusk.2024-03-10.log");
	assert_string_equal(s, "earlier line\n"
	    "2024-03-10T12:00:01.234Z warn tuskd: disk almost full\n"
	    "2024-03-10T12:00:05.000Z error worker: x\n");
	free(s);
	/* the file is private */
	char *p = at("tusk.2024-03-10.log");
	unlink(p);
	assert_int_equal(logfile_open(&lf, dir, 14, T0, &e), 0);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	logfile_close(&lf);
	free(p);
}

static void
rotates_when_day_changes(void **state)
{
	struct logfile lf;
	struct tusk_error e = TUSK_ERROR_INIT;
	(void)state;
	int64_t last = 1710115199999LL; /* 2024-03-10T23:59:59.999Z */
	assert_int_equal(logfile_open(&lf, dir, 14, last - 1000, &e), 0);
	logfile_write(&lf, last, TLOG_INFO, "tuskd", "before midnight");
	logfile_write(&lf, last + 1, TLOG_INFO, "tuskd", "after midnight");
	assert_string_equal(lf.day, "2024-03-11");
	logfile_write(&lf, last + 2, TLOG_INFO, "tuskd", "still the 11th");
	/* a clock that steps back a day switches back too (and appends) */
	logfile_write(&lf, last - 10, TLOG_INFO, "tuskd", "clock stepped back");
	logfile_write(&lf, last + 3 * DAY_MS, TLOG_DEBUG, "tuskd", "three days later");
	logfile_close(&lf);
	char *a = slurp("tusk.2024-03-10.log"), *b = slurp("tusk.2024-03-11.log");
	char *c = slurp("tusk.2024-03-13.log");
	assert_string_equal(a, "2024-03-10T23:59:59.999Z info tuskd: before midnight\n"
	    "2024-03-10T23:59:59.989Z info tuskd: clock stepped back\n");
	assert_string_equal(b, "2024-03-11T00:00:00.000Z info tuskd: after midnight\n"
	    "2024-03-11T00:00:00.001Z info tuskd: still the 11th\n");
	assert_string_equal(c, "2024-03-13T23:59:59.999Z debug tuskd: three days later\n");
	free(a);
	free(b);
	free(c);
	assert_false(exists("tusk.2024-03-12.log")); /* no file for a silent day */
}

/* When the new day's file cannot be made, records keep going to the old one. */
static void
rotation_failure_keeps_old_file(void **state)
{
	struct logfile lf;
	struct tusk_error e = TUSK_ERROR_INIT;
	(void)state;
	char *sub = at("sub"), *moved = at("moved");
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(logfile_open(&lf, sub, 14, T0, &e), 0);
	logfile_write(&lf, T0, TLOG_INFO, "t", "one");
	/* the directory disappears from under the broker */
	assert_int_equal(rename(sub, moved), 0);
	logfile_write(&lf, T0 + DAY_MS, TLOG_INFO, "t", "two");
	assert_string_equal(lf.day, "2024-03-10");
	logfile_close(&lf);
	char *s = slurp("moved/tusk.2024-03-10.log");
	assert_string_equal(s, "2024-03-10T12:00:00.000Z info t: one\n"
	    "2024-03-11T12:00:00.000Z info t: two\n");
	free(s);
	free(sub);
	free(moved);
}

/* Files older than keep_days go, at open and at each rotation; others stay. */
static void
prunes_old_files(void **state)
{
	struct logfile lf;
	struct tusk_error e = TUSK_ERROR_INIT;
	(void)state;
	/* T0 is 2024-03-10; keep_days 14 keeps 2024-02-25 (leap year) and later */
	const char *old[] = { "tusk.2024-02-24.log", "tusk.2024-01-01.log", "tusk.1999-12-31.log" };
	const char *kept[] = { "tusk.2024-02-25.log", "tusk.2024-03-09.log", "tusk.2024-03-11.log" };
	const char *foreign[] = {
		"tusk.2024-01-01.log.gz", "tusk.2024-01-01.txt", "other.log", "tusk.log",
		"tusk.2024-1-01.log", "Tusk.2024-01-01.log", "tusk.2024-01-01.lo",
		"tusk.2020-13-45.log", "tusk.2023-02-30.log", "tusk.+202-01-01.log",
		"tusk. 202-01-01.log", "tusk.2020-01-+1.log", "tusk.2020-0x-01.log",
		"tusk.-202-01-01.log", "tusk.2020-00-01.log", "tusk.2020-01-00.log",
	};
	for (size_t i = 0; i < nitems(old); i++)
		put(old[i], "old\n");
	for (size_t i = 0; i < nitems(kept); i++)
		put(kept[i], "kept\n");
	for (size_t i = 0; i < nitems(foreign); i++)
		put(foreign[i], "not ours\n");
	/* a directory with our name is not removed either */
	char *d = at("tusk.2000-01-01.log");
	assert_int_equal(mkdir(d, 0700), 0);

	assert_int_equal(logfile_open(&lf, dir, 14, T0, &e), 0);
	for (size_t i = 0; i < nitems(old); i++)
		if (exists(old[i]))
			fail_msg("%s survived", old[i]);
	for (size_t i = 0; i < nitems(kept); i++)
		if (!exists(kept[i]))
			fail_msg("%s was removed", kept[i]);
	for (size_t i = 0; i < nitems(foreign); i++)
		if (!exists(foreign[i]))
			fail_msg("%s was removed", foreign[i]);
	assert_true(exists("tusk.2000-01-01.log"));
	assert_true(exists("tusk.2024-03-10.log"));

	/* rotating to the 24th (two weeks on) prunes up to the 10th */
	logfile_write(&lf, T0 + 14 * DAY_MS, TLOG_INFO, "t", "x");
	assert_true(exists("tusk.2024-03-24.log"));
	assert_true(exists("tusk.2024-03-10.log"));
	assert_false(exists("tusk.2024-03-09.log"));
	assert_false(exists("tusk.2024-02-25.log"));
	assert_true(exists("tusk.2024-03-11.log"));
	logfile_close(&lf);
	for (size_t i = 0; i < nitems(foreign); i++)
		assert_true(exists(foreign[i]));

	/* logfile_prune counts what it removed; keep_days 0 keeps only today */
	assert_int_equal(logfile_prune(dir, 0, UINT64_MAX, T0 + 14 * DAY_MS), 2);
	assert_false(exists("tusk.2024-03-10.log"));
	assert_false(exists("tusk.2024-03-11.log"));
	assert_true(exists("tusk.2024-03-24.log"));
	assert_int_equal(logfile_prune(dir, 0, UINT64_MAX, T0 + 14 * DAY_MS), 0);
	/* a missing directory prunes nothing */
	assert_int_equal(logfile_prune("/nonexistent/tusk-logs", 1, UINT64_MAX, T0), 0);
	free(d);
}

/* The size of dir/name, or -1. */
static long long
size_of(const char *name)
{
	char *p = at(name);
	struct stat st;
	long long n = stat(p, &st) == 0 ? (long long)st.st_size : -1;
	free(p);
	return n;
}

/* Past the file's cap records are dropped, and one line says so. */
static void
file_cap_drops_the_rest(void **state)
{
	struct logfile lf;
	struct tusk_error e = TUSK_ERROR_INIT;
	(void)state;
	char msg[200];
	memset(msg, 'm', sizeof msg - 1);
	msg[sizeof msg - 1] = '\0';
	assert_int_equal(logfile_open(&lf, dir, 14, T0, &e), 0);
	logfile_cap(&lf, 4096, 0, T0);
	for (int i = 0; i < 1000; i++)
		logfile_write(&lf, T0 + i, TLOG_INFO, "t", msg);
	assert_int_equal(lf.dropped, 1000 - 16); /* 16 lines of 233 bytes fit, with room for the note */
	assert_true(size_of("tusk.2024-03-10.log") <= 4096);
	char *s = slurp("tusk.2024-03-10.log");
	assert_non_null(strstr(s, "reached its cap (4096 bytes)"));
	assert_null(strstr(strstr(s, "reached its cap") + 1, "reached its cap")); /* said once */
	free(s);
	/* the next day's file starts afresh */
	logfile_write(&lf, T0 + DAY_MS, TLOG_INFO, "t", "tomorrow");
	assert_int_equal(lf.dropped, 0);
	s = slurp("tusk.2024-03-11.log");
	assert_string_equal(s, "2024-03-11T12:00:00.000Z info t: tomorrow\n");
	free(s);
	logfile_close(&lf);
}

/* The directory's cap: the oldest days go until the others leave today's
 * file room to grow to its cap; today's file is never removed. */
static void
dir_cap_removes_the_oldest(void **state)
{
	struct logfile lf;
	struct tusk_error e = TUSK_ERROR_INIT;
	(void)state;
	char kb[1025];
	memset(kb, 'x', 1024);
	kb[1024] = '\0';
	const char *days[] = { "tusk.2024-03-05.log", "tusk.2024-03-06.log", "tusk.2024-03-07.log",
		"tusk.2024-03-08.log", "tusk.2024-03-09.log" };
	for (size_t i = 0; i < nitems(days); i++)
		put(days[i], kb);
	put("tusk.2024-03-10.log", kb); /* today's */
	assert_int_equal(logfile_open(&lf, dir, 14, T0, &e), 0);
	/* 4 KiB in all, today's may grow to 2 KiB: 2 KiB left for the 5 older days */
	logfile_cap(&lf, 2048, 4096, T0);
	assert_false(exists(days[0]));
	assert_false(exists(days[1]));
	assert_false(exists(days[2]));
	assert_true(exists(days[3]));
	assert_true(exists(days[4]));
	assert_true(exists("tusk.2024-03-10.log"));
	for (int i = 0; i < 100; i++)
		logfile_write(&lf, T0 + i, TLOG_INFO, "t", "a line of the day");
	assert_true(size_of("tusk.2024-03-10.log") <= 2048);
	assert_true(size_of(days[3]) + size_of(days[4]) + size_of("tusk.2024-03-10.log") <= 4096);
	/* a directory cap below the file cap caps today's file too; the rest go */
	logfile_cap(&lf, 1 << 20, 2048, T0);
	assert_false(exists(days[3]));
	assert_false(exists(days[4]));
	logfile_close(&lf);
}

static void
open_failure(void **state)
{
	struct logfile lf;
	struct tusk_error e = TUSK_ERROR_INIT;
	(void)state;
	put("file", "x");
	char *bad = at("file/logs");
	assert_int_equal(logfile_open(&lf, bad, 14, T0, &e), -1);
	assert_int_equal(e.kind, TE_INITIALIZATION);
	char *want = xasprintf("cannot open log file %s/tusk.2024-03-10.log: Not a directory", bad);
	assert_string_equal(e.message, want);
	assert_non_null(e.hint);
	assert_null(lf.dir);
	free(want);
	free(bad);
	terr_clear(&e);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, dir_setup, dir_teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(name_per_utc_day),
		T(open_write_append),
		T(rotates_when_day_changes),
		T(rotation_failure_keeps_old_file),
		T(prunes_old_files),
		T(file_cap_drops_the_rest),
		T(dir_cap_removes_the_oldest),
		T(open_failure),
	};
	return cmocka_run_group_tests_name("logfile", tests, NULL, NULL);
}
