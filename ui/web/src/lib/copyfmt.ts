// copyfmt.ts — a range of the grid as text for the clipboard: TSV with a
// header row (what spreadsheets paste into cells: fields with a tab, a
// newline or a quote are quoted, quotes doubled), CSV (RFC 4180, NULL as an
// empty field and '' as ""), a Markdown table, or INSERT statements whose
// names are quoted as quote_ident would and values as quote_literal would.

import { valueText, type Column, type Value } from './rows';
import { quoteIdent } from './quote';

export { quoteIdent };

export type CopyFormat = 'tsv' | 'csv' | 'markdown' | 'sql';

/** A value as quote_literal writes it. */
export function quoteLiteral(s: string): string {
  const body = "'" + s.replace(/\\/g, '\\\\').replace(/'/g, "''") + "'";
  return s.includes('\\') ? 'E' + body : body;
}

const NUMERIC = /^(smallint|integer|bigint|oid|real|double precision|numeric(\(.*\))?)$/;

/** A value as an SQL literal for a column of this type. */
export function sqlValue(v: Value, type: string): string {
  if (v === null) return 'NULL';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0) ? valueText(v, Infinity, type) : quoteLiteral(String(Object.is(v, -0) ? '-0' : v));
  if (v instanceof Uint8Array) return quoteLiteral(valueText(v));
  if (NUMERIC.test(type) && /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(v)) return v;
  return quoteLiteral(v);
}

function tsvField(s: string): string {
  return /[\t\n\r"]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

function csvField(v: Value, type?: string): string {
  if (v === null) return '';
  const s = valueText(v, Infinity, type);
  return s === '' || /[,"\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

function mdField(s: string): string {
  return s.replace(/[\\|]/g, (m) => '\\' + m).replace(/\r?\n/g, '<br>');
}

/** rows (of the given columns) as text in format; table names the INSERTs' target. */
export function formatRows(format: CopyFormat, columns: Column[], rows: Value[][], table = 'exported'): string {
  // a value as the grid shows it (a real keeps its float4 digits)
  const text = (v: Value, i: number) => (v === null ? '' : valueText(v, Infinity, columns[i]?.data_type));
  switch (format) {
    case 'tsv':
      return [columns.map((c) => tsvField(c.name)).join('\t'),
        ...rows.map((r) => r.map((v, i) => tsvField(text(v, i))).join('\t'))].join('\n') + '\n';
    case 'csv':
      return [columns.map((c) => csvField(c.name)).join(','), ...rows.map((r) => r.map((v, i) => csvField(v, columns[i]?.data_type)).join(','))].join('\n') + '\n';
    case 'markdown': {
      const num = (c: Column) => NUMERIC.test(c.data_type);
      const line = (cells: string[]) => '| ' + cells.join(' | ') + ' |';
      return [line(columns.map((c) => mdField(c.name))), '|' + columns.map((c) => (num(c) ? ' ---: |' : ' --- |')).join(''),
        ...rows.map((r) => line(r.map((v, i) => (v === null ? 'NULL' : mdField(text(v, i))))))].join('\n') + '\n';
    }
    case 'sql': {
      const target = table.split('.').map(quoteIdent).join('.');
      const cols = columns.map((c) => quoteIdent(c.name)).join(', ');
      return rows.map((r) => `INSERT INTO ${target} (${cols}) VALUES (${r.map((v, i) => sqlValue(v, columns[i]?.data_type ?? '')).join(', ')});`)
        .join('\n') + (rows.length ? '\n' : '');
    }
  }
}
