/*
 * main.c — tuskd: start-up, the single-instance lock, daemonising, signals,
 * the heartbeat timer, the log sink, and orderly shutdown.
 *
 * Start-up order matters: directories, then the lock (a second broker
 * stops here and exits 0), then the log file and the local store (checked,
 * repaired or salvaged, migrated: only one broker may do that, and a
 * failure must reach the person who started it as an exit status), then
 * the socket is bound, and only then does the broker detach; the process
 * that started it (a client, typically) can connect the moment it returns.
 * Under systemd socket activation the socket comes bound already
 * (client_inherit), the lock is still taken, and the broker stays in the
 * foreground as systemd expects.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "broker.h"
#include "keychain.h"
#include "log.h"
#include "proto.h"
#include "store.h"
#include "selfpath.h"
#include "util.h"

struct broker tuskd;

static const struct settings default_settings = {
	.heartbeat_ms = 1000,
	.heartbeat_misses = 1,
	.worker_start_ms = 15000,
	.kill_grace_ms = 2000,
	.shutdown_grace_ms = 3000,
	.connect_timeout_s = 10,
	.ssh_keepalive_s = 15,
	.client_high = 4u * 1024 * 1024,
	.client_low = 1u * 1024 * 1024,
	.dead_workers_kept = 16,
	.keychain_timeout_ms = 3000,
	.worker_memory_mb = WORKER_MEMORY_MB_DEFAULT,
	.max_clients = 128,
	.max_client_requests = 1024,
	.max_connections = 100,
	.max_queued_queries = 256,
	.max_queued_bytes = 32u * 1024 * 1024,
	.worker_log_rate = 200,
	.log_file_max_mb = 64,
	.log_dir_max_mb = 512,
};

/* Log records go to today's file, and to stderr in the foreground. */
static void
broker_log_sink(int level, const char *tag, const char *msg, void *arg)
{
	UNUSED(arg);
	logfile_write(&tuskd.logfile, wall_ms(), level, tag, msg);
	if (tuskd.log_stderr)
		log_sink_stderr(level, tag, msg, NULL);
}

/* Print an error for the person who started tuskd, and exit. */
static void __attribute__((noreturn))
die_init(const struct tusk_error *e)
{
	fprintf(stderr, "tuskd: %s\n", e->message);
	if (e->hint)
		fprintf(stderr, "hint: %s\n", e->hint);
	if (tuskd.logfile.fd >= 0)
		log_error("%s", e->message);
	exit(1);
}

/* Find tusk-worker: beside us (build tree), or in ../libexec/tusk (installed). */
static char *
find_worker(void)
{
	static const char *const rel[] = { "tusk-worker", "../libexec/tusk/tusk-worker", NULL };
	char *p = selfpath_find(rel, X_OK);
	if (p)
		return p;
	/* not found: name the place we looked first, so the error says where */
	char *dir = selfpath_dir();
	p = dir ? xasprintf("%s/tusk-worker", dir) : xstrdup("tusk-worker");
	free(dir);
	return p;
}

/* Take the per-user lock; exit 0 when another broker holds it. */
static void
take_lock(void)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	int fd = open(tuskd.paths.lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		terr_set(&e, TE_INITIALIZATION, "cannot open the lock file %s: %s", tuskd.paths.lock_path,
		    strerror(errno));
		terr_hint(&e, "check the runtime directory %s", tuskd.paths.run_dir);
		die_init(&e);
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		char buf[32] = "";
		ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		printf("tuskd: a broker is already running%s%s%s (socket %s)\n", *buf ? " (pid " : "",
		    buf, *buf ? ")" : "", tuskd.paths.sock_path);
		exit(0);
	}
	tuskd.lock_fd = fd;
}

/* Record our pid in the lock file (after daemonising). */
static void
write_pid(void)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%d\n", (int)getpid());
	if (ftruncate(tuskd.lock_fd, 0) < 0 || pwrite(tuskd.lock_fd, buf, (size_t)n, 0) != n)
		log_warn("cannot write the pid to %s: %s", tuskd.paths.lock_path, strerror(errno));
}

/* Detach from the terminal; the parent returns once we are set up. */
static void
daemonize(void)
{
	pid_t pid = fork();
	if (pid < 0) {
		perror("tuskd: fork");
		exit(1);
	}
	if (pid > 0)
		_exit(0);
	setsid();
	int fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

/* Finish the shutdown once workers and clients are gone (or time is up). */
static void
shutdown_tick(evutil_socket_t fd, short what, void *arg)
{
	static int64_t deadline;
	UNUSED(fd);
	UNUSED(what);
	UNUSED(arg);
	if (deadline == 0)
		deadline = mono_ms() + tuskd.set.shutdown_grace_ms + 1000;
	workers_reap();
	if (workers_alive() == 0 && tuskd.nclients == 0) {
		event_base_loopexit(tuskd.base, NULL);
		return;
	}
	if (mono_ms() >= deadline) {
		struct worker *w;
		TAILQ_FOREACH(w, &tuskd.workers, entry) {
			if (!w->reaped) {
				kill(w->pid, SIGKILL);
				waitpid(w->pid, NULL, 0);
				w->reaped = true;
			}
		}
		event_base_loopexit(tuskd.base, NULL);
	}
}

/* Stop taking work, close every connection, then leave the loop. */
void
broker_shutdown(const char *why)
{
	if (tuskd.shutting_down)
		return;
	tuskd.shutting_down = true;
	log_info("shutting down (%s)", why);
	client_stop_listening();
	client_unlink();
	conns_close_all();
	struct worker *w;
	TAILQ_FOREACH(w, &tuskd.workers, entry)
		if (!w->reaped)
			worker_close(w);
	client_drop_all();
	static const struct timeval tick = { 0, 20000 };
	tuskd.ev_shutdown = event_new(tuskd.base, -1, EV_PERSIST, shutdown_tick, NULL);
	if (tuskd.ev_shutdown == NULL || event_add(tuskd.ev_shutdown, &tick) < 0) {
		/* nothing to wait with: leave the loop now (cleanup kills the workers) */
		log_warn("shutdown: cannot create its timer; stopping at once");
		event_base_loopexit(tuskd.base, NULL);
	}
}

/* Signals arrive here through libevent. */
static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	UNUSED(what);
	UNUSED(arg);
	switch (sig) {
	case SIGCHLD:
		workers_reap();
		break;
	case SIGTERM:
	case SIGINT:
		broker_shutdown(sig == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	case SIGHUP:
		log_info("SIGHUP: nothing to reload");
		break;
	}
}

/* The heartbeat timer. */
static void
heartbeat_cb(evutil_socket_t fd, short what, void *arg)
{
	UNUSED(fd);
	UNUSED(what);
	UNUSED(arg);
	workers_heartbeat();
}

/* Release what the loop held (after it exited). */
static void
broker_cleanup(void)
{
	/* queued keychain and secret operations answer their requests before clients go */
	keychain_shutdown();
	keychain_status_free();
	secrets_shutdown();
	hostkeys_free();
	workers_finish_all();
	schema_cache_free();
	struct worker *w;
	while ((w = TAILQ_FIRST(&tuskd.workers)) != NULL) {
		TAILQ_REMOVE(&tuskd.workers, w, entry);
		worker_unref(w);
	}
	struct client *c;
	while ((c = TAILQ_FIRST(&tuskd.clients)) != NULL) {
		TAILQ_REMOVE(&tuskd.clients, c, entry);
		if (c->peer)
			rpc_peer_free(c->peer);
		c->peer = NULL;
		c->gone = true;
		client_unref(c);
	}
	history_stop(); /* what is still waiting is written */
	event_free(tuskd.ev_sigterm);
	event_free(tuskd.ev_sigint);
	event_free(tuskd.ev_sigchld);
	event_free(tuskd.ev_sighup);
	event_free(tuskd.ev_heartbeat);
	if (tuskd.ev_shutdown)
		event_free(tuskd.ev_shutdown);
	evbuffer_free(tuskd.discard);
	event_base_free(tuskd.base);
	store_close(tuskd.store);
	tuskd.store = NULL;
	log_info("stopped");
	log_set_sink(NULL, NULL);
	logfile_close(&tuskd.logfile);
	if (tuskd.lock_fd >= 0)
		close(tuskd.lock_fd);
	paths_free(&tuskd.paths);
	free(tuskd.worker_path);
	libevent_global_shutdown();
}

/* tuskd --describe: the build's method table, for generators and docs. */
static int
print_describe(void)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	methods_pack_describe(&pk, method_table, method_table_len);
	int ok = fwrite(sb.data, 1, sb.size, stdout) == sb.size && fflush(stdout) == 0;
	msgpack_sbuffer_destroy(&sb);
	return ok ? 0 : 1;
}

/* tuskd's usage, then the settings it takes with --set. */
static void
usage(FILE *f)
{
	fprintf(f, "usage: tuskd [--foreground] [--log-level LEVEL] [--log-stderr] [--worker PATH]\n"
		   "             [--set NAME=VALUE ...]\n"
		   "       tuskd --version\n"
		   "       tuskd --describe    (the method table as msgpack on stdout, as `describe` answers)\n");
	settings_usage(f);
}

/* What the command line asks of this run (the rest goes into tuskd). */
struct broker_args {
	bool foreground;
	int level;
};

/* Read the command line into a and tuskd: -1 to go on, else the exit status for main
 * (--version, --help and --describe answer here; a bad argument is 2). */
static int
broker_parse_args(int argc, char **argv, struct broker_args *a)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "log-stderr", no_argument, NULL, 's' },
		{ "worker", required_argument, NULL, 'w' },
		{ "set", required_argument, NULL, 'x' },
		{ "version", no_argument, NULL, 'V' },
		{ "describe", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "fl:sw:x:Vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			a->foreground = true;
			break;
		case 'l':
			if ((a->level = log_level_parse(optarg)) < 0) {
				fprintf(stderr, "tuskd: unknown log level '%s'\n", optarg);
				return 2;
			}
			break;
		case 's':
			tuskd.log_stderr = true;
			break;
		case 'w':
			tuskd.worker_path = xstrdup(optarg);
			break;
		case 'x':
			if (settings_set_arg(optarg) < 0) {
				fprintf(stderr, "tuskd: bad setting '%s'\n", optarg);
				usage(stderr);
				return 2;
			}
			break;
		case 'V':
			printf("tuskd %s\n", TUSK_VERSION);
			return 0;
		case 'D':
			dispatch_check_table();
			return print_describe();
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/* Directories, the socket systemd passed (if any), the lock, the log file and the store,
 * in that order; whether the socket was inherited. A failure ends the process. */
static bool
broker_prepare(int level)
{
	struct tusk_error e = TUSK_ERROR_INIT;

	signal(SIGPIPE, SIG_IGN);
	log_set_level(level);
	TAILQ_INIT(&tuskd.clients);
	TAILQ_INIT(&tuskd.workers);
	TAILQ_INIT(&tuskd.conns);
	TAILQ_INIT(&tuskd.queries);
	if (tuskd.worker_path == NULL)
		tuskd.worker_path = find_worker();
	dispatch_check_table();

	if (paths_resolve(&tuskd.paths, &e) < 0 || paths_ensure(&tuskd.paths, &e) < 0)
		die_init(&e);
	int inherited = client_inherit(&e);
	if (inherited < 0)
		die_init(&e);
	take_lock();
	char tag[32];
	snprintf(tag, sizeof tag, "tuskd[%d]", (int)getpid());
	log_init(tag);
	if (logfile_open(&tuskd.logfile, tuskd.paths.log_dir, LOG_KEEP_DAYS_DEFAULT, wall_ms(), &e) < 0)
		die_init(&e);
	log_set_sink(broker_log_sink, NULL);
	if (store_open(&tuskd.store, tuskd.paths.db_path, &e) < 0)
		die_init(&e);
	settings_load_preferences(tuskd.store);
	logfile_cap(&tuskd.logfile, (uint64_t)tuskd.set.log_file_max_mb << 20,
	    (uint64_t)tuskd.set.log_dir_max_mb << 20, wall_ms());
	return inherited;
}

/* Bind the socket (unless inherited), then detach (unless in the foreground or under
 * systemd), so that whoever started the broker can connect as soon as it returns. */
static void
broker_detach(bool inherited, bool foreground)
{
	struct tusk_error e = TUSK_ERROR_INIT;

	if (!inherited && client_bind(&e) < 0)
		die_init(&e);
	if (!foreground && !inherited)
		daemonize();
#ifndef TUSK_SANITIZE
	/* secrets pass through this process: no core dumps, no ptrace by peers */
	prctl(PR_SET_DUMPABLE, 0);
#endif
	write_pid();
	tuskd.start_mono_ms = mono_ms();
	tuskd.start_wall_ms = wall_ms();
	char tag[32];
	snprintf(tag, sizeof tag, "tuskd[%d]", (int)getpid());
	log_init(tag);
}

/* The event loop and what it watches: history, the keychain's thread, the socket, the
 * signals and the heartbeat timer. A failure ends the process. */
static void
broker_setup_loop(void)
{
	struct tusk_error e = TUSK_ERROR_INIT;

	tuskd.base = event_base_new();
	if (tuskd.base == NULL) {
		terr_set(&e, TE_INITIALIZATION, "cannot create the event loop");
		die_init(&e);
	}
	tuskd.discard = evbuffer_new();
	if (tuskd.discard == NULL) {
		terr_set(&e, TE_INITIALIZATION, "cannot create a buffer: out of memory");
		die_init(&e);
	}
	if (history_start(tuskd.store, &e) < 0) {
		/* queries run without it; get_history says why */
		log_error("query history not available: %s", e.message);
		terr_clear(&e);
	}
	if (keychain_init(tuskd.base, tuskd.set.keychain_timeout_ms) < 0) {
		terr_set(&e, TE_INITIALIZATION, "cannot set up the keychain's thread");
		die_init(&e);
	}
	if (client_listen(&e) < 0)
		die_init(&e);
	tuskd.ev_sigterm = evsignal_new(tuskd.base, SIGTERM, signal_cb, NULL);
	tuskd.ev_sigint = evsignal_new(tuskd.base, SIGINT, signal_cb, NULL);
	tuskd.ev_sigchld = evsignal_new(tuskd.base, SIGCHLD, signal_cb, NULL);
	tuskd.ev_sighup = evsignal_new(tuskd.base, SIGHUP, signal_cb, NULL);
	struct timeval hb = { tuskd.set.heartbeat_ms / 1000, (tuskd.set.heartbeat_ms % 1000) * 1000 };
	tuskd.ev_heartbeat = event_new(tuskd.base, -1, EV_PERSIST, heartbeat_cb, NULL);
	/* without these the broker could neither reap, stop, nor supervise */
	if (tuskd.ev_sigterm == NULL || tuskd.ev_sigint == NULL || tuskd.ev_sigchld == NULL ||
	    tuskd.ev_sighup == NULL || tuskd.ev_heartbeat == NULL || evsignal_add(tuskd.ev_sigterm, NULL) < 0 ||
	    evsignal_add(tuskd.ev_sigint, NULL) < 0 || evsignal_add(tuskd.ev_sigchld, NULL) < 0 ||
	    evsignal_add(tuskd.ev_sighup, NULL) < 0 || event_add(tuskd.ev_heartbeat, &hb) < 0) {
		terr_set(&e, TE_INITIALIZATION, "cannot watch signals or start the heartbeat timer");
		die_init(&e);
	}
}

/* tuskd: parse arguments, prepare paths and log, set up the loop, run until stopped, clean up. */
int
main(int argc, char **argv)
{
	struct broker_args a = { .foreground = false, .level = TLOG_INFO };

	tuskd.lock_fd = tuskd.listen_fd = -1;
	tuskd.logfile.fd = -1;
	tuskd.set = default_settings;
	int rc = broker_parse_args(argc, argv, &a);
	if (rc >= 0)
		return rc;

	bool inherited = broker_prepare(a.level);
	broker_detach(inherited, a.foreground);
	broker_setup_loop();

	log_info("tuskd %s ready on %s%s (worker %s)", TUSK_VERSION, tuskd.paths.sock_path,
	    tuskd.activated ? ", passed by systemd" : "", tuskd.worker_path);
	event_base_dispatch(tuskd.base);

	client_stop_listening();
	client_unlink();
	broker_cleanup();
	return 0;
}
