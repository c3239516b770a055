/*
 * dispatch.c — from a client's request to a handler and back.
 *
 * The method table (common/methods.c) declares each method's parameters;
 * here every method id is bound to its handler, and the dispatcher checks
 * the parameters against the declaration before the handler runs, so a
 * handler only ever sees arguments of the right names and types. A request
 * outlives its handler when the answer comes later (a worker's reply): it
 * holds a reference on its client, and an answer for a client that has left
 * goes to a discard buffer.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "broker.h"
#include "log.h"
#include "util.h"

static const handler_fn handlers[M__COUNT] = {
	[M_HEALTH_CHECK] = h_health_check,
	[M_GET_APP_INFO] = h_get_app_info,
	[M_GET_LOG_DIRECTORY] = h_get_log_directory,
	[M_DESCRIBE] = h_describe,
	[M_GET_LOG_LEVEL] = h_get_log_level,
	[M_SET_LOG_LEVEL] = h_set_log_level,
	[M_SHUTDOWN] = h_shutdown,
	[M_TEST_CONNECTION] = h_test_connection,
	[M_CONNECT] = h_connect,
	[M_DISCONNECT] = h_disconnect,
	[M_GET_ACTIVE_CONNECTIONS] = h_get_active_connections,
	[M_EXECUTE_QUERY] = h_execute_query,
	[M_CANCEL_QUERY] = h_cancel_query,
	[M_GET_RUNNING_QUERIES] = h_get_running_queries,
	[M_LIST_WORKERS] = h_list_workers,
	[M_KILL_WORKER] = h_kill_worker,
	[M_SUBSCRIBE] = h_subscribe,
	[M_CHECK_KEYCHAIN_AVAILABLE] = h_check_keychain_available,
	[M_GET_KEYCHAIN_STATUS] = h_get_keychain_status,
};

/* Every declared method has a handler: a broken build must not start. */
void
dispatch_check_table(void)
{
	for (int i = 0; i < M__COUNT; i++)
		if (tusk_methods[i].name == NULL || handlers[i] == NULL)
			fatal("method %d (%s) has no handler", i,
			    tusk_methods[i].name ? tusk_methods[i].name : "?");
}

static msgpack_packer shared_pk;

/* A packer that appends to out. */
msgpack_packer *
packer_on(struct evbuffer *out)
{
	rpc_packer_init(&shared_pk, out);
	return &shared_pk;
}

/* Does the request's client still listen? */
bool
req_client_alive(const struct request *req)
{
	return req->client && !req->client->gone;
}

/* Begin the success reply. */
msgpack_packer *
req_result(struct request *req)
{
	msgpack_packer *pk = packer_on(client_output(req->client));
	rpc_pack_reply_begin(pk, req->msgid);
	return pk;
}

/* Reply nil. */
void
req_nil(struct request *req)
{
	msgpack_pack_nil(req_result(req));
}

/* Reply with an error. */
void
req_error(struct request *req, const struct tusk_error *e)
{
	msgpack_packer *pk = packer_on(client_output(req->client));
	rpc_pack_reply_error(pk, req->msgid, e);
}

/* Release a finished request. */
void
req_free(struct request *req)
{
	if (req == NULL)
		return;
	if (tlog_level >= TLOG_TRACE)
		log_trace("request %s done in %lld us", tusk_methods[req->method].name,
		    (long long)(mono_us() - req->started_us));
	client_unref(req->client);
	free(req);
}

/* Check, run, answer. */
void
dispatch_request(struct client *c, const struct rpc_msg *m)
{
	struct tusk_error e = TUSK_ERROR_INIT;
	struct request *req = xcalloc(1, sizeof *req);
	struct params p;

	req->client = c;
	client_ref(c);
	req->msgid = m->msgid;
	req->started_us = mono_us();
	req->method = method_find(m->method);
	if (req->method < 0) {
		terr_set(&e, TE_VALIDATION, "unknown method '%s'", m->method);
		terr_hint(&e, "`describe` lists the methods this broker speaks");
		req->method = M_DESCRIBE; /* for the log line only */
		req_error(req, &e);
		goto done;
	}
	log_trace("client %llu: %s", (unsigned long long)c->id, m->method);
	if (params_parse(&p, tusk_methods[req->method].params, m->params, &e) < 0) {
		req_error(req, &e);
		goto done;
	}
	int r = handlers[req->method](req, &p, &e);
	if (r == H_ASYNC) {
		terr_clear(&e);
		return;
	}
	if (r < 0) {
		if (!terr_isset(&e))
			terr_set(&e, TE_INTERNAL, "%s failed", m->method);
		req_error(req, &e);
	}
done:
	terr_clear(&e);
	req_free(req);
}
