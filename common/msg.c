/*
 * msg.c — typed accessors and declared-parameter checking (see msg.h).
 */
#include "msg.h"

#include <math.h>
#include <string.h>

#include "error.h"
#include "util.h"

const struct tusk_param params_none[] = { PARAMS_END };

/* Name of a declared type. */
const char *
tusk_type_name(enum tusk_type t)
{
	switch (t) {
	case TT_ANY: return "any";
	case TT_BOOL: return "bool";
	case TT_INT: return "int";
	case TT_FLOAT: return "float";
	case TT_STR: return "string";
	case TT_BIN: return "bin";
	case TT_ARRAY: return "array";
	case TT_MAP: return "map";
	}
	return "any";
}

/* Integer value of o (positive or negative msgpack integer). */
int
mo_int(const msgpack_object *o, int64_t *v)
{
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		if (o->via.u64 > INT64_MAX)
			return -1;
		*v = (int64_t)o->via.u64;
		return 0;
	}
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		*v = o->via.i64;
		return 0;
	}
	return -1;
}

/* Type check of one value. */
bool
mo_has_type(const msgpack_object *o, enum tusk_type t)
{
	int64_t dummy;
	switch (t) {
	case TT_ANY:
		return true;
	case TT_BOOL:
		return o->type == MSGPACK_OBJECT_BOOLEAN;
	case TT_INT:
		return mo_int(o, &dummy) == 0;
	case TT_FLOAT:
		return o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64 ||
		    mo_int(o, &dummy) == 0;
	case TT_STR:
		return o->type == MSGPACK_OBJECT_STR &&
		    memchr(o->via.str.ptr, '\0', o->via.str.size) == NULL;
	case TT_BIN:
		return o->type == MSGPACK_OBJECT_BIN;
	case TT_ARRAY:
		return o->type == MSGPACK_OBJECT_ARRAY;
	case TT_MAP:
		return o->type == MSGPACK_OBJECT_MAP;
	}
	return false;
}

/* Index of name in spec, or -1. */
static int
spec_index(const struct tusk_param *spec, const char *name, size_t len)
{
	for (int i = 0; spec[i].name != NULL; i++)
		if (strlen(spec[i].name) == len && memcmp(spec[i].name, name, len) == 0)
			return i;
	return -1;
}

_Static_assert(PARAMS_MAX <= 32, "params_parse_map tracks keys in a uint32_t");

/* Check one map of named arguments. */
int
params_parse_map(struct params *p, const struct tusk_param *spec, const msgpack_object *map,
    const char *prefix, struct tusk_error *e)
{
	uint32_t seen = 0; /* keys met so far, nil ones included */
	int nspec = 0;

	memset(p, 0, sizeof *p);
	p->spec = spec;
	if (prefix == NULL)
		prefix = "";
	while (spec[nspec].name != NULL)
		nspec++;
	if (nspec > PARAMS_MAX)
		return terr_set(e, TE_INTERNAL, "%sthe declaration has %d parameters, more than %d",
		    prefix, nspec, PARAMS_MAX);
	if (map->type != MSGPACK_OBJECT_MAP)
		return terr_set(e, TE_VALIDATION, "%sexpected a map of named arguments",
		    prefix);
	for (uint32_t i = 0; i < map->via.map.size; i++) {
		const msgpack_object *k = &map->via.map.ptr[i].key;
		const msgpack_object *v = &map->via.map.ptr[i].val;
		if (k->type != MSGPACK_OBJECT_STR)
			return terr_set(e, TE_VALIDATION, "%sargument names must be strings",
			    prefix);
		int idx = spec_index(spec, k->via.str.ptr, k->via.str.size);
		if (idx < 0) {
			char *name = mo_strdup(k);
			terr_set(e, TE_VALIDATION, "%sunknown argument '%.64s'", prefix, name);
			free(name);
			terr_hint(e, "`describe` lists every method's arguments");
			return -1;
		}
		if (seen & (UINT32_C(1) << idx))
			return terr_set(e, TE_VALIDATION, "%s%s: given twice", prefix,
			    spec[idx].name);
		seen |= UINT32_C(1) << idx;
		if (v->type == MSGPACK_OBJECT_NIL && (spec[idx].flags & P_OPT))
			continue;
		if (!mo_has_type(v, spec[idx].type))
			return terr_set(e, TE_VALIDATION, "%s%s: expected %s", prefix,
			    spec[idx].name, tusk_type_name(spec[idx].type));
		p->val[idx] = v;
	}
	for (int i = 0; spec[i].name != NULL; i++)
		if (!(spec[i].flags & P_OPT) && p->val[i] == NULL)
			return terr_set(e, TE_VALIDATION, "%s%s: required", prefix, spec[i].name);
	return 0;
}

/* Check a request's params array: [] or [ {named arguments} ]. */
int
params_parse(struct params *p, const struct tusk_param *spec, const msgpack_object *arr,
    struct tusk_error *e)
{
	static const msgpack_object empty = { .type = MSGPACK_OBJECT_MAP };
	const msgpack_object *map = &empty;

	if (arr != NULL && arr->type == MSGPACK_OBJECT_ARRAY && arr->via.array.size == 1)
		map = &arr->via.array.ptr[0];
	else if (arr != NULL && !(arr->type == MSGPACK_OBJECT_ARRAY && arr->via.array.size == 0) &&
	    arr->type != MSGPACK_OBJECT_NIL) {
		terr_set(e, TE_VALIDATION, "params must be an array holding one map of named arguments");
		terr_hint(e, "send [0, msgid, method, [{name: value, ...}]]");
		return -1;
	}
	if (map->type == MSGPACK_OBJECT_NIL)
		map = &empty;
	return params_parse_map(p, spec, map, NULL, e);
}

/* Value of a declared parameter. */
const msgpack_object *
params_get(const struct params *p, const char *name)
{
	int i = spec_index(p->spec, name, strlen(name));
	if (i < 0 || i >= PARAMS_MAX)
		return NULL;
	return p->val[i];
}

/* Was it given (and not nil)? */
bool
params_has(const struct params *p, const char *name)
{
	return params_get(p, name) != NULL;
}

/* Copy of a string parameter. */
char *
params_strdup(const struct params *p, const char *name)
{
	const msgpack_object *o = params_get(p, name);
	return o ? mo_strdup(o) : NULL;
}

/* Integer parameter with a default. */
int64_t
params_int(const struct params *p, const char *name, int64_t def)
{
	const msgpack_object *o = params_get(p, name);
	int64_t v;
	if (o == NULL || mo_int(o, &v) < 0)
		return def;
	return v;
}

/* Boolean parameter with a default. */
bool
params_bool(const struct params *p, const char *name, bool def)
{
	const msgpack_object *o = params_get(p, name);
	if (o == NULL || o->type != MSGPACK_OBJECT_BOOLEAN)
		return def;
	return o->via.boolean;
}

/* Number parameter with a default. */
double
params_float(const struct params *p, const char *name, double def)
{
	const msgpack_object *o = params_get(p, name);
	int64_t v;
	if (o == NULL)
		return def;
	if (o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64)
		return o->via.f64;
	if (mo_int(o, &v) == 0)
		return (double)v;
	return def;
}

/* Lookup in a map with string keys. */
const msgpack_object *
mo_map_get(const msgpack_object *map, const char *key)
{
	if (map == NULL || map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	size_t len = strlen(key);
	for (uint32_t i = 0; i < map->via.map.size; i++) {
		const msgpack_object *k = &map->via.map.ptr[i].key;
		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == len &&
		    memcmp(k->via.str.ptr, key, len) == 0) {
			const msgpack_object *v = &map->via.map.ptr[i].val;
			return v->type == MSGPACK_OBJECT_NIL ? NULL : v;
		}
	}
	return NULL;
}

/* Integer field of a map, with a default. */
int64_t
mo_map_int(const msgpack_object *map, const char *key, int64_t def)
{
	const msgpack_object *v = mo_map_get(map, key);
	int64_t n;
	return v && mo_int(v, &n) == 0 ? n : def;
}

/* String field of a map as a new string, or a copy of def. */
char *
mo_map_strdup(const msgpack_object *map, const char *key, const char *def)
{
	const msgpack_object *v = mo_map_get(map, key);
	return v && v->type == MSGPACK_OBJECT_STR ? mo_strdup(v) : xstrdup(def);
}

/* Copy str/bin into a C string. */
char *
mo_strdup(const msgpack_object *o)
{
	if (o->type == MSGPACK_OBJECT_STR)
		return xstrndup(o->via.str.ptr, o->via.str.size);
	if (o->type == MSGPACK_OBJECT_BIN)
		return xstrndup(o->via.bin.ptr, o->via.bin.size);
	return xstrdup("");
}

/* String comparison without copying. */
bool
mo_str_eq(const msgpack_object *o, const char *s)
{
	size_t len = strlen(s);
	return o != NULL && o->type == MSGPACK_OBJECT_STR && o->via.str.size == len &&
	    memcmp(o->via.str.ptr, s, len) == 0;
}
