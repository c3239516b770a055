/*
 * cmd-basic.c — tuskctl health (the broker and its storage), status,
 * log-level, describe, shutdown, logs.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "logfile.h"
#include "msg.h"
#include "util.h"

/* health: the broker's answer, as JSON (left open for the storage) or one line. */
static void
health_result(const msgpack_object *r, void *arg)
{
	UNUSED(arg);
	if (ctl.json) {
		/* the broker's keys, then "storage" (added by cmd_health) */
		fputc('{', stdout);
		for (uint32_t i = 0; r->type == MSGPACK_OBJECT_MAP && i < r->via.map.size; i++) {
			const msgpack_object *k = &r->via.map.ptr[i].key;
			if (k->type != MSGPACK_OBJECT_STR)
				continue;
			json_string(stdout, k->via.str.ptr, k->via.str.size);
			fputc(':', stdout);
			json_value(stdout, &r->via.map.ptr[i].val);
			fputc(',', stdout);
		}
		return;
	}
	char *status = mo_map_strdup(r, "status", ""), *version = mo_map_strdup(r, "version", "");
	printf("%s: tuskd %s (pid %lld), up %.1f s; %lld connections, %lld workers, %lld clients, %lld queries\n",
	    status, version, (long long)mo_map_int(r, "pid", 0),
	    (double)mo_map_int(r, "uptime_ms", 0) / 1000.0, (long long)mo_map_int(r, "connections", 0),
	    (long long)mo_map_int(r, "workers", 0), (long long)mo_map_int(r, "clients", 0),
	    (long long)mo_map_int(r, "queries", 0));
	free(status);
	free(version);
}

/* Print a list of strings, one per line, with a prefix. */
static void
print_lines(const msgpack_object *a, const char *prefix, uint32_t max)
{
	for (uint32_t i = 0; a && a->type == MSGPACK_OBJECT_ARRAY && i < a->via.array.size && i < max; i++) {
		struct strbuf sb;
		sb_init(&sb);
		text_value(&sb, &a->via.array.ptr[i], "");
		printf("%s%s\n", prefix, sb.buf ? sb.buf : "");
		sb_free(&sb);
	}
}

/* The storage's health, and the notice of a repair when there is one. */
static void
storage_result(const msgpack_object *r, void *arg)
{
	UNUSED(arg);
	if (ctl.json) {
		fputs("\"storage\":", stdout);
		json_value(stdout, r);
		fputs("}\n", stdout);
		return;
	}
	const msgpack_object *ok = mo_map_get(r, "is_healthy"), *n = mo_map_get(r, "notice");
	char *path = mo_map_strdup(r, "path", "");
	if (ok && ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean) {
		printf("storage: ok (%s passed the integrity check)\n", path);
	} else {
		printf("storage: DAMAGE FOUND in %s (repaired at once, see the notice):\n", path);
		print_lines(mo_map_get(r, "errors"), "  ", 10);
	}
	free(path);
	if (n == NULL)
		return;
	char *msg = mo_map_strdup(n, "message", ""), *at = mo_map_strdup(n, "at", ""), *action = mo_map_strdup(n, "action", "");
	char *backup = mo_map_strdup(n, "backup_path", ""), *hint = mo_map_strdup(n, "hint", "");
	printf("\nNOTICE (%s, %s): %s\n", action, at, msg);
	printf("  backup:    %s\n  recovered: %lld rows\n  lost:      %lld rows\n", backup,
	    (long long)mo_map_int(n, "salvaged_rows", 0), (long long)mo_map_int(n, "lost_rows", 0));
	print_lines(mo_map_get(n, "errors"), "  found:     ", 5);
	printf("hint: %s\n", hint);
	free(msg);
	free(at);
	free(action);
	free(backup);
	free(hint);
}

/* Was the storage notice dismissed? */
static void
dismiss_result(const msgpack_object *r, void *arg)
{
	const msgpack_object *d = mo_map_get(r, "dismissed");
	*(bool *)arg = d && d->type == MSGPACK_OBJECT_BOOLEAN && d->via.boolean;
}

int
cmd_health(int argc, char **argv)
{
	bool dismissed = false;
	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--dismiss") != 0))
		return EXIT_USAGE;
	if (argc == 2) {
		int r = ctl_call(M_DISMISS_STORAGE_NOTICE, pack_no_params, NULL, dismiss_result, &dismissed,
		    NULL, NULL);
		if (r != EXIT_OK)
			return r;
	}
	int r = ctl_call(M_HEALTH_CHECK, pack_no_params, NULL, health_result, NULL, NULL, NULL);
	if (r != EXIT_OK)
		return r;
	r = ctl_call(M_CHECK_DATABASE_HEALTH, pack_no_params, NULL, storage_result, NULL, NULL, NULL);
	if (r != EXIT_OK && ctl.json)
		fputs("\"storage\":null}\n", stdout);
	if (r == EXIT_OK && argc == 2 && !ctl.json)
		printf("%s\n", dismissed ? "storage notice dismissed" : "no storage notice to dismiss");
	return r;
}

/* status: the app, then the open connections. */
static void
status_info(const msgpack_object *r, void *arg)
{
	UNUSED(arg);
	if (ctl.json) {
		fputs("{\"app\":", stdout);
		json_value(stdout, r);
		return;
	}
	char *v = mo_map_strdup(r, "version", ""), *plat = mo_map_strdup(r, "platform", "");
	const msgpack_object *paths = mo_map_get(r, "paths");
	char *sock = mo_map_strdup(paths, "socket", ""), *logs = mo_map_strdup(paths, "logs", ""), *data = mo_map_strdup(paths, "data", "");
	printf("Tusk %s on %s, broker pid %lld\n", v, plat, (long long)mo_map_int(r, "pid", 0));
	printf("socket  %s\ndata    %s\nlogs    %s\n", sock, data, logs);
	const msgpack_object *n = mo_map_get(r, "storage_notice");
	if (n && n->type == MSGPACK_OBJECT_MAP) {
		char *msg = mo_map_strdup(n, "message", "");
		printf("\nstorage NOTICE: %s\n(details: tuskctl health)\n", msg);
		free(msg);
	}
	free(v);
	free(plat);
	free(sock);
	free(logs);
	free(data);
}

/* status: the open connections, as a table or the JSON's last key. */
static void
status_conns(const msgpack_object *r, void *arg)
{
	UNUSED(arg);
	if (ctl.json) {
		fputs(",\"connections\":", stdout);
		json_value(stdout, r);
		fputs("}\n", stdout);
		return;
	}
	if (r->type != MSGPACK_OBJECT_ARRAY || r->via.array.size == 0) {
		printf("\nno open connections\n");
		return;
	}
	printf("\n");
	const char *hdr[] = { "id", "name", "state", "server", "backend", "worker", "tls", "queries", "ssh" };
	struct table *t = table_new(hdr, 9);
	for (uint32_t i = 0; i < r->via.array.size; i++) {
		const msgpack_object *c = &r->via.array.ptr[i];
		char **cells = xcalloc(9, sizeof *cells);
		cells[0] = mo_map_strdup(c, "connection_id", "");
		cells[1] = mo_map_strdup(c, "name", "");
		cells[2] = mo_map_strdup(c, "state", "");
		char *host = mo_map_strdup(c, "host", ""), *db = mo_map_strdup(c, "database", "");
		cells[3] = xasprintf("%s:%lld/%s", host, (long long)mo_map_int(c, "port", 0), db);
		free(host);
		free(db);
		int64_t bp = mo_map_int(c, "backend_pid", -1), wp = mo_map_int(c, "worker_pid", -1);
		cells[4] = bp > 0 ? xasprintf("%lld", (long long)bp) : xstrdup("");
		cells[5] = wp > 0 ? xasprintf("%lld", (long long)wp) : xstrdup("");
		const msgpack_object *tls = mo_map_get(c, "tls");
		cells[6] = tls && tls->type == MSGPACK_OBJECT_BOOLEAN && tls->via.boolean ?
		    mo_map_strdup(c, "tls_version", "") : xstrdup("no");
		cells[7] = xasprintf("%lld", (long long)mo_map_int(c, "active_queries", 0));
		const msgpack_object *ssh = mo_map_get(c, "ssh_tunnel");
		if (ssh && ssh->type == MSGPACK_OBJECT_MAP) {
			char *u = mo_map_strdup(ssh, "username", ""), *h = mo_map_strdup(ssh, "host", "");
			cells[8] = xasprintf(strchr(h, ':') ? "%s@[%s]:%lld" : "%s@%s:%lld", u, h,
			    (long long)mo_map_int(ssh, "port", 22));
			free(u);
			free(h);
		} else {
			cells[8] = xstrdup("");
		}
		table_add(t, cells);
	}
	table_print(t, stdout);
	table_free(t);
}

/* status: the app, then its open connections. */
int
cmd_status(int argc, char **argv)
{
	UNUSED(argv);
	if (argc != 1)
		return EXIT_USAGE;
	int r = ctl_call(M_GET_APP_INFO, pack_no_params, NULL, status_info, NULL, NULL, NULL);
	if (r != EXIT_OK)
		return r;
	return ctl_call(M_GET_ACTIVE_CONNECTIONS, pack_no_params, NULL, status_conns, NULL, NULL, NULL);
}

/* set_log_level's parameters. */
static void
pack_level(msgpack_packer *pk, void *arg)
{
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	mp_pack_key(pk, "level");
	mp_pack_cstr(pk, arg);
}

/* Print an answer as it came. */
static void
print_result(const msgpack_object *r, void *arg)
{
	UNUSED(arg);
	print_object(r);
}

/* log-level [LEVEL]: show the broker's log level, or set it. */
int
cmd_log_level(int argc, char **argv)
{
	if (argc > 2)
		return EXIT_USAGE;
	if (argc == 2)
		return ctl_call(M_SET_LOG_LEVEL, pack_level, argv[1], print_result, NULL, NULL, NULL);
	return ctl_call(M_GET_LOG_LEVEL, pack_no_params, NULL, print_result, NULL, NULL, NULL);
}

/* describe: each method as a signature and its doc (or the JSON). */
static void
describe_result(const msgpack_object *r, void *arg)
{
	UNUSED(arg);
	if (ctl.json) {
		print_object(r);
		return;
	}
	const msgpack_object *ms = mo_map_get(r, "methods");
	if (ms == NULL || ms->type != MSGPACK_OBJECT_ARRAY)
		return;
	for (uint32_t i = 0; i < ms->via.array.size; i++) {
		const msgpack_object *m = &ms->via.array.ptr[i];
		char *name = mo_map_strdup(m, "name", ""), *res = mo_map_strdup(m, "result", ""), *doc = mo_map_strdup(m, "doc", "");
		printf("%s(", name);
		const msgpack_object *ps = mo_map_get(m, "params");
		for (uint32_t j = 0; ps && ps->type == MSGPACK_OBJECT_ARRAY && j < ps->via.array.size; j++) {
			const msgpack_object *p = &ps->via.array.ptr[j];
			char *pn = mo_map_strdup(p, "name", ""), *pt = mo_map_strdup(p, "shape_text", "");
			const msgpack_object *opt = mo_map_get(p, "optional");
			printf("%s%s%s: %s", j ? ", " : "", pn,
			    opt && opt->type == MSGPACK_OBJECT_BOOLEAN && opt->via.boolean ? "?" : "", pt);
			free(pn);
			free(pt);
		}
		printf(") -> %s\n    %s\n", res, doc);
		free(name);
		free(res);
		free(doc);
	}
}

/* describe without a name: the broker's methods. */
int
cmd_methods(int argc, char **argv)
{
	UNUSED(argv);
	if (argc != 1)
		return EXIT_USAGE;
	return ctl_call(M_DESCRIBE, pack_no_params, NULL, describe_result, NULL, NULL, NULL);
}

/* shutdown: say the broker is stopping. */
static void
shutdown_result(const msgpack_object *r, void *arg)
{
	UNUSED(r);
	UNUSED(arg);
	if (ctl.json)
		printf("null\n");
	else
		printf("broker stopping\n");
}

/* shutdown: stop the broker (never starts one to stop it). */
int
cmd_shutdown(int argc, char **argv)
{
	UNUSED(argv);
	if (argc != 1)
		return EXIT_USAGE;
	ctl.no_start = true;
	return ctl_call(M_SHUTDOWN, pack_no_params, NULL, shutdown_result, NULL, NULL, NULL);
}

/* logs: where they are, the last lines of today's file, or follow it. */
static void
logdir_result(const msgpack_object *r, void *arg)
{
	char **out = arg;
	if (r->type == MSGPACK_OBJECT_STR)
		*out = mo_strdup(r);
}

/* logs [--path] [--lines N] [--follow]: today's log file, its last lines, or follow it. */
int
cmd_logs(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "path", no_argument, NULL, 'p' },
		{ "lines", required_argument, NULL, 'n' },
		{ "follow", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	bool path_only = false, follow = false;
	long long lines = 20;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "pn:f", opts, NULL)) != -1) {
		switch (ch) {
		case 'p': path_only = true; break;
		case 'f': follow = true; break;
		case 'n':
			if (parse_ll(optarg, 0, 1000000, &lines) < 0)
				return EXIT_USAGE;
			break;
		default: return EXIT_USAGE;
		}
	}
	char *dir = NULL;
	int r = ctl_call(M_GET_LOG_DIRECTORY, pack_no_params, NULL, logdir_result, &dir, NULL, NULL);
	if (r != EXIT_OK)
		return r;
	if (dir == NULL)
		return EXIT_ERR;
	char *file = logfile_path(dir, wall_ms());
	if (path_only || ctl.json) {
		if (ctl.json) {
			fputs("{\"directory\":", stdout);
			json_string(stdout, dir, strlen(dir));
			fputs(",\"today\":", stdout);
			json_string(stdout, file, strlen(file));
			fputs("}\n", stdout);
		} else {
			printf("%s\n", dir);
		}
		free(dir);
		free(file);
		return EXIT_OK;
	}
	fflush(stdout);
	char n[24];
	snprintf(n, sizeof n, "%lld", lines);
	free(dir);
	ctl_disconnect();
	execlp("tail", "tail", "-n", n, follow ? "-F" : file, follow ? file : (char *)NULL, (char *)NULL);
	fprintf(stderr, "error: cannot run tail: %s\nhint: the log file is %s\n", strerror(errno), file);
	free(file);
	return EXIT_ERR;
}

/* keychain: whether secrets can be stored, and why not. */
static void
keychain_result(const msgpack_object *r, void *arg)
{
	UNUSED(arg);
	if (ctl.json) {
		print_object(r);
		return;
	}
	const msgpack_object *a = mo_map_get(r, "available");
	char *msg = mo_map_strdup(r, "message", ""), *hint = mo_map_strdup(r, "hint", "");
	printf("keychain: %s\n%s\n", a && a->type == MSGPACK_OBJECT_BOOLEAN && a->via.boolean ?
	    "available" : "NOT available (passwords are kept for the session only)", msg);
	if (*hint)
		printf("hint: %s\n", hint);
	free(msg);
	free(hint);
}

/* keychain status */
int
cmd_keychain(int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "status") != 0)
		return EXIT_USAGE;
	return ctl_call(M_GET_KEYCHAIN_STATUS, pack_no_params, NULL, keychain_result, NULL, NULL, NULL);
}
