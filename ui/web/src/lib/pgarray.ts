// pgarray.ts — PostgreSQL's array text ({1,2,"a b",NULL}, {{1,2},{3,4}})
// into nested lists, for the cell viewer. Quoted elements keep what the
// backslashes escape; an unquoted NULL is null. Throws on malformed text.

export type PgArray = (string | null | PgArray)[];

export function parsePgArray(text: string): PgArray {
  let i = 0;
  const s = text.replace(/^\[[^\]]*\](\[[^\]]*\])*=/, ''); // "[0:1]={...}" bounds
  const fail = (why: string): never => { throw new SyntaxError(`array text: ${why} at ${i}`); };
  const parse = (): PgArray => {
    if (s[i] !== '{') fail('expected {');
    i++;
    const out: PgArray = [];
    if (s[i] === '}') { i++; return out; }
    for (;;) {
      while (s[i] === ' ') i++;
      if (s[i] === '{') out.push(parse());
      else if (s[i] === '"') {
        i++;
        let v = '';
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\') i++;
          v += s[i++] ?? '';
        }
        if (s[i] !== '"') fail('unterminated quote');
        i++;
        out.push(v);
      } else {
        let v = '';
        while (i < s.length && s[i] !== ',' && s[i] !== '}') {
          if (s[i] === '\\') i++;
          v += s[i++] ?? '';
        }
        v = v.trim();
        out.push(v.toUpperCase() === 'NULL' ? null : v);
      }
      while (s[i] === ' ') i++;
      if (s[i] === ',') { i++; continue; }
      if (s[i] === '}') { i++; return out; }
      fail('expected , or }');
    }
  };
  const r = parse();
  if (i !== s.length) fail('text after the array');
  return r;
}
