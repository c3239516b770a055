/*
 * msg.h — typed reading of decoded msgpack: map lookups, string copies,
 * integers, and named parameters checked against a table.
 *
 * Every method's parameters are declared once (struct tusk_param[]) in the
 * method table; params_parse() checks a request against that declaration
 * before the handler runs: params must be an array of one map, keys strings,
 * every key known, every required key present, every value of its type
 * (nil counts as absent for optional keys). A failure is a Validation error
 * naming the field. Handlers then read values that are known to be there
 * and typed. Values borrow from the message; copy what you keep.
 */
#ifndef TUSK_MSG_H
#define TUSK_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

struct tusk_error;

enum tusk_type {
	TT_ANY = 0,
	TT_BOOL,
	TT_INT,	  /* a signed 64-bit integer */
	TT_FLOAT, /* an integer or a float */
	TT_STR,	  /* UTF-8 text without NUL bytes */
	TT_BIN,
	TT_ARRAY,
	TT_MAP,
};

#define P_OPT 0x1 /* may be absent or nil */

struct tusk_param {
	const char *name;
	enum tusk_type type;
	unsigned flags;
	const char *doc;
	const char *shape; /* optional: a finer shape (shape.h) for docs and clients */
};

/* Ends a declaration. */
#define PARAMS_END { NULL, 0, 0, NULL, NULL }
/* A method that takes no parameters. */
extern const struct tusk_param params_none[];

#define PARAMS_MAX 32 /* describe's reply from a worker has 23 fields */

struct params {
	const struct tusk_param *spec; /* terminated by a NULL name */
	const msgpack_object *val[PARAMS_MAX];
};

/* The name of a type, for docs and errors. */
const char *tusk_type_name(enum tusk_type t);
/* Does o have type t? */
bool mo_has_type(const msgpack_object *o, enum tusk_type t);

/* Check the params array of a request against spec. 0, or -1 with e set. */
int params_parse(struct params *p, const struct tusk_param *spec, const msgpack_object *arr,
    struct tusk_error *e);
/* Check a map (not wrapped in an array) against spec. */
int params_parse_map(struct params *p, const struct tusk_param *spec, const msgpack_object *map,
    const char *prefix, struct tusk_error *e);
/* The value of a declared parameter, or NULL when absent/nil. */
const msgpack_object *params_get(const struct params *p, const char *name);
bool params_has(const struct params *p, const char *name);
/* A copy of a string parameter (NULL when absent). */
char *params_strdup(const struct params *p, const char *name);
int64_t params_int(const struct params *p, const char *name, int64_t def);
bool params_bool(const struct params *p, const char *name, bool def);
double params_float(const struct params *p, const char *name, double def);

/* Map lookup by string key; NULL when absent or o is not a map. */
const msgpack_object *mo_map_get(const msgpack_object *map, const char *key);
/* A map's integer field, or def when absent or not an integer. */
int64_t mo_map_int(const msgpack_object *map, const char *key, int64_t def);
/* A copy of a map's string field, or of def (NULL gives NULL) when absent. */
char *mo_map_strdup(const msgpack_object *map, const char *key, const char *def);
/* Copy a str (or bin) object into a NUL-terminated string. */
char *mo_strdup(const msgpack_object *o);
/* Does str object o equal s? */
bool mo_str_eq(const msgpack_object *o, const char *s);
/* Integer value of o into *v; -1 when o is not an int64-representable integer. */
int mo_int(const msgpack_object *o, int64_t *v);

#endif
