/*
 * methods.h — the one table of client-facing methods.
 *
 * Each entry names a method, declares its parameters (checked by the broker's
 * dispatcher before the handler runs, see msg.h), and describes its result.
 * The broker binds a handler to every id (broker/dispatch.c refuses to start
 * if one is missing); `describe` answers this table; docs/protocol.md
 * follows it. Add entries at the end of a group; never rename.
 */
#ifndef TUSK_METHODS_H
#define TUSK_METHODS_H

#include <msgpack.h>

#include "msg.h"

enum tusk_method_id {
	M_HEALTH_CHECK,
	M_GET_APP_INFO,
	M_GET_LOG_DIRECTORY,
	M_DESCRIBE,
	M_GET_LOG_LEVEL,
	M_SET_LOG_LEVEL,
	M_SHUTDOWN,
	M_TEST_CONNECTION,
	M_CONNECT,
	M_DISCONNECT,
	M_GET_ACTIVE_CONNECTIONS,
	M_EXECUTE_QUERY,
	M_CANCEL_QUERY,
	M_GET_RUNNING_QUERIES,
	M_LIST_WORKERS,
	M_KILL_WORKER,
	M_SUBSCRIBE,
	M_CHECK_KEYCHAIN_AVAILABLE,
	M_GET_KEYCHAIN_STATUS,
	M__COUNT
};

struct tusk_method {
	const char *name;
	const struct tusk_param *params; /* NULL-name terminated */
	const char *result;		 /* the result's shape */
	const char *doc;
};

extern const struct tusk_method tusk_methods[M__COUNT];

/* Find a method by name; -1 when unknown. */
int method_find(const char *name);
/* The `describe` result. */
void methods_pack_describe(msgpack_packer *pk);

#endif
