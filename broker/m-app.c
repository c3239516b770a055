/*
 * m-app.c — methods about the broker itself: health_check, get_app_info,
 * get_log_directory, describe, get_log_level, set_log_level, shutdown.
 */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "broker.h"
#include "log.h"
#include "proto.h"
#include "store.h"
#include "util.h"

/* Count the entries of a list. */
#define COUNT(head, type, field, out) do { \
	struct type *it_; (out) = 0; \
	TAILQ_FOREACH(it_, (head), field) (out)++; \
} while (0)

/* health_check */
static int
h_health_check(struct request *req, const struct params *p, struct tusk_error *e)
{
	unsigned conns, queries;
	UNUSED(p);
	UNUSED(e);
	COUNT(&tuskd.conns, conn, entry, conns);
	COUNT(&tuskd.queries, query, entry, queries);
	msgpack_packer *pk = req_result(req);
	msgpack_pack_map(pk, 9);
	mp_pack_key(pk, "status");
	mp_pack_cstr(pk, tuskd.shutting_down ? "shutting_down" : "ok");
	mp_pack_key(pk, "version");
	mp_pack_cstr(pk, TUSK_VERSION);
	mp_pack_key(pk, "protocol_version");
	msgpack_pack_int(pk, TUSK_PROTOCOL_VERSION);
	mp_pack_key(pk, "pid");
	msgpack_pack_int(pk, (int)getpid());
	mp_pack_key(pk, "uptime_ms");
	msgpack_pack_int64(pk, mono_ms() - tuskd.start_mono_ms);
	mp_pack_key(pk, "connections");
	msgpack_pack_unsigned_int(pk, conns);
	mp_pack_key(pk, "workers");
	msgpack_pack_unsigned_int(pk, workers_alive());
	mp_pack_key(pk, "clients");
	msgpack_pack_unsigned_int(pk, tuskd.nclients);
	mp_pack_key(pk, "queries");
	msgpack_pack_unsigned_int(pk, queries);
	return H_DONE;
}

const struct tusk_method m_health_check = {
	.name = M_HEALTH_CHECK,
	.params = params_none,
	.result = "{status: \"ok\" | \"shutting_down\", version: str, protocol_version: int, pid: int, "
	    "uptime_ms: int, connections: int, workers: int, clients: int, queries: int}",
	.flags = MF_READ_ONLY,
	.doc = "Is the broker alive and well?",
	.handler = h_health_check,
};

/* get_app_info */
static int
h_get_app_info(struct request *req, const struct params *p, struct tusk_error *e)
{
	struct utsname u;
	char platform[300];
	UNUSED(p);
	UNUSED(e);
	if (uname(&u) == 0)
		snprintf(platform, sizeof platform, "%s %s %s", u.sysname, u.release, u.machine);
	else
		snprintf(platform, sizeof platform, "Linux");

	msgpack_packer *pk = req_result(req);
	msgpack_pack_map(pk, 8);
	mp_pack_key(pk, "name");
	mp_pack_cstr(pk, "Tusk");
	mp_pack_key(pk, "version");
	mp_pack_cstr(pk, TUSK_VERSION);
	mp_pack_key(pk, "protocol_version");
	msgpack_pack_int(pk, TUSK_PROTOCOL_VERSION);
	mp_pack_key(pk, "platform");
	mp_pack_cstr(pk, platform);
	mp_pack_key(pk, "libraries");
	msgpack_pack_map(pk, 4);
	mp_pack_key(pk, "libpq");
	mp_pack_cstr(pk, TUSK_LIBPQ_VERSION); /* the workers' libpq, as built */
	mp_pack_key(pk, "libevent");
	mp_pack_cstr(pk, event_get_version());
	mp_pack_key(pk, "msgpack");
	mp_pack_cstr(pk, msgpack_version());
	mp_pack_key(pk, "sqlite");
	mp_pack_cstr(pk, sqlite3_libversion());
	mp_pack_key(pk, "paths");
	msgpack_pack_map(pk, 5);
	mp_pack_key(pk, "data");
	mp_pack_cstr(pk, tuskd.paths.data_dir);
	mp_pack_key(pk, "database");
	mp_pack_cstr(pk, tuskd.paths.db_path);
	mp_pack_key(pk, "logs");
	mp_pack_cstr(pk, tuskd.paths.log_dir);
	mp_pack_key(pk, "runtime");
	mp_pack_cstr(pk, tuskd.paths.run_dir);
	mp_pack_key(pk, "socket");
	mp_pack_cstr(pk, tuskd.paths.sock_path);
	mp_pack_key(pk, "pid");
	msgpack_pack_int(pk, (int)getpid());
	mp_pack_key(pk, "storage_notice");
	store_notice_pack(pk, tuskd.store ? store_notice_get(tuskd.store) : NULL);
	return H_DONE;
}

const struct tusk_method m_get_app_info = {
	.name = M_GET_APP_INFO,
	.params = params_none,
	.result = "{name: str, version: str, protocol_version: int, platform: str, "
	    "libraries: {libpq: str, libevent: str, msgpack: str, sqlite: str}, "
	    "paths: {data: str, database: str, logs: str, runtime: str, socket: str}, "
	    "pid: int, storage_notice: @storage_notice | nil}",
	.flags = MF_READ_ONLY,
	.doc = "What Tusk is running, built with what, keeping its files where.",
	.handler = h_get_app_info,
};

/* get_log_directory */
static int
h_get_log_directory(struct request *req, const struct params *p, struct tusk_error *e)
{
	UNUSED(p);
	UNUSED(e);
	mp_pack_cstr(req_result(req), tuskd.paths.log_dir);
	return H_DONE;
}

const struct tusk_method m_get_log_directory = {
	.name = M_GET_LOG_DIRECTORY,
	.params = params_none,
	.result = "str",
	.flags = MF_READ_ONLY,
	.doc = "Where the daily log files are.",
	.handler = h_get_log_directory,
};

/* describe */
static int
h_describe(struct request *req, const struct params *p, struct tusk_error *e)
{
	UNUSED(p);
	UNUSED(e);
	methods_pack_describe(req_result(req), method_table, method_table_len);
	return H_DONE;
}

const struct tusk_method m_describe = {
	.name = M_DESCRIBE,
	.params = params_none,
	.result = "{protocol_version: int, version: str, methods: [{name: str, "
	    "params: [{name: str, type: str, optional: bool, doc: str, shape_text: str, "
	    "shape: any}], result: str, result_shape: any, flags: [str], doc: str}], "
	    "notifications: [{name: str, params: str, shape: any, doc: str}], "
	    "shapes: [{name: str, text: str, shape: any}]}",
	.flags = MF_READ_ONLY,
	.doc = "This table: every method, notification and named shape.",
	.handler = h_describe,
};

/* get_log_level */
static int
h_get_log_level(struct request *req, const struct params *p, struct tusk_error *e)
{
	UNUSED(p);
	UNUSED(e);
	mp_pack_cstr(req_result(req), log_level_name(tlog_level));
	return H_DONE;
}

const struct tusk_method m_get_log_level = {
	.name = M_GET_LOG_LEVEL,
	.params = params_none,
	.result = "\"error\" | \"warn\" | \"info\" | \"debug\" | \"trace\"",
	.flags = MF_READ_ONLY,
	.doc = "The current log level.",
	.handler = h_get_log_level,
};

static const struct tusk_param p_set_log_level[] = {
	{ "level", TT_STR, 0, "error, warn, info, debug or trace", "\"error\" | \"warn\" | \"info\" | \"debug\" | \"trace\"" },
	PARAMS_END,
};

/* set_log_level {level} */
static int
h_set_log_level(struct request *req, const struct params *p, struct tusk_error *e)
{
	char *name = params_strdup(p, "level");
	int level = log_level_parse(name);
	if (level < 0) {
		terr_set(e, TE_VALIDATION, "level: '%.32s' is not one of error, warn, info, debug, trace",
		    name);
		free(name);
		return -1;
	}
	free(name);
	log_set_level(level);
	workers_set_log_level(level);
	log_info("log level set to %s", log_level_name(level));
	mp_pack_cstr(req_result(req), log_level_name(level));
	return H_DONE;
}

const struct tusk_method m_set_log_level = {
	.name = M_SET_LOG_LEVEL,
	.params = p_set_log_level,
	.result = "\"error\" | \"warn\" | \"info\" | \"debug\" | \"trace\"",
	.flags = 0,
	.doc = "Change the log level of the broker and its workers at run time.",
	.handler = h_set_log_level,
};

/* shutdown: answer first, then stop. */
static int
h_shutdown(struct request *req, const struct params *p, struct tusk_error *e)
{
	UNUSED(p);
	UNUSED(e);
	req_nil(req);
	broker_shutdown("asked by a client");
	return H_DONE;
}

const struct tusk_method m_shutdown = {
	.name = M_SHUTDOWN,
	.params = params_none,
	.result = "nil",
	.flags = 0,
	.doc = "Close every connection and stop the broker.",
	.handler = h_shutdown,
};
