/*
 * logfile.c — the broker's daily log files (see logfile.h).
 */
#include "logfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "util.h"

/* YYYY-MM-DD (UTC) of a time. */
static void
day_of(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
}

char *
logfile_path(const char *dir, int64_t now_ms)
{
	char day[16];
	day_of(now_ms, day, sizeof day);
	return xasprintf("%s/tusk.%s.log", dir, day);
}

/* Open (create) today's file. */
static int
open_day(struct logfile *lf, int64_t now_ms, struct tusk_error *e)
{
	char *path = logfile_path(lf->dir, now_ms);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (e) {
			terr_set(e, TE_INITIALIZATION, "cannot open log file %s: %s", path,
			    strerror(errno));
			terr_hint(e, "check that the log directory is writable, or set TUSK_HOME");
		}
		free(path);
		return -1;
	}
	free(path);
	if (lf->fd >= 0)
		close(lf->fd);
	lf->fd = fd;
	struct stat st;
	lf->size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	lf->dropped = 0;
	day_of(now_ms, lf->day, sizeof lf->day);
	return 0;
}

/* Open today's log file in dir and prune files older than keep_days. */
int
logfile_open(struct logfile *lf, const char *dir, int keep_days, int64_t now_ms,
    struct tusk_error *e)
{
	lf->dir = xstrdup(dir);
	lf->fd = -1;
	lf->keep_days = keep_days;
	lf->max_file = lf->max_dir = 0;
	lf->day[0] = '\0';
	if (open_day(lf, now_ms, e) < 0) {
		free(lf->dir);
		lf->dir = NULL;
		return -1;
	}
	logfile_prune(dir, keep_days, UINT64_MAX, now_ms);
	return 0;
}

/* Today's file at most: under both caps (0: none). */
static uint64_t
today_cap(const struct logfile *lf)
{
	uint64_t cap = lf->max_file;
	if (lf->max_dir && (cap == 0 || lf->max_dir < cap))
		cap = lf->max_dir;
	return cap;
}

/* Prune with room kept for today's file to grow to its cap. */
static void
prune_for(struct logfile *lf, int64_t now_ms)
{
	uint64_t old = UINT64_MAX, cap = today_cap(lf);
	if (lf->max_dir)
		old = lf->max_dir > cap ? lf->max_dir - cap : 0;
	logfile_prune(lf->dir, lf->keep_days, old, now_ms);
}

/* Set the caps and prune to them (logfile.h). */
void
logfile_cap(struct logfile *lf, uint64_t max_file, uint64_t max_dir, int64_t now_ms)
{
	lf->max_file = max_file;
	lf->max_dir = max_dir;
	if (lf->dir)
		prune_for(lf, now_ms);
}

/* The room a line saying "the cap is reached" needs. */
#define CAP_NOTE_ROOM 256

/* Append all of line to the open file. */
static void
write_line(struct logfile *lf, const char *line)
{
	size_t len = strlen(line), off = 0;
	while (off < len) {
		ssize_t n = write(lf->fd, line + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	lf->size += off;
}

/* Append one record under the caps; rotate first when the day changed. */
void
logfile_write(struct logfile *lf, int64_t now_ms, int level, const char *tag, const char *msg)
{
	char day[16], ts[40];
	if (lf->fd < 0)
		return;
	day_of(now_ms, day, sizeof day);
	if (strcmp(day, lf->day) != 0 && open_day(lf, now_ms, NULL) == 0)
		prune_for(lf, now_ms);
	iso8601_utc(now_ms, ts, sizeof ts);
	char *line = xasprintf("%s %s %s: %s\n", ts, log_level_name(level), tag, msg);
	/* today's file stays under both caps, with room for the line saying so */
	uint64_t cap = today_cap(lf);
	if (cap && lf->size + strlen(line) + CAP_NOTE_ROOM > cap) {
		if (lf->dropped++ == 0) {
			char *note = xasprintf("%s warn log: this file reached its cap (%llu bytes); the rest of "
			    "today's records are dropped (tuskd settings log_file_max_mb, log_dir_max_mb)\n",
			    ts, (unsigned long long)cap);
			if (lf->size + strlen(note) <= cap)
				write_line(lf, note);
			free(note);
		}
		free(line);
		return;
	}
	write_line(lf, line);
	free(line);
}

/*
 * Parse tusk.YYYY-MM-DD.log into a time at midnight UTC; -1 if not ours.
 * Strict: digits exactly where the pattern has them and a real calendar
 * date, so a file that only resembles ours (tusk.2020-13-45.log, sscanf's
 * " 202" or "+202") is never taken for an old log and deleted.
 */
static int64_t
name_day(const char *name)
{
	static const char pat[] = "tusk.NNNN-NN-NN.log";
	int v[3] = { 0, 0, 0 }, field = 0;
	if (strlen(name) != sizeof pat - 1)
		return -1;
	for (size_t i = 0; i < sizeof pat - 1; i++) {
		if (pat[i] != 'N') {
			if (name[i] != pat[i])
				return -1;
			if (pat[i] == '-')
				field++;
			continue;
		}
		if (name[i] < '0' || name[i] > '9')
			return -1;
		v[field] = v[field] * 10 + (name[i] - '0');
	}
	struct tm tm = { .tm_year = v[0] - 1900, .tm_mon = v[1] - 1, .tm_mday = v[2] };
	time_t t = timegm(&tm);
	/* timegm normalises out-of-range fields: a changed field was no date */
	if (t < 0 || tm.tm_year != v[0] - 1900 || tm.tm_mon != v[1] - 1 || tm.tm_mday != v[2])
		return -1;
	return (int64_t)t * 1000;
}

/* One of our files, for pruning by size. */
struct day_file {
	int64_t day;
	uint64_t size;
	char name[32];
};

/* Oldest first. */
static int
day_cmp(const void *a, const void *b)
{
	const struct day_file *x = a, *y = b;
	return x->day < y->day ? -1 : x->day > y->day;
}

/* Remove old days, then the oldest while the others pass max_old bytes. */
int
logfile_prune(const char *dir, int keep_days, uint64_t max_old, int64_t now_ms)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	char today[16];
	day_of(now_ms, today, sizeof today);
	char *todaypath = xasprintf("tusk.%s.log", today);
	int64_t day0 = name_day(todaypath);
	int64_t cutoff = day0 - (int64_t)keep_days * 86400 * 1000;
	free(todaypath);
	int removed = 0;
	struct day_file *kept = NULL;
	size_t nkept = 0, cap = 0;
	uint64_t total = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		int64_t t = name_day(de->d_name);
		if (t < 0)
			continue;
		if (t < cutoff) {
			if (unlinkat(dirfd(d), de->d_name, 0) == 0)
				removed++;
			continue;
		}
		struct stat st;
		if (t >= day0 || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue; /* today's (or a later one's, if the clock went back): kept */
		total += (uint64_t)st.st_size;
		if (nkept == cap) {
			cap = cap ? cap * 2 : 16;
			kept = xrealloc(kept, cap * sizeof *kept);
		}
		kept[nkept].day = t;
		kept[nkept].size = (uint64_t)st.st_size;
		snprintf(kept[nkept].name, sizeof kept[nkept].name, "%.31s", de->d_name);
		nkept++;
	}
	if (total > max_old) {
		qsort(kept, nkept, sizeof *kept, day_cmp);
		for (size_t i = 0; i < nkept && total > max_old; i++) {
			if (unlinkat(dirfd(d), kept[i].name, 0) == 0) {
				removed++;
				total -= kept[i].size;
			}
		}
	}
	free(kept);
	closedir(d);
	return removed;
}

/* Close the log file and forget its directory. */
void
logfile_close(struct logfile *lf)
{
	if (lf->fd >= 0)
		close(lf->fd);
	lf->fd = -1;
	free(lf->dir);
	lf->dir = NULL;
}
