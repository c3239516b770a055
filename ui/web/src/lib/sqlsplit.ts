// sqlsplit.ts — a script into its statements, as psql splits it: at
// semicolons outside quotes ('…', E'…' with backslash escapes, "…"),
// dollar quotes ($$…$$, $tag$…$tag$), comments (-- and nested /* */) and
// BEGIN ATOMIC … END bodies. Offsets are the editor's (UTF-16), so a
// statement's error position can be marked where it is.

export interface Statement {
  from: number; // first character (comments and blanks before it left out)
  to: number; // just past the last character (the ';' left out)
  end: number; // just past the ';' (or the text's end)
  text: string;
}

const identStart = /[A-Za-z_\u0080-\uffff]/;
const identChar = /[A-Za-z0-9_$\u0080-\uffff]/;

/** The statements of sql, in order; empty ones (only blanks, comments or
 * a lone ';') are left out. */
export function splitStatements(sql: string): Statement[] {
  const out: Statement[] = [];
  const n = sql.length;
  let first = -1; // its first significant character
  let last = -1; // just past its last significant character
  let atomic = 0; // BEGIN ATOMIC nesting (CASE … END inside counts too)
  let prevWord = '';
  let i = 0;
  const mark = (from: number, to: number) => {
    if (first < 0) first = from;
    last = to;
  };
  const finish = (end: number) => {
    if (first >= 0) out.push({ from: first, to: last, end, text: sql.slice(first, last) });
    first = last = -1;
    atomic = 0;
    prevWord = '';
  };
  while (i < n) {
    const c = sql[i];
    const c2 = sql[i + 1];
    if (c === '-' && c2 === '-') {
      while (i < n && sql[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && c2 === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') { depth++; i += 2; }
        else if (sql[i] === '*' && sql[i + 1] === '/') { depth--; i += 2; }
        else i++;
      }
      continue;
    }
    if (c === "'" || ((c === 'E' || c === 'e') && c2 === "'" && !(i > 0 && identChar.test(sql[i - 1])))) {
      const from = i;
      const escapes = c !== "'";
      i += escapes ? 2 : 1;
      while (i < n) {
        if (escapes && sql[i] === '\\') { i += 2; continue; }
        if (sql[i] === "'") {
          if (sql[i + 1] === "'") { i += 2; continue; }
          i++;
          break;
        }
        i++;
      }
      mark(from, Math.min(i, n));
      prevWord = '';
      continue;
    }
    if (c === '"') {
      const from = i++;
      while (i < n) {
        if (sql[i] === '"') {
          if (sql[i + 1] === '"') { i += 2; continue; }
          i++;
          break;
        }
        i++;
      }
      mark(from, Math.min(i, n));
      prevWord = '';
      continue;
    }
    if (c === '$' && !(i > 0 && identChar.test(sql[i - 1]))) {
      // $tag$ … $tag$ ($ followed by a digit is a parameter)
      let j = i + 1;
      if (j < n && identStart.test(sql[j])) while (j < n && identChar.test(sql[j]) && sql[j] !== '$') j++;
      if (sql[j] === '$') {
        const tag = sql.slice(i, j + 1);
        const close = sql.indexOf(tag, j + 1);
        const from = i;
        i = close < 0 ? n : close + tag.length;
        mark(from, i);
        prevWord = '';
        continue;
      }
    }
    if (c === ';' && atomic === 0) {
      finish(i + 1);
      i++;
      continue;
    }
    if (identStart.test(c)) {
      const from = i;
      while (i < n && identChar.test(sql[i])) i++;
      const w = sql.slice(from, i).toLowerCase();
      if (w === 'atomic' && prevWord === 'begin') atomic++;
      else if (w === 'case' && atomic > 0) atomic++;
      else if (w === 'end' && atomic > 0) atomic--;
      prevWord = w;
      mark(from, i);
      continue;
    }
    if (!/\s/.test(c)) {
      mark(i, i + 1);
      prevWord = '';
    }
    i++;
  }
  finish(n);
  return out;
}

/** The statement the cursor is in: the one whose text (or its ';') holds
 * pos, else the last one before pos, else the first. null when none. */
export function statementAt(stmts: Statement[], pos: number): Statement | null {
  let before: Statement | null = null;
  for (const s of stmts) {
    if (pos >= s.from && pos <= s.end) return s;
    if (s.end <= pos) before = s;
  }
  return before ?? stmts[0] ?? null;
}

/** Does a statement change data or the schema (so EXPLAIN ANALYZE must
 * run it in a transaction that is rolled back)? Plain SELECT, VALUES,
 * TABLE and a WITH of only SELECTs read. */
export function statementWrites(text: string): boolean {
  const words = text
    .replace(/--[^\n]*|\/\*[\s\S]*?\*\/|'(?:[^']|'')*'|"(?:[^"]|"")*"|\$([A-Za-z_]\w*)?\$[\s\S]*?\$\1\$/g, ' ')
    .toLowerCase()
    .match(/[a-z_]+/g) ?? ([] as string[]);
  const head = words[0] ?? '';
  if (head === 'select' || head === 'values' || head === 'table') return words.includes('into') && head === 'select';
  if (head === 'with') return words.some((w) => w === 'insert' || w === 'update' || w === 'delete' || w === 'merge');
  return true;
}
