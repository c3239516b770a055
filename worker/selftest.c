/*
 * selftest.c — `tusk-worker --sandbox-selftest`: apply the worker's own
 * sandbox and prove what it refuses and what it still allows.
 *
 * Each check runs in a child process of an unsandboxed parent: the child
 * locks itself down exactly as a worker does (sandbox_base, then name
 * resolution and sandbox_connection for a connection to --host:--port with
 * --ca as its CA file), tries one thing, and prints one line: "ok ...",
 * "fallback ..." (the kernel's Landlock ABI cannot refuse it; said so) or
 * "FAIL ...". Calls that must kill (exec, ptrace, ...) are judged by the
 * parent from the child's wait status. The exit status is 0 only when no
 * line says FAIL.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "error.h"
#include "log.h"
#include "proto.h"
#include "resolve.h"
#include "sandbox-policy.h"
#include "sandbox.h"
#include "util.h"

#define MAX_DENY 8

static struct {
	const char *host;
	int port;
	int other_port;
	const char *ca;
	const char *write_dir;
	const char *deny[MAX_DENY];
	int ndeny;
	struct sandbox_opts opts;
	/* the child's view, once locked down */
	char addr[64];
	int abi;
} selftest;

enum verdict { V_OK, V_FALLBACK, V_FAIL };

static const char *const verdict_words[] = { "ok", "fallback", "FAIL" };

/* Print one check's line. */
static int __attribute__((format(printf, 3, 4)))
say(enum verdict v, const char *name, const char *fmt, ...)
{
	va_list ap;
	printf("%s %s: ", verdict_words[v], name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return v == V_FAIL ? 1 : 0;
}

/* The errno's symbolic name (EACCES, EPERM, ...). */
static const char *
ename(int err)
{
	const char *n = strerrorname_np(err);
	return n ? n : "?";
}

/* Judge a call that must fail with one of the expected errors. */
static int
expect_refused(const char *name, int r, int err, int want1, int want2)
{
	if (r >= 0)
		return say(V_FAIL, name, "allowed");
	if (err == want1 || err == want2)
		return say(V_OK, name, "%s", ename(err));
	return say(V_FAIL, name, "refused with %s, expected %s", ename(err), ename(want1));
}

/* --- name resolution inside the sandbox ----------------------------------------------- */

struct rwait {
	bool done;
	int err;
	char msg[128];
};

/* The resolver's answer: keep its first IPv4 address (else its first) or its error. */
static void
resolved(int err, const char *message, char *const *addrs, size_t n, void *arg)
{
	struct rwait *w = arg;
	w->done = true;
	w->err = err;
	if (err)
		snprintf(w->msg, sizeof w->msg, "%s", message);
	/* the first IPv4 address, or else the first one */
	for (size_t i = 0; i < n; i++) {
		if (strchr(addrs[i], ':') == NULL) {
			snprintf(selftest.addr, sizeof selftest.addr, "%s", addrs[i]);
			return;
		}
	}
	if (n > 0)
		snprintf(selftest.addr, sizeof selftest.addr, "%s", addrs[0]);
}

/* Resolve selftest.host as the worker would (evdns, on a loop). */
static int
resolve_host(char *why, size_t len)
{
	struct event_base *base = event_base_new();
	struct tusk_error e = TUSK_ERROR_INIT;
	struct rwait w = { 0 };
	if (base == NULL) {
		snprintf(why, len, "no event base");
		return -1;
	}
	if (resolve_start(base, selftest.host, resolved, &w, &e) == NULL) {
		snprintf(why, len, "%s", e.message);
		terr_clear(&e);
		event_base_free(base);
		return -1;
	}
	while (!w.done)
		if (event_base_loop(base, EVLOOP_ONCE) < 0)
			break;
	event_base_free(base);
	if (!w.done || w.err) {
		snprintf(why, len, "%s", w.done ? w.msg : "no answer");
		return -1;
	}
	return 0;
}

/* Lock down as a worker connecting to selftest.host:selftest.port does. */
static int
child_lockdown(void)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	struct tusk_config cfg;
	sandbox_set_options(&selftest.opts);
	if (sandbox_base(&e) < 0) {
		say(V_FAIL, "sandbox_base", "%s", e.message);
		terr_clear(&e);
		return -1;
	}
	selftest.abi = sandbox_landlock_abi();
	config_init(&cfg);
	cfg.host = xstrdup(selftest.host);
	cfg.port = selftest.port > 0 ? selftest.port : 5432;
	cfg.ssl_mode = xstrdup(selftest.ca ? "verify-full" : "disable");
	cfg.ssl_ca_cert = selftest.ca ? xstrdup(selftest.ca) : NULL;
	int r = sandbox_connection(&cfg, NULL, &e);
	config_free(&cfg);
	if (r < 0) {
		say(V_FAIL, "sandbox_connection", "%s", e.message);
		terr_clear(&e);
		return -1;
	}
	char why[160];
	snprintf(selftest.addr, sizeof selftest.addr, "%s", selftest.host);
	if (sandbox_host_needs_resolve(selftest.host) && resolve_host(why, sizeof why) < 0) {
		say(V_FAIL, "resolve", "%s: %s", selftest.host, why);
		return -1;
	}
	return 0;
}

/* A TCP connect to addr:port from inside the sandbox; errno on failure. */
static int
tcp_connect(const char *addr, int port, int *fd_out)
{
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *a4 = (struct sockaddr_in *)(void *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)(void *)&ss;
	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		len = sizeof *a4;
	} else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		len = sizeof *a6;
	} else {
		return EINVAL;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		int err = errno;
		close(fd);
		return err;
	}
	*fd_out = fd;
	return 0;
}

/* --- the checks (each in its own locked-down child) ----------------------------------- */

/* Check what the process is: no_new_privs, not dumpable, rlimits, Landlock ABI. */
static int
check_state(void)
{
	int fails = 0;
	log_set_level(TLOG_INFO);
	sandbox_log_applied();
	log_set_level(TLOG_WARN);
	int nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	int dump = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	fails += say(nnp == 1 ? V_OK : V_FAIL, "no_new_privs", "%d", nnp);
	fails += say(dump == 0 ? V_OK : V_FAIL, "dumpable", "%d", dump);
	struct rlimit core, nofile, as;
	getrlimit(RLIMIT_CORE, &core);
	getrlimit(RLIMIT_NOFILE, &nofile);
	getrlimit(RLIMIT_AS, &as);
	bool good = core.rlim_max == 0 && nofile.rlim_max <= SANDBOX_NOFILE &&
	    as.rlim_max != RLIM_INFINITY;
	fails += say(good ? V_OK : V_FAIL, "rlimits", "core %llu, nofile %llu, as %llu MiB",
	    (unsigned long long)core.rlim_max, (unsigned long long)nofile.rlim_max,
	    as.rlim_max == RLIM_INFINITY ? 0ULL : (unsigned long long)(as.rlim_max >> 20));
	if (selftest.abi > 0)
		fails += say(V_OK, "landlock", "ABI %d", selftest.abi);
	else
		fails += say(V_FALLBACK, "landlock", "none: seccomp and rlimits only");
	return fails;
}

/* Check that denied files cannot be read and the CA file can. */
static int
check_reads(void)
{
	int fails = 0;
	for (int i = 0; i < selftest.ndeny; i++) {
		char name[300];
		snprintf(name, sizeof name, "read %s", selftest.deny[i]);
		int fd = open(selftest.deny[i], O_RDONLY | O_CLOEXEC);
		int err = errno;
		if (fd >= 0 && selftest.abi == 0)
			fails += say(V_FALLBACK, name, "allowed (no Landlock)");
		else
			fails += expect_refused(name, fd, err, EACCES, EACCES);
		if (fd >= 0)
			close(fd);
	}
	if (selftest.ca) {
		char name[300], b;
		snprintf(name, sizeof name, "read %s", selftest.ca);
		int fd = open(selftest.ca, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && read(fd, &b, 1) == 1)
			fails += say(V_OK, name, "allowed");
		else
			fails += say(V_FAIL, name, "refused: %s", ename(errno));
		if (fd >= 0)
			close(fd);
	}
	return fails;
}

/* Check that no file or directory can be created or removed. */
static int
check_writes(void)
{
	int fails = 0;
	char path[512], name[560];
	snprintf(path, sizeof path, "%s/tusk-selftest.%d", selftest.write_dir, (int)getpid());
	snprintf(name, sizeof name, "create %s", path);
	int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	int err = errno;
	if (fd >= 0) {
		close(fd);
#ifdef TUSK_SANITIZE
		/* the seccomp filter lets a sanitizer build open files for writing
		 * (its reports): without Landlock nothing else refuses */
		if (selftest.abi == 0)
			fails += say(V_FALLBACK, name, "allowed (no Landlock; sanitizer build)");
		else
			fails += say(V_FAIL, name, "allowed");
#else
		/* a release build's seccomp filter refuses it, Landlock or not */
		fails += say(V_FAIL, name, "allowed");
#endif
	} else {
		fails += expect_refused(name, fd, err, EACCES, EACCES);
	}
	snprintf(path, sizeof path, "%s/tusk-selftest-dir.%d", selftest.write_dir, (int)getpid());
	int r = mkdir(path, 0700);
	fails += expect_refused("mkdir", r, errno, EPERM, EACCES);
	r = unlink(selftest.ndeny ? selftest.deny[0] : "/nonexistent");
	fails += expect_refused("unlink", r, errno, EPERM, EACCES);
	return fails;
}

/* Check that the server resolves and connects; other ports, bind and raw sockets are refused. */
static int
check_network(void)
{
	int fails = 0, fd = -1;
	char name[128];
	if (sandbox_host_needs_resolve(selftest.host)) {
		snprintf(name, sizeof name, "resolve %s", selftest.host);
		fails += say(V_OK, name, "%s (inside the sandbox)", selftest.addr);
	}
	if (selftest.port > 0 && selftest.host[0] != '/') {
		snprintf(name, sizeof name, "connect %s:%d", selftest.addr, selftest.port);
		int err = tcp_connect(selftest.addr, selftest.port, &fd);
		if (err == 0) {
			/* a PostgreSQL SSLRequest: the server answers 'S' or 'N' */
			uint32_t req[2] = { htonl(8), htonl(80877103) };
			char ans = 0;
			if (write(fd, req, sizeof req) == (ssize_t)sizeof req && read(fd, &ans, 1) == 1)
				fails += say(V_OK, name, "allowed (the server answered '%c')", ans);
			else
				fails += say(V_OK, name, "allowed");
			close(fd);
		} else {
			fails += say(V_FAIL, name, "refused: %s", ename(err));
		}
	}
	if (selftest.other_port > 0) {
		snprintf(name, sizeof name, "connect 127.0.0.1:%d", selftest.other_port);
		int err = tcp_connect("127.0.0.1", selftest.other_port, &fd);
		if (err == 0)
			close(fd);
		if (selftest.abi >= 4)
			fails += expect_refused(name, err ? -1 : 0, err, EACCES, EACCES);
		else if (err == 0 || err == ECONNREFUSED)
			fails += say(V_FALLBACK, name, "%s (no network rules at ABI %d)",
			    err ? "not refused by the sandbox" : "allowed", selftest.abi);
		else
			fails += say(V_FAIL, name, "unexpected %s", ename(err));
	}
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int r = s < 0 ? -1 : bind(s, (struct sockaddr *)&a, sizeof a);
	fails += expect_refused("bind tcp", r, errno, EPERM, EACCES);
	if (s >= 0)
		close(s);
	r = socket(AF_NETLINK, SOCK_RAW, 0);
	fails += expect_refused("socket netlink", r, errno, EPERM, EPERM);
	r = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	fails += expect_refused("socket raw", r, errno, EPERM, EPERM);
	return fails;
}

/* What a thread of the worker does: nothing, then ends. */
static void *
thread_body(void *arg)
{
	return arg;
}

/* Check that a thread may start, but fork, signals, rlimits, dumpable and TIOCSTI are refused. */
static int
check_process(void)
{
	int fails = 0;
	/* a thread (PQcancel's) is allowed after lock-down; a process is not */
	pthread_t th;
	int tr = pthread_create(&th, NULL, thread_body, NULL);
	if (tr == 0 && pthread_join(th, NULL) == 0)
		fails += say(V_OK, "thread", "allowed (it inherits the sandbox)");
	else
		fails += say(V_FAIL, "thread", "refused: %s", ename(tr));
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	if (p > 0)
		waitpid(p, NULL, 0);
	fails += expect_refused("fork", p, errno, EPERM, ENOSYS);
	int r = kill(getppid(), 0);
	fails += expect_refused("signal parent", r, errno, EPERM, EPERM);
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	r = setrlimit(RLIMIT_AS, &rl);
	fails += expect_refused("raise rlimit", r, errno, EPERM, EPERM);
	r = prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	fails += expect_refused("set dumpable", r, errno, EPERM, EPERM);
	char c = 'x';
	r = ioctl(2, TIOCSTI, &c);
	fails += expect_refused("ioctl TIOCSTI", r, errno, EPERM, EPERM);
	return fails;
}

/* Calls that must kill the worker: they return only when the filter failed. */
static void
fatal_exec(void)
{
	char prog[] = "/bin/true";
	char *argv[] = { prog, NULL }, *envp[] = { NULL };
	execve(argv[0], argv, envp);
}

/* ptrace(TRACEME): must kill the worker. */
static void
fatal_ptrace(void)
{
	syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0);
}

/* Read the parent's memory: must kill the worker. */
static void
fatal_process_vm(void)
{
	char buf[8];
	struct iovec l = { buf, sizeof buf }, r = { buf, sizeof buf };
	syscall(SYS_process_vm_readv, getppid(), &l, 1, &r, 1, 0);
}

/* Mount a tmpfs: must kill the worker. */
static void
fatal_mount(void)
{
	syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, NULL);
}

/* Enter a new user namespace: must kill the worker. */
static void
fatal_unshare(void)
{
	syscall(SYS_unshare, CLONE_NEWUSER);
}

#ifdef TUSK_SANITIZE
/* A heap overflow after lock-down: its report must reach log_path. */
static void
fatal_asan_report(void)
{
	char *volatile p = malloc(8);
	volatile size_t i = 8;
	volatile char c = p[i];
	(void)c;
	free(p);
}

/* Signed overflow: UBSan's report must reach its log_path. */
static void
fatal_ubsan_report(void)
{
	volatile int big = INT32_MAX;
	volatile int r = big + 1;
	(void)r;
}
#endif

struct check {
	const char *name;
	int (*run)(void);	/* returns the number of failed lines */
	void (*fatal)(void);	/* must not return */
	int fatal_sig;		/* SIGSYS; 0: a sanitizer's exit with a report */
	const char *san_env;	/* the options holding its log_path */
	const char *san_word;	/* what the report must say */
};

static const struct check checks[] = {
	{ "state", check_state, NULL, 0, NULL, NULL },
	{ "reads", check_reads, NULL, 0, NULL, NULL },
	{ "writes", check_writes, NULL, 0, NULL, NULL },
	{ "network", check_network, NULL, 0, NULL, NULL },
	{ "process", check_process, NULL, 0, NULL, NULL },
	{ "exec", NULL, fatal_exec, SIGSYS, NULL, NULL },
	{ "ptrace", NULL, fatal_ptrace, SIGSYS, NULL, NULL },
	{ "process_vm_readv", NULL, fatal_process_vm, SIGSYS, NULL, NULL },
	{ "mount", NULL, fatal_mount, SIGSYS, NULL, NULL },
	{ "unshare", NULL, fatal_unshare, SIGSYS, NULL, NULL },
#ifdef TUSK_SANITIZE
	{ "asan report", NULL, fatal_asan_report, 0, "ASAN_OPTIONS", "heap-buffer-overflow" },
	{ "ubsan report", NULL, fatal_ubsan_report, 0, "UBSAN_OPTIONS", "signed integer overflow" },
#endif
};

/* log_path from a sanitizer's options (absolute paths only). */
static bool
san_log_path(const char *env, char *out, size_t len)
{
	const char *o = getenv(env), *p = o;
	while (p && (p = strstr(p, "log_path=")) != NULL && p != o && p[-1] != ':')
		p += 9;
	if (p == NULL)
		return false;
	p += 9;
	size_t n = strcspn(p, ":");
	if (n == 0 || n >= len || p[0] != '/')
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

/* Does the file hold word? */
static bool
file_has(const char *path, const char *word)
{
	char buf[16384];
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return false;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, word) != NULL;
}

/*
 * A sanitizer's report must be written (not lost, not a SIGSYS): to its
 * log_path file, or to stderr (GCC's UBSan inside ASan ignores log_path),
 * which the parent captured.
 */
static int
judge_san(const struct check *c, pid_t pid, int st, const char *err)
{
	char path[512], file[600];
	bool found = false;
	file[0] = '\0';
	if (san_log_path(c->san_env, path, sizeof path)) {
		snprintf(file, sizeof file, "%s.%d", path, (int)pid);
		found = file_has(file, c->san_word);
	}
	if (WIFSIGNALED(st))
		return say(V_FAIL, c->name, "killed by signal %d", WTERMSIG(st));
	if (found) {
		/* symbolised: the runtime could read /proc/self/maps and our binary */
		bool sym = file_has(file, "fatal_asan_report");
		unlink(file);
		return say(V_OK, c->name, "written to %s (exit %d, %s)", file, WEXITSTATUS(st),
		    sym ? "symbolised" : "not symbolised");
	}
	if (strstr(err, c->san_word))
		return say(V_OK, c->name, "written to stderr (exit %d)", WEXITSTATUS(st));
	return say(V_FAIL, c->name, "no report with \"%s\" in %s or on stderr", c->san_word,
	    file[0] ? file : "(no log_path)");
}

/* Read a child's stderr to the end (keeping the first part). */
static void
read_all(int fd, char *buf, size_t len)
{
	size_t n = 0;
	char junk[4096];
	for (;;) {
		ssize_t r = n + 1 < len ? read(fd, buf + n, len - 1 - n) : read(fd, junk, sizeof junk);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (n + 1 < len)
			n += (size_t)r;
	}
	buf[n] = '\0';
}

/* Run one check in a locked-down child; judge it. */
static int
run_check(const struct check *c)
{
	int pfd[2] = { -1, -1 };
	fflush(stdout);
	fflush(stderr);
	if (c->san_env && pipe2(pfd, O_CLOEXEC) < 0)
		return say(V_FAIL, c->name, "pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		return say(V_FAIL, c->name, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (pfd[1] >= 0)
			dup2(pfd[1], 2);
		if (child_lockdown() < 0)
			_exit(1);
		if (c->run)
			_exit(c->run() ? 1 : 0);
		c->fatal();
		say(V_FAIL, c->name, "not killed (the call returned: %s)", ename(errno));
		_exit(1);
	}
	static char err[32768];
	err[0] = '\0';
	if (pfd[0] >= 0) {
		close(pfd[1]);
		read_all(pfd[0], err, sizeof err);
		close(pfd[0]);
		fputs(err, stderr);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	/* a create the fallback allowed leaves nothing behind */
	char left[512];
	snprintf(left, sizeof left, "%s/tusk-selftest.%d", selftest.write_dir, (int)pid);
	unlink(left);
	if (c->run)
		return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 :
		    (WIFSIGNALED(st) ? say(V_FAIL, c->name, "killed by signal %d", WTERMSIG(st)) : 1);
	if (c->san_env)
		return judge_san(c, pid, st, err);
	if (WIFSIGNALED(st) && WTERMSIG(st) == c->fatal_sig)
		return say(V_OK, c->name, "killed by SIG%s", sigabbrev_np(c->fatal_sig));
	if (WIFSIGNALED(st))
		return say(V_FAIL, c->name, "killed by signal %d", WTERMSIG(st));
	return WEXITSTATUS(st) == 0 ? say(V_FAIL, c->name, "survived") : 1;
}

/* The selftest's usage, on stderr. */
static void
selftest_usage(void)
{
	fprintf(stderr,
	    "usage: tusk-worker --sandbox-selftest [--host H] [--port N] [--other-port N]\n"
	    "         [--ca FILE] [--deny-read PATH ...] [--write-dir DIR]\n"
	    "         [--landlock-abi N|none] [--memory-mb N]\n");
}

int
sandbox_selftest(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'h' },
		{ "port", required_argument, NULL, 'p' },
		{ "other-port", required_argument, NULL, 'o' },
		{ "ca", required_argument, NULL, 'c' },
		{ "deny-read", required_argument, NULL, 'd' },
		{ "write-dir", required_argument, NULL, 'w' },
		{ "landlock-abi", required_argument, NULL, 'a' },
		{ "memory-mb", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	long long v;
	int ch;
	selftest.host = "127.0.0.1";
	selftest.write_dir = "/tmp";
	selftest.opts.landlock_abi = -1;
	selftest.opts.memory_mb = WORKER_MEMORY_MB_DEFAULT;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			selftest.host = optarg;
			break;
		case 'p':
		case 'o':
			if (parse_ll(optarg, 1, 65535, &v) < 0) {
				selftest_usage();
				return 2;
			}
			*(ch == 'p' ? &selftest.port : &selftest.other_port) = (int)v;
			break;
		case 'c':
			selftest.ca = optarg;
			break;
		case 'd':
			if (selftest.ndeny < MAX_DENY)
				selftest.deny[selftest.ndeny++] = optarg;
			break;
		case 'w':
			selftest.write_dir = optarg;
			break;
		case 'a':
			if (strcmp(optarg, "none") == 0)
				v = 0;
			else if (parse_ll(optarg, 0, 100, &v) < 0) {
				selftest_usage();
				return 2;
			}
			selftest.opts.landlock_abi = (int)v;
			break;
		case 'm':
			if (parse_ll(optarg, WORKER_MEMORY_MB_MIN, 1 << 20, &v) < 0) {
				selftest_usage();
				return 2;
			}
			selftest.opts.memory_mb = (int)v;
			break;
		default:
			selftest_usage();
			return 2;
		}
	}
	if (optind != argc) {
		selftest_usage();
		return 2;
	}
	log_init("selftest");
	log_set_level(TLOG_WARN);
	int fails = 0;
	for (size_t i = 0; i < nitems(checks); i++)
		fails += run_check(&checks[i]);
	printf("selftest: %s\n", fails ? "FAILED" : "every denial holds");
	return fails ? 1 : 0;
}
