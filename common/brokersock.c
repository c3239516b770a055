/*
 * brokersock.c — reaching (and starting) the broker; see brokersock.h.
 */
#include "brokersock.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "paths.h"
#include "selfpath.h"
#include "util.h"

extern char **environ;

/* Connect to a Unix socket. */
int
brokersock_connect_path(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sun.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* Start tuskd (it detaches once its socket is bound); else the one on PATH. */
static int
start_broker(void)
{
	/* beside us (build tree, PREFIX/bin), or PREFIX/bin from PREFIX/libexec/tusk */
	static const char *const rel[] = { "tuskd", "../../bin/tuskd", NULL };
	char *path = selfpath_find(rel, X_OK);
	char name[] = "tuskd";
	char *argv[] = { path ? path : name, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	/* none of the client's descriptors (tusk starts it from a thread while
	 * its window opens: a pipe held here would outlive the client) */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	pid_t pid;
	int r = path ? posix_spawn(&pid, path, &fa, NULL, argv, environ) :
	    posix_spawnp(&pid, name, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	free(path);
	if (r != 0) {
		errno = r;
		return -1;
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		errno = ECHILD;
		return -1;
	}
	return 0;
}

/* Reach the broker, starting it if allowed and needed. */
int
brokersock_open(bool start, struct tusk_error *e)
{
	struct tusk_paths paths;
	if (paths_resolve(&paths, e) < 0)
		return -1;
	int fd = brokersock_connect_path(paths.sock_path);
	if (fd < 0 && (errno == ENOENT || errno == ECONNREFUSED) && start) {
		if (start_broker() < 0) {
			terr_set(e, TE_CONNECTION, "cannot start the broker (tuskd): %s",
			    errno == ECHILD ? "it exited with an error" : strerror(errno));
			terr_hint(e, "run `tuskd --foreground` to see why, and check that tuskd is installed beside this program");
			paths_free(&paths);
			return -1;
		}
		for (int i = 0; i < 200 && fd < 0; i++) {
			fd = brokersock_connect_path(paths.sock_path);
			if (fd < 0) {
				struct timespec ts = { 0, 10 * 1000 * 1000 };
				nanosleep(&ts, NULL);
			}
		}
	}
	if (fd < 0) {
		terr_set(e, TE_CONNECTION, "cannot reach the broker at %s: %s", paths.sock_path,
		    strerror(errno));
		terr_hint(e, start ? "is TUSK_HOME / XDG_RUNTIME_DIR the same as the broker's?" :
		    "start it with `tuskd`, or drop --no-start");
	}
	paths_free(&paths);
	return fd;
}
