// table.svelte.ts — one table data tab: a table's rows as open_table pages
// them (sorted and filtered by the server, the next page fetched after the
// last row read), and the edits made to them until they are applied with
// apply_edits (one transaction, each row guarded by the xmin it was read
// with) or discarded. The broker builds every statement; this only keeps
// what the user changed.

import type { AppState } from './app.svelte';
import type { Methods } from './protocol.gen';
import { RpcError } from './rpc';

export interface TColumn {
  name: string;
  data_type: string;
  type: string;
  nullable: boolean;
  key: boolean;
  editable: boolean;
  generated: boolean;
  identity: 'always' | 'by_default' | null;
  has_default: boolean;
}

export type Cell = null | boolean | number | string | Uint8Array;

export interface Conflict {
  reason: 'changed' | 'deleted';
  message: string;
  current: Cell[] | null;
  xmin: string | null;
}

/** A row as read (or added), with what the user did to it. */
export interface TRow {
  values: Cell[];
  key: Record<string, string> | null;
  xmin: string | null;
  changes: Record<number, Cell>; // column index → new value
  deleted: boolean;
  added: boolean;
  conflict: Conflict | null;
}

export type FilterOp = '=' | '!=' | '<' | '>' | '<=' | '>=' | 'contains' | 'starts_with' | 'is_null' | 'is_not_null' | 'in';
export const FILTER_OPS: { op: FilterOp; label: string }[] = [
  { op: '=', label: '=' }, { op: '!=', label: '≠' }, { op: '<', label: '<' }, { op: '>', label: '>' },
  { op: '<=', label: '≤' }, { op: '>=', label: '≥' }, { op: 'contains', label: 'contains' },
  { op: 'starts_with', label: 'starts with' }, { op: 'is_null', label: 'is null' },
  { op: 'is_not_null', label: 'is not null' }, { op: 'in', label: 'in list' },
];

export interface Filter {
  column: string;
  op: FilterOp;
  value: string;
}

export interface Statement {
  sql: string;
  params: (string | null)[];
}

const PAGE = 200;
let counter = 0;

/** What a client sends for the text a user typed into a cell of this type. */
export function parseInput(col: TColumn, text: string): Cell {
  const t = col.data_type;
  if (t === 'bool') {
    if (/^(t|true|yes|on|1)$/i.test(text)) return true;
    if (/^(f|false|no|off|0)$/i.test(text)) return false;
    throw new Error('a boolean is true or false');
  }
  if (t === 'int2' || t === 'int4' || t === 'int8' || t === 'oid') {
    if (!/^-?\d+$/.test(text.trim())) throw new Error('an integer: digits, with an optional minus');
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : text.trim(); // the server reads the exact text
  }
  if (t === 'float4' || t === 'float8') {
    const s = text.trim();
    if (/^(NaN|-?Infinity)$/.test(s)) return s;
    if (!/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error('a number, e.g. 1.5 or 2e-3');
    return Number(s);
  }
  if (t === 'numeric') {
    const s = text.trim();
    if (!/^(-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|NaN|-?Infinity)$/.test(s)) throw new Error('a number, e.g. 12.50');
    return s; // exact: numeric travels as text
  }
  if (t === 'json' || t === 'jsonb') {
    try {
      JSON.parse(text);
    } catch (e) {
      throw new Error('not JSON: ' + (e as Error).message);
    }
    return text;
  }
  if (t === 'bytea') {
    const s = text.trim();
    if (!/^\\x([0-9a-fA-F]{2})*$/.test(s)) throw new Error('bytes as hex: \\x0a1b…');
    const b = new Uint8Array((s.length - 2) / 2);
    for (let i = 0; i < b.length; i++) b[i] = parseInt(s.slice(2 + 2 * i, 4 + 2 * i), 16);
    return b;
  }
  return text;
}

/** A cell as editable text. */
export function cellInput(v: Cell): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Uint8Array) return '\\x' + [...v].map((x) => x.toString(16).padStart(2, '0')).join('');
  return String(v);
}

export class TableTab {
  id: string;
  kind = 'table' as const;
  app: AppState;
  connectionId = $state<string | null>(null);
  schema: string;
  table: string;
  columns = $state.raw<TColumn[]>([]);
  rows = $state.raw<TRow[]>([]);
  /** bumped whenever rows (or a row) change: the view re-reads them */
  version = $state(0);
  /** bumped when the rows are read from the start: the view scrolls to the top */
  resets = $state(0);
  next = $state.raw<(string | null)[] | null>(null);
  editable = $state(false);
  reason = $state<string | null>(null);
  keyColumns = $state.raw<string[]>([]);
  paging = $state<'keyset' | 'offset'>('keyset');
  orderBy = $state.raw<{ column: string; desc: boolean }[]>([]);
  filters = $state.raw<Filter[]>([]);
  loading = $state(false);
  applying = $state(false);
  error = $state.raw<RpcError | null>(null);
  status = $state<string | null>(null);
  preview = $state.raw<Statement[] | null>(null);
  lastSql = $state<string | null>(null);
  /** query tabs' compatibility: a table tab never runs a user's query */
  running = false;
  /** the first page was asked for (the view does it once) */
  started = false;
  private loadSeq = 0;

  constructor(app: AppState, connectionId: string, schema: string, table: string) {
    this.id = 'table-' + ++counter;
    this.app = app;
    this.connectionId = connectionId;
    this.schema = schema;
    this.table = table;
  }

  get title(): string {
    return (this.schema === 'public' ? '' : this.schema + '.') + this.table;
  }

  cancel(): void {}

  private touch(): void {
    this.version++;
  }

  private params(): Methods['open_table']['params'] {
    const p: Methods['open_table']['params'] = {
      connection_id: this.connectionId ?? '', schema: this.schema, table: this.table, limit: PAGE,
    };
    if (this.orderBy.length) p.order_by = this.orderBy;
    const f = this.filters.map((x) => {
      const col = this.columns.find((c) => c.name === x.column);
      if (x.op === 'is_null' || x.op === 'is_not_null') return { column: x.column, op: x.op };
      if (x.op === 'in') {
        const vals = x.value.split(',').map((s) => s.trim()).filter((s) => s !== '');
        return { column: x.column, op: x.op, value: vals };
      }
      if (col?.data_type === 'bool' && x.op === '=') return { column: x.column, op: x.op, value: parseInput(col, x.value) };
      return { column: x.column, op: x.op, value: x.value };
    });
    if (f.length) p.filter = f;
    return p;
  }

  get pending(): number {
    void this.version;
    let n = 0;
    for (const r of this.rows) {
      if (r.added) n += r.deleted ? 0 : 1;
      else if (r.deleted || Object.keys(r.changes).length) n++;
    }
    return n;
  }

  get conflicts(): TRow[] {
    void this.version;
    return this.rows.filter((r) => r.conflict);
  }

  /** The first page (again): pending edits are dropped. */
  async load(): Promise<void> {
    const seq = ++this.loadSeq;
    this.loading = true;
    this.error = null;
    try {
      const id = await this.app.ensureConnected(this.connectionId!);
      this.connectionId = id;
      const r = await this.app.rpc.call('open_table', this.params());
      if (seq !== this.loadSeq) return;
      this.take(r, false);
    } catch (e) {
      if (seq === this.loadSeq) this.error = e as RpcError;
    } finally {
      if (seq === this.loadSeq) this.loading = false;
    }
  }

  /** The next page, after the last row read. */
  async more(): Promise<void> {
    if (!this.next || this.loading) return;
    const seq = ++this.loadSeq;
    this.loading = true;
    try {
      const r = await this.app.rpc.call('open_table', { ...this.params(), after: this.next });
      if (seq !== this.loadSeq) return;
      this.take(r, true);
    } catch (e) {
      if (seq === this.loadSeq) this.error = e as RpcError;
    } finally {
      if (seq === this.loadSeq) this.loading = false;
    }
  }

  private take(r: any, append: boolean): void {
    this.columns = r.columns;
    this.editable = r.editable;
    this.reason = r.reason ?? null;
    this.keyColumns = r.key_columns;
    this.paging = r.paging;
    this.next = r.next ?? null;
    this.lastSql = r.sql;
    const rows: TRow[] = (r.rows as Cell[][]).map((values, i) => ({
      values, key: r.keys[i] ?? null, xmin: r.xmins[i] ?? null, changes: {}, deleted: false, added: false, conflict: null,
    }));
    if (append) {
      // keep added rows at the end
      const read = this.rows.filter((x) => !x.added);
      const added = this.rows.filter((x) => x.added);
      this.rows = [...read, ...rows, ...added];
    } else {
      this.rows = rows;
      this.resets++;
    }
    this.touch();
  }

  /** Sort by a column: ascending, descending, then not (shift adds a column). */
  sortBy(column: string, add: boolean): void {
    const cur = this.orderBy.find((o) => o.column === column);
    let next = add ? this.orderBy.filter((o) => o.column !== column) : [];
    if (!cur) next = [...next, { column, desc: false }];
    else if (!cur.desc) next = [...next, { column, desc: true }];
    this.orderBy = next;
    void this.reloadKeeping();
  }

  setFilters(f: Filter[]): void {
    this.filters = f;
    void this.reloadKeeping();
  }

  /** Reload for a new order or filter, asking first when edits are pending. */
  private async reloadKeeping(): Promise<void> {
    if (this.pending && !(await this.app.confirm('Discard changes', `${this.pending} pending change(s) are dropped when the rows are read again.`, 'Discard'))) return;
    await this.load();
  }

  value(r: TRow, c: number): Cell | undefined {
    return c in r.changes ? r.changes[c] : r.added ? undefined : r.values[c];
  }

  edit(r: TRow, c: number, v: Cell): void {
    const col = this.columns[c];
    if (!r.added && !col.editable) return;
    if (!r.added && sameCell(r.values[c], v)) delete r.changes[c];
    else r.changes[c] = v;
    this.status = null;
    this.touch();
  }

  /** Undo the change of one cell. */
  revert(r: TRow, c: number): void {
    delete r.changes[c];
    this.touch();
  }

  toggleDelete(r: TRow): void {
    if (r.added) this.rows = this.rows.filter((x) => x !== r);
    else r.deleted = !r.deleted;
    this.touch();
  }

  addRow(): TRow {
    const r: TRow = { values: this.columns.map(() => null), key: null, xmin: null, changes: {}, deleted: false, added: true, conflict: null };
    this.rows = [...this.rows, r];
    this.touch();
    return r;
  }

  discard(): void {
    this.rows = this.rows.filter((r) => !r.added);
    for (const r of this.rows) {
      r.changes = {};
      r.deleted = false;
      r.conflict = null;
    }
    this.status = null;
    this.preview = null;
    this.touch();
  }

  /** The edits for apply_edits, and the row each one is about. */
  edits(): { edits: Methods['apply_edits']['params']['edits']; rows: TRow[] } {
    const edits: Methods['apply_edits']['params']['edits'] = [];
    const rows: TRow[] = [];
    const values = (r: TRow) => Object.fromEntries(Object.entries(r.changes).map(([c, v]) => [this.columns[+c].name, v]));
    for (const r of this.rows) {
      if (r.added) {
        if (r.deleted) continue;
        edits.push({ op: 'insert', values: values(r) });
      } else if (r.deleted) {
        edits.push({ op: 'delete', key: r.key ?? undefined, xmin: r.xmin ?? undefined });
      } else if (Object.keys(r.changes).length) {
        edits.push({ op: 'update', key: r.key ?? undefined, xmin: r.xmin ?? undefined, values: values(r) });
      } else {
        continue;
      }
      rows.push(r);
    }
    return { edits, rows };
  }

  /** The statements Apply would run (nothing runs). */
  async showPreview(): Promise<void> {
    const { edits } = this.edits();
    if (!edits.length) return;
    this.error = null;
    try {
      const r = await this.app.rpc.call('apply_edits', {
        connection_id: this.connectionId ?? '', schema: this.schema, table: this.table, edits, dry_run: true,
      });
      this.preview = r.statements;
    } catch (e) {
      this.error = e as RpcError;
    }
  }

  /** Apply every pending edit in one transaction; on a conflict nothing is applied. */
  async apply(): Promise<void> {
    const { edits, rows } = this.edits();
    if (!edits.length || this.applying) return;
    this.applying = true;
    this.error = null;
    this.status = null;
    for (const r of this.rows) r.conflict = null;
    try {
      const r = await this.app.rpc.call('apply_edits', {
        connection_id: this.connectionId ?? '', schema: this.schema, table: this.table, edits,
      });
      if (r.conflicts.length === 0) {
        const n = r.applied;
        await this.load();
        this.status = `Applied ${n} change${n === 1 ? '' : 's'}`;
      } else {
        for (const c of r.conflicts) rows[c.index].conflict = { reason: c.reason, message: c.message, current: c.current as Cell[] | null, xmin: c.xmin };
        const n = r.conflicts.length;
        this.status = `Nothing applied: ${n} row${n === 1 ? '' : 's'} changed by another session since read`;
        this.touch();
      }
    } catch (e) {
      this.error = e as RpcError;
    } finally {
      this.applying = false;
    }
  }

  /** A conflict: take the row as it is now, dropping my change to it. */
  takeTheirs(r: TRow): void {
    const c = r.conflict;
    if (!c) return;
    if (c.current === null) {
      this.rows = this.rows.filter((x) => x !== r);
    } else {
      r.values = c.current;
      r.xmin = c.xmin;
      r.changes = {};
      r.deleted = false;
      r.conflict = null;
    }
    this.touch();
  }

  /** A conflict: keep my change, to be applied over the row as it is now. */
  keepMine(r: TRow): void {
    const c = r.conflict;
    if (!c || c.current === null) return;
    r.values = c.current;
    r.xmin = c.xmin;
    for (const k of Object.keys(r.changes)) if (sameCell(r.values[+k], r.changes[+k])) delete r.changes[+k];
    r.conflict = null;
    this.touch();
  }
}

function sameCell(a: Cell | undefined, b: Cell | undefined): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return a.length === b.length && a.every((x, i) => x === b[i]);
  return a === b;
}
