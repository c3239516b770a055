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
	uint64_t size;	    /* of the open file */
	uint64_t max_file;  /* a day's file, at most (0: no cap) */
	uint64_t max_dir;   /* all the files, at most (0: no cap) */
	uint64_t dropped;   /* records dropped today past max_file */
};

#define LOG_KEEP_DAYS_DEFAULT 14

int logfile_open(struct logfile *lf, const char *dir, int keep_days, int64_t now_ms,
    struct tusk_error *e);
/*
 * Cap a day's file at max_file bytes (past it, records are dropped and one
 * line says so) and the directory at max_dir: today's file stays under
 * both, and the oldest days are removed first so that the others leave it
 * room to grow to its cap. 0 means no cap. Prunes now.
 */
void logfile_cap(struct logfile *lf, uint64_t max_file, uint64_t max_dir, int64_t now_ms);
/* Append one record; rotates first when the day changed. */
void logfile_write(struct logfile *lf, int64_t now_ms, int level, const char *tag, const char *msg);
/* Remove tusk.*.log files older than keep_days, then the oldest others
 * while those before today pass max_old bytes together (UINT64_MAX: no
 * cap); today's file is never removed. Returns how many were. */
int logfile_prune(const char *dir, int keep_days, uint64_t max_old, int64_t now_ms);
/* The file name for a given time (caller frees). */
char *logfile_path(const char *dir, int64_t now_ms);
void logfile_close(struct logfile *lf);

#endif
