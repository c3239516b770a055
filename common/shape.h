/*
 * shape.h — the shapes of results and notifications, written as text.
 *
 * Every method declares what it answers, and every notification what it
 * carries, in a small TypeScript-like notation that a person reads in
 * `describe` and docs/protocol.md and that machines check:
 *
 *   str int float bool bin nil any     scalars (float also takes an integer)
 *   "text"                             exactly this string
 *   @name                              a named shape (methods.c: tusk_shapes)
 *   [T]                                an array of T
 *   {*: T}                             a map from strings to T
 *   {a: T, b?: U}                      a map with exactly these keys; b may be absent
 *   {a: T, ...}                        ... and maybe others
 *   T | U                              either
 *
 * shape_pack() turns the text into a tree of maps that clients walk without
 * a parser of their own: {kind: "str"|"int"|"float"|"bool"|"bin"|"nil"|"any"},
 * {kind: "literal", value}, {kind: "ref", name}, {kind: "array", of},
 * {kind: "dict", of}, {kind: "record", fields: [{name, optional, type}],
 * open}, {kind: "union", of: [...]}. The integration suite checks every
 * actual answer against that tree; the web UI's TypeScript types are
 * generated from it.
 */
#ifndef TUSK_SHAPE_H
#define TUSK_SHAPE_H

#include <stdbool.h>
#include <stddef.h>

#include <msgpack.h>

/* Is this @name known? */
typedef bool (*shape_known_fn)(const char *name, size_t len);
/* Does text parse? On failure, why (with the offset) goes into why. Named
 * shapes are checked with known (NULL: any name is accepted). */
bool shape_valid(const char *text, shape_known_fn known, char *why, size_t whylen);
/* Pack the tree of a valid shape (nil when it does not parse). */
void shape_pack(msgpack_packer *pk, const char *text);

#endif
