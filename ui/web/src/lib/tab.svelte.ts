// tab.svelte.ts — one query tab: its connection, its SQL, its run, its
// file, and its own session (its own worker) of a saved connection.
//
// The SQL lives in the editor (CodeMirror), not in a copy here: a tab reads
// it when it needs it (to run, to save, for the workspace), so typing in a
// several-MB file never turns the whole document into a string per key.
//
// A run streams: `query_columns` starts a result set (a new RowStore), row
// batches go to the store undecoded, `query_notice` adds messages, and the
// execute_query answer brings the totals or the error. The UI reads the
// store's counts at most once a frame while rows pour in.

import type { AppState } from './app.svelte';
import { uuid } from './app.svelte';
import { RowStore } from './rows';
import { RpcError, type Result } from './rpc';
import { errorRange } from './sqlpos';
import type { FileRef } from './files';

/** What the workspace keeps of a tab (save_workspace). */
export interface TabSnapshot {
  key: string;
  title?: string; // as shown (file name, saved query name, or "Query N")
  num?: number; // the N of "Query N"
  name: string | null; // a title of its own (a saved query's name)
  sql: string;
  cursor: [number, number]; // selection anchor and head
  connection: string | null; // the saved connection's id (or a quick connection's)
  file: FileRef | null;
  dirty: boolean;
}

export interface Message {
  kind: 'notice' | 'tag' | 'error' | 'info';
  text: string;
  detail?: string | null;
  hint?: string | null;
  code?: string | null;
  severity?: string | null;
}

/** execute_query's answer: the totals of a run. */
export type Totals = Result<'execute_query'>;

let counter = 0;

export class QueryTab {
  id = ++counter;
  /** the N of "Query N" (kept by the workspace) */
  num = this.id;
  key: string = uuid();
  app: AppState;
  connectionId = $state<string | null>(null);
  /** this tab's own session (connection_id) of a saved connection */
  sessionId = $state<string | null>(null);
  name = $state<string | null>(null);
  file = $state<FileRef | null>(null);
  dirty = $state(false);
  /** the file changed on disk (its new mtime; -1: it is gone) */
  diskChanged = $state<number | null>(null);
  cursor: [number, number] = [0, 0];
  /** the text the editor starts with (and holds while it is not mounted) */
  initial = '';
  private getText: (() => string) | null = null;
  private putText: ((t: string, cursor?: [number, number]) => void) | null = null;
  running = $state(false);
  queryId: string | null = null;
  startedAt = 0;
  elapsedMs = $state(0);
  firstRowMs = $state<number | null>(null); // from Run to the first row
  rowsReceived = $state(0);
  store = $state.raw<RowStore | null>(null);
  storeVersion = $state(0);
  totals = $state<Totals | null>(null);
  messages = $state<Message[]>([]);
  error = $state.raw<RpcError | null>(null);
  errorMark = $state<{ from: number; to: number } | null>(null);
  lost = $state<string | null>(null); // why the connection went away
  cancelling = $state(false);
  private frame = 0;
  private ticker: ReturnType<typeof setInterval> | null = null;

  constructor(app: AppState, connectionId: string | null) {
    this.app = app;
    this.connectionId = connectionId;
  }

  /** A tab as the workspace kept it. */
  static from(app: AppState, s: TabSnapshot): QueryTab {
    const t = new QueryTab(app, s.connection ?? null);
    if (typeof s.key === 'string' && s.key) t.key = s.key;
    if (Number.isInteger(s.num) && s.num! > 0) {
      t.num = s.num!;
      counter = Math.max(counter, t.num);
    }
    t.name = s.name ?? null;
    t.initial = typeof s.sql === 'string' ? s.sql : '';
    t.file = s.file && typeof s.file.name === 'string' ? { path: s.file.path ?? null, name: s.file.name, mtime: s.file.mtime ?? null } : null;
    t.dirty = !!s.dirty;
    if (Array.isArray(s.cursor) && s.cursor.length === 2) t.cursor = [Number(s.cursor[0]) || 0, Number(s.cursor[1]) || 0];
    return t;
  }

  snapshot(): TabSnapshot {
    return { key: this.key, title: this.title, num: this.num, name: this.name, sql: this.text(), cursor: [...this.cursor] as [number, number],
      connection: this.connectionId, file: this.file ? { ...this.file } : null, dirty: this.dirty };
  }

  /** The file's name, the saved query's, or "Query N". */
  get title(): string {
    return this.file?.name ?? this.name ?? `Query ${this.num}`;
  }

  /** The SQL (compatibility with callers that read a property). */
  get sql(): string {
    return this.text();
  }

  text(): string {
    return this.getText ? this.getText() : this.initial;
  }

  /** Replace the SQL (a file read, a reload); not an edit. */
  setText(t: string, cursor: [number, number] = [0, 0]): void {
    this.cursor = cursor;
    if (this.putText) this.putText(t, cursor);
    else this.initial = t;
  }

  /** The editor of this tab mounted (or, with nulls, went away). */
  attach(get: (() => string) | null, put: ((t: string, cursor?: [number, number]) => void) | null): void {
    if (!get && this.getText) this.initial = this.getText();
    this.getText = get;
    this.putText = put;
  }

  /** The user typed. */
  edited(): void {
    this.dirty = true;
    this.app.workspace.changed();
  }

  selected(anchor: number, head: number): void {
    this.cursor = [anchor, head];
    this.app.workspace.changed();
  }

  /** Text the user would lose by closing the tab. */
  get unsaved(): boolean {
    return this.dirty || (!this.file && this.text().trim() !== '');
  }

  /** Run sql; base is where it starts in the editor (for error marks). */
  async run(sql: string, base = 0): Promise<void> {
    if (this.running || !sql.trim()) return;
    const rpc = this.app.rpc;
    this.messages = [];
    this.error = null;
    this.errorMark = null;
    this.totals = null;
    this.lost = null;
    this.store = null;
    this.rowsReceived = 0;
    this.running = true;
    this.cancelling = false;
    this.startedAt = performance.now();
    this.elapsedMs = 0;
    this.firstRowMs = null;
    this.ticker = setInterval(() => (this.elapsedMs = performance.now() - this.startedAt), 100);
    const qid = uuid();
    this.queryId = qid;
    let store: RowStore | null = null;
    const offCols = rpc.on('query_columns', (p) => {
      if (p.query_id !== qid) return;
      store = new RowStore(p.columns, this.app.prefs.rowCap);
      this.store = store;
      this.storeVersion++;
    });
    const offNotice = rpc.on('query_notice', (p) => {
      if (p.query_id !== qid) return;
      this.messages.push({ kind: 'notice', severity: p.severity, text: p.message ?? '', detail: p.detail, hint: p.hint, code: p.code });
    });
    rpc.sinkRows(qid, (bytes, offset, count) => {
      if (this.firstRowMs === null) this.firstRowMs = performance.now() - this.startedAt;
      store?.add(bytes, offset, count);
      this.schedule();
    });
    try {
      if (!this.connectionId) throw new RpcError({ kind: 'Validation', message: 'this tab has no connection', hint: 'choose a connection for the tab first' });
      const cid = await this.app.sessionFor(this);
      const res = await rpc.call('execute_query', { connection_id: cid, sql, query_id: qid });
      this.totals = res;
      if (res.command_tag) this.messages.push({ kind: 'tag', text: res.command_tag });
      const kept = (store as RowStore | null)?.rowCount ?? 0;
      if (res.row_count > kept && store)
        this.messages.push({ kind: 'info', text: `Row cap reached: showing the first ${kept.toLocaleString('en-US')} of ${res.row_count.toLocaleString('en-US')} rows (more rows available; raise the row cap in Preferences).` });
    } catch (e) {
      const err = e instanceof RpcError ? e : new RpcError({ kind: 'Internal', message: String(e) });
      this.error = err;
      if (err.kind === 'WorkerLost') this.lost = err.reason ?? err.message;
      if (err.position && err.position > 0) {
        const r = errorRange(sql, err.position);
        this.errorMark = { from: base + r.from, to: base + r.to };
      }
    } finally {
      offCols();
      offNotice();
      rpc.sinkRows(qid, null);
      if (this.ticker) clearInterval(this.ticker);
      this.ticker = null;
      this.elapsedMs = this.totals?.elapsed_ms ?? performance.now() - this.startedAt;
      this.flush();
      this.running = false;
      this.queryId = null;
    }
  }

  /** Ask the broker to cancel the running query. */
  async cancel(): Promise<void> {
    if (!this.running || !this.queryId || this.cancelling) return;
    this.cancelling = true;
    try {
      await this.app.rpc.call('cancel_query', { query_id: this.queryId });
    } catch (e) {
      this.messages.push({ kind: 'error', text: 'Cancel failed: ' + (e as Error).message });
    }
  }

  /** Reopen this tab's lost connection (its session, when it has one). */
  async reconnect(): Promise<void> {
    if (!this.connectionId) return;
    try {
      await this.app.sessionFor(this);
      this.lost = null;
      this.messages.push({ kind: 'info', text: 'Reconnected.' });
    } catch (e) {
      this.messages.push({ kind: 'error', text: 'Reconnect failed: ' + (e as Error).message, hint: (e as RpcError).hint });
    }
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.flush();
    });
  }

  private flush(): void {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.rowsReceived = this.store?.received ?? 0;
    this.storeVersion++;
  }
}
