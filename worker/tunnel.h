/*
 * tunnel.h — the SSH tunnel of a connection's worker (libssh, non-blocking,
 * on the worker's loop). docs/transport.md explains the design.
 *
 * tunnel_listen() makes the local end (an ephemeral loopback TCP port that
 * admits only this process's own sockets) before the sandbox's connection
 * layer; tunnel_setup() takes the settings and secrets; tunnel_start()
 * connects to the SSH server's addresses (resolved by pg.c), checks its host
 * key, authenticates and opens the first direct-tcpip channel to the
 * database; `ready` then tells pg.c to point libpq at tunnel_local_port().
 * Every later local connection (PQcancel's) gets a channel of its own. One
 * tunnel per process.
 */
#ifndef TUSK_TUNNEL_H
#define TUSK_TUNNEL_H

#include <stdbool.h>
#include <stddef.h>

#include <msgpack.h>

struct event_base;
struct tusk_config;
struct tusk_error;

struct tunnel_opts {
	const struct tusk_config *cfg; /* borrowed until tunnel_free */
	char *password;		       /* taken; wiped once authenticated */
	char *passphrase;	       /* taken; wiped once authenticated */
	const char *known_hosts;       /* Tusk's own file (may be missing) */
	const char *user_known_hosts;  /* ~/.ssh/known_hosts, read only (may be missing) */
	const char *agent_sock;	       /* SSH_AUTH_SOCK of the user's session */
	int keepalive_s;	       /* an SSH_MSG_IGNORE this often (0: the default) */
};

struct tunnel_cbs {
	/* The first channel is open: libpq may connect to the local end. */
	void (*ready)(void *arg);
	/* Before ready: the tunnel could not be set up (e says why). */
	void (*failed)(struct tusk_error *e, void *arg);
	/* After ready: the SSH session broke. */
	void (*lost)(struct tusk_error *e, void *arg);
};

/* Bind and listen on 127.0.0.1:0 (before the sandbox's connection layer). */
int tunnel_listen(struct tusk_error *e);
/* The local end's port (0 before tunnel_listen). */
int tunnel_local_port(void);
/* Take the settings and the secrets (o's secrets are taken: NULL after). */
void tunnel_setup(struct event_base *base, struct tunnel_opts *o, const struct tunnel_cbs *cbs,
    void *arg);
/* Connect to the SSH server at these numeric addresses (n 0: its host is
 * an IP literal), verify, authenticate, open the first channel; the
 * callbacks report. -1 with e set when it cannot even start. */
int tunnel_start(char *const *addrs, size_t n, struct tusk_error *e);
/* The connect timeout fired before ready: what was it waiting for? */
void tunnel_timeout_error(struct tusk_error *e, long long elapsed_ms, int timeout_s);
/* {host, port, username, auth_method, local_port, host_key_type, host_key_fingerprint} */
void tunnel_pack_info(msgpack_packer *pk);
bool tunnel_active(void);
/* End cleanly: forward what libpq wrote last, close the channels, say
 * goodbye to the server (blocks for at most a few hundred ms). */
void tunnel_close(void);
/* Drop everything at once (no goodbye). */
void tunnel_free(void);

#endif
