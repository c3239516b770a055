// complete.ts — the editor's completion from the database's schema: after
// `schema.` that schema's tables, views and functions; after `alias.` or
// `table.` the columns of what the statement's FROM/JOIN names so; else the
// columns of the statement's tables, every table and view (qualified when
// its schema is not on the search path), the schemas and the functions.
// Names that need quotes are inserted quoted. Keywords come from lang-sql's
// own source beside this one. Pure: the editor and the tests call it alike.

import type { Completion, CompletionResult } from '@codemirror/autocomplete';
import { KEYWORDS, qualified, quoteIdent } from './quote';
import type { Relation, Schema, SchemaInfo } from './schema.svelte';

export interface CompletionIndex {
  searchPath: string[];
  schemas: Map<string, SchemaInfo>;
  /** the relations by name (exact), in search-path order */
  relations: Map<string, { schema: string; rel: Relation }[]>;
  /** what completes a bare word (tables, views, schemas, functions) */
  top: Completion[];
  /** each schema's members, for `schema.` */
  members: Map<string, Completion[]>;
}

const REL_TYPE: Record<string, string> = {
  table: 'class', partitioned_table: 'class', view: 'interface', materialized_view: 'interface',
  foreign_table: 'class',
};

/**
 * An option that matches the name as typed (no quotes), shows and inserts
 * it as SQL needs it (quoted, qualified).
 */
function named(name: string, sql: string, type: string, detail: string, boost = 0): Completion {
  return sql === name ? { label: name, type, detail, boost } :
    { label: name, displayLabel: sql, apply: sql, type, detail, boost };
}

/** Index a schema for completion (once per version). */
export function buildIndex(s: Schema): CompletionIndex {
  const path = s.search_path;
  const schemas = new Map(s.schemas.map((x) => [x.name, x]));
  const rank = (name: string) => {
    const i = path.indexOf(name);
    return i < 0 ? path.length : i;
  };
  const ordered = [...s.schemas].sort((a, b) => rank(a.name) - rank(b.name));
  const relations = new Map<string, { schema: string; rel: Relation }[]>();
  const top: Completion[] = [];
  const members = new Map<string, Completion[]>();
  const seen = new Set<string>(); // names an earlier schema on the path has
  for (const sc of ordered) {
    const onPath = path.includes(sc.name);
    const mine: Completion[] = [];
    for (const rel of sc.relations) {
      let list = relations.get(rel.name);
      if (!list) relations.set(rel.name, (list = []));
      list.push({ schema: sc.name, rel });
      const detail = rel.kind.replace('_', ' ') + (onPath ? '' : ' in ' + sc.name);
      top.push(named(rel.name, qualified(sc.name, rel.name, path, seen.has(rel.name)), REL_TYPE[rel.kind] ?? 'class',
        detail, onPath ? 2 : 0));
      mine.push(named(rel.name, quoteIdent(rel.name), REL_TYPE[rel.kind] ?? 'class', rel.kind.replace('_', ' ')));
      if (onPath) seen.add(rel.name);
    }
    for (const f of sc.functions) {
      if (f.kind === 'procedure') continue;
      const detail = `(${f.arguments}) → ${f.result ?? ''}`;
      const q = qualified(sc.name, f.name, path);
      top.push({ ...named(f.name, q, 'function', detail), apply: q + '(' });
      mine.push({ ...named(f.name, quoteIdent(f.name), 'function', detail), apply: quoteIdent(f.name) + '(' });
    }
    top.push(named(sc.name, quoteIdent(sc.name), 'namespace', 'schema', -1));
    members.set(sc.name, mine);
  }
  return { searchPath: path, schemas, relations, top, members };
}

/* --- reading the statement ------------------------------------------------ */

interface Token {
  text: string; // the identifier (unquoted, folded) or the character
  kind: 'ident' | 'word' | 'punct';
  quoted: boolean;
}

/** Tokens of SQL: identifiers (quoted or not), and single characters;
 * strings and comments are skipped. */
function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  const re = /\s+|--[^\n]*|\/\*[\s\S]*?(?:\*\/|$)|'(?:[^']|'')*'?|\$\$[\s\S]*?(?:\$\$|$)|"((?:[^"]|"")*)"?|([A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*)|(\d+(?:\.\d+)?)|([\s\S])/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(sql)) !== null) {
    if (m[1] !== undefined) out.push({ text: m[1].replace(/""/g, '"'), kind: 'ident', quoted: true });
    else if (m[2] !== undefined) {
      const low = m[2].toLowerCase();
      out.push({ text: low, kind: KEYWORDS.has(low) || CLAUSE.has(low) ? 'word' : 'ident', quoted: false });
    } else if (m[4] !== undefined) out.push({ text: m[4], kind: 'punct', quoted: false });
  }
  return out;
}

/** Words that end a table reference (besides reserved keywords). */
const CLAUSE = new Set(['set', 'using', 'returning', 'window', 'lateral', 'natural', 'inner', 'outer',
  'cross', 'full', 'left', 'right', 'join', 'on', 'where', 'group', 'order', 'limit', 'offset', 'having',
  'union', 'except', 'intersect', 'for', 'values', 'select', 'tablesample', 'only']);

export interface TableRef {
  schema: string | null;
  name: string;
  alias: string | null;
}

/** The tables a statement's FROM, JOIN, UPDATE and INTO name, with aliases. */
export function tableRefs(sql: string): TableRef[] {
  const t = tokenize(sql);
  const refs: TableRef[] = [];
  for (let i = 0; i < t.length; i++) {
    const w = t[i].kind !== 'ident' || !t[i].quoted ? t[i].text : '';
    if (w !== 'from' && w !== 'join' && w !== 'update' && w !== 'into') continue;
    let j = i + 1;
    for (;;) {
      if (t[j]?.text === 'only' && !t[j].quoted) j++;
      if (t[j]?.kind !== 'ident') break;
      const parts = [t[j].text];
      j++;
      while (t[j]?.text === '.' && t[j + 1]?.kind === 'ident') {
        parts.push(t[j + 1].text);
        j += 2;
      }
      let alias: string | null = null;
      if (t[j]?.text === 'as' && !t[j].quoted) j++;
      if (t[j]?.kind === 'ident') alias = t[j++].text;
      refs.push({ schema: parts.length > 1 ? parts[parts.length - 2] : null, name: parts[parts.length - 1], alias });
      if (w === 'from' && t[j]?.text === ',') {
        j++;
        continue;
      }
      break;
    }
  }
  return refs;
}

/** The statement around pos: [start, end) between semicolons. */
function statementAt(doc: string, pos: number): [number, number] {
  const start = doc.lastIndexOf(';', pos - 1) + 1;
  const next = doc.indexOf(';', pos);
  return [start, next < 0 ? doc.length : next];
}

/** The relation a reference means: its schema, else along the search path. */
function resolve(ix: CompletionIndex, schema: string | null, name: string): Relation | null {
  const list = ix.relations.get(name);
  if (!list) return null;
  if (schema) return list.find((r) => r.schema === schema)?.rel ?? null;
  for (const p of ix.searchPath) {
    const hit = list.find((r) => r.schema === p);
    if (hit) return hit.rel;
  }
  return list[0].rel;
}

function columnOptions(rel: Relation, boost = 3): Completion[] {
  return rel.columns.map((c) => named(c.name, quoteIdent(c.name), 'property',
    c.type + (c.primary_key ? ' · key' : ''), boost));
}

/** A word begun with a quote matches the options as SQL writes them. */
function asTyped(word: string, options: Completion[]): Completion[] {
  if (!word.startsWith('"')) return options;
  return options.map((o) => (o.displayLabel ? { ...o, label: o.displayLabel, displayLabel: undefined } : o));
}

/** One identifier of a qualifier as written: unquoted folds to lower case. */
function unquote(s: string): string {
  return s.startsWith('"') ? s.slice(1, s.endsWith('"') && s.length > 1 ? -1 : undefined).replace(/""/g, '"') : s.toLowerCase();
}

const WORD_BEFORE = /((?:(?:"(?:[^"]|"")*"|[A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*)\.)*)("(?:[^"]|"")*|[A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*)?$/;

/** Completions at pos of doc (null: none from the schema). */
export function completeAt(ix: CompletionIndex, doc: string, pos: number, explicit: boolean): CompletionResult | null {
  const [start, end] = statementAt(doc, pos);
  const before = doc.slice(Math.max(start, pos - 500), pos);
  const m = WORD_BEFORE.exec(before);
  const chain = m?.[1] ?? '';
  const word = m?.[2] ?? '';
  const from = pos - word.length;
  const validFor = /^(?:"(?:[^"]|"")*|[\w$\u0080-\uffff]*)$/;
  if (chain) {
    const parts = chain.slice(0, -1).match(/"(?:[^"]|"")*"|[^.]+/g)!.map(unquote);
    const refs = tableRefs(doc.slice(start, end));
    if (parts.length === 1) {
      const q = parts[0];
      const byAlias = refs.find((r) => r.alias === q) ?? refs.find((r) => !r.alias && r.name === q);
      const rel = byAlias ? resolve(ix, byAlias.schema, byAlias.name) : null;
      if (rel) return { from, options: asTyped(word, columnOptions(rel)), validFor };
      const members = ix.members.get(q);
      if (members) return { from, options: asTyped(word, members), validFor };
      const any = resolve(ix, null, q);
      return any ? { from, options: asTyped(word, columnOptions(any)), validFor } : null;
    }
    const rel = resolve(ix, parts[parts.length - 2], parts[parts.length - 1]);
    return rel ? { from, options: asTyped(word, columnOptions(rel)), validFor } : null;
  }
  if (!word && !explicit) return null;
  const options: Completion[] = [];
  for (const r of tableRefs(doc.slice(start, end))) {
    const rel = resolve(ix, r.schema, r.name);
    if (rel) options.push(...columnOptions(rel, 4));
  }
  options.push(...ix.top);
  return { from, options: asTyped(word, options), validFor };
}
