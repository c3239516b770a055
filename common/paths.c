/*
 * paths.c — XDG / TUSK_HOME resolution and directory creation (see paths.h).
 */
#include "paths.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "error.h"
#include "util.h"

/* $HOME, or the password database's idea of it. */
static const char *
home_dir(void)
{
	const char *h = getenv("HOME");
	if (h && *h == '/')
		return h;
	struct passwd *pw = getpwuid(getuid());
	return pw && pw->pw_dir ? pw->pw_dir : NULL;
}

/* An absolute XDG variable or NULL. */
static const char *
xdg(const char *var)
{
	const char *v = getenv(var);
	return v && *v == '/' ? v : NULL;
}

int
paths_resolve(struct tusk_paths *p, struct tusk_error *e)
{
	memset(p, 0, sizeof *p);
	const char *th = getenv("TUSK_HOME");
	if (th && *th) {
		if (*th != '/') {
			terr_set(e, TE_INITIALIZATION, "TUSK_HOME must be an absolute path, not '%s'", th);
			terr_hint(e, "set TUSK_HOME=/some/dir or unset it");
			return -1;
		}
		p->data_dir = xasprintf("%s/data", th);
		p->log_dir = xasprintf("%s/logs", th);
		p->run_dir = xasprintf("%s/run", th);
	} else {
		const char *home = home_dir();
		const char *d = xdg("XDG_DATA_HOME"), *s = xdg("XDG_STATE_HOME");
		const char *r = xdg("XDG_RUNTIME_DIR");
		if ((d == NULL || s == NULL) && home == NULL) {
			terr_set(e, TE_INITIALIZATION, "cannot find a home directory for uid %u",
			    (unsigned)getuid());
			terr_hint(e, "set HOME, XDG_DATA_HOME and XDG_STATE_HOME, or TUSK_HOME");
			return -1;
		}
		p->data_dir = d ? xasprintf("%s/tusk", d) : xasprintf("%s/.local/share/tusk", home);
		p->log_dir = s ? xasprintf("%s/tusk/logs", s) : xasprintf("%s/.local/state/tusk/logs", home);
		if (r)
			p->run_dir = xasprintf("%s/tusk", r);
		else {
			const char *tmp = getenv("TMPDIR");
			p->run_dir = xasprintf("%s/tusk-%u", tmp && *tmp == '/' ? tmp : "/tmp",
			    (unsigned)getuid());
		}
	}
	p->db_path = xasprintf("%s/tusk.db", p->data_dir);
	p->sock_path = xasprintf("%s/tuskd.sock", p->run_dir);
	p->lock_path = xasprintf("%s/tuskd.lock", p->run_dir);
	if (strlen(p->sock_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		terr_set(e, TE_INITIALIZATION, "socket path too long (%zu bytes): %s",
		    strlen(p->sock_path), p->sock_path);
		terr_hint(e, "Unix socket paths are limited to 107 bytes; use a shorter TUSK_HOME or XDG_RUNTIME_DIR");
		paths_free(p);
		return -1;
	}
	return 0;
}

int
mkdir_p(const char *path, unsigned mode, struct tusk_error *e)
{
	char *buf = xstrdup(path);
	for (char *s = buf + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(buf, c == '\0' ? mode : 0755) < 0 && errno != EEXIST) {
			terr_set(e, TE_INITIALIZATION, "cannot create directory %s: %s", buf,
			    strerror(errno));
			terr_hint(e, "check the permissions of %s's parent, or set TUSK_HOME to a writable directory",
			    buf);
			free(buf);
			return -1;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	struct stat st;
	if (stat(buf, &st) < 0 || !S_ISDIR(st.st_mode)) {
		terr_set(e, TE_INITIALIZATION, "%s is not a directory", buf);
		terr_hint(e, "move the file away or set TUSK_HOME");
		free(buf);
		return -1;
	}
	free(buf);
	return 0;
}

/* A directory exists, and we can write to it. */
static int
check_writable(const char *dir, struct tusk_error *e)
{
	if (access(dir, W_OK | X_OK) < 0) {
		terr_set(e, TE_INITIALIZATION, "directory %s is not writable: %s", dir,
		    strerror(errno));
		terr_hint(e, "fix its permissions, or set TUSK_HOME to a writable directory");
		return -1;
	}
	return 0;
}

int
paths_ensure(const struct tusk_paths *p, struct tusk_error *e)
{
	if (mkdir_p(p->data_dir, 0700, e) < 0 || check_writable(p->data_dir, e) < 0)
		return -1;
	if (mkdir_p(p->log_dir, 0700, e) < 0 || check_writable(p->log_dir, e) < 0)
		return -1;
	if (mkdir_p(p->run_dir, 0700, e) < 0)
		return -1;
	/* the runtime dir guards the socket: ours, and nobody else's to enter */
	struct stat st;
	if (lstat(p->run_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		terr_set(e, TE_INITIALIZATION, "%s is not a directory", p->run_dir);
		return -1;
	}
	if (st.st_uid != getuid()) {
		terr_set(e, TE_INITIALIZATION, "runtime directory %s belongs to uid %u, not to us (%u)",
		    p->run_dir, (unsigned)st.st_uid, (unsigned)getuid());
		terr_hint(e, "remove it or set XDG_RUNTIME_DIR/TUSK_HOME to a directory of your own");
		return -1;
	}
	if ((st.st_mode & 0077) != 0 && chmod(p->run_dir, 0700) < 0) {
		terr_set(e, TE_INITIALIZATION, "cannot make %s private (mode 0700): %s", p->run_dir,
		    strerror(errno));
		return -1;
	}
	return check_writable(p->run_dir, e);
}

/* Free the paths and clear them. */
void
paths_free(struct tusk_paths *p)
{
	free(p->data_dir);
	free(p->log_dir);
	free(p->run_dir);
	free(p->db_path);
	free(p->sock_path);
	free(p->lock_path);
	memset(p, 0, sizeof *p);
}
