/*
 * dispatch.c — from a client's request to a handler and back.
 *
 * The method table (methods.c) holds each method's descriptor; the
 * dispatcher finds the method there and checks the parameters against its
 * declaration before the handler runs, so a handler only ever sees
 * arguments of the right names and types, and (MF_CONNECTION) the open
 * connection its connection_id names. A request
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

/* Is the table sound? A broken build must not start. */
void
dispatch_check_table(void)
{
	char why[256];
	if (methods_check(method_table, method_table_len, why, sizeof why) < 0)
		fatal("the method table is broken: %s", why);
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
		log_trace("request %s done in %lld us", req->method ? req->method->name : "(unknown)",
		    (long long)(mono_us() - req->started_us));
	if (req->conn)
		conn_unref(req->conn);
	struct client *c = req->client;
	c->inflight--;
	client_reading_update(c);
	client_unref(c);
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
	c->inflight++;
	req->msgid = m->msgid;
	req->started_us = mono_us();
	req->method = methods_find(method_table, method_table_len, m->method, strlen(m->method));
	if (req->method == NULL) {
		char *shown = log_escape(m->method);
		log_debug("client %llu: unknown method '%s'", (unsigned long long)c->id, shown);
		terr_set(&e, TE_VALIDATION, "unknown method '%s'", shown);
		free(shown);
		terr_hint(&e, "`describe` lists the methods this broker speaks");
		req_error(req, &e);
		goto done;
	}
	log_trace("client %llu: %s", (unsigned long long)c->id, m->method);
	if (params_parse(&p, req->method->params, m->params, &e) < 0) {
		req_error(req, &e);
		goto done;
	}
	if (req->method->flags & MF_CONNECTION) {
		char *cid = params_strdup(&p, "connection_id");
		req->conn = conn_lookup(cid, &e);
		free(cid);
		if (req->conn == NULL) {
			req_error(req, &e);
			goto done;
		}
		conn_ref(req->conn);
	}
	int r = req->method->handler(req, &p, &e);
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
