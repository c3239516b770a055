/*
 * logfile.h — daily log files tusk.YYYY-MM-DD.log (UTC dates) in one
 * directory, opened in append mode, rotated when the date changes, files
 * older than keep_days pruned at open and at each rotation. Used by the
 * broker, the only process that writes logs.
 */
#ifndef TUSK_LOGFILE_H
#define TUSK_LOGFILE_H

#include <stdint.h>

struct tusk_error;

struct logfile {
	char *dir;
	int fd;
	char day[16]; /* YYYY-MM-DD of the open file */
	int keep_days;
};

#define LOG_KEEP_DAYS_DEFAULT 14

int logfile_open(struct logfile *lf, const char *dir, int keep_days, int64_t now_ms,
    struct tusk_error *e);
/* Append one record; rotates first when the day changed. */
void logfile_write(struct logfile *lf, int64_t now_ms, int level, const char *tag, const char *msg);
/* Remove tusk.*.log files older than keep_days; returns how many. */
int logfile_prune(const char *dir, int keep_days, int64_t now_ms);
/* The file name for a given time (caller frees). */
char *logfile_path(const char *dir, int64_t now_ms);
void logfile_close(struct logfile *lf);

#endif
