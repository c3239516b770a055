/*
 * resolve.c — asynchronous name resolution with evdns (see resolve.h).
 *
 * One evdns base per request: the worker resolves once per connection, and
 * a fresh base reads the resolver configuration as it is now. The base is
 * freed from our own deferred event, never from inside an evdns callback.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "error.h"
#include "log.h"
#include "resolve.h"
#include "util.h"

struct resolve {
	struct evdns_base *dns;
	struct evdns_getaddrinfo_request *req;
	struct event *ev_deliver;
	resolve_cb cb;
	void *arg;
	bool cancelled;
	int err;
	char *message;
	char *addrs[RESOLVE_MAX_ADDRS];
	size_t n;
};

/* Free a finished request. */
static void
resolve_free(struct resolve *r)
{
	if (r->dns)
		evdns_base_free(r->dns, 0);
	if (r->ev_deliver)
		event_free(r->ev_deliver);
	for (size_t i = 0; i < r->n; i++)
		free(r->addrs[i]);
	free(r->message);
	free(r);
}

/* A later loop turn: hand the answer over, then free everything. */
static void
resolve_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct resolve *r = arg;
	UNUSED(fd);
	UNUSED(what);
	if (!r->cancelled)
		r->cb(r->err, r->message, r->addrs, r->n, r->arg);
	resolve_free(r);
}

/* Keep an address unless it is already there (A and AAAA may repeat). */
static void
resolve_keep(struct resolve *r, const struct sockaddr *sa)
{
	char buf[64];
	const void *a;
	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	else
		return;
	if (evutil_inet_ntop(sa->sa_family, a, buf, sizeof buf) == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->addrs[i], buf) == 0)
			return;
	if (r->n < RESOLVE_MAX_ADDRS)
		r->addrs[r->n++] = xstrdup(buf);
}

/* evdns's answer (possibly from inside evdns_getaddrinfo itself). */
static void
resolve_done(int result, struct evutil_addrinfo *res, void *arg)
{
	struct resolve *r = arg;
	r->req = NULL;
	if (result == 0) {
		for (struct evutil_addrinfo *ai = res; ai; ai = ai->ai_next)
			resolve_keep(r, ai->ai_addr);
		if (r->n == 0)
			result = EVUTIL_EAI_NONAME;
	}
	if (res)
		evutil_freeaddrinfo(res);
	if (result != 0) {
		r->err = result;
		r->message = xstrdup(result == EVUTIL_EAI_NONAME ?
		    "Name or service not known" : evutil_gai_strerror(result));
	}
	event_active(r->ev_deliver, EV_TIMEOUT, 0);
}

struct resolve *
resolve_start(struct event_base *base, const char *host, resolve_cb cb, void *arg,
    struct tusk_error *e)
{
	struct resolve *r = xcalloc(1, sizeof *r);
	r->cb = cb;
	r->arg = arg;
	r->ev_deliver = event_new(base, -1, 0, resolve_deliver, r);
	r->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (r->ev_deliver == NULL || r->dns == NULL) {
		terr_set(e, TE_CONNECTION, "could not translate host name \"%s\" to address: the resolver could not start",
		    host);
		terr_hint(e, "the host name \"%s\" could not be resolved: check /etc/resolv.conf and /etc/hosts",
		    host);
		resolve_free(r);
		return NULL;
	}
	struct evutil_addrinfo hints;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	log_debug("resolving %s", host);
	r->req = evdns_getaddrinfo(r->dns, host, NULL, &hints, resolve_done, r);
	return r;
}

void
resolve_cancel(struct resolve *r)
{
	if (r == NULL)
		return;
	r->cancelled = true;
	if (r->req) {
		/* evdns answers EVUTIL_EAI_CANCEL on a later turn; we free then */
		evdns_getaddrinfo_cancel(r->req);
	}
}
