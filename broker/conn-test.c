/*
 * conn-test.c — test_connection: a throwaway worker connects with the
 * config (and, for a saved connection, its stored secrets), reports the
 * server's version and the latency, and closes.
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

struct test_ctx {
	struct request *req;
	struct worker *worker;
	int64_t started_us;
	struct tusk_secrets origin; /* flags and note only, no secret */
	struct tusk_config cfg;	   /* for a host-key offer */
	char id[UUID_STR_LEN];	   /* the id an unknown host key is trusted under */
};

/* Answer test_connection in its documented shape. */
static void
test_answer(struct test_ctx *t, const struct tusk_error *e, const char *server_version)
{
	msgpack_packer *pk = req_result(t->req);
	double latency = (double)(mono_us() - t->started_us) / 1000.0;
	MP_PACK_FIELDS(pk,
	    MPF_BOOL("success", e == NULL),
	    MPF_STR("server_version", server_version),
	    e ? (struct mp_field)MPF_NIL("latency_ms") : (struct mp_field)MPF_DOUBLE("latency_ms", latency),
	    MPF_FN("error", pack_error_or_nil, e));
	req_free(t->req);
	t->req = NULL;
}

/* The test worker answered. */
static void
test_reply(struct rpc_peer *p, const msgpack_object *err, const msgpack_object *res, void *arg)
{
	struct test_ctx *t = arg;
	struct params prm;
	if (t->req == NULL)
		return;
	if (res != NULL && worker_reply_read(p, W_CONNECT, wire_connect_reply, res, &prm) < 0)
		res = NULL;
	if (res == NULL || err != NULL) {
		struct tusk_error e = TUSK_ERROR_INIT;
		worker_error(&e, err, "testing the connection");
		credential_hint(&e, &t->origin);
		hostkeys_pending(t->worker, &t->cfg, t->id, &e);
		test_answer(t, &e, NULL);
		terr_clear(&e);
	} else {
		char *ver = params_strdup(&prm, "server_version");
		test_answer(t, NULL, ver);
		free(ver);
	}
	worker_close(t->worker);
}

/* The test worker died. */
static void
test_dead(struct worker *w, const char *reason, void *arg)
{
	struct test_ctx *t = arg;
	UNUSED(w);
	if (t->req) {
		struct tusk_error e = TUSK_ERROR_INIT;
		terr_set(&e, TE_WORKER_LOST, "the test worker ended: %s", reason);
		terr_reason(&e, reason);
		test_answer(t, &e, NULL);
		terr_clear(&e);
	}
	secrets_free(&t->origin);
	config_free(&t->cfg);
	free(t);
}

static const struct worker_ops test_worker_ops = { .dead = test_dead };

/* Start a throwaway worker that connects with cfg and s (moved in). */
int
test_start(struct request *req, struct tusk_config *cfg, struct tusk_secrets *s,
    struct tusk_error *e)
{
	struct test_ctx *t = xcalloc(1, sizeof *t);
	t->started_us = mono_us();
	t->worker = worker_spawn(WR_TEST, &test_worker_ops, t, e);
	if (t->worker == NULL) {
		free(t);
		config_free(cfg);
		secrets_free(s);
		return -1;
	}
	t->req = req;
	t->worker->conn_name = cfg->name ? xstrdup(cfg->name) : config_display(cfg);
	if (cfg->id && uuid_valid(cfg->id, strlen(cfg->id)))
		snprintf(t->id, sizeof t->id, "%s", cfg->id);
	else
		uuid_v4(t->id);
	t->origin.saved = s->saved;
	t->origin.password_stored = s->password_stored;
	t->origin.store_note = xstrdup(s->store_note);
	/* only whether there was one matters: credential_hint never reads it */
	t->origin.password = s->password ? xstrdup("") : NULL;
	send_connect(t->worker, cfg, s, test_reply, t);
	secrets_free(s);
	t->cfg = *cfg; /* kept for a host-key offer */
	config_init(cfg);
	return H_ASYNC;
}

static const struct tusk_param p_test_connection[] = {
	CONNECT_PARAMS("a connection config (give id or config)"),
	PARAMS_END,
};

/* test_connection {id | config, password?, ...} */
static int
h_test_connection(struct request *req, const struct params *p, struct tusk_error *e)
{
	struct tusk_config cfg;
	struct tusk_secrets s;
	struct saved_ctx *x = NULL;
	int r = conn_request_config(req, p, true, &cfg, &s, &x, e);
	if (r < 0)
		return -1;
	if (r == 0)
		return test_start(req, &cfg, &s, e);
	saved_next(x);
	return H_ASYNC;
}

const struct tusk_method m_test_connection = {
	.name = M_TEST_CONNECTION,
	.params = p_test_connection,
	.result = "{success: bool, server_version: str | nil, latency_ms: float | nil, "
	    "error: @error | nil}",
	.flags = 0,
	.doc = "Connect with a throwaway worker, run `select version()`, disconnect.",
	.handler = h_test_connection,
};

