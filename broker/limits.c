/*
 * limits.c — the answer a peer gets past one of the broker's limits.
 *
 * Everything a peer controls is bounded by a setting (settings.c): clients
 * connected, a client's unanswered requests and its unread output, open
 * connections, the queries and SQL bytes queued on one, a worker's log
 * records, the log files. Going past one is a clear error to that peer
 * only — kind Validation, the code "limit.NAME", a hint naming the setting
 * — or, for a client that does not read or sends faster than it is
 * answered, backpressure (it is not read for a while). Either is logged
 * once per client, so a peer hammering a limit cannot fill the log; the
 * broker goes on serving everyone else.
 */
#include <stdarg.h>
#include <stdlib.h>

#include "broker.h"
#include "log.h"
#include "util.h"

static const struct limit_info {
	const char *code;    /* limit.NAME */
	const char *setting; /* tuskd --set NAME=... (none: no setting) */
	const char *advice;  /* what the peer can do */
} limits[LIMIT__COUNT] = {
	[LIMIT_CLIENTS] = { "limit.clients", "max_clients", "close other clients of this broker" },
	[LIMIT_CLIENT_REQUESTS] = { "limit.client_requests", "max_client_requests",
	    "read the answers before sending more" },
	[LIMIT_CONNECTIONS] = { "limit.connections", "max_connections",
	    "disconnect connections no longer used (get_active_connections lists them, lost ones too)" },
	[LIMIT_QUEUED_QUERIES] = { "limit.queued_queries", "max_queued_queries",
	    "wait for the queued queries to run, or cancel some (cancel_query)" },
	[LIMIT_QUEUED_BYTES] = { "limit.queued_bytes", "max_queued_bytes",
	    "wait for the queued queries to run, or send smaller scripts" },
	[LIMIT_MEMORY] = { "limit.memory", NULL, "the broker is short of memory; send less at once, or try later" },
};

/* Log, once per client (and once for the broker's own work), that l was met. */
static void
limit_log(struct client *c, enum limit l, const char *what)
{
	static unsigned broker_logged;
	unsigned *seen = c ? &c->limits_logged : &broker_logged;
	if (*seen & (1u << l))
		return;
	*seen |= 1u << l;
	if (c)
		log_warn("client %llu (pid %d) met %s: %s%s", (unsigned long long)c->id, (int)c->pid,
		    limits[l].code, what, " (logged once for this client)");
	else
		log_warn("the broker's own work met %s: %s (logged once)", limits[l].code, what);
}

/* The limit's error for what c asked past it (see broker.h). */
int
limit_refuse(struct client *c, enum limit l, struct tusk_error *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	const struct limit_info *li = &limits[l];
	terr_set(e, l == LIMIT_MEMORY ? TE_INTERNAL : TE_VALIDATION, "%s", msg);
	terr_code(e, li->code);
	if (li->setting)
		terr_hint(e, "%s; or raise the limit: tuskd --set %s=N (or the preference broker.%s)",
		    li->advice, li->setting, li->setting);
	else
		terr_hint(e, "%s", li->advice);
	limit_log(c, l, msg);
	free(msg);
	return -1;
}

/* Backpressure met a limit: logged once per client. */
void
limit_note(struct client *c, enum limit l, const char *what)
{
	limit_log(c, l, what);
}
