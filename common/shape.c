/*
 * shape.c — parse the shape notation (shape.h) into a tree, check it, pack it.
 *
 * Shapes are the program's own constant strings, so the parser is strict
 * and small: a recursive descent over the text into nodes allocated from
 * one array (no shape has more than SHAPE_NODES nodes), packed, then
 * dropped. Depth is bounded as well, so even a wrong shape cannot recurse
 * without end.
 */
#include "shape.h"

#include <stdio.h>
#include <string.h>

#include "rpc.h"
#include "util.h"

#define SHAPE_NODES 512
#define SHAPE_DEPTH 16

enum shape_kind { SK_SCALAR, SK_LITERAL, SK_REF, SK_ARRAY, SK_DICT, SK_RECORD, SK_UNION, SK_FIELD };

struct shape_node {
	enum shape_kind kind;
	const char *text; /* scalar name, literal, ref name, field name */
	size_t len;
	bool optional;	  /* a field that may be absent */
	bool open;	  /* a record that may carry more keys */
	int child;	  /* first child (-1: none) */
	int next;	  /* next sibling (-1: none) */
};

struct shape_parser {
	const char *s, *p;
	struct shape_node *nodes;
	int n;
	int depth;
	shape_known_fn known;
	char err[160];
};

static int parse_type(struct shape_parser *sp);

static const char *const scalars[] = { "str", "int", "float", "bool", "bin", "nil", "any" };

/* Record the first error with its offset; always -1. */
static int
fail(struct shape_parser *sp, const char *what)
{
	if (sp->err[0] == '\0')
		snprintf(sp->err, sizeof sp->err, "%s at offset %d", what, (int)(sp->p - sp->s));
	return -1;
}

/* Skip blanks, tabs and newlines. */
static void
skip_space(struct shape_parser *sp)
{
	while (*sp->p == ' ' || *sp->p == '\n' || *sp->p == '\t')
		sp->p++;
}

/* Take c (after spaces), or fail. */
static int
expect(struct shape_parser *sp, char c)
{
	skip_space(sp);
	if (*sp->p != c) {
		char what[24];
		snprintf(what, sizeof what, "expected '%c'", c);
		return fail(sp, what);
	}
	sp->p++;
	return 0;
}

/* Take the character c after any blanks, if it is there. */
static bool
take(struct shape_parser *sp, char c)
{
	skip_space(sp);
	if (*sp->p != c)
		return false;
	sp->p++;
	return true;
}

/* A new node of the parse; its index, or -1 when the shape is too large. */
static int
node_new(struct shape_parser *sp, enum shape_kind kind, const char *text, size_t len)
{
	if (sp->n == SHAPE_NODES)
		return fail(sp, "shape too large");
	struct shape_node *nd = &sp->nodes[sp->n];
	memset(nd, 0, sizeof *nd);
	nd->kind = kind;
	nd->text = text;
	nd->len = len;
	nd->child = nd->next = -1;
	return sp->n++;
}

/* Can c be part of a name? */
static bool
ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* An identifier; its length (0: none). */
static size_t
ident(struct shape_parser *sp)
{
	skip_space(sp);
	size_t n = 0;
	while (ident_char(sp->p[n]))
		n++;
	return n;
}

/* Link children in order. */
static void
append(struct shape_parser *sp, int parent, int *last, int child)
{
	if (*last < 0)
		sp->nodes[parent].child = child;
	else
		sp->nodes[*last].next = child;
	*last = child;
}

/* {*: T} or {a: T, b?: U, ...} */
static int
parse_map(struct shape_parser *sp)
{
	if (take(sp, '*')) {
		int d = node_new(sp, SK_DICT, NULL, 0);
		if (d < 0 || expect(sp, ':') < 0)
			return -1;
		int t = parse_type(sp);
		if (t < 0 || expect(sp, '}') < 0)
			return -1;
		sp->nodes[d].child = t;
		return d;
	}
	int r = node_new(sp, SK_RECORD, NULL, 0), last = -1;
	if (r < 0)
		return -1;
	if (take(sp, '}'))
		return r;
	for (;;) {
		skip_space(sp);
		if (strncmp(sp->p, "...", 3) == 0) {
			sp->p += 3;
			sp->nodes[r].open = true;
			return expect(sp, '}') < 0 ? -1 : r;
		}
		size_t n = ident(sp);
		if (n == 0)
			return fail(sp, "expected a key");
		for (int f = sp->nodes[r].child; f >= 0; f = sp->nodes[f].next)
			if (sp->nodes[f].len == n && memcmp(sp->nodes[f].text, sp->p, n) == 0)
				return fail(sp, "duplicate key");
		int f = node_new(sp, SK_FIELD, sp->p, n);
		if (f < 0)
			return -1;
		sp->p += n;
		sp->nodes[f].optional = take(sp, '?');
		if (expect(sp, ':') < 0)
			return -1;
		int t = parse_type(sp);
		if (t < 0)
			return -1;
		sp->nodes[f].child = t;
		append(sp, r, &last, f);
		if (take(sp, '}'))
			return r;
		if (expect(sp, ',') < 0)
			return -1;
	}
}

/* One alternative of a union. */
static int
parse_alt(struct shape_parser *sp)
{
	skip_space(sp);
	char c = *sp->p;
	if (c == '[') {
		sp->p++;
		int a = node_new(sp, SK_ARRAY, NULL, 0);
		if (a < 0)
			return -1;
		int t = parse_type(sp);
		if (t < 0 || expect(sp, ']') < 0)
			return -1;
		sp->nodes[a].child = t;
		return a;
	}
	if (c == '{') {
		sp->p++;
		return parse_map(sp);
	}
	if (c == '"') {
		const char *start = ++sp->p;
		while (*sp->p && *sp->p != '"')
			sp->p++;
		if (*sp->p != '"')
			return fail(sp, "unterminated literal");
		int l = node_new(sp, SK_LITERAL, start, (size_t)(sp->p - start));
		sp->p++;
		return l;
	}
	if (c == '@') {
		sp->p++;
		size_t n = 0;
		while (ident_char(sp->p[n]))
			n++;
		if (n == 0)
			return fail(sp, "expected a shape name after @");
		if (sp->known && !sp->known(sp->p, n))
			return fail(sp, "unknown named shape");
		int r = node_new(sp, SK_REF, sp->p, n);
		sp->p += n;
		return r;
	}
	size_t n = ident(sp);
	for (size_t i = 0; i < nitems(scalars); i++) {
		if (strlen(scalars[i]) == n && memcmp(scalars[i], sp->p, n) == 0) {
			int s = node_new(sp, SK_SCALAR, sp->p, n);
			sp->p += n;
			return s;
		}
	}
	return fail(sp, "expected a type");
}

/* alt ('|' alt)* */
static int
parse_type(struct shape_parser *sp)
{
	if (++sp->depth > SHAPE_DEPTH)
		return fail(sp, "shape nested too deeply");
	int first = parse_alt(sp);
	if (first < 0)
		return -1;
	skip_space(sp);
	if (*sp->p != '|') {
		sp->depth--;
		return first;
	}
	int u = node_new(sp, SK_UNION, NULL, 0), last = -1;
	if (u < 0)
		return -1;
	append(sp, u, &last, first);
	while (take(sp, '|')) {
		int a = parse_alt(sp);
		if (a < 0)
			return -1;
		append(sp, u, &last, a);
	}
	sp->depth--;
	return u;
}

/* Parse all of text; the root node, or -1. */
static int
parse_all(struct shape_parser *sp, const char *text, shape_known_fn known)
{
	memset(sp, 0, sizeof *sp);
	sp->s = sp->p = text;
	sp->known = known;
	sp->nodes = xcalloc(SHAPE_NODES, sizeof *sp->nodes);
	int root = parse_type(sp);
	if (root >= 0) {
		skip_space(sp);
		if (*sp->p != '\0')
			root = fail(sp, "trailing text");
	}
	return root;
}

bool
shape_valid(const char *text, shape_known_fn known, char *why, size_t whylen)
{
	struct shape_parser sp;
	int root = parse_all(&sp, text ? text : "", known);
	if (root < 0 && why)
		snprintf(why, whylen, "%s", sp.err);
	free(sp.nodes);
	return root >= 0;
}

/* Pack n bytes of s as a string. */
static void
pack_strn(msgpack_packer *pk, const char *s, size_t n)
{
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

/* How many children node i has. */
static int
count_children(const struct shape_parser *sp, int i)
{
	int n = 0;
	for (int c = sp->nodes[i].child; c >= 0; c = sp->nodes[c].next)
		n++;
	return n;
}

/* Pack node i as its tree map. */
static void
pack_node(msgpack_packer *pk, const struct shape_parser *sp, int i)
{
	const struct shape_node *nd = &sp->nodes[i];
	switch (nd->kind) {
	case SK_SCALAR:
		msgpack_pack_map(pk, 1);
		mp_pack_key(pk, "kind");
		pack_strn(pk, nd->text, nd->len);
		return;
	case SK_LITERAL:
	case SK_REF:
		msgpack_pack_map(pk, 2);
		mp_pack_key(pk, "kind");
		mp_pack_cstr(pk, nd->kind == SK_LITERAL ? "literal" : "ref");
		mp_pack_key(pk, nd->kind == SK_LITERAL ? "value" : "name");
		pack_strn(pk, nd->text, nd->len);
		return;
	case SK_ARRAY:
	case SK_DICT:
		msgpack_pack_map(pk, 2);
		mp_pack_key(pk, "kind");
		mp_pack_cstr(pk, nd->kind == SK_ARRAY ? "array" : "dict");
		mp_pack_key(pk, "of");
		pack_node(pk, sp, nd->child);
		return;
	case SK_UNION:
		msgpack_pack_map(pk, 2);
		mp_pack_key(pk, "kind");
		mp_pack_cstr(pk, "union");
		mp_pack_key(pk, "of");
		msgpack_pack_array(pk, (size_t)count_children(sp, i));
		for (int c = nd->child; c >= 0; c = sp->nodes[c].next)
			pack_node(pk, sp, c);
		return;
	case SK_RECORD:
		msgpack_pack_map(pk, 3);
		mp_pack_key(pk, "kind");
		mp_pack_cstr(pk, "record");
		mp_pack_key(pk, "fields");
		msgpack_pack_array(pk, (size_t)count_children(sp, i));
		for (int c = nd->child; c >= 0; c = sp->nodes[c].next) {
			const struct shape_node *f = &sp->nodes[c];
			msgpack_pack_map(pk, 3);
			mp_pack_key(pk, "name");
			pack_strn(pk, f->text, f->len);
			mp_pack_key(pk, "optional");
			if (f->optional)
				msgpack_pack_true(pk);
			else
				msgpack_pack_false(pk);
			mp_pack_key(pk, "type");
			pack_node(pk, sp, f->child);
		}
		mp_pack_key(pk, "open");
		if (nd->open)
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
		return;
	case SK_FIELD:
		break;
	}
	msgpack_pack_nil(pk);
}

void
shape_pack(msgpack_packer *pk, const char *text)
{
	struct shape_parser sp;
	int root = parse_all(&sp, text ? text : "", NULL);
	if (root < 0)
		msgpack_pack_nil(pk);
	else
		pack_node(pk, &sp, root);
	free(sp.nodes);
}
