/*
 * json-pack.h — a JSON text from the command line packed as the msgpack
 * value it means (tuskctl prefs set), with SQLite's JSON functions as the
 * parser.
 */
#ifndef TUSK_CLI_JSON_PACK_H
#define TUSK_CLI_JSON_PACK_H

#include <msgpack.h>

/* Containers a value may nest: what the broker accepts in a request's
 * argument map (CLIENT_MAX_DEPTH less the envelope, the params array and
 * the map). */
#define JSON_PACK_MAX_DEPTH 29

/* json_pack's outcomes. */
#define JSON_PACK_OK 0
#define JSON_PACK_NOT_JSON 1   /* not JSON: nothing packed (send it as a string) */
#define JSON_PACK_TOO_DEEP (-1) /* nested deeper than JSON_PACK_MAX_DEPTH: nothing packed */
#define JSON_PACK_FAILED (-2)  /* SQLite could not read it: nothing packed */

/* Pack json into sb (appended only on JSON_PACK_OK). */
int json_pack(msgpack_sbuffer *sb, const char *json);

#endif
