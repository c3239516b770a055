/*
 * test_paths.c — where Tusk keeps things (paths.c): TUSK_HOME, the XDG
 * variables and their fallbacks, the socket path limit, and directory
 * creation with a private runtime directory. Each test sets the
 * environment it needs and works under its own temporary directory.
 *
 * The suite runs as root, where access(W_OK) always succeeds: refusals are
 * provoked with a file in the way, a path under a file, a directory owned
 * by someone else, and a child process that drops to an unprivileged uid to
 * meet a directory it really cannot write.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "paths.h"
#include "util.h"

#define NOBODY 65534

static const char *const vars[] = {
	"TUSK_HOME", "HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR", "TMPDIR",
};
static char *saved[nitems(vars)];
static char tmp[64];

/* Save the environment, start each test with none of the variables set. */
static int
env_setup(void **state)
{
	(void)state;
	for (size_t i = 0; i < nitems(vars); i++) {
		const char *v = getenv(vars[i]);
		saved[i] = v ? xstrdup(v) : NULL;
		unsetenv(vars[i]);
	}
	umask(022);
	snprintf(tmp, sizeof tmp, "/tmp/tusk-paths-XXXXXX");
	if (mkdtemp(tmp) == NULL)
		return -1;
	return 0;
}

/* Remove one entry of the test tree. */
static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* Restore the environment and remove the test tree. */
static int
env_teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < nitems(vars); i++) {
		if (saved[i])
			setenv(vars[i], saved[i], 1);
		else
			unsetenv(vars[i]);
		free(saved[i]);
		saved[i] = NULL;
	}
	return nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* paths_resolve must succeed. */
static void
resolve(struct tusk_paths *p)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	if (paths_resolve(p, &e) != 0)
		fail_msg("paths_resolve: %s", e.message);
}

static void
tusk_home(void **state)
{
	struct tusk_paths p;
	(void)state;
	setenv("TUSK_HOME", "/srv/tusk", 1);
	setenv("XDG_DATA_HOME", "/ignored/data", 1); /* TUSK_HOME wins */
	setenv("XDG_RUNTIME_DIR", "/ignored/run", 1);
	resolve(&p);
	assert_string_equal(p.data_dir, "/srv/tusk/data");
	assert_string_equal(p.log_dir, "/srv/tusk/logs");
	assert_string_equal(p.run_dir, "/srv/tusk/run");
	assert_string_equal(p.db_path, "/srv/tusk/data/tusk.db");
	assert_string_equal(p.sock_path, "/srv/tusk/run/tuskd.sock");
	assert_string_equal(p.lock_path, "/srv/tusk/run/tuskd.lock");
	paths_free(&p);
	assert_null(p.data_dir);
	paths_free(&p); /* twice is harmless */
	/* an empty TUSK_HOME is the same as none */
	setenv("TUSK_HOME", "", 1);
	setenv("XDG_STATE_HOME", "/st", 1);
	resolve(&p);
	assert_string_equal(p.data_dir, "/ignored/data/tusk");
	assert_string_equal(p.log_dir, "/st/tusk/logs");
	assert_string_equal(p.run_dir, "/ignored/run/tusk");
	paths_free(&p);
}

static void
tusk_home_relative(void **state)
{
	struct tusk_paths p;
	struct tusk_error e = TUSK_ERROR_INIT;
	(void)state;
	const char *rel[] = { "tusk", "./tusk", "~/tusk", " /tusk" };
	for (size_t i = 0; i < nitems(rel); i++) {
		setenv("TUSK_HOME", rel[i], 1);
		assert_int_equal(paths_resolve(&p, &e), -1);
		assert_int_equal(e.kind, TE_INITIALIZATION);
		char *want = xasprintf("TUSK_HOME must be an absolute path, not '%s'", rel[i]);
		assert_string_equal(e.message, want);
		free(want);
		assert_non_null(e.hint);
		assert_null(p.data_dir);
		assert_null(p.sock_path);
	}
	terr_clear(&e);
}

static void
xdg_vars(void **state)
{
	struct tusk_paths p;
	(void)state;
	setenv("HOME", "/home/u", 1);
	setenv("XDG_DATA_HOME", "/x/data", 1);
	setenv("XDG_STATE_HOME", "/x/state", 1);
	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	resolve(&p);
	assert_string_equal(p.data_dir, "/x/data/tusk");
	assert_string_equal(p.log_dir, "/x/state/tusk/logs");
	assert_string_equal(p.run_dir, "/run/user/1000/tusk");
	assert_string_equal(p.db_path, "/x/data/tusk/tusk.db");
	assert_string_equal(p.sock_path, "/run/user/1000/tusk/tuskd.sock");
	paths_free(&p);
	/* relative XDG values are invalid and ignored, as the spec says */
	setenv("XDG_DATA_HOME", "x/data", 1);
	setenv("XDG_STATE_HOME", "", 1);
	setenv("XDG_RUNTIME_DIR", "run", 1);
	resolve(&p);
	assert_string_equal(p.data_dir, "/home/u/.local/share/tusk");
	assert_string_equal(p.log_dir, "/home/u/.local/state/tusk/logs");
	char *want = xasprintf("/tmp/tusk-%u", (unsigned)getuid());
	assert_string_equal(p.run_dir, want);
	free(want);
	paths_free(&p);
}

static void
fallbacks(void **state)
{
	struct tusk_paths p;
	(void)state;
	setenv("HOME", "/home/u", 1);
	resolve(&p);
	assert_string_equal(p.data_dir, "/home/u/.local/share/tusk");
	assert_string_equal(p.log_dir, "/home/u/.local/state/tusk/logs");
	char *want = xasprintf("/tmp/tusk-%u", (unsigned)getuid());
	assert_string_equal(p.run_dir, want);
	free(want);
	paths_free(&p);
	/* the runtime fallback honours an absolute TMPDIR only */
	setenv("TMPDIR", "/var/tmp", 1);
	resolve(&p);
	want = xasprintf("/var/tmp/tusk-%u", (unsigned)getuid());
	assert_string_equal(p.run_dir, want);
	free(want);
	paths_free(&p);
	setenv("TMPDIR", "tmp", 1);
	resolve(&p);
	want = xasprintf("/tmp/tusk-%u", (unsigned)getuid());
	assert_string_equal(p.run_dir, want);
	free(want);
	paths_free(&p);
	/* without HOME (or with a relative one) the password database answers */
	struct passwd *pw = getpwuid(getuid());
	assert_non_null(pw);
	char *pwdata = xasprintf("%s/.local/share/tusk", pw->pw_dir);
	unsetenv("HOME");
	resolve(&p);
	assert_string_equal(p.data_dir, pwdata);
	paths_free(&p);
	setenv("HOME", "relative/home", 1);
	resolve(&p);
	assert_string_equal(p.data_dir, pwdata);
	paths_free(&p);
	free(pwdata);
	/* with both XDG data and state set, HOME is not needed at all */
	setenv("XDG_DATA_HOME", "/d", 1);
	setenv("XDG_STATE_HOME", "/s", 1);
	resolve(&p);
	assert_string_equal(p.data_dir, "/d/tusk");
	assert_string_equal(p.log_dir, "/s/tusk/logs");
	paths_free(&p);
}

/* A directory name of n bytes ("/" and n - 1 letters). */
static char *
dir_of_len(size_t n)
{
	char *s = xmalloc(n + 1);
	s[0] = '/';
	memset(s + 1, 'd', n - 1);
	s[n] = '\0';
	return s;
}

static void
socket_path_too_long(void **state)
{
	struct tusk_paths p;
	struct tusk_error e = TUSK_ERROR_INIT;
	(void)state;
	/* sun_path holds 107 bytes and a NUL: TUSK_HOME + "/run/tuskd.sock" (15) */
	char *ok = dir_of_len(92), *tl = dir_of_len(93);
	setenv("TUSK_HOME", ok, 1);
	resolve(&p);
	assert_int_equal(strlen(p.sock_path), 107);
	paths_free(&p);
	setenv("TUSK_HOME", tl, 1);
	assert_int_equal(paths_resolve(&p, &e), -1);
	assert_int_equal(e.kind, TE_INITIALIZATION);
	assert_non_null(strstr(e.message, "socket path too long (108 bytes)"));
	assert_non_null(strstr(e.hint, "107 bytes"));
	assert_null(p.data_dir); /* nothing left allocated */
	assert_null(p.sock_path);
	/* the same for a long XDG_RUNTIME_DIR: + "/tusk/tuskd.sock" (16) */
	unsetenv("TUSK_HOME");
	setenv("HOME", "/h", 1);
	free(tl);
	tl = dir_of_len(92);
	setenv("XDG_RUNTIME_DIR", tl, 1);
	assert_int_equal(paths_resolve(&p, &e), -1);
	assert_non_null(strstr(e.message, "socket path too long"));
	free(ok);
	free(tl);
	terr_clear(&e);
}

/* Permission bits of path. */
static unsigned
mode_of(const char *path)
{
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	return st.st_mode & 07777;
}

/* Resolve with TUSK_HOME=tmp/sub and run paths_ensure; returns its result. */
static int
ensure_under(const char *sub, struct tusk_paths *p, struct tusk_error *e)
{
	char *home = xasprintf("%s/%s", tmp, sub);
	setenv("TUSK_HOME", home, 1);
	free(home);
	resolve(p);
	return paths_ensure(p, e);
}

static void
ensure_creates(void **state)
{
	struct tusk_paths p;
	struct tusk_error e = TUSK_ERROR_INIT;
	(void)state;
	if (ensure_under("a/b/home", &p, &e) != 0)
		fail_msg("paths_ensure: %s", e.message);
	assert_int_equal(mode_of(p.data_dir), 0700);
	assert_int_equal(mode_of(p.log_dir), 0700);
	assert_int_equal(mode_of(p.run_dir), 0700);
	/* parents made on the way are ordinary directories */
	char *parent = xasprintf("%s/a/b", tmp);
	assert_int_equal(mode_of(parent), 0755);
	free(parent);
	/* again: nothing to do, still fine */
	assert_int_equal(paths_ensure(&p, &e), 0);
	paths_free(&p);
	/* the XDG layout nests the log directory two levels down */
	unsetenv("TUSK_HOME");
	char *x = xasprintf("%s/xdg", tmp);
	char *d = xasprintf("%s/data", x), *s = xasprintf("%s/state", x), *r = xasprintf("%s/run", x);
	setenv("XDG_DATA_HOME", d, 1);
	setenv("XDG_STATE_HOME", s, 1);
	setenv("XDG_RUNTIME_DIR", r, 1);
	resolve(&p);
	if (paths_ensure(&p, &e) != 0)
		fail_msg("paths_ensure: %s", e.message);
	assert_int_equal(mode_of(p.log_dir), 0700);
	assert_int_equal(mode_of(p.run_dir), 0700);
	paths_free(&p);
	free(x);
	free(d);
	free(s);
	free(r);
	terr_clear(&e);
}

static void
ensure_fixes_runtime_mode(void **state)
{
	struct tusk_paths p;
	struct tusk_error e = TUSK_ERROR_INIT;
	(void)state;
	char *run = xasprintf("%s/h/run", tmp);
	char *h = xasprintf("%s/h", tmp);
	assert_int_equal(mkdir(h, 0755), 0);
	assert_int_equal(mkdir(run, 0755), 0);
	assert_int_equal(chmod(run, 0755), 0);
	assert_int_equal(ensure_under("h", &p, &e), 0);
	assert_int_equal(mode_of(run), 0700);
	/* a group-writable one too, sticky bits and all */
	assert_int_equal(chmod(run, 01777), 0);
	assert_int_equal(paths_ensure(&p, &e), 0);
	assert_int_equal(mode_of(run) & 0777, 0700);
	paths_free(&p);
	free(run);
	free(h);
}

/* Make path a regular file (creating its parent). */
static void
file_at(const char *path)
{
	char *dir = xstrdup(path);
	*strrchr(dir, '/') = '\0';
	struct tusk_error e = TUSK_ERROR_INIT;
	assert_int_equal(mkdir_p(dir, 0755, &e), 0);
	free(dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	close(fd);
}

static void
ensure_refuses_file_in_the_way(void **state)
{
	struct tusk_paths p;
	struct tusk_error e = TUSK_ERROR_INIT;
	(void)state;
	const char *where[] = { "f1/run", "f2/data", "f3/logs" };
	for (size_t i = 0; i < nitems(where); i++) {
		char *f = xasprintf("%s/%s", tmp, where[i]);
		file_at(f);
		char *sub = xstrndup(where[i], 2);
		assert_int_equal(ensure_under(sub, &p, &e), -1);
		assert_int_equal(e.kind, TE_INITIALIZATION);
		char *want = xasprintf("%s is not a directory", f);
		assert_string_equal(e.message, want);
		assert_non_null(e.hint);
		free(want);
		free(sub);
		free(f);
		paths_free(&p);
	}
	/* a path under a file cannot be created */
	char *f = xasprintf("%s/plain", tmp);
	file_at(f);
	assert_int_equal(ensure_under("plain/home", &p, &e), -1);
	char *want = xasprintf("cannot create directory %s/home: Not a directory", f);
	assert_string_equal(e.message, want);
	assert_non_null(strstr(e.hint, "TUSK_HOME"));
	free(want);
	free(f);
	paths_free(&p);
	terr_clear(&e);
}

static void
ensure_refuses_foreign_or_symlinked_runtime(void **state)
{
	struct tusk_paths p;
	struct tusk_error e = TUSK_ERROR_INIT;
	(void)state;
	/* a runtime directory owned by another uid */
	char *run = xasprintf("%s/o/run", tmp);
	assert_int_equal(mkdir_p(run, 0700, &e), 0);
	if (getuid() == 0) {
		assert_int_equal(chown(run, NOBODY, NOBODY), 0);
		assert_int_equal(ensure_under("o", &p, &e), -1);
		char *want = xasprintf("runtime directory %s belongs to uid %d, not to us (0)", run,
		    NOBODY);
		assert_string_equal(e.message, want);
		free(want);
		paths_free(&p);
	} else {
		print_message("not root: cannot give %s to another uid, ownership check not run\n", run);
	}
	free(run);
	/* a runtime directory that is a symlink to a good directory */
	char *target = xasprintf("%s/real-run", tmp);
	char *link = xasprintf("%s/l/run", tmp);
	assert_int_equal(mkdir(target, 0700), 0);
	file_at(link);
	unlink(link);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(ensure_under("l", &p, &e), -1);
	char *want = xasprintf("%s is not a directory", link);
	assert_string_equal(e.message, want);
	free(want);
	paths_free(&p);
	free(target);
	free(link);
	terr_clear(&e);
}

/*
 * In a child that cannot write parent: run paths_ensure with TUSK_HOME=home
 * and report its message on the pipe. As root the child drops to nobody.
 */
static int
ensure_unprivileged(const char *home, char *msg, size_t len)
{
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		if (getuid() == 0 && (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 ||
		    setuid(NOBODY) < 0))
			_exit(90);
		struct tusk_paths p;
		struct tusk_error e = TUSK_ERROR_INIT;
		setenv("TUSK_HOME", home, 1);
		if (paths_resolve(&p, &e) < 0)
			_exit(91);
		int rc = paths_ensure(&p, &e);
		if (rc < 0 && write(pfd[1], e.message, strlen(e.message)) < 0)
			_exit(92);
		paths_free(&p);
		terr_clear(&e);
		_exit(rc < 0 ? 1 : 0);
	}
	close(pfd[1]);
	ssize_t n, got = 0;
	while ((size_t)got + 1 < len && (n = read(pfd[0], msg + got, len - 1 - (size_t)got)) > 0)
		got += n;
	msg[got] = '\0';
	close(pfd[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void
ensure_refuses_unwritable_parent(void **state)
{
	char msg[512];
	(void)state;
	/* parent: a root-owned 0755 directory the child may enter but not write */
	char *parent = xasprintf("%s/ro", tmp);
	assert_int_equal(chmod(tmp, 0755), 0);
	assert_int_equal(mkdir(parent, 0755), 0);
	if (getuid() != 0)
		assert_int_equal(chmod(parent, 0555), 0);
	char *home = xasprintf("%s/home", parent);
	assert_int_equal(ensure_unprivileged(home, msg, sizeof msg), 1);
	char *want = xasprintf("cannot create directory %s: Permission denied", home);
	assert_string_equal(msg, want);
	free(want);
	/* the directories exist, but belong to root: not writable for the child */
	char *data = xasprintf("%s/data", home);
	struct tusk_error e = TUSK_ERROR_INIT;
	chmod(parent, 0755);
	assert_int_equal(mkdir_p(data, 0755, &e), 0);
	if (getuid() != 0)
		assert_int_equal(chmod(data, 0555), 0);
	assert_int_equal(ensure_unprivileged(home, msg, sizeof msg), 1);
	want = xasprintf("directory %s is not writable: Permission denied", data);
	assert_string_equal(msg, want);
	free(want);
	chmod(data, 0755);
	free(data);
	free(home);
	free(parent);
}

static void
mkdir_p_modes(void **state)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	(void)state;
	char *deep = xasprintf("%s/m/n/o", tmp);
	assert_int_equal(mkdir_p(deep, 0711, &e), 0);
	assert_int_equal(mode_of(deep), 0711);
	char *mid = xasprintf("%s/m/n", tmp);
	assert_int_equal(mode_of(mid), 0755);
	/* an existing directory keeps its mode */
	assert_int_equal(mkdir_p(mid, 0700, &e), 0);
	assert_int_equal(mode_of(mid), 0755);
	assert_int_equal(mkdir_p("/", 0700, &e), 0);
	free(deep);
	free(mid);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, env_setup, env_teardown)
	const struct CMUnitTest tests[] = {
		T(tusk_home),
		T(tusk_home_relative),
		T(xdg_vars),
		T(fallbacks),
		T(socket_path_too_long),
		T(ensure_creates),
		T(ensure_fixes_runtime_mode),
		T(ensure_refuses_file_in_the_way),
		T(ensure_refuses_foreign_or_symlinked_runtime),
		T(ensure_refuses_unwritable_parent),
		T(mkdir_p_modes),
	};
	return cmocka_run_group_tests_name("paths", tests, NULL, NULL);
}
