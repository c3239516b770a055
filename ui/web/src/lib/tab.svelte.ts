// tab.svelte.ts — one query tab: its connection, its SQL, its run.
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
  app: AppState;
  connectionId = $state<string | null>(null);
  sql = $state('');
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

  get title(): string {
    const it = this.app.item(this.connectionId);
    return `${it ? it.name : 'No connection'} · ${this.id}`;
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
      const cid = await this.app.ensureConnected(this.connectionId);
      this.connectionId = cid;
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

  /** Reopen this tab's lost connection. */
  async reconnect(): Promise<void> {
    if (!this.connectionId) return;
    try {
      await this.app.ensureConnected(this.connectionId);
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
