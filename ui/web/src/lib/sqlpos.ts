// sqlpos.ts — from PostgreSQL's error position to the characters to mark.
//
// The server's `position` is a 1-based count of characters (code points)
// into the SQL it was sent; the editor counts UTF-16 units. The mark covers
// the token that starts there: a word, a quoted identifier or string, a
// number, or else one character.

/** UTF-16 offset of the code point at 1-based position pos in sql. */
export function codePointOffset(sql: string, pos: number): number {
  let cp = 1;
  let i = 0;
  while (i < sql.length && cp < pos) {
    const c = sql.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < sql.length ? 2 : 1;
    cp++;
  }
  return i;
}

/** [from, to) in sql (UTF-16) of the token at the server's position. */
export function errorRange(sql: string, pos: number): { from: number; to: number } {
  let from = Math.min(codePointOffset(sql, Math.max(1, pos)), sql.length);
  if (from >= sql.length) {
    // at the end (e.g. "syntax error at end of input"): mark the last character
    from = Math.max(0, sql.length - 1);
    return { from, to: sql.length };
  }
  const ch = sql[from];
  let to = from + 1;
  if (ch === "'" || ch === '"') {
    while (to < sql.length) {
      if (sql[to] === ch) {
        if (sql[to + 1] === ch) to += 2; // doubled quote
        else { to++; break; }
      } else to++;
    }
  } else if (/[\p{L}\p{N}_$]/u.test(ch)) {
    while (to < sql.length && /[\p{L}\p{N}_$]/u.test(sql[to])) to++;
  }
  return { from, to };
}
