/*
 * sqlmask.c — passwords out of SQL (see sqlmask.h): one pass of a small
 * lexer over the statement text, copying it to the result and replacing the
 * secrets it recognises.
 */
#include "sqlmask.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

struct mask {
	const char *p, *end;
	struct strbuf out;
	size_t n;
	bool pending; /* the last token was a *password word (or it and "=") */
	int depth;    /* dollar-quoted bodies around this text */
};

#define DOLLAR_DEPTH_MAX 8

static char *mask_run(const char *sql, size_t len, size_t *nmasked, int depth);

/* Can c start an SQL word? */
static bool
word_start(unsigned char c)
{
	return c >= 0x80 || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Can c continue an SQL word? */
static bool
word_char(unsigned char c)
{
	return word_start(c) || (c >= '0' && c <= '9') || c == '$';
}

/* Does the n bytes at w end in "password" (any case)? */
static bool
ends_password(const char *w, size_t n)
{
	return n >= 8 && strncasecmp(w + n - 8, "password", 8) == 0;
}

/* SQL whitespace. */
static bool
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/*
 * The value of a connection-string key at v (inside a literal's body that
 * ends at end): how far it goes. A quoted value ends at the next quote of
 * the same spelling ('' in a standard literal, \' in an E'' one, ' in a
 * dollar-quoted one); a bare one at a space, & or ;.
 */
static void
conn_value(const char *v, const char *end, const char **vs, const char **ve)
{
	static const char *const quotes[] = { "''", "\\'", "'" };
	for (size_t i = 0; i < nitems(quotes); i++) {
		size_t ql = strlen(quotes[i]);
		if ((size_t)(end - v) >= ql && memcmp(v, quotes[i], ql) == 0) {
			const char *s = v + ql, *q = s;
			while (q < end && !((size_t)(end - q) >= ql && memcmp(q, quotes[i], ql) == 0 &&
			    !(ql == 1 && q[-1] == '\\')))
				q++;
			*vs = s;
			*ve = q;
			return;
		}
	}
	const char *q = v;
	while (q < end && !is_space((unsigned char)*q) && *q != '&' && *q != ';' && *q != '\'')
		q++;
	*vs = v;
	*ve = q;
}

/* Copy a literal's body, masking key=value passwords and URI passwords. */
static void
mask_body(struct mask *m, const char *b, const char *end)
{
	const char *copied = b;
	for (const char *p = b; p < end; p++) {
		const char *vs = NULL, *ve = NULL;
		if ((size_t)(end - p) >= 8 && strncasecmp(p, "password", 8) == 0) {
			/* key=value, key = 'value', or SQL in the text
			 * (EXECUTE '... PASSWORD ''value''') */
			const char *q = p + 8;
			bool eq = false;
			while (q < end && is_space((unsigned char)*q))
				q++;
			if (q < end && *q == '=') {
				eq = true;
				q++;
				while (q < end && is_space((unsigned char)*q))
					q++;
			}
			if (q < end && (eq || *q == '\'' || *q == '\\'))
				conn_value(q, end, &vs, &ve);
			if (vs && !eq && vs == q)
				vs = NULL; /* a bare word after "password": not a value */
		} else if ((size_t)(end - p) >= 3 && memcmp(p, "://", 3) == 0) {
			/* scheme://user:password@host: the user info ends at @ before any / */
			const char *q = p + 3, *colon = NULL;
			while (q < end && *q != '@' && *q != '/' && *q != '?' && !is_space((unsigned char)*q) &&
			    *q != '\'') {
				if (*q == ':' && colon == NULL)
					colon = q;
				q++;
			}
			if (q < end && *q == '@' && colon) {
				vs = colon + 1;
				ve = q;
			}
		}
		if (vs == NULL || ve <= vs ||
		    ((size_t)(ve - vs) == strlen(SQLMASK_TEXT) &&
		    memcmp(vs, SQLMASK_TEXT, strlen(SQLMASK_TEXT)) == 0))
			continue;
		sb_add(&m->out, copied, (size_t)(vs - copied));
		sb_adds(&m->out, SQLMASK_TEXT);
		m->n++;
		copied = ve;
		p = ve - 1;
	}
	sb_add(&m->out, copied, (size_t)(end - copied));
}

/* A literal whose body is [b, be) and whose closing delimiter ends at after:
 * the opening (up to b) is copied already. */
static void
literal_emit(struct mask *m, const char *b, const char *be, const char *after, bool code)
{
	if (m->pending && be > b) {
		sb_adds(&m->out, SQLMASK_TEXT);
		m->n++;
	} else if (code && m->depth < DOLLAR_DEPTH_MAX) {
		/* a dollar-quoted body is often code (a function, a DO block):
		 * mask it as SQL, then as a literal's text */
		size_t n = 0;
		char *inner = mask_run(b, (size_t)(be - b), &n, m->depth + 1);
		m->n += n;
		mask_body(m, inner, inner + strlen(inner));
		free(inner);
	} else {
		mask_body(m, b, be);
	}
	sb_add(&m->out, be, (size_t)(after - be));
	m->pending = false;
	m->p = after;
}

/* A '…' literal at m->p (the quote); backslash escapes when esc (E''). */
static void
quoted_literal(struct mask *m, bool esc)
{
	const char *b = m->p + 1, *q = b;
	sb_addc(&m->out, '\'');
	while (q < m->end) {
		if (esc && *q == '\\' && q + 1 < m->end) {
			q += 2;
			continue;
		}
		if (*q == '\'') {
			if (q + 1 < m->end && q[1] == '\'') {
				q += 2;
				continue;
			}
			break;
		}
		q++;
	}
	literal_emit(m, b, q, q < m->end ? q + 1 : q, false);
}

/* A dollar quote's tag at p ($tag$ or $$): its length, 0 when it is none. */
static size_t
dollar_tag(const char *p, const char *end)
{
	const char *q = p + 1;
	if (q < end && *q != '$' && !word_start((unsigned char)*q))
		return 0; /* $1, a parameter */
	while (q < end && *q != '$') {
		if (!word_char((unsigned char)*q) || *q == '$')
			return 0;
		q++;
	}
	return q < end ? (size_t)(q - p + 1) : 0;
}

/* One pass over sql; depth counts the dollar-quoted bodies we are inside. */
static char *
mask_run(const char *sql, size_t len, size_t *nmasked, int depth)
{
	struct mask m = { .p = sql, .end = sql + len, .depth = depth };
	sb_init(&m.out);
	while (m.p < m.end) {
		const char *p = m.p;
		unsigned char c = (unsigned char)*p;
		if (is_space(c)) {
			sb_addc(&m.out, *p);
			m.p++;
		} else if (c == '-' && p + 1 < m.end && p[1] == '-') {
			const char *q = memchr(p, '\n', (size_t)(m.end - p));
			q = q ? q : m.end;
			sb_add(&m.out, p, (size_t)(q - p));
			m.p = q;
		} else if (c == '/' && p + 1 < m.end && p[1] == '*') {
			int nest = 0;
			const char *q = p;
			while (q < m.end) {
				if (q + 1 < m.end && q[0] == '/' && q[1] == '*') {
					nest++;
					q += 2;
				} else if (q + 1 < m.end && q[0] == '*' && q[1] == '/') {
					q += 2;
					if (--nest == 0)
						break;
				} else {
					q++;
				}
			}
			sb_add(&m.out, p, (size_t)(q - p));
			m.p = q;
		} else if (c == '"') {
			const char *q = p + 1;
			while (q < m.end && !(*q == '"' && !(q + 1 < m.end && q[1] == '"')))
				q += *q == '"' ? 2 : 1;
			const char *after = q < m.end ? q + 1 : q;
			sb_add(&m.out, p, (size_t)(after - p));
			m.pending = ends_password(p + 1, (size_t)(q - p - 1));
			m.p = after;
		} else if (c == '\'') {
			quoted_literal(&m, false);
		} else if (c == '$' && dollar_tag(p, m.end) > 0) {
			size_t tl = dollar_tag(p, m.end);
			const char *b = p + tl, *q = b;
			while (q < m.end && !((size_t)(m.end - q) >= tl && memcmp(q, p, tl) == 0))
				q++;
			sb_add(&m.out, p, tl);
			literal_emit(&m, b, q, q < m.end ? q + tl : q, true);
		} else if (word_start(c)) {
			const char *q = p;
			while (q < m.end && word_char((unsigned char)*q))
				q++;
			size_t wl = (size_t)(q - p);
			sb_add(&m.out, p, wl);
			m.p = q;
			if (q < m.end && *q == '\'' && wl == 1 && (c == 'e' || c == 'E')) {
				quoted_literal(&m, true);
			} else if (q < m.end && *q == '\'' && wl == 1 && strchr("bBxXnN", c)) {
				quoted_literal(&m, false);
			} else if (q + 1 < m.end && q[0] == '&' && q[1] == '\'' && wl == 1 && (c == 'u' || c == 'U')) {
				sb_addc(&m.out, '&');
				m.p = q + 1;
				quoted_literal(&m, false);
			} else {
				m.pending = ends_password(p, wl);
			}
		} else {
			sb_addc(&m.out, *p);
			m.p++;
			if (!(c == '=' && m.pending))
				m.pending = false;
		}
	}
	if (nmasked)
		*nmasked = m.n;
	return sb_detach(&m.out);
}

/* Copy sql, masking what sqlmask.h says. */
char *
sqlmask(const char *sql, size_t len, size_t *nmasked)
{
	return mask_run(sql, len, nmasked, 0);
}
