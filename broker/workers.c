/*
 * workers.c — spawning, watching and burying tusk-worker processes.
 *
 * A worker is posix_spawn()ed (never fork()ed: the broker may be large) with
 * its socketpair end on fd 3, /dev/null on 0 and 1, stderr inherited, every
 * other descriptor closed, a clean environment, default signal dispositions,
 * and its own process group (a terminal's ^C goes to the broker, which then
 * closes workers in order).
 *
 * Supervision: a new worker has `worker_start_ms` to say hello (exec,
 * dynamic loading and the sandbox take a while on a busy machine); from
 * then on a timer pings it, and a worker that leaves a ping unanswered for
 * `heartbeat_misses` intervals is hung and is killed. The broker does not
 * blame a worker for its own lateness: a tick that comes late (the loop was
 * busy, or the machine was) does not count a miss, nor does a ping not yet
 * written or whose answer already waits in the socket, and every ping gets
 * a whole interval. Nor is a worker blamed for the machine's: one that is
 * runnable but got less than an interval of CPU since its ping is waiting
 * for a CPU (at most worker_start_ms in all); a stopped (SIGSTOP), blocked
 * or spinning one is hung. SIGCHLD reaps; a worker is finally
 * dead when it has been reaped and its socket has been read to the end (its
 * last messages count). The owner learns the reason once, through
 * ops->dead. Recently dead workers stay listed.
 *
 * What a worker may send, and in which state, is a table (worker_notes);
 * anything else, or anything malformed, is a protocol violation: the worker
 * is killed and its connection reported lost, as a bad client is dropped.
 *
 * Backpressure: while a worker's rows wait for a slow client, the broker
 * stops reading that worker; its pings are not counted as missed then.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "broker.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "wire.h"

extern char **environ;


static void worker_msg(struct rpc_peer *p, const struct rpc_msg *m, void *arg);
static bool worker_raw(struct rpc_peer *p, struct evbuffer *in, size_t len, void *arg);
static void worker_peer_closed(struct rpc_peer *p, const char *reason, void *arg);
static void worker_finish(struct worker *w);
static int worker_proc(const struct worker *w, char *state, int64_t *cpu_ms, int64_t *rss_bytes);

static const struct rpc_handlers worker_handlers = {
	.raw = worker_raw,
	.msg = worker_msg,
	.closed = worker_peer_closed,
};

static const char *const state_names[] = {
	[WS_STARTING] = "starting",
	[WS_CONNECTING] = "connecting",
	[WS_IDLE] = "idle",
	[WS_BUSY] = "busy",
	[WS_CANCELLING] = "cancelling",
	[WS_STOPPING] = "stopping",
	[WS_DEAD] = "dead",
};

/* A worker state's name as clients see it. */
const char *
worker_state_name(enum worker_state s)
{
	return state_names[s];
}

/* Move a worker to a new state and tell subscribers; a stopping worker can only die. */
void
worker_set_state(struct worker *w, enum worker_state s)
{
	if (w->state == WS_DEAD || w->state == s)
		return;
	if (w->state == WS_STOPPING && s != WS_DEAD)
		return;
	log_trace("worker %llu: %s -> %s", (unsigned long long)w->id, state_names[w->state],
	    state_names[s]);
	w->state = s;
	event_worker("state", w);
}

/* Take a reference on a worker (worker_unref drops it). */
void
worker_ref(struct worker *w)
{
	w->refs++;
}

/* Drop a reference; the last one frees. */
void
worker_unref(struct worker *w)
{
	if (--w->refs > 0)
		return;
	if (w->ev_kill)
		event_free(w->ev_kill);
	if (w->ev_escalate)
		event_free(w->ev_escalate);
	if (w->kill_req)
		req_free(w->kill_req);
	if (w->peer)
		rpc_peer_free(w->peer);
	if (w->paused_for)
		client_unref(w->paused_for);
	free(w->kill_reason);
	free(w->death_reason);
	free(w->conn_name);
	free(w->conn_id);
	free(w->saved_id);
	free(w->conn_label);
	free(w->query_id);
	free(w->query_sql);
	host_key_offer_free(w->host_key);
	free(w);
}

/* The environment a worker gets: nothing but sanitizer settings. */
static char **
worker_env(void)
{
	static const char *const keep[] = { "ASAN_OPTIONS=", "UBSAN_OPTIONS=", "LSAN_OPTIONS=" };
	size_t n = 0;
	char **env = xcalloc(nitems(keep) + 1, sizeof *env);
	/* the first entry of each name only: an environment may repeat a name,
	 * and the array holds one of each */
	for (size_t i = 0; i < nitems(keep); i++) {
		for (char **e = environ; *e; e++) {
			if (strncmp(*e, keep[i], strlen(keep[i])) == 0) {
				env[n++] = *e;
				break;
			}
		}
	}
	env[n] = NULL;
	return env;
}

/* Start a worker process. */
struct worker *
worker_spawn(enum worker_role role, const struct worker_ops *ops, void *arg, struct tusk_error *e)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		terr_set(e, TE_INTERNAL, "cannot create a socketpair for a worker: %s", strerror(errno));
		terr_hint(e, "the broker may be out of file descriptors; close some connections");
		return NULL;
	}
	/* room for a few row batches in flight each way */
	int bufsz = 1024 * 1024;
	for (int i = 0; i < 2; i++) {
		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof bufsz);
		setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof bufsz);
	}
	/* dup2 onto the same number would keep close-on-exec */
	if (sv[1] == WORKER_FD) {
		int fd = fcntl(sv[1], F_DUPFD_CLOEXEC, WORKER_FD + 1);
		close(sv[1]);
		sv[1] = fd;
	}

	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int r = posix_spawn_file_actions_init(&fa);
	if (r != 0) {
		close(sv[0]);
		close(sv[1]);
		terr_set(e, TE_INTERNAL, "cannot prepare a worker's start: %s", strerror(r));
		return NULL;
	}
	if ((r = posix_spawnattr_init(&at)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(sv[0]);
		close(sv[1]);
		terr_set(e, TE_INTERNAL, "cannot prepare a worker's start: %s", strerror(r));
		return NULL;
	}
	sigemptyset(&none);
	sigfillset(&all);
	/* every step must hold: a worker with the broker's descriptors, or
	 * without its socket, must not start */
	if ((r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) != 0 ||
	    (r = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0)) != 0 ||
	    (r = posix_spawn_file_actions_adddup2(&fa, sv[1], WORKER_FD)) != 0 ||
	    (r = posix_spawn_file_actions_addclosefrom_np(&fa, WORKER_FD + 1)) != 0 ||
	    (r = posix_spawnattr_setsigmask(&at, &none)) != 0 ||
	    (r = posix_spawnattr_setsigdefault(&at, &all)) != 0 ||
	    (r = posix_spawnattr_setpgroup(&at, 0)) != 0 ||
	    (r = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
		POSIX_SPAWN_SETPGROUP)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		posix_spawnattr_destroy(&at);
		close(sv[0]);
		close(sv[1]);
		terr_set(e, TE_INTERNAL, "cannot prepare a worker's start: %s", strerror(r));
		terr_hint(e, "the broker may be out of memory or file descriptors");
		return NULL;
	}

	char ppid[24], level[8], mem[16];
	snprintf(ppid, sizeof ppid, "%d", (int)getpid());
	snprintf(level, sizeof level, "%d", tlog_level);
	snprintf(mem, sizeof mem, "%d", tuskd.set.worker_memory_mb);
	char a_parent[] = "--parent", a_level[] = "--log-level", a_mem[] = "--memory-mb";
	char *argv[] = { tuskd.worker_path, a_parent, ppid, a_level, level, a_mem, mem, NULL };
	char **env = worker_env();
	pid_t pid;
	r = posix_spawn(&pid, tuskd.worker_path, &fa, &at, argv, env);
	free(env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(sv[1]);
	if (r != 0) {
		close(sv[0]);
		terr_set(e, TE_INTERNAL, "cannot start the worker %s: %s", tuskd.worker_path, strerror(r));
		terr_hint(e, "check the installation: tusk-worker must sit beside tuskd (or pass --worker PATH)");
		return NULL;
	}

	struct worker *w = xcalloc(1, sizeof *w);
	w->id = ++tuskd.next_worker_id;
	w->pid = pid;
	w->refs = 1; /* the list's */
	w->role = role;
	w->ops = ops;
	w->arg = arg;
	w->state = WS_STARTING;
	w->started_mono_ms = w->last_pong_mono_ms = mono_ms();
	w->started_wall_ms = wall_ms();
	w->backend_pid = -1;
	struct mp_limits lim = { WORKER_MAX_MSG, WORKER_MAX_DEPTH, WORKER_MAX_STR };
	w->peer = rpc_peer_new(tuskd.base, sv[0], &lim, &worker_handlers, w);
	if (w->peer == NULL) {
		kill(pid, SIGKILL);
		w->kill_sent = true;
		w->kill_reason = xstrdup("could not set up its socket");
		w->peer_gone = true;
	}
	TAILQ_INSERT_TAIL(&tuskd.workers, w, entry);
	log_debug("worker %llu started (pid %d)", (unsigned long long)w->id, (int)pid);
	event_worker("started", w);
	if (w->peer == NULL) {
		terr_set(e, TE_INTERNAL, "cannot set up the worker's socket");
		return NULL;
	}
	return w;
}

/* Escalation timer: the worker did not go when asked. */
static void
worker_kill_timer(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	UNUSED(fd);
	UNUSED(what);
	if (w->reaped)
		return;
	log_warn("worker %llu (pid %d) did not exit in time; killing it", (unsigned long long)w->id,
	    (int)w->pid);
	kill(w->pid, SIGKILL);
}

/* Arm the escalation timer to SIGKILL after ms. */
static void
worker_arm_kill(struct worker *w, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	if (w->ev_kill == NULL)
		w->ev_kill = evtimer_new(tuskd.base, worker_kill_timer, w);
	if (w->ev_kill == NULL) {
		/* no timer to escalate later: end it now */
		log_warn("worker %llu: no timer for its grace period; killing it now", (unsigned long long)w->id);
		if (!w->reaped)
			kill(w->pid, SIGKILL);
		return;
	}
	evtimer_add(w->ev_kill, &tv);
}

/* Signal now; the first reason given is the one reported. */
void
worker_kill(struct worker *w, int sig, const char *reason)
{
	if (w->reaped)
		return;
	if (w->kill_reason == NULL)
		w->kill_reason = xstrdup(reason);
	w->kill_sent = true;
	worker_set_state(w, WS_STOPPING);
	log_info("worker %llu (pid %d): sending %s: %s", (unsigned long long)w->id, (int)w->pid,
	    sigabbrev_np(sig) ? sigabbrev_np(sig) : "signal", reason);
	kill(w->pid, sig);
	if (sig != SIGKILL)
		worker_arm_kill(w, tuskd.set.kill_grace_ms);
}

/* Reply to W_CLOSE (or the peer vanished): nothing to do, exit follows. */
static void
close_reply(struct rpc_peer *p, const msgpack_object *err, const msgpack_object *res, void *arg)
{
	UNUSED(p);
	UNUSED(err);
	UNUSED(res);
	UNUSED(arg);
}

/* Ask politely; SIGKILL after the grace period. */
void
worker_close(struct worker *w)
{
	if (w->reaped || w->state == WS_STOPPING)
		return;
	worker_set_state(w, WS_STOPPING);
	if (w->kill_reason == NULL)
		w->kill_reason = xstrdup("closed");
	if (w->peer && !rpc_peer_closing(w->peer)) {
		msgpack_packer *pk = rpc_call(w->peer, W_CLOSE, close_reply, NULL, NULL);
		msgpack_pack_array(pk, 0);
		/* it may be paused on a slow client: let it hear the order */
		if (rpc_peer_paused(w->peer)) {
			rpc_peer_pause(w->peer, false);
			if (w->paused_for) {
				client_unref(w->paused_for);
				w->paused_for = NULL;
			}
		}
	} else {
		kill(w->pid, SIGTERM);
	}
	worker_arm_kill(w, tuskd.set.shutdown_grace_ms);
}

/* A ping's answer. */
static void
ping_reply(struct rpc_peer *p, const msgpack_object *err, const msgpack_object *res, void *arg)
{
	struct worker *w = arg;
	UNUSED(p);
	UNUSED(err);
	if (res == NULL && err == NULL)
		return; /* peer closed */
	w->ping_msgid = 0;
	w->missed = 0;
	w->last_pong_mono_ms = mono_ms();
}

/* Bytes from the worker wait unread (its answer may be among them). */
static bool
worker_input_pending(struct worker *w)
{
	int n = 0;
	if (rpc_peer_input_len(w->peer) > 0)
		return true;
	return ioctl(rpc_peer_fd(w->peer), FIONREAD, &n) == 0 && n > 0;
}

/*
 * A worker that has not answered its ping yet, but is runnable (state R)
 * and got less than an interval of CPU time since the ping, is waiting
 * for a CPU the machine gives others (a busy laptop, a build): not hung.
 * One that is stopped (SIGSTOP: T), blocked in the kernel, or spinning
 * (an interval of CPU and still no answer) is judged as usual. Forgiven
 * at most worker_start_ms in all: past that, silence is a hang whatever
 * the machine is doing.
 */
static bool
worker_starved(struct worker *w, int64_t now)
{
	char st;
	int64_t cpu;
	if (now - w->last_pong_mono_ms > tuskd.set.worker_start_ms || w->ping_cpu_ms < 0 ||
	    worker_proc(w, &st, &cpu, NULL) < 0 || st != 'R' ||
	    cpu - w->ping_cpu_ms >= tuskd.set.heartbeat_ms)
		return false;
	log_debug("worker %llu (pid %d) is runnable but got %lld ms of CPU since its ping: waiting for a CPU, not hung",
	    (unsigned long long)w->id, (int)w->pid, (long long)(cpu - w->ping_cpu_ms));
	return true;
}

/* Judge one worker at a heartbeat tick; false when it was killed. */
static bool
worker_judge(struct worker *w, int64_t now, bool broker_late)
{
	if (!w->hello) {
		if (now - w->started_mono_ms < tuskd.set.worker_start_ms || broker_late)
			return true;
		char reason[96];
		snprintf(reason, sizeof reason, "did not start: no hello within %d ms",
		    tuskd.set.worker_start_ms);
		log_warn("worker %llu (pid %d) %s", (unsigned long long)w->id, (int)w->pid, reason);
		worker_kill(w, SIGKILL, reason);
		return false;
	}
	if (w->ping_msgid == 0)
		return true;
	/* a ping gets a whole interval (a tick after a late one comes early) */
	if (now - w->ping_sent_mono_ms < tuskd.set.heartbeat_ms)
		return true;
	/* the broker ran late, its ping has not left yet, or the answer is here
	 * but not read yet: not the worker's fault */
	if (broker_late || rpc_peer_output_len(w->peer) > 0 || worker_input_pending(w))
		return true;
	if (worker_starved(w, now))
		return true;
	if (++w->missed < tuskd.set.heartbeat_misses)
		return true;
	char reason[128];
	snprintf(reason, sizeof reason, "hung: no answer to heartbeat for %lld ms",
	    (long long)(now - w->ping_sent_mono_ms));
	char st = '?';
	int64_t cpu = -1;
	worker_proc(w, &st, &cpu, NULL);
	log_warn("worker %llu (pid %d) %s (state %c, %lld ms of CPU since the ping)", (unsigned long long)w->id,
	    (int)w->pid, reason, st, (long long)(cpu >= 0 && w->ping_cpu_ms >= 0 ? cpu - w->ping_cpu_ms : -1));
	worker_kill(w, SIGKILL, reason);
	return false;
}

/* Ping every worker; kill the ones that stopped answering. */
void
workers_heartbeat(void)
{
	static int64_t last_tick;
	struct worker *w, *tmp;
	int64_t now = mono_ms();
	/* a tick more than half an interval late means the broker itself was
	 * held up: nobody's silence counts this time */
	bool late = last_tick > 0 && now - last_tick > tuskd.set.heartbeat_ms + tuskd.set.heartbeat_ms / 2;
	if (late)
		log_debug("heartbeat ran %lld ms late: not counting misses this time",
		    (long long)(now - last_tick - tuskd.set.heartbeat_ms));
	last_tick = now;
	TAILQ_FOREACH_SAFE(w, &tuskd.workers, entry, tmp) {
		if (w->reaped || w->peer == NULL || rpc_peer_closing(w->peer) || w->kill_sent)
			continue;
		if (rpc_peer_paused(w->peer)) {
			/* we are not reading it: its silence is ours */
			w->missed = 0;
			w->last_pong_mono_ms = now;
			continue;
		}
		if (!worker_judge(w, now, late) || w->ping_msgid != 0 || !w->hello)
			continue;
		msgpack_packer *pk = rpc_call(w->peer, W_PING, ping_reply, w, &w->ping_msgid);
		msgpack_pack_array(pk, 0);
		w->ping_sent_mono_ms = now;
		/* the CPU it had when asked: worker_starved compares */
		if (worker_proc(w, NULL, &w->ping_cpu_ms, NULL) < 0)
			w->ping_cpu_ms = -1;
	}
}

/* Forward the log level to every live worker. */
void
workers_set_log_level(int level)
{
	struct worker *w;
	TAILQ_FOREACH(w, &tuskd.workers, entry) {
		if (w->peer == NULL || rpc_peer_closing(w->peer))
			continue;
		msgpack_packer *pk = rpc_peer_packer(w->peer);
		rpc_pack_notify_begin(pk, W_SET_LOG);
		msgpack_pack_array(pk, 1);
		msgpack_pack_map(pk, 1);
		mp_pack_key(pk, "level");
		msgpack_pack_int(pk, level);
	}
}

/* How many worker processes are alive. */
unsigned
workers_alive(void)
{
	unsigned n = 0;
	struct worker *w;
	TAILQ_FOREACH(w, &tuskd.workers, entry)
		if (!w->reaped)
			n++;
	return n;
}

/* Pause a worker until c drains. */
void
worker_pause_for(struct worker *w, struct client *c)
{
	if (w->peer == NULL || w->paused_for != NULL)
		return;
	rpc_peer_pause(w->peer, true);
	w->paused_for = c;
	client_ref(c);
}

/* Resume the workers that were waiting for c. */
void
workers_resume_for(struct client *c)
{
	struct worker *w;
	TAILQ_FOREACH(w, &tuskd.workers, entry) {
		if (w->paused_for != c)
			continue;
		w->paused_for = NULL;
		if (w->peer)
			rpc_peer_pause(w->peer, false);
		client_unref(c);
	}
}

#define WSB(s) (1u << (s))
#define WS_LIVE (WSB(WS_STARTING) | WSB(WS_CONNECTING) | WSB(WS_IDLE) | WSB(WS_BUSY) | \
	WSB(WS_CANCELLING) | WSB(WS_STOPPING))
#define WS_RUNNING (WSB(WS_BUSY) | WSB(WS_CANCELLING) | WSB(WS_STOPPING))

/*
 * What a worker may send, and when (OpenSSH's monitor table). Replies are
 * matched to the broker's own calls by rpc.c (a reply nobody asked for
 * closes the peer); requests are never allowed. `fields` NULL: a client
 * notification the worker framed, routed by its owner as bytes.
 */
static const struct worker_note {
	const char *name;
	const struct tusk_param *fields;
	unsigned states;
} worker_notes[] = {
	{ W_HELLO, wire_hello, WSB(WS_STARTING) | WSB(WS_CONNECTING) },
	{ W_LOG, wire_log, WS_LIVE },
	{ W_HOST_KEY, wire_host_key, WSB(WS_CONNECTING) },
	{ W_SCHEMA_TOUCHED, wire_schema_touched, WS_RUNNING },
	{ N_QUERY_COLUMNS, NULL, WS_RUNNING },
	{ N_QUERY_ROWS, NULL, WS_RUNNING },
	{ N_QUERY_NOTICE, NULL, WSB(WS_CONNECTING) | WSB(WS_IDLE) | WS_RUNNING },
	{ W_EXPORT_DATA, wire_export_data, WS_RUNNING },
	{ W_IMPORT_READY, wire_import_ready, WS_RUNNING },
};

/* The table's entry for a method name, or NULL. */
static const struct worker_note *
note_find(const char *name, size_t len)
{
	for (size_t i = 0; i < nitems(worker_notes); i++)
		if (strlen(worker_notes[i].name) == len && memcmp(worker_notes[i].name, name, len) == 0)
			return &worker_notes[i];
	return NULL;
}

/* Drop a worker that broke the protocol: logged once (a worker already
 * being stopped is only no longer read), killed, its socket closed. */
static void
worker_drop(struct worker *w, const char *reason)
{
	if (!w->kill_sent) {
		log_warn("worker %llu (pid %d): %s; dropping it", (unsigned long long)w->id,
		    (int)w->pid, reason);
		worker_kill(w, SIGKILL, reason);
	}
	if (w->peer && !rpc_peer_closing(w->peer))
		rpc_peer_close(w->peer, reason, false);
}

/* A worker sent what it may not (what: the kind; name: the method). */
static void
worker_violation(struct worker *w, const char *what, const char *name, size_t len)
{
	char shown[RPC_MAX_METHOD + 1];
	snprintf(shown, sizeof shown, "%.*s", (int)MIN(len, (size_t)RPC_MAX_METHOD), name ? name : "");
	char *esc = log_escape(shown);
	char reason[200];
	snprintf(reason, sizeof reason, "protocol violation: %s '%s' while %s", what, esc,
	    state_names[w->state]);
	free(esc);
	worker_drop(w, reason);
}

/* May w send this notification now? Drops it when not. */
static bool
worker_note_allowed(struct worker *w, const struct worker_note *n, const char *name, size_t len)
{
	if (n == NULL) {
		worker_violation(w, "unknown notification", name, len);
		return false;
	}
	if (!(n->states & WSB(w->state))) {
		worker_violation(w, "notification", name, len);
		return false;
	}
	return true;
}

/* Bytes from a worker: checked against the table, then perhaps a row
 * batch its owner moves to a client. */
static bool
worker_raw(struct rpc_peer *p, struct evbuffer *in, size_t len, void *arg)
{
	struct worker *w = arg;
	struct rpc_peek pk;
	size_t head = MIN(len, (size_t)256);
	const void *bytes = evbuffer_pullup(in, (ssize_t)head);
	UNUSED(p);
	if (bytes == NULL || rpc_peek(bytes, head, &pk) < 0)
		return false; /* rpc.c decodes it and finds it malformed */
	if (pk.type == RPC_REQUEST) {
		worker_violation(w, "request", pk.method, pk.method_len);
		evbuffer_drain(in, len);
		return true;
	}
	if (pk.type == RPC_NOTIFY) {
		const struct worker_note *n = note_find(pk.method, pk.method_len);
		if (!worker_note_allowed(w, n, pk.method, pk.method_len)) {
			evbuffer_drain(in, len);
			return true;
		}
		if (n->fields)
			return false; /* ours: decoded and read in worker_msg */
	}
	if (w->ops && w->ops->raw)
		return w->ops->raw(w, in, len, w->arg);
	return false;
}

/* Read a worker's success reply against its declaration (wire.h); a
 * malformed one is a protocol violation. 0, or -1 (the worker is dropped). */
int
worker_reply_read(struct rpc_peer *p, const char *order, const struct tusk_param *spec,
    const msgpack_object *res, struct params *prm)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	if (params_parse_map(prm, spec, res, NULL, &e) == 0)
		return 0;
	struct worker *w;
	TAILQ_FOREACH(w, &tuskd.workers, entry) {
		if (w->peer == p) {
			log_warn("worker %llu: malformed reply to %s: %s", (unsigned long long)w->id,
			    order, e.message);
			worker_violation(w, "malformed reply to", order, strlen(order));
			break;
		}
	}
	terr_clear(&e);
	return -1;
}

/* hello: the worker runs and reads orders. */
static void
worker_hello(struct worker *w, const struct params *prm)
{
	int64_t pid = params_int(prm, "pid", 0);
	char *version = params_strdup(prm, "version");
	if (w->hello || pid != w->pid || strcmp(version, TUSK_VERSION) != 0) {
		char *esc = log_escape(version);
		log_warn("worker %llu (pid %d): unexpected hello (pid %lld, version %s)",
		    (unsigned long long)w->id, (int)w->pid, (long long)pid, esc);
		free(esc);
		free(version);
		worker_violation(w, "notification", W_HELLO, strlen(W_HELLO));
		return;
	}
	free(version);
	w->hello = true;
	w->last_pong_mono_ms = mono_ms();
	log_trace("worker %llu said hello after %lld ms", (unsigned long long)w->id,
	    (long long)(w->last_pong_mono_ms - w->started_mono_ms));
}

/* Say how many of a worker's log records were dropped (once per flood). */
static void
worker_log_dropped(struct worker *w)
{
	if (w->log_dropped == 0)
		return;
	log_warn("worker %llu (pid %d): %llu log records dropped (more than %d a second)",
	    (unsigned long long)w->id, (int)w->pid, (unsigned long long)w->log_dropped,
	    tuskd.set.worker_log_rate);
	w->log_dropped = 0;
	w->log_flood_said = false;
}

/* May w log one more record now (worker_log_rate a second)? */
static bool
worker_log_allowed(struct worker *w)
{
	int64_t now = mono_ms();
	if (now - w->log_window_ms >= 1000) {
		/* a second without drops after some: the flood ended, say what it cost */
		if (w->log_in_window <= tuskd.set.worker_log_rate)
			worker_log_dropped(w);
		w->log_window_ms = now;
		w->log_in_window = 0;
	}
	if (w->log_in_window < tuskd.set.worker_log_rate) {
		w->log_in_window++;
		return true;
	}
	w->log_in_window = tuskd.set.worker_log_rate + 1; /* this second dropped some */
	if (!w->log_flood_said) {
		w->log_flood_said = true;
		log_warn("worker %llu (pid %d) sends more than %d log records a second: dropping the rest (worker_log_rate)",
		    (unsigned long long)w->id, (int)w->pid, tuskd.set.worker_log_rate);
	}
	w->log_dropped++;
	return false;
}

/* A log record from a worker, at most 4 KiB of it, escaped by log.c; no
 * more verbose than the broker's level, at most worker_log_rate a second. */
static void
worker_log(struct worker *w, const struct params *prm)
{
	int64_t level = params_int(prm, "level", TLOG_INFO);
	if (level < TLOG_ERROR || level > TLOG_TRACE) {
		worker_violation(w, "log record level", W_LOG, strlen(W_LOG));
		return;
	}
	if (level > tlog_level || !worker_log_allowed(w))
		return;
	const msgpack_object *msg = params_get(prm, "message");
	char tag[40];
	snprintf(tag, sizeof tag, "worker[%d]", (int)w->pid);
	char *text = xstrndup(msg->via.str.ptr, MIN(msg->via.str.size, 4096u));
	log_forward((int)level, tag, text);
	free(text);
}

/* A decoded notification from a worker (replies go to their calls). */
static void
worker_msg(struct rpc_peer *p, const struct rpc_msg *m, void *arg)
{
	struct worker *w = arg;
	struct tusk_error e = TUSK_ERROR_INIT;
	struct params prm;
	UNUSED(p);
	if (m->type != RPC_NOTIFY) {
		worker_violation(w, "request", m->method, strlen(m->method));
		return;
	}
	const struct worker_note *n = note_find(m->method, strlen(m->method));
	if (!worker_note_allowed(w, n, m->method, strlen(m->method)))
		return;
	if (n->fields == NULL) {
		if (w->ops && w->ops->notify)
			w->ops->notify(w, m, w->arg);
		return;
	}
	if (params_parse(&prm, n->fields, m->params, &e) < 0) {
		log_warn("worker %llu: malformed %s: %s", (unsigned long long)w->id, m->method, e.message);
		terr_clear(&e);
		worker_violation(w, "malformed notification", m->method, strlen(m->method));
		return;
	}
	if (n->fields == wire_hello)
		worker_hello(w, &prm);
	else if (n->fields == wire_log)
		worker_log(w, &prm);
	else if (n->fields == wire_host_key)
		hostkeys_offer(w, &prm);
	else if (n->fields == wire_schema_touched && w->role == WR_CONN && w->arg)
		schema_touched(w->arg);
	else if (w->ops && w->ops->notify)
		w->ops->notify(w, m, w->arg); /* a query's (export_data, ...) */
}

/* The worker's socket closed. */
static void
worker_peer_closed(struct rpc_peer *p, const char *reason, void *arg)
{
	struct worker *w = arg;
	log_debug("worker %llu socket closed: %s", (unsigned long long)w->id, reason);
	if (rpc_peer_faulted(p) && !w->kill_sent) {
		/* malformed, oversized, a response to nothing: rpc.c found it */
		char why[200];
		snprintf(why, sizeof why, "protocol violation: %s while %s", reason, state_names[w->state]);
		worker_drop(w, why);
	}
	rpc_peer_free(p);
	w->peer = NULL;
	w->peer_gone = true;
	if (w->paused_for) {
		client_unref(w->paused_for);
		w->paused_for = NULL;
	}
	if (w->reaped)
		worker_finish(w);
	else if (!w->kill_sent)
		worker_arm_kill(w, tuskd.set.kill_grace_ms); /* it should exit now */
}

/* Why did it die? */
static char *
death_reason(struct worker *w, int status)
{
	if (w->kill_reason && (w->kill_sent || w->state == WS_STOPPING))
		return xstrdup(w->kill_reason);
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		if (sig == SIGSYS)
			return xstrdup("sandbox violation: the worker made a forbidden system call (SIGSYS)");
		if (sig == SIGKILL)
			return xstrdup("crashed: killed by SIGKILL from outside Tusk (the kernel's out-of-memory killer, or a user)");
		return xasprintf("crashed: signal %d (%s%s)", sig,
		    sigabbrev_np(sig) ? "SIG" : "", sigabbrev_np(sig) ? sigabbrev_np(sig) : "unknown");
	}
	if (WIFEXITED(status)) {
		int code = WEXITSTATUS(status);
		if (code == 0)
			return xstrdup("exited");
		if (code == TUSK_EXIT_OOM)
			return xstrdup("out of memory: the worker hit its memory limit");
		if (code == TUSK_EXIT_SERVER_LOST)
			return xstrdup("the server ended the session");
		if (code == TUSK_EXIT_TUNNEL_LOST)
			return xstrdup("the SSH tunnel was lost");
		if (code == TUSK_EXIT_PARENT)
			return xstrdup("the broker went away");
		if (code == TUSK_EXIT_SANDBOX)
			return xstrdup("sandbox violation: the worker could not set up its sandbox");
		return xasprintf("crashed: exit status %d", code);
	}
	return xstrdup("crashed");
}

/* Reaped and read to the end: report once, keep for listing. */
static void
worker_finish(struct worker *w)
{
	if (w->state == WS_DEAD)
		return;
	worker_log_dropped(w);
	w->state = WS_DEAD;
	w->died_wall_ms = wall_ms();
	if (w->ev_kill)
		evtimer_del(w->ev_kill);
	const struct worker_ops *ops = w->ops;
	w->ops = NULL;
	event_worker("dead", w);
	if (ops && ops->dead)
		ops->dead(w, w->death_reason, w->arg);
	if (w->kill_req) {
		/* nobody took over the answer (no backend to end): it is dead */
		kill_answer(w->kill_req, w, -1, 1, NULL);
		req_free(w->kill_req);
		w->kill_req = NULL;
	}

	/* keep the most recent dead workers for `list_workers` */
	int dead = 0;
	struct worker *x, *tmp;
	TAILQ_FOREACH_REVERSE_SAFE(x, &tuskd.workers, worker_list, entry, tmp) {
		if (x->state != WS_DEAD)
			continue;
		if (++dead > tuskd.set.dead_workers_kept) {
			TAILQ_REMOVE(&tuskd.workers, x, entry);
			worker_unref(x);
		}
	}
}

/* Exit: a worker whose socket was not read to the end is finished now, so
 * its owner hears of it (and lets go of what it holds) once. */
void
workers_finish_all(void)
{
	for (;;) {
		/* finishing one may prune others from the list: look again each time */
		struct worker *w;
		TAILQ_FOREACH(w, &tuskd.workers, entry)
			if (w->state != WS_DEAD)
				break;
		if (w == NULL)
			return;
		if (w->death_reason == NULL)
			w->death_reason = xstrdup(w->kill_reason ? w->kill_reason : "the broker stopped");
		if (w->peer) {
			rpc_peer_free(w->peer);
			w->peer = NULL;
		}
		worker_finish(w);
	}
}

/* SIGCHLD: collect every child that ended. */
void
workers_reap(void)
{
	for (;;) {
		int status;
		struct rusage ru;
		pid_t pid = wait4(-1, &status, WNOHANG, &ru);
		if (pid <= 0)
			break;
		struct worker *w;
		TAILQ_FOREACH(w, &tuskd.workers, entry)
			if (w->pid == pid && !w->reaped)
				break;
		if (w == NULL) {
			log_debug("reaped unknown child %d", (int)pid);
			continue;
		}
		w->reaped = true;
		w->cpu_ms = (int64_t)ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000 +
		    (int64_t)ru.ru_stime.tv_sec * 1000 + ru.ru_stime.tv_usec / 1000;
		w->rss_bytes = (int64_t)ru.ru_maxrss * 1024;
		w->death_reason = death_reason(w, status);
		if (w->ev_escalate)
			evtimer_del(w->ev_escalate);
		int lvl = w->kill_sent || (WIFEXITED(status) && WEXITSTATUS(status) == 0) ? TLOG_DEBUG : TLOG_WARN;
		log_emit(lvl, "worker %llu (pid %d) ended: %s", (unsigned long long)w->id, (int)pid,
		    w->death_reason);
		if (w->peer && rpc_peer_paused(w->peer)) {
			/* nobody is reading it: what is left is dropped */
			rpc_peer_close(w->peer, "worker ended", false);
		}
		if (w->peer == NULL)
			worker_finish(w);
	}
}

/* A worker by id (alive or recently dead). */
struct worker *
worker_find(uint64_t id)
{
	struct worker *w;
	TAILQ_FOREACH(w, &tuskd.workers, entry)
		if (w->id == id)
			return w;
	return NULL;
}

/* A live worker's scheduler state (R, S, D, T...), CPU time and resident
 * memory, from /proc/<pid>/stat; -1 when it cannot be read. */
static int
worker_proc(const struct worker *w, char *state, int64_t *cpu_ms, int64_t *rss_bytes)
{
	char path[64], buf[1024];
	if (w->reaped)
		return -1;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)w->pid);
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* fields after the command name (which may hold spaces) */
	char *p = strrchr(buf, ')');
	if (p == NULL)
		return -1;
	unsigned long long utime = 0, stime = 0;
	long long rss = 0;
	char st = '?';
	/* state(3) ... utime(14) stime(15) ... rss(24) */
	if (sscanf(p + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %*u %*u %lld",
	    &st, &utime, &stime, &rss) != 4)
		return -1;
	long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	if (state)
		*state = st;
	if (cpu_ms)
		*cpu_ms = (int64_t)((utime + stime) * 1000 / (unsigned long long)(tick > 0 ? tick : 100));
	if (rss_bytes)
		*rss_bytes = (int64_t)rss * (page > 0 ? page : 4096);
	return 0;
}

/* CPU time and resident memory, for list_workers. */
void
worker_sample(struct worker *w)
{
	char st;
	int64_t cpu, rss;
	if (worker_proc(w, &st, &cpu, &rss) == 0) {
		w->cpu_ms = cpu;
		w->rss_bytes = rss;
	}
}

static const char *const role_names[] = {
	[WR_CONN] = "connection",
	[WR_TEST] = "test",
	[WR_HELPER] = "helper",
};

/* A wall-clock time as ISO 8601, or nil for 0 (an mpf_fn). */
static void
pack_time(msgpack_packer *pk, const void *arg)
{
	int64_t wall = *(const int64_t *)arg;
	char ts[40];
	if (wall <= 0) {
		msgpack_pack_nil(pk);
		return;
	}
	iso8601_utc(wall, ts, sizeof ts);
	mp_pack_cstr(pk, ts);
}

/* The list_workers entry. */
void
worker_pack(msgpack_packer *pk, const struct worker *w)
{
	int64_t now = mono_ms();
	bool dead = w->state == WS_DEAD;
	bool querying = !dead && w->query_id;
	int64_t died = dead ? w->died_wall_ms : 0;
	MP_PACK_FIELDS(pk,
	    MPF_UINT("worker_id", w->id),
	    MPF_INT("pid", w->pid),
	    MPF_STR("role", role_names[w->role]),
	    MPF_STR("state", state_names[w->state]),
	    MPF_INT_OPT("backend_pid", w->backend_pid > 0 ? w->backend_pid : -1),
	    MPF_STR("connection_id", w->conn_id),
	    MPF_STR("connection_name", w->conn_name),
	    MPF_STR("query_id", dead ? NULL : w->query_id),
	    MPF_STR("query_sql", dead ? NULL : w->query_sql),
	    querying ? (struct mp_field)MPF_INT("query_elapsed_ms", now - w->query_started_mono_ms) :
	    (struct mp_field)MPF_NIL("query_elapsed_ms"),
	    MPF_UINT("rows_streamed", w->rows_streamed),
	    MPF_UINT("bytes_streamed", w->bytes_streamed),
	    MPF_INT("rss_bytes", w->rss_bytes),
	    MPF_INT("cpu_ms", w->cpu_ms),
	    dead ? (struct mp_field)MPF_NIL("heartbeat_age_ms") :
	    (struct mp_field)MPF_INT("heartbeat_age_ms", now - w->last_pong_mono_ms),
	    MPF_FN("started_at", pack_time, &w->started_wall_ms),
	    MPF_FN("died_at", pack_time, &died),
	    MPF_STR("death_reason", dead ? w->death_reason : NULL),
	    MPF_STR("saved_id", w->saved_id),
	    MPF_STR("label", w->conn_label));
}

/* Second step of a user's kill: SIGTERM, and SIGKILL after the grace. */
static void
escalate_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	UNUSED(fd);
	UNUSED(what);
	if (!w->reaped)
		worker_kill(w, SIGTERM, "killed by the user");
}

/* The cancel order's answer: go on with SIGTERM at once. */
static void
kill_cancel_reply(struct rpc_peer *p, const msgpack_object *err, const msgpack_object *res, void *arg)
{
	struct worker *w = arg;
	UNUSED(p);
	UNUSED(err);
	UNUSED(res);
	if (w->ev_escalate && !w->reaped) {
		evtimer_del(w->ev_escalate);
		worker_kill(w, SIGTERM, "killed by the user");
	}
}

/* kill_worker: cancel the running query, then SIGTERM, then SIGKILL. */
void
worker_kill_user(struct worker *w)
{
	free(w->kill_reason);
	w->kill_reason = xstrdup("killed by the user");
	w->kill_sent = true;
	log_info("worker %llu (pid %d): killed by the user", (unsigned long long)w->id, (int)w->pid);
	if (w->ev_escalate == NULL)
		w->ev_escalate = evtimer_new(tuskd.base, escalate_cb, w);
	if (w->ev_escalate && w->query_id && w->peer && !rpc_peer_closing(w->peer) &&
	    !rpc_peer_paused(w->peer)) {
		/* the cancel is answered from the worker's loop within ~15 ms;
		 * a worker that does not answer gets SIGTERM after 200 ms */
		msgpack_packer *pk = rpc_call(w->peer, W_CANCEL, kill_cancel_reply, w, NULL);
		msgpack_pack_array(pk, 1);
		msgpack_pack_map(pk, 1);
		mp_pack_key(pk, "query_id");
		mp_pack_cstr(pk, w->query_id);
		static const struct timeval wait = { 0, 200000 };
		evtimer_add(w->ev_escalate, &wait);
		worker_arm_kill(w, 200 + tuskd.set.kill_grace_ms);
		return;
	}
	worker_kill(w, SIGTERM, "killed by the user");
}
