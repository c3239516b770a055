/*
 * client.c — the broker's listening socket and its clients.
 *
 * The socket lives in the private runtime directory (0700) and is itself
 * 0600; every accepted peer's uid is checked with SO_PEERCRED and must be
 * ours. Each client is an rpc_peer: requests go to the dispatcher, a client
 * that breaks the protocol (malformed, oversized or mis-shaped messages) is
 * dropped alone. When file descriptors run out, a reserved descriptor is
 * released to accept and immediately close the newcomer, so it learns it was
 * refused instead of hanging, and the clients already here are served on.
 *
 * The socket is bound here, or inherited from systemd (socket activation:
 * LISTEN_PID/LISTEN_FDS, the socket as descriptor 3, as sd_listen_fds(3)
 * describes). An inherited socket belongs to systemd: it is checked to be
 * our path, and never unlinked or bound again.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "broker.h"
#include "log.h"
#include "proto.h"
#include "util.h"

static int reserve_fd = -1;

static void client_msg(struct rpc_peer *p, const struct rpc_msg *m, void *arg);
static void client_closed(struct rpc_peer *p, const char *reason, void *arg);
static void client_drained(struct rpc_peer *p, void *arg);

static const struct rpc_handlers client_handlers = {
	.msg = client_msg,
	.closed = client_closed,
	.drained = client_drained,
};

/* Take a reference. */
void
client_ref(struct client *c)
{
	c->refs++;
}

/* Drop a reference; the last one frees. */
void
client_unref(struct client *c)
{
	if (--c->refs > 0)
		return;
	free(c);
}

/* The client's output, or the discard buffer once it is gone. */
struct evbuffer *
client_output(struct client *c)
{
	if (c == NULL || c->gone || c->peer == NULL || rpc_peer_closing(c->peer)) {
		evbuffer_drain(tuskd.discard, evbuffer_get_length(tuskd.discard));
		return tuskd.discard;
	}
	return rpc_peer_output(c->peer);
}

/* Too much queued for this client already? */
bool
client_congested(struct client *c)
{
	if (c == NULL || c->gone || c->peer == NULL)
		return false;
	return rpc_peer_output_len(c->peer) > tuskd.set.client_high;
}

/* The client's output fell to its low mark: resume its workers. */
static void
client_drained(struct rpc_peer *p, void *arg)
{
	struct client *c = arg;
	UNUSED(p);
	workers_resume_for(c);
}

/* A message from a client. */
static void
client_msg(struct rpc_peer *p, const struct rpc_msg *m, void *arg)
{
	struct client *c = arg;
	if (m->type == RPC_REQUEST) {
		dispatch_request(c, m);
		return;
	}
	/* clients have nothing to notify the broker of */
	log_debug("client %llu: ignoring notification '%s'", (unsigned long long)c->id, m->method);
	UNUSED(p);
}

/* The client left or was dropped. */
static void
client_closed(struct rpc_peer *p, const char *reason, void *arg)
{
	struct client *c = arg;
	log_debug("client %llu (pid %d) gone: %s", (unsigned long long)c->id, (int)c->pid, reason);
	c->gone = true;
	c->peer = NULL;
	TAILQ_REMOVE(&tuskd.clients, c, entry);
	tuskd.nclients--;
	rpc_peer_free(p);
	queries_client_gone(c);
	workers_resume_for(c);
	client_unref(c);
}

/*
 * What kind of client a process is, by its executable (SO_PEERCRED's pid,
 * /proc/PID/exe): the gateway serves the window and `tusk --browser`, then
 * tuskctl, then anything else (scripts). Read once, when it connects.
 */
static const char *
client_kind(pid_t pid)
{
	char link[64], exe[PATH_MAX];
	snprintf(link, sizeof link, "/proc/%d/exe", (int)pid);
	ssize_t n = pid > 0 ? readlink(link, exe, sizeof exe - 1) : -1;
	if (n <= 0)
		return "other";
	exe[n] = '\0';
	char *del = strstr(exe, " (deleted)");
	if (del && del[10] == '\0')
		*del = '\0'; /* rebuilt or upgraded while it ran */
	const char *base = strrchr(exe, '/');
	base = base ? base + 1 : exe;
	if (strcmp(base, "tusk-ui") == 0)
		return "window";
	if (strcmp(base, "tuskctl") == 0)
		return "tuskctl";
	return "other";
}

/* A new client socket: only our own uid (SO_PEERCRED) is let in; it becomes
 * a peer whose protocol faults close this client alone. */
static void
client_accept_fd(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warn("client refused: SO_PEERCRED failed: %s", strerror(errno));
		close(fd);
		return;
	}
	if (cred.uid != getuid()) {
		log_warn("client refused: uid %u is not ours (%u)", (unsigned)cred.uid,
		    (unsigned)getuid());
		close(fd);
		return;
	}
	struct client *c = xcalloc(1, sizeof *c);
	c->id = ++tuskd.next_client_id;
	c->pid = cred.pid;
	c->uid = cred.uid;
	c->kind = client_kind(cred.pid);
	c->refs = 1;
	struct mp_limits lim = { CLIENT_MAX_MSG, CLIENT_MAX_DEPTH, CLIENT_MAX_STR };
	/* room for a few row batches on their way to the client */
	int bufsz = 1024 * 1024;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof bufsz);
	c->peer = rpc_peer_new(tuskd.base, fd, &lim, &client_handlers, c);
	if (c->peer == NULL) {
		log_error("client refused: cannot set up its socket");
		free(c);
		return;
	}
	rpc_peer_watch_output(c->peer, tuskd.set.client_low);
	TAILQ_INSERT_TAIL(&tuskd.clients, c, entry);
	tuskd.nclients++;
	log_debug("client %llu connected (pid %d, %s)", (unsigned long long)c->id, (int)c->pid, c->kind);
}

/* libevent accepted a connection. */
static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	UNUSED(l);
	UNUSED(sa);
	UNUSED(salen);
	UNUSED(arg);
	if (tuskd.shutting_down) {
		close(fd);
		return;
	}
	client_accept_fd(fd);
}

/* Re-enable accepting after running out of descriptors. */
static void
accept_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	UNUSED(fd);
	UNUSED(what);
	UNUSED(arg);
	if (reserve_fd < 0)
		reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (tuskd.listener && !tuskd.shutting_down)
		evconnlistener_enable(tuskd.listener);
}

/* accept() failed: out of descriptors is survivable, the rest is logged. */
static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();
	UNUSED(arg);
	if (err == EMFILE || err == ENFILE) {
		log_error("cannot accept a new client: %s; refusing new clients while the %u present are served",
		    strerror(err), tuskd.nclients);
		/* use the reserve to take the newcomer off the queue and refuse it */
		if (reserve_fd >= 0) {
			close(reserve_fd);
			reserve_fd = -1;
			int fd = accept4(evconnlistener_get_fd(l), NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				close(fd);
		}
		evconnlistener_disable(l);
		static const struct timeval one = { 1, 0 };
		evtimer_add(tuskd.ev_accept_retry, &one);
		return;
	}
	log_warn("accept failed: %s", strerror(err));
}

/* The first descriptor systemd passes (SD_LISTEN_FDS_START). */
#define LISTEN_FDS_START 3

/* An int socket option, or -1. */
static int
sockopt_int(int fd, int opt)
{
	int v;
	socklen_t len = sizeof v;
	return getsockopt(fd, SOL_SOCKET, opt, &v, &len) < 0 ? -1 : v;
}

/* Is the passed descriptor a listening Unix stream socket on our path? */
static int
inherit_check(int fd, struct tusk_error *e)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof sun;
	if (fcntl(fd, F_GETFD) < 0 || sockopt_int(fd, SO_DOMAIN) != AF_UNIX ||
	    sockopt_int(fd, SO_TYPE) != SOCK_STREAM || sockopt_int(fd, SO_ACCEPTCONN) != 1) {
		terr_set(e, TE_INITIALIZATION,
		    "the socket passed by systemd (descriptor %d) is not a listening Unix stream socket", fd);
		terr_hint(e, "tuskd.socket must have ListenStream=%%t/tusk/tuskd.sock and Accept=no");
		return -1;
	}
	memset(&sun, 0, sizeof sun);
	if (getsockname(fd, (struct sockaddr *)&sun, &len) < 0 || len <= offsetof(struct sockaddr_un, sun_path) ||
	    sun.sun_path[0] == '\0') {
		terr_set(e, TE_INITIALIZATION, "the socket passed by systemd has no path");
		terr_hint(e, "tuskd.socket must have ListenStream=%%t/tusk/tuskd.sock");
		return -1;
	}
	sun.sun_path[sizeof sun.sun_path - 1] = '\0';
	struct stat a, b;
	if (strcmp(sun.sun_path, tuskd.paths.sock_path) != 0 &&
	    (stat(sun.sun_path, &a) < 0 || stat(tuskd.paths.sock_path, &b) < 0 || a.st_dev != b.st_dev ||
		a.st_ino != b.st_ino)) {
		terr_set(e, TE_INITIALIZATION, "systemd passed the socket %s, but this broker's socket is %s",
		    sun.sun_path, tuskd.paths.sock_path);
		terr_hint(e, "clients would not find it: make tuskd.socket's ListenStream %%t/tusk/tuskd.sock "
			     "and leave TUSK_HOME unset for the service");
		return -1;
	}
	return 0;
}

int
client_inherit(struct tusk_error *e)
{
	const char *pid_s = getenv("LISTEN_PID"), *fds_s = getenv("LISTEN_FDS");
	long long pid, n;
	int r = 0;
	/* sockets meant for another process (a parent that did not clear them) are not ours */
	if (pid_s == NULL || fds_s == NULL || parse_ll(pid_s, 1, INT_MAX, &pid) < 0 ||
	    (pid_t)pid != getpid())
		goto out;
	if (parse_ll(fds_s, 0, INT_MAX - LISTEN_FDS_START, &n) < 0) {
		r = terr_set(e, TE_INITIALIZATION, "LISTEN_FDS='%s' is not a count of sockets", fds_s);
		goto out;
	}
	if (n == 0)
		goto out;
	if (n != 1) {
		r = terr_set(e, TE_INITIALIZATION, "systemd passed %lld sockets; tuskd takes exactly one", n);
		terr_hint(e, "tuskd.socket must have a single ListenStream=%%t/tusk/tuskd.sock");
		goto out;
	}
	if (inherit_check(LISTEN_FDS_START, e) < 0) {
		r = -1;
		goto out;
	}
	/* workers must not inherit it; libevent wants it non-blocking */
	int fl = fcntl(LISTEN_FDS_START, F_GETFL);
	if (fcntl(LISTEN_FDS_START, F_SETFD, FD_CLOEXEC) < 0 || fl < 0 ||
	    fcntl(LISTEN_FDS_START, F_SETFL, fl | O_NONBLOCK) < 0) {
		r = terr_set(e, TE_INITIALIZATION, "cannot set up the socket passed by systemd: %s",
		    strerror(errno));
		goto out;
	}
	tuskd.listen_fd = LISTEN_FDS_START;
	tuskd.activated = true;
	r = 1;
out:
	/* as sd_listen_fds(1): the variables are for us alone, not for our workers */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return r;
}

/* Remove the socket file, unless systemd owns it (it listens on for us). */
void
client_unlink(void)
{
	if (!tuskd.activated)
		unlink(tuskd.paths.sock_path);
}

/* Bind the socket in the runtime directory (the lock is already ours). */
int
client_bind(struct tusk_error *e)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", tuskd.paths.sock_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return terr_set(e, TE_INITIALIZATION, "cannot create a socket: %s", strerror(errno));
	/* we hold the lock, so a socket file left here is stale */
	unlink(sun.sun_path);
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&sun, sizeof sun);
	umask(old);
	if (r < 0 || chmod(sun.sun_path, 0600) < 0 || listen(fd, 64) < 0) {
		terr_set(e, TE_INITIALIZATION, "cannot listen on %s: %s", sun.sun_path, strerror(errno));
		terr_hint(e, "check the runtime directory %s", tuskd.paths.run_dir);
		close(fd);
		return -1;
	}
	tuskd.listen_fd = fd;
	return 0;
}

/* Accept clients on the bound socket from the loop. */
int
client_listen(struct tusk_error *e)
{
	tuskd.listener = evconnlistener_new(tuskd.base, accept_cb, NULL, LEV_OPT_CLOSE_ON_FREE, -1,
	    tuskd.listen_fd);
	if (tuskd.listener == NULL)
		return terr_set(e, TE_INITIALIZATION, "cannot watch the socket %s", tuskd.paths.sock_path);
	evconnlistener_set_error_cb(tuskd.listener, accept_error_cb);
	tuskd.ev_accept_retry = evtimer_new(tuskd.base, accept_retry_cb, NULL);
	reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return 0;
}

/* Stop taking clients (shutdown). */
void
client_stop_listening(void)
{
	if (tuskd.listener) {
		evconnlistener_free(tuskd.listener);
		tuskd.listener = NULL;
		tuskd.listen_fd = -1;
	}
	if (tuskd.ev_accept_retry) {
		event_free(tuskd.ev_accept_retry);
		tuskd.ev_accept_retry = NULL;
	}
	if (reserve_fd >= 0) {
		close(reserve_fd);
		reserve_fd = -1;
	}
}

/* Close every client (shutdown). Their replies already queued are flushed. */
void
client_drop_all(void)
{
	struct client *c;
	TAILQ_FOREACH(c, &tuskd.clients, entry)
		if (c->peer)
			rpc_peer_close(c->peer, "broker shutting down", true);
}
