/*
 * tunnel.c — the worker's SSH tunnel: libssh in non-blocking mode, driven
 * by libevent events on the SSH socket, so heartbeats are answered while
 * the server thinks (see tunnel.h, docs/transport.md).
 *
 * The steps: our own non-blocking TCP connect (libssh gets the socket with
 * SSH_OPTIONS_FD, so it never resolves or connects by itself), the SSH
 * handshake, the host key check against Tusk's known_hosts and the user's
 * ~/.ssh/known_hosts (each file judged on its own: a key that differs from
 * one on record in either file is refused), authentication (password, key
 * file with its passphrase, or the agent), and a first direct-tcpip channel
 * to the database host and port, named as the SSH server should resolve it.
 * libssh reads no ssh config (SSH_OPTIONS_PROCESS_CONFIG off) and no key or
 * known_hosts file but the ones named here.
 *
 * The local end is a loopback TCP port (libpq does TLS only over TCP, and
 * TLS must work through the tunnel). Anyone on the machine can reach a
 * loopback port, so each accepted connection is checked: its peer must be
 * a socket of this very process (the same four addresses seen from both
 * sides), which is libpq's own socket or the one PQcancel opens. Anything
 * else is reset before a single byte is read or a channel opened.
 *
 * Each accepted connection is a link: one local socket, one channel.
 * Bytes move both ways through fixed buffers; a side that cannot take more
 * stops the other from being read (the SSH window then holds the server
 * back), so memory stays bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>

#include "config.h"
#include "error.h"
#include "log.h"
#include "msg.h"
#include "proto.h"
#include "rpc.h"
#include "tqueue.h"
#include "tunnel.h"
#include "util.h"
#include "worker.h"

#define LINK_BUF (32u * 1024)
#define KEEPALIVE_S 15		/* an SSH_MSG_IGNORE this often, by default */
#define TCP_USER_TIMEOUT_MS 45000 /* unacknowledged data this long: the peer is gone */
#define DOPOLL_ROUNDS 16	/* libssh reads 4 KiB per round */
#define NO_DIR "/nonexistent/tusk-no-ssh-dir"
#define NO_FILE "/nonexistent/tusk-no-file"
#define KH_LINE_MAX 16384
#define TUNNEL_ADDRS 8

enum tstate {
	T_NONE,
	T_TCP,		/* connecting to the SSH server */
	T_HANDSHAKE,	/* ssh_connect */
	T_AUTH_NONE,	/* asking which methods the server takes */
	T_AUTH,		/* the configured method */
	T_OPENING,	/* the first channel */
	T_READY,
	T_DEAD,
};

static const char *const tstate_doing[] = {
	[T_NONE] = "starting",
	[T_TCP] = "connecting to the SSH server",
	[T_HANDSHAKE] = "the SSH handshake",
	[T_AUTH_NONE] = "SSH authentication",
	[T_AUTH] = "SSH authentication",
	[T_OPENING] = "opening the tunnel's channel to the database",
	[T_READY] = "nothing",
	[T_DEAD] = "nothing",
};

/* One local connection and its channel. */
struct link {
	TAILQ_ENTRY(link) entry;
	int fd;			/* the accepted local socket; -1: not yet (first link) */
	ssh_channel ch;
	bool open;		/* the server confirmed the channel */
	bool local_eof;		/* the local side closed its writing end */
	bool remote_eof;	/* the channel reached EOF, all of it written locally */
	bool eof_sent;
	bool shut_wr;
	struct event *ev;
	short ev_what;
	char *up;		/* local -> channel */
	size_t up_len, up_off;
	char *down;		/* channel -> local */
	size_t down_len, down_off;
};

static struct {
	enum tstate state;
	struct event_base *base;
	const struct tusk_config *cfg;
	struct tunnel_cbs cbs;
	void *arg;
	char *password, *passphrase, *agent_sock;
	char *known_hosts, *user_known_hosts;
	/* TCP */
	struct addrinfo *ai[TUNNEL_ADDRS]; /* the SSH server's addresses, tried in order */
	size_t nai, ai_next;
	char tcp_error[160];
	int fd;
	struct event *ev;
	short ev_what;
	/* SSH */
	ssh_session s;
	bool fd_given;		/* ssh_connect ran: libssh closes the socket in ssh_free */
	bool disconnected;	/* ssh_disconnect ran: it does not */
	ssh_event sev;
	ssh_key privkey;
	bool asked_passphrase;
	char host_key_type[32];
	char host_key_fpr[96];
	/* local end */
	int lfd;
	int lport;
	struct event *ev_listen;
	struct event *ev_keepalive;
	TAILQ_HEAD(, link) links;
	struct link *first;	/* opened before libpq connects */
	int64_t started_us;
	int keepalive_s;
} tun = { .fd = -1, .lfd = -1 };

static void tunnel_event(evutil_socket_t fd, short what, void *arg);
static void tunnel_step(void);
static void link_event(evutil_socket_t fd, short what, void *arg);
static void link_free(struct link *l);

/* --- helpers ------------------------------------------------------------------ */

/* The SSH server as "host:port" for messages. */
static const char *
server_name(void)
{
	static char buf[300];
	const struct tusk_ssh *s = tun.cfg->ssh;
	snprintf(buf, sizeof buf, strchr(s->host, ':') ? "[%s]:%d" : "%s:%d", s->host, s->port);
	return buf;
}

/* libssh's last error, never empty. */
static const char *
ssh_error(void)
{
	const char *m = tun.s ? ssh_get_error(tun.s) : NULL;
	return m && *m ? m : "unknown error";
}

/* Forget the secrets as soon as they are no longer needed. */
static void
secrets_wipe(void)
{
	secret_free(tun.password);
	secret_free(tun.passphrase);
	tun.password = tun.passphrase = NULL;
	if (tun.privkey) {
		ssh_key_free(tun.privkey);
		tun.privkey = NULL;
	}
}

/* Watch the SSH socket for what (plus EV_WRITE while libssh has output). */
static void
ssh_watch(short what)
{
	if (tun.fd < 0)
		return;
	if (tun.s && tun.state >= T_HANDSHAKE && (ssh_get_poll_flags(tun.s) & SSH_WRITE_PENDING))
		what |= EV_WRITE;
	if (tun.ev && what == tun.ev_what)
		return;
	if (tun.ev == NULL)
		tun.ev = event_new(tun.base, tun.fd, what | EV_PERSIST, tunnel_event, NULL);
	else {
		event_del(tun.ev);
		event_assign(tun.ev, tun.base, tun.fd, what | EV_PERSIST, tunnel_event, NULL);
	}
	tun.ev_what = what;
	event_add(tun.ev, NULL);
}

/* Report a failure before ready, and stop. */
static void
fail(struct tusk_error *e)
{
	struct tunnel_cbs cbs = tun.cbs;
	void *arg = tun.arg;
	log_debug("tunnel: %s", e->message);
	tunnel_free();
	tun.state = T_DEAD;
	cbs.failed(e, arg);
}

/* The session broke after ready. */
static void
lost(const char *why)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	struct tunnel_cbs cbs = tun.cbs;
	void *arg = tun.arg;
	terr_set(&e, TE_CONNECTION, "the SSH tunnel through %s was lost: %s", server_name(), why);
	terr_hint(&e, "the SSH server closed the session or the network dropped it; connect again");
	log_warn("%s", e.message);
	tunnel_free();
	tun.state = T_DEAD;
	cbs.lost(&e, arg);
	terr_clear(&e);
}

/* --- the local end ---------------------------------------------------------------- */

/* Do two socket addresses name the same IP and port? */
static bool
same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return x->sin6_port == y->sin6_port &&
		    memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
	}
	return false;
}

/*
 * Is the peer of accepted socket afd a TCP socket of this process? It is
 * when one of our descriptors is bound to the peer's address and connected
 * to ours: a TCP connection's four addresses name it uniquely, so no other
 * process can hold that socket. (Port alone would not do: Linux lets
 * outgoing connections to different destinations share a local port.)
 */
static bool
peer_is_ours(int afd)
{
	struct sockaddr_storage peer, local;
	socklen_t pl = sizeof peer, ll = sizeof local;
	if (getpeername(afd, (struct sockaddr *)&peer, &pl) < 0 ||
	    getsockname(afd, (struct sockaddr *)&local, &ll) < 0)
		return false;
	struct rlimit rl;
	int max = 4096;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)max)
		max = (int)rl.rlim_cur;
	for (int fd = 0; fd < max; fd++) {
		struct sockaddr_storage a, b;
		socklen_t al = sizeof a, bl = sizeof b;
		int type = 0, proto = 0;
		socklen_t tl = sizeof type, pl2 = sizeof proto;
		if (fd == afd || fd == tun.lfd)
			continue;
		if (getsockname(fd, (struct sockaddr *)&a, &al) < 0 || !same_addr(&a, &peer))
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_STREAM ||
		    getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &pl2) < 0 || proto != IPPROTO_TCP)
			continue;
		if (getpeername(fd, (struct sockaddr *)&b, &bl) == 0 && same_addr(&b, &local))
			return true;
	}
	return false;
}

/* Refuse a local connection: reset it, read nothing. */
static void
refuse(int fd)
{
	struct linger lg = { 1, 0 };
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(fd);
}

int
tunnel_listen(struct tusk_error *e)
{
	struct sockaddr_in a;
	socklen_t al = sizeof a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = 0;
	tun.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (tun.lfd < 0 || bind(tun.lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(tun.lfd, 8) < 0 ||
	    getsockname(tun.lfd, (struct sockaddr *)&a, &al) < 0) {
		terr_set(e, TE_INTERNAL, "cannot open the SSH tunnel's local end on 127.0.0.1: %s",
		    strerror(errno));
		if (tun.lfd >= 0)
			close(tun.lfd);
		tun.lfd = -1;
		return -1;
	}
	tun.lport = ntohs(a.sin_port);
	return 0;
}

int
tunnel_local_port(void)
{
	return tun.lport;
}

/* Watch a link's socket for what it can take now. */
static void
link_watch(struct link *l)
{
	short what = 0;
	if (l->fd < 0)
		return;
	if (l->open && !l->local_eof && l->up_off == l->up_len)
		what |= EV_READ;
	if (l->down_off < l->down_len)
		what |= EV_WRITE;
	if (l->ev && what == l->ev_what)
		return;
	if (l->ev)
		event_del(l->ev);
	l->ev_what = what;
	if (what == 0)
		return;
	if (l->ev == NULL)
		l->ev = event_new(tun.base, l->fd, what | EV_PERSIST, link_event, l);
	else
		event_assign(l->ev, tun.base, l->fd, what | EV_PERSIST, link_event, l);
	event_add(l->ev, NULL);
}

/* A new link with a channel being opened to the database. */
static struct link *
link_new(int fd)
{
	struct link *l = xcalloc(1, sizeof *l);
	l->fd = fd;
	l->up = xmalloc(LINK_BUF);
	l->down = xmalloc(LINK_BUF);
	l->ch = ssh_channel_new(tun.s);
	if (l->ch == NULL) {
		free(l->up);
		free(l->down);
		free(l);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&tun.links, l, entry);
	return l;
}

/* Drop a link: its socket and its channel. */
static void
link_free(struct link *l)
{
	TAILQ_REMOVE(&tun.links, l, entry);
	if (l == tun.first)
		tun.first = NULL;
	if (l->ev)
		event_free(l->ev);
	if (l->fd >= 0)
		close(l->fd);
	if (l->ch) {
		/* our CLOSE, also after the server's (libssh sends it once) */
		if (l->open)
			ssh_channel_close(l->ch);
		ssh_channel_free(l->ch);
	}
	explicit_bzero(l->up, LINK_BUF);
	explicit_bzero(l->down, LINK_BUF);
	free(l->up);
	free(l->down);
	free(l);
}

/* The channel-open result, as an error for a failed one. */
static void
open_error(struct tusk_error *e)
{
	const char *m = ssh_error();
	const struct tusk_config *c = tun.cfg;
	terr_set(e, TE_CONNECTION, "the SSH server %s refused to forward to %s:%d: %s", server_name(),
	    c->host, c->port, m);
	if (strstr(m, "(1)"))
		terr_hint(e, "its sshd_config does not allow this forwarding (AllowTcpForwarding, PermitOpen); ask its administrator, or check the database host and port as the SSH server sees them");
	else if (strstr(m, "(2)"))
		terr_hint(e, "the SSH server could not connect to %s:%d; is PostgreSQL running there, and is that the right host and port as seen from the SSH server?",
		    c->host, c->port);
	else
		terr_hint(e, "check the database host and port as the SSH server sees them");
}

/* Open a link's channel (non-blocking): 1 open, 0 not yet, -1 refused. */
static int
link_open(struct link *l)
{
	int r = ssh_channel_open_forward(l->ch, tun.cfg->host, tun.cfg->port, "127.0.0.1", tun.lport);
	if (r == SSH_AGAIN)
		return 0;
	if (r != SSH_OK)
		return -1;
	l->open = true;
	return 1;
}

/* Channel -> local socket, as far as both go now; -1 when the link broke
 * (and was freed). */
static int
link_pump_down(struct link *l)
{
	for (;;) {
		if (l->down_off < l->down_len) {
			ssize_t n = write(l->fd, l->down + l->down_off, l->down_len - l->down_off);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n < 0) {
				log_debug("tunnel: local write: %s", strerror(errno));
				link_free(l);
				return -1;
			}
			l->down_off += (size_t)n;
			if (l->down_off < l->down_len)
				break;
		}
		if (l->remote_eof)
			break;
		int n = ssh_channel_read_nonblocking(l->ch, l->down, LINK_BUF, 0);
		if (n > 0) {
			l->down_len = (size_t)n;
			l->down_off = 0;
			continue;
		}
		if (n == SSH_EOF || (n == 0 && (ssh_channel_is_eof(l->ch) || ssh_channel_is_closed(l->ch)))) {
			l->remote_eof = true;
			break;
		}
		if (n < 0) {
			log_debug("tunnel: channel read: %s", ssh_error());
			link_free(l);
			return -1;
		}
		break;
	}
	if (l->remote_eof && l->down_off == l->down_len && !l->shut_wr) {
		shutdown(l->fd, SHUT_WR); /* the server is done: tell the local side */
		l->shut_wr = true;
	}
	return 0;
}

/* Local socket -> channel, as far as the channel's window lets; -1 when the
 * link broke (and was freed). */
static int
link_pump_up(struct link *l)
{
	for (;;) {
		if (l->up_off < l->up_len) {
			if (ssh_channel_is_closed(l->ch)) {
				l->up_off = l->up_len; /* nobody to take it */
				break;
			}
			int w = ssh_channel_write(l->ch, l->up + l->up_off, (uint32_t)(l->up_len - l->up_off));
			if (w == SSH_ERROR) {
				log_debug("tunnel: channel write: %s", ssh_error());
				link_free(l);
				return -1;
			}
			l->up_off += (size_t)w;
			if (l->up_off < l->up_len)
				break; /* the window is full: wait for the server */
		}
		if (l->local_eof)
			break;
		ssize_t n = read(l->fd, l->up, LINK_BUF);
		if (n > 0) {
			l->up_len = (size_t)n;
			l->up_off = 0;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			l->local_eof = true;
			break;
		}
		break;
	}
	if (l->local_eof && l->up_off == l->up_len && !l->eof_sent && !ssh_channel_is_closed(l->ch)) {
		ssh_channel_send_eof(l->ch);
		l->eof_sent = true;
	}
	return 0;
}

/* Move what can move both ways; free the link once both sides are done. */
static void
link_pump(struct link *l)
{
	if (l->fd < 0 || !l->open)
		return;
	if (link_pump_down(l) < 0 || link_pump_up(l) < 0)
		return;
	if (l->local_eof && l->up_off == l->up_len &&
	    ((l->remote_eof && l->down_off == l->down_len) || ssh_channel_is_closed(l->ch))) {
		link_free(l); /* both sides are done */
		return;
	}
	link_watch(l);
}

/* A link's local socket is ready. */
static void
link_event(evutil_socket_t fd, short what, void *arg)
{
	UNUSED(fd);
	UNUSED(what);
	link_pump(arg);
	if (tun.state == T_READY)
		ssh_watch(EV_READ);
}

/* A local connection arrived: admit it only if it is ours. */
static void
listen_event(evutil_socket_t lfd, short what, void *arg)
{
	UNUSED(what);
	UNUSED(arg);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (!peer_is_ours(fd)) {
			struct sockaddr_storage p;
			socklen_t pl = sizeof p;
			char host[64] = "?", port[8] = "?";
			if (getpeername(fd, (struct sockaddr *)&p, &pl) == 0)
				getnameinfo((struct sockaddr *)&p, pl, host, sizeof host, port, sizeof port,
				    NI_NUMERICHOST | NI_NUMERICSERV);
			log_warn("tunnel: refused a connection to the local end from %s:%s: not a socket of this worker",
			    host, port);
			refuse(fd);
			continue;
		}
		if (tun.state != T_READY) {
			refuse(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (tun.first && tun.first->fd < 0) {
			/* libpq's connection: its channel is open already */
			tun.first->fd = fd;
			struct link *l = tun.first;
			tun.first = NULL;
			log_trace("tunnel: libpq connected through the first channel");
			link_pump(l);
		} else {
			struct link *l = link_new(fd);
			if (l == NULL) {
				refuse(fd);
				continue;
			}
			log_debug("tunnel: opening a channel for another local connection (cancel)");
			int r = link_open(l);
			if (r < 0) {
				log_warn("tunnel: %s", ssh_error());
				link_free(l);
			} else if (r > 0) {
				link_pump(l);
			}
		}
		ssh_watch(EV_READ);
	}
}

/* --- host keys ------------------------------------------------------------------ */

/* "[host]:port", or "host" for port 22: how known_hosts names the server
 * (host names in lower case, as libssh and ssh write them). */
static char *
kh_name(void)
{
	const struct tusk_ssh *s = tun.cfg->ssh;
	char *n = s->port == 22 ? xstrdup(s->host) : xasprintf("[%s]:%d", s->host, s->port);
	for (char *p = n; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return n;
}

/* The SHA256 fingerprint of a key ("SHA256:..."), or NULL. */
static char *
key_fingerprint(ssh_key key)
{
	unsigned char *h = NULL;
	size_t hl = 0;
	if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &h, &hl) < 0)
		return NULL;
	char *f = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, h, hl);
	ssh_clean_pubkey_hash(&h);
	char *r = xstrdup(f);
	ssh_string_free_char(f);
	return r;
}

/* The verdict of one known_hosts file on the server's key. */
static enum ssh_known_hosts_e
kh_verdict(const char *file)
{
	if (file == NULL)
		return SSH_KNOWN_HOSTS_UNKNOWN;
	ssh_options_set(tun.s, SSH_OPTIONS_KNOWNHOSTS, file);
	ssh_options_set(tun.s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, NO_FILE);
	return ssh_session_is_known_server(tun.s);
}

/* Fingerprints on record for this server that differ from fpr, in sb. */
static void
kh_recorded(const char *file, const char *fpr, struct strbuf *sb)
{
	FILE *f = file ? fopen(file, "re") : NULL;
	if (f == NULL)
		return;
	char *name = kh_name();
	char *line = xmalloc(KH_LINE_MAX);
	while (fgets(line, KH_LINE_MAX, f)) {
		line[strcspn(line, "\r\n")] = '\0';
		struct ssh_knownhosts_entry *ent = NULL;
		if (line[0] == '\0' || line[0] == '#' ||
		    ssh_known_hosts_parse_line(name, line, &ent) != SSH_OK || ent == NULL)
			continue;
		char *k = ent->publickey ? key_fingerprint(ent->publickey) : NULL;
		if (k && strcmp(k, fpr) != 0 && !strstr(sb->buf ? sb->buf : "", k))
			sb_addf(sb, "%s%s %s (%s)", sb->len ? ", " : "",
			    ssh_key_type_to_char(ssh_key_type(ent->publickey)), k, file);
		free(k);
		ssh_knownhosts_entry_free(ent);
	}
	free(line);
	free(name);
	fclose(f);
}

/* Tell the broker what trust_host_key would record (public data). */
static void
send_host_key(const char *line)
{
	if (wk.peer == NULL || rpc_peer_closing(wk.peer))
		return;
	msgpack_packer *pk = rpc_peer_packer(wk.peer);
	rpc_pack_notify_begin(pk, W_HOST_KEY);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 5);
	mp_pack_key(pk, "host");
	mp_pack_cstr(pk, tun.cfg->ssh->host);
	mp_pack_key(pk, "port");
	msgpack_pack_int(pk, tun.cfg->ssh->port);
	mp_pack_key(pk, "key_type");
	mp_pack_cstr(pk, tun.host_key_type);
	mp_pack_key(pk, "fingerprint");
	mp_pack_cstr(pk, tun.host_key_fpr);
	mp_pack_key(pk, "line");
	mp_pack_cstr(pk, line);
}

/* Check the server's host key; 0 when trusted, else e is set. */
static int
host_key_check(struct tusk_error *e)
{
	ssh_key key = NULL;
	if (ssh_get_server_publickey(tun.s, &key) < 0 || key == NULL)
		return terr_set(e, TE_CONNECTION, "the SSH server %s sent no host key: %s", server_name(),
		    ssh_error());
	char *fpr = key_fingerprint(key);
	snprintf(tun.host_key_type, sizeof tun.host_key_type, "%s", ssh_key_type_to_char(ssh_key_type(key)));
	snprintf(tun.host_key_fpr, sizeof tun.host_key_fpr, "%s", fpr ? fpr : "?");
	free(fpr);
	ssh_key_free(key);

	enum ssh_known_hosts_e v[2] = { kh_verdict(tun.known_hosts), kh_verdict(tun.user_known_hosts) };
	bool changed = false, ok = false;
	for (int i = 0; i < 2; i++) {
		if (v[i] == SSH_KNOWN_HOSTS_CHANGED || v[i] == SSH_KNOWN_HOSTS_OTHER)
			changed = true;
		else if (v[i] == SSH_KNOWN_HOSTS_OK)
			ok = true;
	}
	if (ok && !changed) {
		log_debug("tunnel: host key of %s is known: %s %s", server_name(), tun.host_key_type,
		    tun.host_key_fpr);
		return 0;
	}
	struct tusk_host_key *hk;
	if (changed) {
		struct strbuf rec;
		sb_init(&rec);
		kh_recorded(tun.known_hosts, tun.host_key_fpr, &rec);
		kh_recorded(tun.user_known_hosts, tun.host_key_fpr, &rec);
		terr_set(e, TE_CONNECTION,
		    "the SSH server %s presented a different host key than the one on record: it may be an impostor (a man-in-the-middle attack), or its key was replaced",
		    server_name());
		terr_detail(e, "offered: %s %s; on record: %s", tun.host_key_type, tun.host_key_fpr,
		    rec.len ? rec.buf : "a key of another type");
		char *name = kh_name();
		terr_hint(e, "Tusk will not connect. Ask the server's administrator for its key's fingerprint; only if the key really changed, remove the old line from the file named above (ssh-keygen -R '%s' -f FILE), then connect again and trust the new key",
		    name);
		free(name);
		hk = terr_host_key(e);
		hk->status = xstrdup("changed");
		hk->known_fingerprint = xstrdup(rec.len ? rec.buf : NULL);
		sb_free(&rec);
		log_warn("tunnel: host key of %s changed: offered %s %s", server_name(), tun.host_key_type,
		    tun.host_key_fpr);
	} else {
		char *line = NULL;
		if (ssh_session_export_known_hosts_entry(tun.s, &line) != SSH_OK || line == NULL)
			return terr_set(e, TE_CONNECTION, "cannot describe the SSH server's host key: %s",
			    ssh_error());
		line[strcspn(line, "\r\n")] = '\0';
		send_host_key(line);
		ssh_string_free_char(line);
		terr_set(e, TE_CONNECTION, "the SSH server %s is not known: its host key is on record neither in Tusk's known_hosts nor in ~/.ssh/known_hosts",
		    server_name());
		terr_detail(e, "%s key fingerprint %s", tun.host_key_type, tun.host_key_fpr);
		terr_hint(e, "check that %s is the server's key (ask its administrator, or run ssh-keygen -lf on its host key); if it is, trust it with trust_host_key (tuskctl trust-host-key) and connect again",
		    tun.host_key_fpr);
		hk = terr_host_key(e);
		hk->status = xstrdup("unknown");
		log_info("tunnel: host key of %s is not known: %s %s", server_name(), tun.host_key_type,
		    tun.host_key_fpr);
	}
	hk->host = xstrdup(tun.cfg->ssh->host);
	hk->port = tun.cfg->ssh->port;
	hk->key_type = xstrdup(tun.host_key_type);
	hk->fingerprint = xstrdup(tun.host_key_fpr);
	return -1;
}

/* --- authentication ----------------------------------------------------------- */

/* libssh asks for a key's passphrase: note that it was needed, give none. */
static int
passphrase_asked(const char *prompt, char *buf, size_t len, int echo, int verify, void *userdata)
{
	UNUSED(prompt);
	UNUSED(echo);
	UNUSED(verify);
	UNUSED(userdata);
	if (len)
		buf[0] = '\0';
	tun.asked_passphrase = true;
	return -1;
}

/* The methods the server accepts, as words. */
static void
methods_words(int m, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s", m & SSH_AUTH_METHOD_PUBLICKEY ? "publickey " : "",
	    m & SSH_AUTH_METHOD_PASSWORD ? "password " : "",
	    m & SSH_AUTH_METHOD_INTERACTIVE ? "keyboard-interactive " : "",
	    m & SSH_AUTH_METHOD_GSSAPI_MIC ? "gssapi " : "");
	size_t n = strlen(buf);
	if (n)
		buf[n - 1] = '\0';
	else
		snprintf(buf, len, "none");
}

/* Before the configured method runs: is it offered, is its secret here? */
static int
auth_prepare(struct tusk_error *e)
{
	const struct tusk_ssh *c = tun.cfg->ssh;
	int methods = ssh_userauth_list(tun.s, NULL);
	char words[80];
	methods_words(methods, words, sizeof words);
	bool pw = strcmp(c->auth_type, "password") == 0;
	if ((pw && !(methods & SSH_AUTH_METHOD_PASSWORD)) ||
	    (!pw && !(methods & SSH_AUTH_METHOD_PUBLICKEY))) {
		terr_set(e, TE_CONNECTION, "the SSH server %s does not accept %s authentication (it accepts: %s)",
		    server_name(), pw ? "password" : "public key", words);
		terr_hint(e, pw ? "use a key file or the SSH agent for this server" :
		    "use password authentication for this server");
		return -1;
	}
	if (pw) {
		if (tun.password == NULL) {
			terr_set(e, TE_CREDENTIAL, "the SSH server %s asks for the password of %s",
			    server_name(), c->username);
			terr_code(e, "ssh_password");
			terr_hint(e, "send ssh_password with connect (it is never stored in the connection)");
			return -1;
		}
		return 0;
	}
	if (strcmp(c->auth_type, "agent") == 0) {
		if (tun.agent_sock == NULL || *tun.agent_sock == '\0') {
			terr_set(e, TE_CREDENTIAL, "no SSH agent: tuskd's environment has no SSH_AUTH_SOCK");
			terr_code(e, "ssh_agent");
			terr_hint(e, "start tuskd from a session with an agent (ssh-add -l lists its keys), or use a key file");
			return -1;
		}
		ssh_options_set(tun.s, SSH_OPTIONS_IDENTITY_AGENT, tun.agent_sock);
		return 0;
	}
	/* key_file: load it now (a passphrase-protected key is decrypted here) */
	tun.asked_passphrase = false;
	int r = ssh_pki_import_privkey_file(c->key_path, tun.passphrase, passphrase_asked, NULL, &tun.privkey);
	if (r == SSH_OK)
		return 0;
	tun.privkey = NULL;
	if (access(c->key_path, R_OK) < 0) {
		terr_set(e, TE_CONNECTION, "cannot read the SSH key file %s: %s", c->key_path, strerror(errno));
		terr_hint(e, "check the key file's path and that you can read it");
	} else if (tun.asked_passphrase) {
		terr_set(e, TE_CREDENTIAL, "the SSH key %s is protected by a passphrase", c->key_path);
		terr_code(e, "ssh_key_passphrase");
		terr_hint(e, "send ssh_key_passphrase with connect (it is never stored in the connection)");
	} else if (tun.passphrase) {
		terr_set(e, TE_CREDENTIAL, "cannot decrypt the SSH key %s: wrong passphrase?", c->key_path);
		terr_code(e, "ssh_key_passphrase");
		terr_hint(e, "check the key's passphrase (ssh-keygen -y -f %s asks for it)", c->key_path);
	} else {
		terr_set(e, TE_CONNECTION, "%s is not a private key libssh can read", c->key_path);
		terr_hint(e, "give an OpenSSH or PEM private key (ed25519, ecdsa or rsa), not the .pub file");
	}
	return -1;
}

/* Run the configured method (non-blocking): an SSH_AUTH_* code. */
static int
auth_run(void)
{
	const char *t = tun.cfg->ssh->auth_type;
	if (strcmp(t, "password") == 0)
		return ssh_userauth_password(tun.s, NULL, tun.password);
	if (strcmp(t, "agent") == 0)
		return ssh_userauth_agent(tun.s, NULL);
	return ssh_userauth_publickey(tun.s, NULL, tun.privkey);
}

/* The server said no to the configured method. */
static void
auth_denied(struct tusk_error *e, int r)
{
	const struct tusk_ssh *c = tun.cfg->ssh;
	if (r == SSH_AUTH_PARTIAL) {
		terr_set(e, TE_CONNECTION, "the SSH server %s wants more than one authentication method for %s",
		    server_name(), c->username);
		terr_hint(e, "Tusk authenticates with one method; ask the administrator, or use a host without that requirement");
		return;
	}
	if (strcmp(c->auth_type, "password") == 0) {
		terr_set(e, TE_CREDENTIAL, "the SSH server %s refused the password for %s", server_name(),
		    c->username);
		terr_code(e, "ssh_password");
		terr_hint(e, "check the SSH user name and password");
	} else if (strcmp(c->auth_type, "agent") == 0) {
		terr_set(e, TE_CREDENTIAL, "the SSH server %s accepted none of the SSH agent's keys for %s",
		    server_name(), c->username);
		terr_code(e, "ssh_agent");
		terr_hint(e, "add the right key to the agent (ssh-add), or put its public key in ~%s/.ssh/authorized_keys on the server",
		    c->username);
	} else {
		terr_set(e, TE_CREDENTIAL, "the SSH server %s did not accept the key %s for %s", server_name(),
		    c->key_path, c->username);
		terr_hint(e, "put the public key (%s.pub) in ~%s/.ssh/authorized_keys on the server", c->key_path,
		    c->username);
	}
}

/* --- the state machine ------------------------------------------------------------ */

/* Keepalive: a message the server ignores, so a dead path shows up (TCP
 * retransmits, TCP_USER_TIMEOUT) and middleboxes keep the session. */
static void
keepalive_cb(evutil_socket_t fd, short what, void *arg)
{
	UNUSED(fd);
	UNUSED(what);
	UNUSED(arg);
	if (tun.state != T_READY)
		return;
	ssh_send_ignore(tun.s, "");
	ssh_watch(EV_READ);
}

/* The first channel is open: ready for libpq. */
static void
ready(void)
{
	tun.state = T_READY;
	tun.sev = ssh_event_new();
	if (tun.sev)
		ssh_event_add_session(tun.sev, tun.s);
	tun.ev_listen = event_new(tun.base, tun.lfd, EV_READ | EV_PERSIST, listen_event, NULL);
	event_add(tun.ev_listen, NULL);
	tun.ev_keepalive = event_new(tun.base, -1, EV_PERSIST, keepalive_cb, NULL);
	struct timeval ka = { tun.keepalive_s, 0 };
	event_add(tun.ev_keepalive, &ka);
	log_info("tunnel: %s@%s ready (%s, %lld ms): 127.0.0.1:%d -> %s:%d", tun.cfg->ssh->username,
	    server_name(), tun.cfg->ssh->auth_type, (long long)((mono_us() - tun.started_us) / 1000), tun.lport,
	    tun.cfg->host, tun.cfg->port);
	ssh_watch(EV_READ);
	tun.cbs.ready(tun.arg);
}

/* Set up the SSH session on the connected socket. */
static int
session_begin(struct tusk_error *e)
{
	const struct tusk_ssh *c = tun.cfg->ssh;
	unsigned int port = (unsigned int)c->port;
	int no = 0, yes = 1;
	long timeout = 10;
	tun.s = ssh_new();
	if (tun.s == NULL)
		return terr_set(e, TE_INTERNAL, "libssh could not allocate a session");
	if (ssh_options_set(tun.s, SSH_OPTIONS_HOST, c->host) < 0 ||
	    ssh_options_set(tun.s, SSH_OPTIONS_PORT, &port) < 0 ||
	    ssh_options_set(tun.s, SSH_OPTIONS_USER, c->username) < 0 ||
	    ssh_options_set(tun.s, SSH_OPTIONS_FD, &tun.fd) < 0 ||
	    ssh_options_set(tun.s, SSH_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
	    ssh_options_set(tun.s, SSH_OPTIONS_SSH_DIR, NO_DIR) < 0 ||
	    ssh_options_set(tun.s, SSH_OPTIONS_KNOWNHOSTS, tun.known_hosts ? tun.known_hosts : NO_FILE) < 0 ||
	    ssh_options_set(tun.s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS,
		tun.user_known_hosts ? tun.user_known_hosts : NO_FILE) < 0 ||
	    ssh_options_set(tun.s, SSH_OPTIONS_STRICTHOSTKEYCHECK, &yes) < 0 ||
	    ssh_options_set(tun.s, SSH_OPTIONS_TIMEOUT, &timeout) < 0)
		return terr_set(e, TE_CONNECTION, "cannot set up the SSH session: %s", ssh_error());
	ssh_set_blocking(tun.s, 0);
	tun.state = T_HANDSHAKE;
	return 0;
}

/* Forget the SSH server's addresses. */
static void
addrs_free(void)
{
	for (size_t i = 0; i < tun.nai; i++)
		freeaddrinfo(tun.ai[i]);
	tun.nai = tun.ai_next = 0;
}

/* Connect the TCP socket to the next address (non-blocking). */
static int
tcp_next(struct tusk_error *e)
{
	for (; tun.ai_next < tun.nai; tun.ai_next++) {
		const struct addrinfo *a = tun.ai[tun.ai_next];
		if (tun.fd >= 0) {
			if (tun.ev) {
				event_free(tun.ev);
				tun.ev = NULL;
			}
			close(tun.fd);
		}
		tun.fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (tun.fd < 0) {
			snprintf(tun.tcp_error, sizeof tun.tcp_error, "%s", strerror(errno));
			continue;
		}
		int one = 1, idle = 15, intvl = 5, cnt = 3;
		unsigned int uto = TCP_USER_TIMEOUT_MS;
		setsockopt(tun.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		setsockopt(tun.fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
		setsockopt(tun.fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
		setsockopt(tun.fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
		setsockopt(tun.fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
		setsockopt(tun.fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &uto, sizeof uto);
		if (connect(tun.fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
			tun.ai_next++;
			tun.state = T_TCP;
			ssh_watch(EV_WRITE);
			return 0;
		}
		snprintf(tun.tcp_error, sizeof tun.tcp_error, "%s", strerror(errno));
	}
	const struct tusk_ssh *c = tun.cfg->ssh;
	terr_set(e, TE_CONNECTION, "could not connect to the SSH server %s: %s", server_name(),
	    tun.tcp_error[0] ? tun.tcp_error : "no address");
	if (strstr(tun.tcp_error, "refused"))
		terr_hint(e, "nothing accepts connections on %s port %d; is sshd running there, and is that its port?",
		    c->host, c->port);
	else if (strstr(tun.tcp_error, "unreachable"))
		terr_hint(e, "%s cannot be reached from this machine; check the network, VPN or firewall",
		    c->host);
	else
		terr_hint(e, "check the SSH server's host and port");
	return -1;
}

/* What one step of the tunnel's set-up did. */
#define STEP_FAIL (-1)	 /* e says why */
#define STEP_WAIT 0	 /* wait for the SSH socket to be readable */
#define STEP_NEXT 1	 /* tun.state moved on: run the next step now */
#define STEP_RETURN 2	 /* nothing more to do here (waits elsewhere, or done) */

/* T_TCP: the non-blocking connect finished (or try the next address). */
static int
step_tcp(struct tusk_error *e)
{
	int err = 0;
	socklen_t el = sizeof err;
	if (getsockopt(tun.fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
		err = errno;
	if (err == EINPROGRESS || err == EALREADY)
		return STEP_RETURN;
	if (err != 0) {
		snprintf(tun.tcp_error, sizeof tun.tcp_error, "%s", strerror(err));
		return tcp_next(e) < 0 ? STEP_FAIL : STEP_RETURN;
	}
	addrs_free();
	return session_begin(e) < 0 ? STEP_FAIL : STEP_NEXT; /* now T_HANDSHAKE */
}

/* T_HANDSHAKE: SSH's key exchange, then the server's host key is checked. */
static int
step_handshake(struct tusk_error *e)
{
	tun.fd_given = true;
	int r = ssh_connect(tun.s);
	if (r == SSH_AGAIN)
		return STEP_WAIT;
	if (r != SSH_OK) {
		terr_set(e, TE_CONNECTION, "the SSH handshake with %s failed: %s", server_name(), ssh_error());
		terr_hint(e, "check that %s:%d is an SSH server (and not, say, the database itself)",
		    tun.cfg->ssh->host, tun.cfg->ssh->port);
		return STEP_FAIL;
	}
	if (host_key_check(e) < 0)
		return STEP_FAIL;
	tun.state = T_AUTH_NONE;
	return STEP_NEXT;
}

/* Authenticated: open the first channel (the one libpq connects through). */
static int
begin_opening(struct tusk_error *e)
{
	tun.state = T_OPENING;
	tun.first = link_new(-1);
	if (tun.first == NULL) {
		terr_set(e, TE_INTERNAL, "libssh could not allocate a channel");
		return STEP_FAIL;
	}
	return STEP_NEXT;
}

/* T_AUTH_NONE: ask for "none" first (a server may let us in, and it lists
 * the methods it takes). */
static int
step_auth_none(struct tusk_error *e)
{
	int r = ssh_userauth_none(tun.s, NULL);
	if (r == SSH_AUTH_AGAIN)
		return STEP_WAIT;
	if (r == SSH_AUTH_ERROR) {
		terr_set(e, TE_CONNECTION, "SSH authentication with %s failed: %s", server_name(),
		    ssh_error());
		return STEP_FAIL;
	}
	if (r == SSH_AUTH_SUCCESS) {
		log_debug("tunnel: %s let %s in without authentication", server_name(),
		    tun.cfg->ssh->username);
		return begin_opening(e);
	}
	if (auth_prepare(e) < 0)
		return STEP_FAIL;
	tun.state = T_AUTH;
	return STEP_NEXT;
}

/* T_AUTH: the configured method (password, key file, agent). */
static int
step_auth(struct tusk_error *e)
{
	int r = auth_run();
	if (r == SSH_AUTH_AGAIN)
		return STEP_WAIT;
	if (r == SSH_AUTH_ERROR) {
		terr_set(e, TE_CONNECTION, "SSH authentication with %s failed: %s", server_name(),
		    ssh_error());
		return STEP_FAIL;
	}
	if (r != SSH_AUTH_SUCCESS) {
		auth_denied(e, r);
		return STEP_FAIL;
	}
	secrets_wipe();
	return begin_opening(e);
}

/* T_OPENING: the first direct-tcpip channel; then the tunnel is ready. */
static int
step_opening(struct tusk_error *e)
{
	int r = link_open(tun.first);
	if (r == 0)
		return STEP_WAIT;
	if (r < 0) {
		open_error(e);
		return STEP_FAIL;
	}
	ready();
	return STEP_RETURN;
}

/* T_READY: move bytes both ways on every channel; notice a closed session. */
static int
step_ready(void)
{
	struct link *l, *tmp;
	for (int i = 0; i < DOPOLL_ROUNDS && tun.sev; i++)
		if (ssh_event_dopoll(tun.sev, 0) != SSH_OK)
			break;
	TAILQ_FOREACH_SAFE(l, &tun.links, entry, tmp) {
		if (!l->open) {
			int r = link_open(l);
			if (r < 0) {
				log_warn("tunnel: a channel for a local connection was refused: %s",
				    ssh_error());
				link_free(l);
				continue;
			}
			if (r == 0)
				continue;
		}
		link_pump(l);
	}
	int st = ssh_get_status(tun.s);
	if ((st & (SSH_CLOSED | SSH_CLOSED_ERROR)) || !ssh_is_connected(tun.s)) {
		const char *m = ssh_get_disconnect_message(tun.s);
		lost(m && *m ? m : ssh_error());
		return STEP_RETURN;
	}
	return STEP_WAIT;
}

/* Run the tunnel's state machine as far as it goes without waiting. */
static void
tunnel_step(void)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	int r;

	do {
		switch (tun.state) {
		case T_TCP: r = step_tcp(&e); break;
		case T_HANDSHAKE: r = step_handshake(&e); break;
		case T_AUTH_NONE: r = step_auth_none(&e); break;
		case T_AUTH: r = step_auth(&e); break;
		case T_OPENING: r = step_opening(&e); break;
		case T_READY: r = step_ready(); break;
		default: return;
		}
	} while (r == STEP_NEXT);
	if (r == STEP_WAIT) {
		ssh_watch(EV_READ);
	} else if (r == STEP_FAIL) {
		fail(&e);
		terr_clear(&e);
	}
}

/* The SSH socket is ready. */
static void
tunnel_event(evutil_socket_t fd, short what, void *arg)
{
	UNUSED(fd);
	UNUSED(what);
	UNUSED(arg);
	tunnel_step();
}

/* libssh's own log lines, at debug level (it never logs secrets at these levels). */
static void
ssh_log_cb(int priority, const char *function, const char *buffer, void *userdata)
{
	UNUSED(userdata);
	if (priority <= SSH_LOG_WARN)
		log_debug("libssh %s: %s", function, buffer);
}

void
tunnel_setup(struct event_base *base, struct tunnel_opts *o, const struct tunnel_cbs *cbs, void *arg)
{
	tun.base = base;
	tun.cfg = o->cfg;
	tun.cbs = *cbs;
	tun.arg = arg;
	tun.password = o->password;
	tun.passphrase = o->passphrase;
	o->password = o->passphrase = NULL;
	tun.known_hosts = xstrdup(o->known_hosts);
	tun.user_known_hosts = xstrdup(o->user_known_hosts);
	tun.agent_sock = xstrdup(o->agent_sock);
	tun.keepalive_s = o->keepalive_s > 0 ? o->keepalive_s : KEEPALIVE_S;
	tun.started_us = mono_us();
	TAILQ_INIT(&tun.links);
	ssh_set_log_callback(ssh_log_cb);
	ssh_set_log_level(SSH_LOG_WARN);
}

/* One numeric address (and the port) as an addrinfo list entry. */
static struct addrinfo *
numeric_addr(const char *addr, int port)
{
	struct addrinfo hints, *res = NULL;
	char p[8];
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV; /* parsing only: no NSS, no netlink */
	snprintf(p, sizeof p, "%d", port);
	return getaddrinfo(addr, p, &hints, &res) == 0 ? res : NULL;
}

int
tunnel_start(char *const *addrs, size_t n, struct tusk_error *e)
{
	const struct tusk_ssh *c = tun.cfg->ssh;
	for (size_t i = 0; i < (n ? n : 1) && tun.nai < TUNNEL_ADDRS; i++) {
		struct addrinfo *a = numeric_addr(n ? addrs[i] : c->host, c->port);
		if (a)
			tun.ai[tun.nai++] = a;
	}
	tun.ai_next = 0;
	if (tun.nai == 0) {
		terr_set(e, TE_CONNECTION, "no address to connect to the SSH server %s", server_name());
		terr_hint(e, "check the SSH server's host name");
		return -1;
	}
	log_debug("tunnel: connecting to %s as %s (%s)", server_name(), c->username, c->auth_type);
	return tcp_next(e);
}

void
tunnel_timeout_error(struct tusk_error *e, long long elapsed_ms, int timeout_s)
{
	terr_set(e, TE_CONNECTION, "the SSH tunnel through %s was not up after %lld ms: still %s",
	    server_name(), elapsed_ms, tstate_doing[tun.state]);
	e->elapsed_ms = elapsed_ms;
	if (tun.state == T_TCP)
		terr_hint(e, "no answer from %s within %d s; the server may be down, or a firewall drops the packets",
		    server_name(), timeout_s);
	else
		terr_hint(e, "the SSH server %s answers too slowly; try again, or ask its administrator",
		    server_name());
}

void
tunnel_pack_info(msgpack_packer *pk)
{
	const struct tusk_ssh *c = tun.cfg->ssh;
	msgpack_pack_map(pk, 7);
	mp_pack_key(pk, "host");
	mp_pack_cstr(pk, c->host);
	mp_pack_key(pk, "port");
	msgpack_pack_int(pk, c->port);
	mp_pack_key(pk, "username");
	mp_pack_cstr(pk, c->username);
	mp_pack_key(pk, "auth_method");
	mp_pack_cstr(pk, c->auth_type);
	mp_pack_key(pk, "local_port");
	msgpack_pack_int(pk, tun.lport);
	mp_pack_key(pk, "host_key_type");
	mp_pack_cstr(pk, tun.host_key_type);
	mp_pack_key(pk, "host_key_fingerprint");
	mp_pack_cstr(pk, tun.host_key_fpr);
}

/* Is an SSH tunnel being set up or running? */
bool
tunnel_active(void)
{
	return tun.state != T_NONE && tun.state != T_DEAD;
}

void
tunnel_close(void)
{
	if (tun.state == T_READY && tun.s) {
		struct link *l, *tmp;
		/* what libpq wrote last (its Terminate message) goes out first */
		TAILQ_FOREACH_SAFE(l, &tun.links, entry, tmp) {
			link_pump(l);
		}
		TAILQ_FOREACH_SAFE(l, &tun.links, entry, tmp) {
			if (l->ch && l->open && !l->eof_sent && !ssh_channel_is_closed(l->ch))
				ssh_channel_send_eof(l->ch);
			link_free(l);
		}
		/*
		 * Let that leave (a few hundred ms at most), then say goodbye.
		 * libssh writes a packet at once only once a poll has seen
		 * the socket writable since its last write; ssh_disconnect
		 * closes right after queueing its message, so poll first.
		 */
		ssh_blocking_flush(tun.s, 300);
		if (tun.sev)
			ssh_event_dopoll(tun.sev, 100);
		ssh_disconnect(tun.s);
		tun.disconnected = true;
		log_debug("tunnel: closed");
	}
	tunnel_free();
}

void
tunnel_free(void)
{
	struct link *l, *tmp;
	if (tun.links.tqh_last)
		TAILQ_FOREACH_SAFE(l, &tun.links, entry, tmp)
			link_free(l);
	secrets_wipe();
	if (tun.ev_listen) {
		event_free(tun.ev_listen);
		tun.ev_listen = NULL;
	}
	if (tun.ev_keepalive) {
		event_free(tun.ev_keepalive);
		tun.ev_keepalive = NULL;
	}
	if (tun.ev) {
		event_free(tun.ev);
		tun.ev = NULL;
	}
	if (tun.sev) {
		if (tun.s)
			ssh_event_remove_session(tun.sev, tun.s);
		ssh_event_free(tun.sev);
		tun.sev = NULL;
	}
	if (tun.s) {
		/*
		 * libssh took the socket in ssh_connect and closes it in
		 * ssh_free (or did already, after a socket error), unless
		 * ssh_disconnect ran, which leaves a socket given with
		 * SSH_OPTIONS_FD open.
		 */
		ssh_free(tun.s);
		tun.s = NULL;
		if (tun.fd_given && !tun.disconnected)
			tun.fd = -1;
	}
	tun.fd_given = tun.disconnected = false;
	addrs_free();
	if (tun.fd >= 0) {
		close(tun.fd);
		tun.fd = -1;
	}
	if (tun.lfd >= 0) {
		close(tun.lfd);
		tun.lfd = -1;
	}
	free(tun.known_hosts);
	free(tun.user_known_hosts);
	free(tun.agent_sock);
	tun.known_hosts = tun.user_known_hosts = tun.agent_sock = NULL;
	if (tun.state != T_NONE)
		tun.state = T_DEAD;
}
