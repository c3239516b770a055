/*
 * conn-setup.c — what a connect or test_connection needs before its worker
 * can connect: the config the request gives (inline, or a saved one whose
 * secrets are looked up one by one through the asynchronous secrets layer),
 * and the worker's connect order itself (config and secrets in a private
 * message, plus what an SSH tunnel needs from the user's session). Also the
 * error a failed connect answers with, and where a saved connection's
 * password came from when the server refused it.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "broker.h"
#include "conns.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "wire.h"

/* A config as an mpf_fn. */
static void
pack_config(msgpack_packer *pk, const void *cfg)
{
	config_pack(pk, cfg);
}

/* Pack the worker's connect order: config and secrets, privately. */
void
send_connect(struct worker *w, const struct tusk_config *cfg, const struct tusk_secrets *s,
    rpc_reply_cb cb, void *arg)
{
	struct rpc_private priv;
	char *user_kh = cfg->ssh ? hostkeys_user_file() : NULL;
	const char *agent = cfg->ssh && strcmp(cfg->ssh->auth_type, "agent") == 0 ?
	    getenv("SSH_AUTH_SOCK") : NULL;
	msgpack_packer *pk = rpc_call_private(w->peer, W_CONNECT, cb, arg, NULL, &priv);
	msgpack_pack_array(pk, 1);
	MP_PACK_FIELDS(pk,
	    MPF_FN("config", pack_config, cfg),
	    MPF_STR("password", s->password),
	    MPF_STR("ssh_password", s->ssh_password),
	    MPF_STR("ssh_key_passphrase", s->ssh_key_passphrase),
	    MPF_STR("ssl_key_passphrase", s->ssl_key_passphrase),
	    MPF_INT("connect_timeout_s", tuskd.set.connect_timeout_s),
	    MPF_INT("ssh_keepalive_s", tuskd.set.ssh_keepalive_s),
	    MPF_STR("known_hosts", cfg->ssh ? hostkeys_file() : NULL),
	    MPF_STR("user_known_hosts", user_kh),
	    MPF_STR("ssh_auth_sock", agent));
	rpc_private_send(w->peer, &priv);
	free(user_kh);
	worker_set_state(w, WS_CONNECTING);
}

/* An error the worker sent, or a WorkerLost when it vanished. */
void
worker_error(struct tusk_error *e, const msgpack_object *err, const char *what)
{
	if (err == NULL || terr_unpack(err, e) < 0) {
		terr_set(e, TE_WORKER_LOST, "the worker ended while %s", what);
		terr_reason(e, "crashed");
		terr_hint(e, "see the log for why; try again");
	}
}

/*
 * A password error of a saved connection says where its password came
 * from: the stored one was rejected, or none is stored (and why the
 * keychain could not tell, if it could not).
 */
void
credential_hint(struct tusk_error *e, const struct tusk_secrets *s)
{
	if (e->kind != TE_CREDENTIAL || !s->saved)
		return;
	if (s->password_stored && e->code && strcmp(e->code, "28P01") == 0 && s->password) {
		terr_hint(e, "the server rejected the password stored for this connection; connect with the right one (password) and save it again with save_connection");
	} else if (s->password == NULL && s->store_note) {
		terr_hint(e, "no password could be read for this connection (%s); send it with connect, and start or unlock your keychain to keep it",
		    s->store_note);
	} else if (s->password == NULL) {
		terr_hint(e, "no password is stored for this connection; send it with connect (password), or keep it with save_connection");
	}
}

/* Take the secrets given beside a config. */
static void
secrets_from_params(struct tusk_secrets *s, const struct params *p)
{
	s->password = params_strdup(p, "password");
	s->ssh_password = params_strdup(p, "ssh_password");
	s->ssh_key_passphrase = params_strdup(p, "ssh_key_passphrase");
	s->ssl_key_passphrase = params_strdup(p, "ssl_key_passphrase");
}

/* A stored secret arrived (or none is stored). */
static void
saved_got(const struct tusk_error *e, const char *value, void *arg)
{
	struct saved_ctx *x = arg;
	if (e) {
		/* the keychain failed: go on without it; the server says if it needs one */
		if (x->sec.store_note == NULL)
			x->sec.store_note = xstrdup(e->message);
	}
	if (value && x->step == SECRET_DB)
		x->sec.password_stored = true;
	if (value)
		*secret_slot(&x->sec, (enum secret_kind)x->step) = xstrdup(value);
	x->step++;
	saved_next(x);
}

/* Does the connection use this kind of secret, and was it not given? */
static bool
saved_needs(const struct saved_ctx *x, int kind)
{
	const char *auth = x->cfg.ssh ? x->cfg.ssh->auth_type : "";
	switch (kind) {
	case SECRET_DB:
		return x->sec.password == NULL;
	case SECRET_SSH:
		return strcmp(auth, "password") == 0 && x->sec.ssh_password == NULL;
	case SECRET_SSH_KEY:
		return strcmp(auth, "key_file") == 0 && x->sec.ssh_key_passphrase == NULL;
	case SECRET_SSL_KEY:
		return x->cfg.ssl_client_key != NULL && x->sec.ssl_key_passphrase == NULL;
	}
	return false;
}

/* Look up the next missing secret, or go on with what we have. */
void
saved_next(struct saved_ctx *x)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	for (; x->step < SECRET__COUNT; x->step++) {
		if (saved_needs(x, x->step)) {
			secret_lookup(x->cfg.id, (enum secret_kind)x->step, saved_got, x);
			return;
		}
	}
	int r;
	if (tuskd.shutting_down) /* the lookup answered while the broker was stopping */
		r = terr_set(&e, TE_CONNECTION, "the broker is shutting down");
	else
		r = x->test ? test_start(x->req, &x->cfg, &x->sec, &e) :
			      conn_open(x->req, &x->cfg, &x->sec, x->new_session, x->label, &e);
	if (r < 0) {
		req_error(x->req, &e);
		req_free(x->req);
	} else if (r == H_DONE) {
		req_free(x->req);
	}
	terr_clear(&e);
	config_free(&x->cfg);
	secrets_free(&x->sec);
	free(x->label);
	free(x);
}

/*
 * The config a connect or test_connection request gives, checked: the
 * inline one (0: cfg and s filled), or a saved one by id (1: *ret_saved
 * holds the request's state until its secrets are looked up).
 */
int
conn_request_config(struct request *req, const struct params *p, bool test,
    struct tusk_config *cfg, struct tusk_secrets *s, struct saved_ctx **ret_saved,
    struct tusk_error *e)
{
	bool by_id = params_has(p, "id"), inline_cfg = params_has(p, "config");
	if (by_id == inline_cfg) {
		terr_set(e, TE_VALIDATION, "give either id (a saved connection) or config (a quick connection)%s",
		    by_id ? ", not both" : "");
		terr_hint(e, "list_connections lists the saved connections and their ids");
		return -1;
	}
	if (inline_cfg) {
		if (config_parse(params_get(p, "config"), cfg, e) < 0)
			return -1;
	} else {
		char *id = params_strdup(p, "id");
		int r = conn_saved_load(id, cfg, e);
		free(id);
		if (r < 0)
			return -1;
	}
	if (config_validate(cfg, false, e) < 0) {
		config_free(cfg);
		return -1;
	}
	memset(s, 0, sizeof *s);
	secrets_from_params(s, p);
	if (inline_cfg)
		return 0;
	struct saved_ctx *x = xcalloc(1, sizeof *x);
	x->req = req;
	x->cfg = *cfg;
	x->test = test;
	secrets_move(&x->sec, s);
	x->sec.saved = true;
	config_init(cfg);
	*ret_saved = x;
	return 1;
}
