/*
 * render.c — how tuskctl shows values: JSON, text for tables and CSV,
 * aligned tables, and a generic printer for results that are maps or
 * arrays of maps.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "dtoa.h"
#include "msg.h"
#include "util.h"

/* JSON string with escapes. */
void
json_string(FILE *f, const char *s, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
	}
	fputc('"', f);
}

/* Shortest text that reads back as the same float4 or float8 (PostgreSQL's style). */
static void
fmt_float(char *buf, size_t len, const msgpack_object *o)
{
	char tmp[DTOA_BUFSIZE];
	if (o->type == MSGPACK_OBJECT_FLOAT32)
		dtoa_shortest_float((float)o->via.f64, tmp);
	else
		dtoa_shortest(o->via.f64, tmp);
	snprintf(buf, len, "%s", tmp);
}

/* bytea as PostgreSQL's hex text. */
static void
hex_bytes(struct strbuf *sb, const char *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	sb_adds(sb, "\\x");
	for (size_t i = 0; i < n; i++) {
		sb_addc(sb, hx[(unsigned char)p[i] >> 4]);
		sb_addc(sb, hx[(unsigned char)p[i] & 15]);
	}
}

/* A value as JSON. */
void
json_value(FILE *f, const msgpack_object *o)
{
	char buf[64];
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		fputs("null", f);
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		fputs(o->via.boolean ? "true" : "false", f);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		fprintf(f, "%llu", (unsigned long long)o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		fprintf(f, "%lld", (long long)o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		fmt_float(buf, sizeof buf, o);
		if (isnan(o->via.f64) || isinf(o->via.f64))
			json_string(f, buf, strlen(buf));
		else
			fputs(buf, f);
		break;
	case MSGPACK_OBJECT_STR:
		json_string(f, o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
	case MSGPACK_OBJECT_EXT: {
		struct strbuf sb;
		sb_init(&sb);
		if (o->type == MSGPACK_OBJECT_BIN)
			hex_bytes(&sb, o->via.bin.ptr, o->via.bin.size);
		else
			hex_bytes(&sb, o->via.ext.ptr, o->via.ext.size);
		json_string(f, sb.buf, sb.len);
		sb_free(&sb);
		break;
	}
	case MSGPACK_OBJECT_ARRAY:
		fputc('[', f);
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (i)
				fputc(',', f);
			json_value(f, &o->via.array.ptr[i]);
		}
		fputc(']', f);
		break;
	case MSGPACK_OBJECT_MAP:
		fputc('{', f);
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			const msgpack_object *k = &o->via.map.ptr[i].key;
			if (i)
				fputc(',', f);
			if (k->type == MSGPACK_OBJECT_STR) {
				json_string(f, k->via.str.ptr, k->via.str.size);
			} else {
				struct strbuf sb;
				sb_init(&sb);
				text_value(&sb, k, "null");
				json_string(f, sb.buf ? sb.buf : "", sb.len);
				sb_free(&sb);
			}
			fputc(':', f);
			json_value(f, &o->via.map.ptr[i].val);
		}
		fputc('}', f);
		break;
	}
}

/* A value as plain text. */
void
text_value(struct strbuf *sb, const msgpack_object *o, const char *null_text)
{
	char buf[64];
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		sb_adds(sb, null_text);
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		sb_adds(sb, o->via.boolean ? "t" : "f");
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		sb_addf(sb, "%llu", (unsigned long long)o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		sb_addf(sb, "%lld", (long long)o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		fmt_float(buf, sizeof buf, o);
		sb_adds(sb, buf);
		break;
	case MSGPACK_OBJECT_STR:
		sb_add(sb, o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
		hex_bytes(sb, o->via.bin.ptr, o->via.bin.size);
		break;
	case MSGPACK_OBJECT_EXT:
		hex_bytes(sb, o->via.ext.ptr, o->via.ext.size);
		break;
	case MSGPACK_OBJECT_ARRAY:
	case MSGPACK_OBJECT_MAP: {
		char *p = NULL;
		size_t n = 0;
		FILE *m = open_memstream(&p, &n);
		json_value(m, o);
		fclose(m);
		sb_add(sb, p, n);
		free(p);
		break;
	}
	}
}

/* A CSV field (RFC 4180 quoting when needed). */
void
csv_field(FILE *f, const char *s, size_t n)
{
	bool quote = n > 0 && (s[0] == ' ' || s[n - 1] == ' ');
	for (size_t i = 0; i < n && !quote; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
			quote = true;
	if (!quote) {
		fwrite(s, 1, n, f);
		return;
	}
	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			fputc('"', f);
		fputc(s[i], f);
	}
	fputc('"', f);
}

struct table {
	int ncols;
	char **headers;
	char ***rows;
	size_t nrows, cap;
};

/* A table with these headers and no rows. */
struct table *
table_new(const char *const *headers, int ncols)
{
	struct table *t = xcalloc(1, sizeof *t);
	t->ncols = ncols;
	t->headers = xcalloc((size_t)ncols, sizeof *t->headers);
	for (int i = 0; i < ncols; i++)
		t->headers[i] = xstrdup(headers[i]);
	return t;
}

/* Add a row; the table takes the cells. */
void
table_add(struct table *t, char **cells)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->rows = xrealloc(t->rows, t->cap * sizeof *t->rows);
	}
	t->rows[t->nrows++] = cells;
}

/* Display width of UTF-8 text (code points; good enough for tables). */
static size_t
utf8_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

/* Print with aligned columns, psql style. */
void
table_print(struct table *t, FILE *f)
{
	size_t *w = xcalloc((size_t)t->ncols, sizeof *w);
	for (int c = 0; c < t->ncols; c++) {
		w[c] = utf8_width(t->headers[c]);
		for (size_t r = 0; r < t->nrows; r++)
			w[c] = MAX(w[c], utf8_width(t->rows[r][c]));
	}
	for (int c = 0; c < t->ncols; c++)
		fprintf(f, "%s%s%*s", c ? " | " : " ", t->headers[c],
		    (int)(w[c] - utf8_width(t->headers[c])), "");
	fputc('\n', f);
	for (int c = 0; c < t->ncols; c++) {
		fputs(c ? "-+-" : "-", f);
		for (size_t i = 0; i < w[c]; i++)
			fputc('-', f);
	}
	fputs("-\n", f);
	for (size_t r = 0; r < t->nrows; r++) {
		for (int c = 0; c < t->ncols; c++) {
			const char *cell = t->rows[r][c];
			/* one line per row: newlines shown as \n */
			fputs(c ? " | " : " ", f);
			size_t cw = 0;
			for (const char *s = cell; *s; s++) {
				if (*s == '\n') {
					fputs("\\n", f);
					cw += 2;
				} else {
					fputc(*s, f);
					if (((unsigned char)*s & 0xc0) != 0x80)
						cw++;
				}
			}
			if (c < t->ncols - 1)
				for (size_t i = cw; i < w[c]; i++)
					fputc(' ', f);
		}
		fputc('\n', f);
	}
	free(w);
}

/* Free a table and its cells. */
void
table_free(struct table *t)
{
	if (t == NULL)
		return;
	for (size_t r = 0; r < t->nrows; r++) {
		for (int c = 0; c < t->ncols; c++)
			free(t->rows[r][c]);
		free(t->rows[r]);
	}
	for (int c = 0; c < t->ncols; c++)
		free(t->headers[c]);
	free(t->headers);
	free(t->rows);
	free(t);
}

/* Text of any value, as a new string. */
static char *
value_str(const msgpack_object *o)
{
	struct strbuf sb;
	sb_init(&sb);
	text_value(&sb, o, "");
	return sb_detach(&sb);
}

/* Generic result printer: JSON with --json, else readable text. */
void
print_object(const msgpack_object *o)
{
	if (ctl.json) {
		json_value(stdout, o);
		fputc('\n', stdout);
		return;
	}
	if (o->type == MSGPACK_OBJECT_MAP) {
		size_t kw = 0;
		for (uint32_t i = 0; i < o->via.map.size; i++)
			if (o->via.map.ptr[i].key.type == MSGPACK_OBJECT_STR)
				kw = MAX(kw, o->via.map.ptr[i].key.via.str.size);
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			struct strbuf k, v;
			sb_init(&k);
			sb_init(&v);
			text_value(&k, &o->via.map.ptr[i].key, "");
			text_value(&v, &o->via.map.ptr[i].val, "");
			printf("%-*s  %s\n", (int)kw, k.buf ? k.buf : "", v.buf ? v.buf : "");
			sb_free(&k);
			sb_free(&v);
		}
		return;
	}
	if (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size > 0 &&
	    o->via.array.ptr[0].type == MSGPACK_OBJECT_MAP) {
		const msgpack_object *first = &o->via.array.ptr[0];
		int n = (int)first->via.map.size;
		const char **hdr = xcalloc((size_t)MAX(n, 1), sizeof *hdr);
		char **hbuf = xcalloc((size_t)MAX(n, 1), sizeof *hbuf);
		for (int i = 0; i < n; i++) {
			hbuf[i] = value_str(&first->via.map.ptr[i].key);
			hdr[i] = hbuf[i];
		}
		struct table *t = table_new(hdr, n);
		for (uint32_t r = 0; r < o->via.array.size; r++) {
			const msgpack_object *row = &o->via.array.ptr[r];
			char **cells = xcalloc((size_t)MAX(n, 1), sizeof *cells);
			for (int c = 0; c < n; c++) {
				struct strbuf sb;
				sb_init(&sb);
				const msgpack_object *v = row->type == MSGPACK_OBJECT_MAP ?
				    mo_map_get(row, hdr[c]) : NULL;
				if (v)
					text_value(&sb, v, "");
				cells[c] = sb_detach(&sb);
			}
			table_add(t, cells);
		}
		table_print(t, stdout);
		table_free(t);
		for (int i = 0; i < n; i++)
			free(hbuf[i]);
		free(hbuf);
		free(hdr);
		return;
	}
	struct strbuf sb;
	sb_init(&sb);
	text_value(&sb, o, "");
	if (sb.len || o->type != MSGPACK_OBJECT_NIL)
		printf("%s\n", sb.buf ? sb.buf : "");
	sb_free(&sb);
}
