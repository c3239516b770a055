/*
 * quote.c — quote_literal() as PostgreSQL has it (quote.h).
 */
#include "quote.h"

#include <string.h>

void
quote_literal(struct strbuf *sb, const char *s)
{
	if (s == NULL) {
		sb_adds(sb, "NULL");
		return;
	}
	if (strchr(s, '\\'))
		sb_addc(sb, 'E');
	sb_addc(sb, '\'');
	for (; *s; s++) {
		if (*s == '\'' || *s == '\\')
			sb_addc(sb, *s);
		sb_addc(sb, *s);
	}
	sb_addc(sb, '\'');
}
