/*
 * conns.h — what the files about connections share (conns.c, conn-setup.c,
 * conn-test.c, backend.c); the rest of the broker uses broker.h.
 */
#ifndef TUSK_BROKER_CONNS_H
#define TUSK_BROKER_CONNS_H

#include "broker.h"

/* A connection plus its secrets (kept apart from the public struct). */
struct conn_priv {
	struct conn c;
	struct tusk_secrets secrets;
};

/* connect or test_connection of a saved connection, waiting for its secrets. */
struct saved_ctx {
	struct request *req;
	struct tusk_config cfg;
	struct tusk_secrets sec;
	int step; /* the next enum secret_kind to look up */
	bool test;
	bool new_session; /* connect: another session, not the one that is open */
	char *label;	  /* connect: the session's label */
};

/* The parameters connect and test_connection share: a saved id or a config,
 * and the secrets that travel beside it. */
#define CONNECT_PARAMS(config_doc) \
	{ "id", TT_STR, P_OPT, "a saved connection's id (its stored secrets are used)", NULL }, \
	{ "config", TT_MAP, P_OPT, config_doc, "@config_input" }, \
	{ "password", TT_STR, P_OPT, "database password (never stored in the config)", NULL }, \
	{ "ssh_password", TT_STR, P_OPT, "SSH password", NULL }, \
	{ "ssh_key_passphrase", TT_STR, P_OPT, "passphrase of the SSH private key", NULL }, \
	{ "ssl_key_passphrase", TT_STR, P_OPT, "passphrase of the TLS client key (ssl_client_key)", NULL }

/* conn-setup.c */
/* Pack the worker's connect order (config and secrets, privately). */
void send_connect(struct worker *w, const struct tusk_config *cfg, const struct tusk_secrets *s,
    rpc_reply_cb cb, void *arg);
/* The error a worker answered with, or WorkerLost when it vanished. */
void worker_error(struct tusk_error *e, const msgpack_object *err, const char *what);
/* A saved connection's password error says where its password came from. */
void credential_hint(struct tusk_error *e, const struct tusk_secrets *s);
/* The config a request gives: 0 inline (cfg, s filled), 1 saved (*ret_saved
 * waits for its secrets: call saved_next), -1 with e set. */
int conn_request_config(struct request *req, const struct params *p, bool test,
    struct tusk_config *cfg, struct tusk_secrets *s, struct saved_ctx **ret_saved,
    struct tusk_error *e);
/* Look up the next secret of a saved connection; at the end, connect or test. */
void saved_next(struct saved_ctx *x);

/* conns.c */
/* Open a connection with cfg and s (moved in): answers req when connected.
 * new_session: a session of its own even when cfg's saved connection is
 * open; label (may be NULL) names it. */
int conn_open(struct request *req, struct tusk_config *cfg, struct tusk_secrets *s,
    bool new_session, const char *label, struct tusk_error *e);

/* conn-test.c */
/* Test cfg with s (moved in) in a throwaway worker; answers req. */
int test_start(struct request *req, struct tusk_config *cfg, struct tusk_secrets *s,
    struct tusk_error *e);

#endif
