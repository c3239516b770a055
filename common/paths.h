/*
 * paths.h — where Tusk keeps things (XDG base directories, or TUSK_HOME).
 *
 *   TUSK_HOME=D   data D/data, logs D/logs, runtime D/run
 *   otherwise     data $XDG_DATA_HOME/tusk (~/.local/share/tusk)
 *                 logs $XDG_STATE_HOME/tusk/logs (~/.local/state/tusk/logs)
 *                 runtime $XDG_RUNTIME_DIR/tusk, else /tmp/tusk-UID (as tmux)
 *
 * The runtime directory holds the socket and the lock: it must be ours and
 * 0700. Creation failures are Initialization errors naming path and cause.
 */
#ifndef TUSK_PATHS_H
#define TUSK_PATHS_H

struct tusk_error;

struct tusk_paths {
	char *data_dir;
	char *log_dir;
	char *run_dir;
	char *db_path;
	char *sock_path;
	char *lock_path;
};

/* Work out the paths from the environment (no file system changes). */
int paths_resolve(struct tusk_paths *p, struct tusk_error *e);
/* Create the directories (parents too), runtime dir 0700 and owned by us. */
int paths_ensure(const struct tusk_paths *p, struct tusk_error *e);
void paths_free(struct tusk_paths *p);

/* mkdir -p with the given mode for directories it creates. */
int mkdir_p(const char *path, unsigned mode, struct tusk_error *e);

#endif
