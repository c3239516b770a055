/*
 * sandbox-linux.c — the worker's sandbox on Linux (see sandbox.h and
 * docs/sandbox.md): no_new_privs, not dumpable, rlimits, a seccomp
 * allow-list, and two Landlock layers, with a fallback by Landlock ABI.
 *
 * The order matters. sandbox_base() sets NO_NEW_PRIVS first (Landlock and
 * an unprivileged seccomp filter need it), then the rlimits, then the base
 * Landlock layer, then the seccomp filter (which still allows the Landlock
 * calls the second layer needs: they can only take rights away).
 * sandbox_connection() loads OpenSSL's configuration while files can still
 * be read, then adds the connection layer.
 *
 * Landlock restricts the calling thread only: the worker is single-threaded
 * until both layers are applied (sandbox_connection checks it), and the
 * filter lets clone make threads only (no processes). The one thread there
 * ever is, PQcancel's (cancel.c), starts after that, so it inherits both
 * layers and the filter.
 *
 * An SSH tunnel's local end is a loopback TCP port bound before the
 * connection layer (docs/transport.md): the base layer lets TCP bind to an
 * ephemeral port only, and sandbox_connection then forbids bind and listen
 * for good (a Landlock rule at ABI >= 4, and a second seccomp filter at
 * every ABI).
 *
 * Sanitizer builds (TUSK_SANITIZE): the runtime must be able to write its
 * report under ASAN_OPTIONS/UBSAN_OPTIONS log_path, and to read
 * /proc/self/maps and the binaries to symbolise it; the sandbox allows
 * exactly that, and the seccomp filter lets open() create files (Landlock
 * still confines it to those directories). LeakSanitizer needs ptrace at
 * exit, which the filter forbids: it is turned off once the worker is
 * locked down (docs/sandbox.md says how leaks are checked instead).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <linux/seccomp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <seccomp.h>

#include "config.h"
#include "error.h"
#include "log.h"
#include "proto.h"
#include "sandbox-policy.h"
#include "sandbox.h"
#include "util.h"

#define LL_CREATE_RULESET_VERSION (1U << 0)
#define LL_RULE_PATH_BENEATH 1
#define LL_RULE_NET_PORT 2

/* The kernel's structures, as the newest ABI defines them. */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

struct ll_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

struct ll_net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
};

static struct {
	struct sandbox_opts opts;
	bool locked;
	int kernel_abi;		/* what the kernel said (negative: -errno) */
	struct ll_rights ll;	/* what we use */
	uint64_t as_bytes;	/* RLIMIT_AS set (0: none) */
	unsigned nofile;
	char san_dirs[256];	/* sanitizer log directories opened for writing */
} sbx = { .opts = { WORKER_MEMORY_MB_DEFAULT, -1 } };

void
sandbox_set_options(const struct sandbox_opts *o)
{
	sbx.opts = *o;
	if (sbx.opts.memory_mb <= 0)
		sbx.opts.memory_mb = WORKER_MEMORY_MB_DEFAULT;
	if (sbx.opts.memory_mb < WORKER_MEMORY_MB_MIN)
		sbx.opts.memory_mb = WORKER_MEMORY_MB_MIN;
}

bool
sandbox_locked(void)
{
	return sbx.locked;
}

int
sandbox_landlock_abi(void)
{
	return sbx.ll.abi;
}

#ifdef TUSK_SANITIZE
/* LeakSanitizer stops the world with ptrace at exit: not once locked down. */
int __lsan_is_turned_off(void);
int
__lsan_is_turned_off(void)
{
	return sbx.locked;
}
#endif

/* --- rlimits ------------------------------------------------------------------ */

/*
 * Lower one limit (never raise it). When the hard limit may not move
 * (valgrind keeps RLIMIT_NOFILE's), the soft one is enough: the seccomp
 * filter refuses every later setrlimit, so it cannot be raised again.
 */
static int
rlimit_lower(int res, rlim_t v)
{
	struct rlimit rl;
	if (getrlimit(res, &rl) < 0)
		return -1;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < v)
		v = rl.rlim_max;
	struct rlimit want = { v, v };
	if (setrlimit(res, &want) == 0)
		return 0;
	if (errno != EPERM)
		return -1;
	rl.rlim_cur = v;
	return setrlimit(res, &rl);
}

/* The address space already mapped (sanitizer builds count the cap on top). */
static uint64_t __attribute__((unused))
address_space_now(void)
{
	unsigned long long pages = 0;
	FILE *f = fopen("/proc/self/statm", "re");
	if (f) {
		if (fscanf(f, "%llu", &pages) != 1)
			pages = 0;
		fclose(f);
	}
	return (uint64_t)pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* No core files, few descriptors, the address-space cap. */
static int
rlimits_apply(struct tusk_error *e)
{
	if (rlimit_lower(RLIMIT_CORE, 0) < 0)
		return terr_set(e, TE_INTERNAL, "RLIMIT_CORE: %s", strerror(errno));
	if (rlimit_lower(RLIMIT_NOFILE, SANDBOX_NOFILE) < 0)
		return terr_set(e, TE_INTERNAL, "RLIMIT_NOFILE: %s", strerror(errno));
	sbx.nofile = SANDBOX_NOFILE;
	uint64_t cap = (uint64_t)sbx.opts.memory_mb << 20;
#ifdef TUSK_SANITIZE
	/*
	 * AddressSanitizer reserves terabytes of shadow at start: the cap
	 * counts on top of what is mapped now.
	 */
	cap += address_space_now();
#endif
	if (rlimit_lower(RLIMIT_AS, (rlim_t)cap) < 0)
		return terr_set(e, TE_INTERNAL, "RLIMIT_AS: %s", strerror(errno));
	sbx.as_bytes = cap;
	return 0;
}

/* --- Landlock ------------------------------------------------------------------ */

/* A new Landlock ruleset handling the given access rights; its fd or -1. */
static int
ll_create(const struct ll_rights *r, uint64_t fs, uint64_t net, uint64_t scoped)
{
	struct ll_ruleset_attr a = { fs, net, scoped };
	return (int)syscall(SYS_landlock_create_ruleset, &a, r->attr_size, 0);
}

/* Allow access beneath path (a file gets only the file rights). */
static int
ll_add_path(int rfd, const char *path, uint64_t access)
{
	struct ll_path_beneath_attr pb;
	struct stat st;
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
		access &= LL_FS_FILE_RIGHTS;
	pb.allowed_access = access;
	pb.parent_fd = fd;
	int r = (int)syscall(SYS_landlock_add_rule, rfd, LL_RULE_PATH_BENEATH, &pb, 0);
	int saved = errno;
	close(fd);
	errno = saved;
	return r;
}

/* Allow access to a TCP port in the ruleset. */
static int
ll_add_port(int rfd, int port, uint64_t access)
{
	struct ll_net_port_attr np = { access, (uint64_t)port };
	return (int)syscall(SYS_landlock_add_rule, rfd, LL_RULE_NET_PORT, &np, 0);
}

/* Enforce the ruleset on this process and close it. */
static int
ll_restrict(int rfd)
{
	int r = (int)syscall(SYS_landlock_restrict_self, rfd, 0);
	int saved = errno;
	close(rfd);
	errno = saved;
	return r;
}

#ifdef TUSK_SANITIZE
/* The directory of log_path=... in a sanitizer's options, if any. */
static bool
san_log_dir(const char *env, char *dir, size_t len)
{
	const char *o = getenv(env);
	const char *p = o;
	while (p && (p = strstr(p, "log_path=")) != NULL) {
		if (p == o || p[-1] == ':' || p[-1] == ' ' || p[-1] == ',')
			break;
		p += 9;
	}
	if (p == NULL)
		return false;
	p += 9;
	size_t n = strcspn(p, ": ,");
	if (n == 0 || n >= len || p[0] != '/')
		return false; /* stderr, stdout, or relative: nothing to open */
	memcpy(dir, p, n);
	dir[n] = '\0';
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	return true;
}
#endif

/* The base layer: no change to the file system, no TCP bind, scoped. */
static int
ll_base_apply(struct tusk_error *e)
{
	const struct ll_rights *r = &sbx.ll;
	if (r->abi == 0)
		return 0;
	int rfd = ll_create(r, r->fs_base, r->net_base, r->scoped);
	if (rfd < 0)
		return terr_set(e, TE_INTERNAL, "landlock_create_ruleset (base, ABI %d): %s", r->abi,
		    strerror(errno));
	/* an ephemeral port only (an SSH tunnel's local end), until the connection layer */
	if (r->net_base && ll_add_port(rfd, 0, LL_NET_BIND_TCP) < 0) {
		int saved = errno;
		close(rfd);
		return terr_set(e, TE_INTERNAL, "landlock_add_rule (bind to an ephemeral port): %s",
		    strerror(saved));
	}
#ifdef TUSK_SANITIZE
	static const char *const envs[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS" };
	uint64_t w = (LL_FS_WRITE_FILE | LL_FS_MAKE_REG | LL_FS_TRUNCATE) & r->fs_base;
	for (size_t i = 0; i < nitems(envs); i++) {
		char dir[PATH_MAX];
		if (!san_log_dir(envs[i], dir, sizeof dir) || strstr(sbx.san_dirs, dir))
			continue;
		if (ll_add_path(rfd, dir, w) == 0) {
			size_t n = strlen(sbx.san_dirs);
			snprintf(sbx.san_dirs + n, sizeof sbx.san_dirs - n, "%s%s", n ? "," : "", dir);
		}
	}
#endif
	if (ll_restrict(rfd) < 0)
		return terr_set(e, TE_INTERNAL, "landlock_restrict_self (base): %s", strerror(errno));
	return 0;
}

/* --- seccomp ------------------------------------------------------------------ */

/* Calls that end the worker at once: nothing it does needs them. */
static const int sc_kill[] = {
	SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv),
	SCMP_SYS(process_vm_writev), SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root),
	SCMP_SYS(chroot), SCMP_SYS(unshare), SCMP_SYS(setns), SCMP_SYS(kexec_load),
	SCMP_SYS(kexec_file_load), SCMP_SYS(init_module), SCMP_SYS(finit_module),
	SCMP_SYS(delete_module), SCMP_SYS(bpf), SCMP_SYS(perf_event_open), SCMP_SYS(keyctl),
	SCMP_SYS(add_key), SCMP_SYS(request_key), SCMP_SYS(userfaultfd), SCMP_SYS(personality),
	SCMP_SYS(open_by_handle_at), SCMP_SYS(name_to_handle_at), SCMP_SYS(fsopen),
	SCMP_SYS(fsconfig), SCMP_SYS(fsmount), SCMP_SYS(fspick), SCMP_SYS(move_mount),
	SCMP_SYS(open_tree), SCMP_SYS(mount_setattr), SCMP_SYS(swapon), SCMP_SYS(swapoff),
	SCMP_SYS(reboot), SCMP_SYS(acct), SCMP_SYS(quotactl), SCMP_SYS(iopl), SCMP_SYS(ioperm),
	SCMP_SYS(settimeofday), SCMP_SYS(clock_settime), SCMP_SYS(adjtimex),
	SCMP_SYS(clock_adjtime), SCMP_SYS(sethostname), SCMP_SYS(setdomainname),
	SCMP_SYS(syslog), SCMP_SYS(uselib), SCMP_SYS(vhangup), SCMP_SYS(io_uring_setup),
	SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register), SCMP_SYS(pidfd_getfd),
	SCMP_SYS(kcmp), SCMP_SYS(lookup_dcookie), SCMP_SYS(process_madvise),
	SCMP_SYS(modify_ldt), SCMP_SYS(move_pages), SCMP_SYS(migrate_pages),
};

/* Calls allowed whatever their arguments. */
static const int sc_allow[] = {
	/* files already open, and reading */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pread64),
	SCMP_SYS(close), SCMP_SYS(lseek), SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(stat),
	SCMP_SYS(lstat), SCMP_SYS(statx), SCMP_SYS(access), SCMP_SYS(faccessat),
	SCMP_SYS(faccessat2), SCMP_SYS(readlink), SCMP_SYS(readlinkat), SCMP_SYS(getdents64),
	SCMP_SYS(fcntl), SCMP_SYS(dup), SCMP_SYS(dup2), SCMP_SYS(dup3), SCMP_SYS(pipe),
	SCMP_SYS(pipe2), SCMP_SYS(fstatfs), SCMP_SYS(statfs), SCMP_SYS(getcwd),
	/* memory */
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(mprotect),
	SCMP_SYS(madvise), SCMP_SYS(mincore),
	/* the event loop */
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select), SCMP_SYS(pselect6),
	SCMP_SYS(epoll_create), SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl),
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_pwait2), SCMP_SYS(eventfd2),
	SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime), SCMP_SYS(timerfd_gettime),
	/* sockets (socket() and socketpair() are checked below) */
	SCMP_SYS(connect), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt), SCMP_SYS(getsockname),
	SCMP_SYS(getpeername), SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(sendmsg),
	SCMP_SYS(recvmsg), SCMP_SYS(sendmmsg), SCMP_SYS(recvmmsg), SCMP_SYS(shutdown),
	/* an SSH tunnel's local end (bind and listen end with sandbox_connection) */
	SCMP_SYS(bind), SCMP_SYS(listen), SCMP_SYS(accept), SCMP_SYS(accept4),
	/* a thread's start and end (clone itself is checked below) */
	SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
	/* time */
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday), SCMP_SYS(time),
	SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
	/* signals (kill and friends are checked below) */
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(rt_sigpending), SCMP_SYS(rt_sigtimedwait), SCMP_SYS(sigaltstack),
	SCMP_SYS(restart_syscall),
	/* the process itself */
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(getpid), SCMP_SYS(gettid),
	SCMP_SYS(getppid), SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
	SCMP_SYS(getegid), SCMP_SYS(getresuid), SCMP_SYS(getresgid), SCMP_SYS(getgroups),
	SCMP_SYS(getrlimit), SCMP_SYS(getrusage), SCMP_SYS(sched_yield),
	SCMP_SYS(sched_getaffinity), SCMP_SYS(futex), SCMP_SYS(getrandom), SCMP_SYS(uname),
	SCMP_SYS(sysinfo), SCMP_SYS(times),
	/* the connection layer (they can only take rights away) */
	SCMP_SYS(landlock_create_ruleset), SCMP_SYS(landlock_add_rule),
	SCMP_SYS(landlock_restrict_self),
};

/* prctl options the worker (or its libraries) may use. */
static const int sc_prctl_ok[] = {
	PR_GET_DUMPABLE, PR_GET_NO_NEW_PRIVS, PR_SET_NAME, PR_GET_NAME, PR_GET_SECCOMP,
	PR_SET_VMA,
};

/* ioctl requests that are harmless: never TIOCSTI on an inherited terminal. */
static const unsigned long sc_ioctl_ok[] = { TCGETS, FIONREAD, FIONBIO, FIOCLEX, FIONCLEX };

/* How many threads the process has (/proc/self/task entries), or -1
 * when that cannot be read (never taken for "one"). */
static int
sandbox_threads(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/task");
	if (d == NULL)
		return -1;
	for (struct dirent *de; (de = readdir(d)) != NULL;)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

#define SC_ADD(act, nr, ...) do { \
	int rc_ = seccomp_rule_add(ctx, (act), (nr), __VA_ARGS__); \
	if (rc_ < 0 && rc_ != -EDOM) { \
		seccomp_release(ctx); \
		return terr_set(e, TE_INTERNAL, "seccomp rule for %d: %s", (nr), strerror(-rc_)); \
	} \
} while (0)

/* Build and load the allow-list. */
static int
seccomp_apply(struct tusk_error *e)
{
	/* a call not listed is refused with EPERM: a probe gets an error, not death */
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (ctx == NULL)
		return terr_set(e, TE_INTERNAL, "seccomp_init failed");
	/*
	 * KILL_PROCESS where libseccomp can tell the kernel has it (API level
	 * 3); otherwise the thread, which is the whole single-threaded worker.
	 */
	uint32_t kill = seccomp_api_get() >= 3 ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_KILL;
	seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, kill);
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	pid_t self = getpid();

	for (size_t i = 0; i < nitems(sc_kill); i++)
		SC_ADD(kill, sc_kill[i], 0);
	for (size_t i = 0; i < nitems(sc_allow); i++)
		SC_ADD(SCMP_ACT_ALLOW, sc_allow[i], 0);
	/* glibc falls back from clone3 to clone on ENOSYS; clone makes threads only */
	SC_ADD(SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	SC_ADD(SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, (uint64_t)CLONE_THREAD, (uint64_t)CLONE_THREAD));
	/* more filters may be added (they can only refuse more): sandbox_connection's */
	SC_ADD(SCMP_ACT_ALLOW, SCMP_SYS(seccomp), 1, SCMP_A0(SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER));
	SC_ADD(SCMP_ACT_ALLOW, SCMP_SYS(seccomp), 1, SCMP_A0(SCMP_CMP_EQ, SECCOMP_GET_ACTION_AVAIL));
	SC_ADD(SCMP_ACT_ALLOW, SCMP_SYS(prctl), 2, SCMP_A0(SCMP_CMP_EQ, PR_SET_SECCOMP),
	    SCMP_A1(SCMP_CMP_EQ, SECCOMP_MODE_FILTER));

	/* open for reading only: writing, creating, truncating is EACCES */
#ifdef TUSK_SANITIZE
	/* the sanitizer writes its report; Landlock confines it to log_path */
	SC_ADD(SCMP_ACT_ALLOW, SCMP_SYS(openat), 0);
	SC_ADD(SCMP_ACT_ALLOW, SCMP_SYS(open), 0);
#else
	/* glibc's __O_TMPFILE includes O_DIRECTORY: only its own bit means a
	 * temporary file (with it, opening any directory, opendir included,
	 * would be refused) */
	const uint64_t wbits[] = { O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, __O_TMPFILE & ~(uint64_t)O_DIRECTORY };
	uint64_t wmask = 0;
	for (size_t i = 0; i < nitems(wbits); i++) {
		wmask |= wbits[i];
		SC_ADD(SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 1,
		    SCMP_A2(SCMP_CMP_MASKED_EQ, wbits[i], wbits[i]));
		SC_ADD(SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 1,
		    SCMP_A1(SCMP_CMP_MASKED_EQ, wbits[i], wbits[i]));
	}
	SC_ADD(SCMP_ACT_ALLOW, SCMP_SYS(openat), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, wmask, 0));
	SC_ADD(SCMP_ACT_ALLOW, SCMP_SYS(open), 1, SCMP_A1(SCMP_CMP_MASKED_EQ, wmask, 0));
#endif

	/* sockets: Unix, IPv4, IPv6; stream or datagram (no raw, no netlink) */
	const int domains[] = { AF_UNIX, AF_INET, AF_INET6 };
	const int types[] = { SOCK_STREAM, SOCK_DGRAM };
	for (size_t d = 0; d < nitems(domains); d++)
		for (size_t t = 0; t < nitems(types); t++)
			SC_ADD(SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
			    SCMP_A0(SCMP_CMP_EQ, (uint64_t)domains[d]),
			    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, (uint64_t)types[t]));
	SC_ADD(SCMP_ACT_ALLOW, SCMP_SYS(socketpair), 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));

	/* signals to ourselves only (raise, abort) */
	SC_ADD(SCMP_ACT_ALLOW, SCMP_SYS(kill), 1, SCMP_A0(SCMP_CMP_EQ, (uint64_t)self));
	SC_ADD(SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1, SCMP_A0(SCMP_CMP_EQ, (uint64_t)self));
	SC_ADD(SCMP_ACT_ALLOW, SCMP_SYS(tkill), 1, SCMP_A0(SCMP_CMP_EQ, (uint64_t)self));

	/* limits may be read, never changed */
	SC_ADD(SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1, SCMP_A2(SCMP_CMP_EQ, 0));

	for (size_t i = 0; i < nitems(sc_prctl_ok); i++)
		SC_ADD(SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1, SCMP_A0(SCMP_CMP_EQ, (uint64_t)sc_prctl_ok[i]));
	for (size_t i = 0; i < nitems(sc_ioctl_ok); i++)
		SC_ADD(SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_EQ, sc_ioctl_ok[i]));

	int rc = seccomp_load(ctx);
	if (rc < 0 && sandbox_threads() == 1) {
		/*
		 * TSYNC needs the seccomp() call, which valgrind does not know;
		 * with one thread there is nothing to synchronise: prctl will do.
		 */
		seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 0);
		rc = seccomp_load(ctx);
	}
	seccomp_release(ctx);
	if (rc < 0)
		return terr_set(e, TE_INTERNAL, "seccomp_load: %s", strerror(-rc));
	return 0;
}

/* --- the two steps ------------------------------------------------------------ */

/* The lock-down at start: no new privileges, not dumpable, rlimits, base Landlock, seccomp. */
int
sandbox_base(struct tusk_error *e)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return terr_set(e, TE_INTERNAL, "PR_SET_NO_NEW_PRIVS failed: %s", strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return terr_set(e, TE_INTERNAL, "PR_SET_DUMPABLE failed: %s", strerror(errno));
	if (rlimits_apply(e) < 0)
		return -1;
	sbx.kernel_abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
	if (sbx.kernel_abi < 0)
		sbx.kernel_abi = -errno;
	sandbox_ll_rights(sandbox_ll_abi_pick(sbx.kernel_abi, sbx.opts.landlock_abi), &sbx.ll);
	if (ll_base_apply(e) < 0)
		return -1;
	if (seccomp_apply(e) < 0)
		return -1;
	sbx.locked = true;
	return 0;
}

/* Add read rules for each file; note the ones that were there. */
static int
ll_add_files(int rfd, const char *const *files, size_t n, struct strbuf *note)
{
	for (size_t i = 0; i < n; i++) {
		if (ll_add_path(rfd, files[i], LL_FS_READ_FILE) < 0) {
			if (errno == ENOENT || errno == EACCES || errno == ENOTDIR)
				continue; /* libpq will say it cannot read it */
			return -1;
		}
		sb_addf(note, "%s%s", note->len ? ", " : "", files[i]);
	}
	return 0;
}

/* After the connection layer nothing binds or listens any more, whatever
 * the Landlock ABI: a second filter (filters only ever add refusals). */
static int
seccomp_no_more_listening(struct tusk_error *e)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (ctx == NULL)
		return terr_set(e, TE_INTERNAL, "seccomp_init failed");
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0); /* set already; prctl may not set it again */
	SC_ADD(SCMP_ACT_ERRNO(EPERM), SCMP_SYS(bind), 0);
	SC_ADD(SCMP_ACT_ERRNO(EPERM), SCMP_SYS(listen), 0);
	int rc = seccomp_load(ctx);
	if (rc < 0 && sandbox_threads() == 1) {
		seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 0); /* as in seccomp_apply */
		rc = seccomp_load(ctx);
	}
	seccomp_release(ctx);
	if (rc < 0)
		return terr_set(e, TE_INTERNAL, "seccomp_load (no more listening): %s", strerror(-rc));
	return 0;
}

int
sandbox_connection(const struct tusk_config *cfg, const struct sbx_tunnel *t, struct tusk_error *e)
{
	struct sbx_conn_plan plan;
	const struct ll_rights *r = &sbx.ll;
	sandbox_conn_plan(cfg, t, &plan);

	/* Landlock binds the calling thread only: no other may exist yet (and
	 * a count that cannot be read proves nothing: refuse then too) */
	int nthreads = sandbox_threads();
	if (nthreads < 0)
		return terr_set(e, TE_INTERNAL, "sandbox: cannot count this process's threads (/proc/self/task): %s",
		    strerror(errno));
	if (nthreads != 1)
		return terr_set(e, TE_INTERNAL, "sandbox: %d threads before the connection layer", nthreads);
	if (sbx.locked && seccomp_no_more_listening(e) < 0)
		return -1;

	/* TLS: OpenSSL reads its configuration now, while it still can */
	if (strcmp(cfg->ssl_mode ? cfg->ssl_mode : "prefer", "disable") != 0 &&
	    OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL) != 1)
		log_warn("sandbox: OpenSSL could not load its configuration");

	if (r->abi == 0) {
		log_info("sandbox: connection: no Landlock (%s): files and TCP ports are not restricted",
		    sbx.kernel_abi < 0 ? "the kernel has none" : "turned off");
		return 0;
	}
	struct strbuf files;
	sb_init(&files);
	int rfd = ll_create(r, r->fs_conn, r->net_conn | r->net_base, 0); /* no bind from now on */
	if (rfd < 0) {
		sb_free(&files);
		return terr_set(e, TE_INTERNAL, "landlock_create_ruleset (connection, ABI %d): %s",
		    r->abi, strerror(errno));
	}
	int rc = ll_add_files(rfd, plan.files, plan.nfiles, &files);
	if (rc == 0 && plan.resolve) {
		size_t n = 0;
		while (sandbox_resolver_files[n])
			n++;
		rc = ll_add_files(rfd, sandbox_resolver_files, n, &files);
	}
#ifdef TUSK_SANITIZE
	/* symbolising a report: /proc/self/maps, our binary, the libraries */
	char exe[PATH_MAX];
	ssize_t xn = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (rc == 0 && xn > 0) {
		exe[xn] = '\0';
		const char *san[] = { "/proc/self", "/usr/lib", exe };
		for (size_t i = 0; i < nitems(san) && rc == 0; i++)
			if (ll_add_path(rfd, san[i], r->fs_conn) < 0 && errno != ENOENT)
				rc = -1;
	}
#endif
	if (rc == 0 && r->net_conn && plan.tcp)
		rc = ll_add_port(rfd, plan.port, LL_NET_CONNECT_TCP);
	if (rc == 0 && r->net_conn && plan.local_port > 0)
		rc = ll_add_port(rfd, plan.local_port, LL_NET_CONNECT_TCP);
	if (rc < 0) {
		int saved = errno;
		close(rfd);
		sb_free(&files);
		return terr_set(e, TE_INTERNAL, "landlock_add_rule: %s", strerror(saved));
	}
	if (ll_restrict(rfd) < 0) {
		sb_free(&files);
		return terr_set(e, TE_INTERNAL, "landlock_restrict_self (connection): %s",
		    strerror(errno));
	}
	char net[96];
	if (!r->net_conn)
		snprintf(net, sizeof net, "no network rules (ABI %d)", r->abi);
	else if (plan.tcp && plan.local_port > 0)
		snprintf(net, sizeof net, "tcp connect to port %d and the tunnel's local end %d only",
		    plan.port, plan.local_port);
	else if (plan.tcp)
		snprintf(net, sizeof net, "tcp connect to port %d only", plan.port);
	else
		snprintf(net, sizeof net, "no tcp connect (Unix socket)");
	log_info("sandbox: connection: landlock ABI %d: readable only %s; %s",
	    r->abi, files.len ? files.buf : "(no file)", net);
	sb_free(&files);
	return 0;
}

void
sandbox_log_applied(void)
{
	const struct ll_rights *r = &sbx.ll;
	char fs[256];
	struct strbuf sb;
	sb_init(&sb);
	sb_addf(&sb, "sandbox: no_new_privs, not dumpable; rlimits core 0, nofile %u, as %llu MiB%s; "
	    "seccomp allow-list (exec, ptrace, process_vm, mount, namespaces, modules, bpf, keys: "
	    "kill; other calls refused); ",
	    sbx.nofile, (unsigned long long)(sbx.as_bytes >> 20),
#ifdef TUSK_SANITIZE
	    " (sanitizer build: reserved shadow + cap)"
#else
	    ""
#endif
	    );
	if (r->abi == 0) {
		if (sbx.kernel_abi < 0)
			sb_addf(&sb, "landlock: none (the kernel has none: %s)", strerror(-sbx.kernel_abi));
		else
			sb_addf(&sb, "landlock: none (turned off; the kernel has ABI %d)", sbx.kernel_abi);
	} else {
		sandbox_ll_fs_names(r->fs_base, fs, sizeof fs);
		sb_addf(&sb, "landlock ABI %d%s: no change to files anywhere (handled %s)", r->abi,
		    r->abi < sbx.kernel_abi ? " (lowered)" : "", fs);
		sb_adds(&sb, r->net_base ? ", tcp bind to an ephemeral port only (none once connected)" :
		    ", no network rules");
		if (r->scoped)
			sb_adds(&sb, ", signals and abstract sockets scoped");
		if (sbx.san_dirs[0])
			sb_addf(&sb, ", sanitizer reports to %s", sbx.san_dirs);
	}
	log_info("%s", sb.buf);
	sb_free(&sb);
}
