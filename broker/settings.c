/*
 * settings.c — the broker's tunables (struct settings): their names, ranges
 * and where a value comes from.
 *
 * Each tunable has a default (main.c), may be kept as the preference
 * "broker.NAME" (read once at start, after the store opened), and may be
 * given on the command line with `tuskd --set NAME=VALUE`, which wins over
 * the preference. A preference that is not an integer in range is reported
 * in the log and ignored at start, and refused by set_preference.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"
#include "proto.h"
#include "store.h"
#include "util.h"

#define PREF_PREFIX "broker."

struct setting {
	const char *name;
	size_t off;
	bool is_size;
	long long min, max;
	const char *doc;
};

static const struct setting known[] = {
	{ "heartbeat_ms", offsetof(struct settings, heartbeat_ms), false, 10, 3600000,
	    "interval of the pings that tell a hung worker" },
	{ "heartbeat_misses", offsetof(struct settings, heartbeat_misses), false, 1, 1000,
	    "unanswered intervals before a worker counts as hung" },
	{ "worker_start_ms", offsetof(struct settings, worker_start_ms), false, 100, 600000,
	    "how long a new worker may take to say hello (exec, libraries, sandbox)" },
	{ "kill_grace_ms", offsetof(struct settings, kill_grace_ms), false, 0, 600000,
	    "from SIGTERM to SIGKILL for a worker being stopped" },
	{ "shutdown_grace_ms", offsetof(struct settings, shutdown_grace_ms), false, 0, 600000,
	    "how long shutdown waits for workers to close" },
	{ "connect_timeout_s", offsetof(struct settings, connect_timeout_s), false, 1, 3600,
	    "libpq connect_timeout" },
	{ "ssh_keepalive_s", offsetof(struct settings, ssh_keepalive_s), false, 1, 3600,
	    "interval of the SSH tunnel's keepalives" },
	{ "client_high", offsetof(struct settings, client_high), true, 4096, 1LL << 32,
	    "bytes queued for a client before its workers are paused" },
	{ "client_low", offsetof(struct settings, client_low), true, 0, 1LL << 32,
	    "bytes queued for a client below which its workers resume" },
	{ "dead_workers_kept", offsetof(struct settings, dead_workers_kept), false, 0, 10000,
	    "recently dead workers still listed" },
	{ "keychain_timeout_ms", offsetof(struct settings, keychain_timeout_ms), false, 100, 120000,
	    "bound of one keychain call (a hung Secret Service costs no more)" },
	{ "worker_memory_mb", offsetof(struct settings, worker_memory_mb), false, WORKER_MEMORY_MB_MIN,
	    1 << 20, "each worker's address-space cap" },
	{ "max_clients", offsetof(struct settings, max_clients), false, 1, 100000,
	    "clients connected at once; more are answered an error and closed" },
	{ "max_client_requests", offsetof(struct settings, max_client_requests), false, 1, 1000000,
	    "a client's unanswered requests before the broker stops reading it" },
	{ "max_connections", offsetof(struct settings, max_connections), false, 1, 100000,
	    "connections open (lost ones too) and tests running, at once" },
	{ "max_queued_queries", offsetof(struct settings, max_queued_queries), false, 1, 1000000,
	    "queries waiting on one connection" },
	{ "max_queued_bytes", offsetof(struct settings, max_queued_bytes), true, 1 << 20, 1LL << 36,
	    "bytes of SQL waiting on one connection" },
	{ "worker_log_rate", offsetof(struct settings, worker_log_rate), false, 1, 1000000,
	    "log records a worker may send a second; the rest are counted and dropped" },
	{ "log_file_max_mb", offsetof(struct settings, log_file_max_mb), false, 1, 1 << 20,
	    "one day's log file; past it records are dropped (one line says so)" },
	{ "log_dir_max_mb", offsetof(struct settings, log_dir_max_mb), false, 1, 1 << 20,
	    "the log directory; the oldest days go first" },
};

/* Which settings came from --set (the preference must not replace them). */
static bool from_args[nitems(known)];

/* The setting called name (len bytes), or NULL. */
static const struct setting *
find(const char *name, size_t len, size_t *idx)
{
	for (size_t i = 0; i < nitems(known); i++) {
		if (strlen(known[i].name) == len && strncmp(name, known[i].name, len) == 0) {
			if (idx)
				*idx = i;
			return &known[i];
		}
	}
	return NULL;
}

/* Store a checked value into tuskd.set. */
static void
assign(const struct setting *s, long long v)
{
	char *p = (char *)&tuskd.set + s->off;
	if (s->is_size)
		*(size_t *)(void *)p = (size_t)v;
	else
		*(int *)(void *)p = (int)v;
}

/* Apply --set NAME=VALUE and remember that it wins. */
int
settings_set_arg(const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t i;
	long long v;
	if (eq == NULL)
		return -1;
	const struct setting *s = find(arg, (size_t)(eq - arg), &i);
	if (s == NULL || parse_ll(eq + 1, s->min, s->max, &v) < 0)
		return -1;
	assign(s, v);
	from_args[i] = true;
	return 0;
}

/* The settings, their ranges and meanings, for --help. */
void
settings_usage(FILE *f)
{
	fprintf(f, "settings (also kept as preferences \"broker.NAME\"; --set wins):\n");
	for (size_t i = 0; i < nitems(known); i++)
		fprintf(f, "  %-19s %lld..%lld  %s\n", known[i].name, known[i].min, known[i].max,
		    known[i].doc);
}

/* Is key a broker.* preference? */
bool
settings_is_key(const char *key)
{
	return strncmp(key, PREF_PREFIX, strlen(PREF_PREFIX)) == 0;
}

/* The names, for an error message (static buffer). */
static const char *
names(void)
{
	static char buf[1024];
	size_t n = 0;
	for (size_t i = 0; i < nitems(known) && n < sizeof buf; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s%s", i ? ", " : "", PREF_PREFIX,
		    known[i].name);
	return buf;
}

/* May a broker.* preference take this value? */
int
settings_check_preference(const char *key, const msgpack_object *v, struct tusk_error *e)
{
	const char *name = key + strlen(PREF_PREFIX);
	const struct setting *s = find(name, strlen(name), NULL);
	int64_t n;
	if (s == NULL) {
		terr_set(e, TE_VALIDATION, "key: '%.64s' is not a broker setting", key);
		terr_hint(e, "the broker.* keys are %s", names());
		return -1;
	}
	if (v->type == MSGPACK_OBJECT_NIL)
		return 0; /* back to the default at the next start */
	if (mo_int(v, &n) < 0 || n < s->min || n > s->max) {
		terr_set(e, TE_VALIDATION, "value: %s must be an integer between %lld and %lld", key,
		    s->min, s->max);
		terr_hint(e, "%s: %s; nil sets it back to the default", key, s->doc);
		return -1;
	}
	return 0;
}

/* Apply the broker.* preferences that --set did not override. */
void
settings_load_preferences(struct store *st)
{
	for (size_t i = 0; i < nitems(known); i++) {
		struct tusk_error e = TUSK_ERROR_INIT;
		struct store_pref p;
		char *key = xasprintf("%s%s", PREF_PREFIX, known[i].name);
		int r = store_preference_get(st, key, &p, &e);
		if (r < 0)
			log_warn("setting %s: %s", key, e.message);
		if (r == 1) {
			msgpack_unpacked u;
			msgpack_unpacked_init(&u);
			if (msgpack_unpack_next(&u, p.value, p.len, NULL) == MSGPACK_UNPACK_SUCCESS &&
			    u.data.type != MSGPACK_OBJECT_NIL) {
				if (settings_check_preference(key, &u.data, &e) < 0) {
					log_warn("ignoring the preference %s: %s", key, e.message);
				} else if (from_args[i]) {
					log_info("setting %s from --set (the preference is ignored)",
					    known[i].name);
				} else {
					int64_t v;
					mo_int(&u.data, &v);
					assign(&known[i], v);
					log_info("setting %s = %lld (preference %s)", known[i].name,
					    (long long)v, key);
				}
			}
			msgpack_unpacked_destroy(&u);
			free(p.key);
			free(p.value);
		}
		terr_clear(&e);
		free(key);
	}
}
