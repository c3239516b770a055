// tab.svelte.ts — one query tab: its connection, its SQL, its run, its
// file, and its own session (its own worker) of a saved connection.
//
// The SQL lives in the editor (CodeMirror), not in a copy here: a tab reads
// it when it needs it (to run, to save, for the workspace), so typing in a
// several-MB file never turns the whole document into a string per key.
//
// A run is a script: its statements (sqlsplit.ts) go to the broker one at a
// time, as psql sends them, each giving a result of its own (rows or a
// command tag, its timing, its messages); the first that fails stops the
// script, is marked in the editor, and the results before it stay.
// Within a statement rows stream: `query_columns` starts a result set (a new
// RowStore), row batches go to the store undecoded, `query_notice` adds
// messages, the execute_query answer brings the totals or the error. The UI
// shows the first rows on the next frame, then reads the store's counts at
// most every SHOW_EVERY_MS while rows pour in: redrawing the grid and the
// counter on every frame cost the page as much CPU as receiving the rows
// (issue 16, docs/benchmarks.md), and nobody reads a counter at 60 Hz.
//
// The session's transaction state comes from the server with every answer
// (`transaction`, on errors too); with auto-commit off a script that starts
// outside a transaction opens one (BEGIN) that Commit or Rollback ends.
// EXPLAIN ANALYZE runs inside a transaction (or a savepoint) that is rolled
// back, so a statement that changes data changes nothing.

import type { AppState } from './app.svelte';
import { uuid } from './app.svelte';
import { RowStore } from './rows';
import { RpcError, type Result } from './rpc';
import { errorRange } from './sqlpos';
import { splitStatements } from './sqlsplit';
import { parsePlan, type Plan } from './explain';
import type { FileRef } from './files';

/** While rows stream in, the grid and the counter follow at most this often. */
const SHOW_EVERY_MS = 250;

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
  stmt?: number; // the statement (1-based) it came from
}

/** execute_query's answer: the totals of a run. */
export type Totals = Result<'execute_query'>;

export type TxState = 'idle' | 'in_transaction' | 'failed_transaction' | 'active' | 'unknown';

/** What one statement of a run gave. */
export interface ResultSet {
  index: number; // 0-based, in the run
  sql: string;
  from: number; // where it is in the editor
  to: number;
  store: RowStore | null;
  totals: Totals | null;
  error: RpcError | null;
  elapsedMs: number;
  firstRowMs: number | null;
  plan: Plan | null; // an EXPLAIN's
  planNote: string | null; // e.g. "rolled back"
  capped: boolean;
}

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
  /** the editor's selection (from <= to), for Run and Explain at the cursor */
  selection = $state<{ from: number; to: number }>({ from: 0, to: 0 });
  running = $state(false);
  queryId: string | null = null;
  startedAt = 0;
  elapsedMs = $state(0);
  firstRowMs = $state<number | null>(null); // from Run to the first row
  lastRowMs: number | null = null; // from Run to the whole result in the page (what make bench times)
  rowsReceived = $state(0);
  store = $state.raw<RowStore | null>(null); // the current statement's rows
  storeVersion = $state(0);
  totals = $state<Totals | null>(null); // the last statement's
  messages = $state<Message[]>([]);
  error = $state.raw<RpcError | null>(null);
  errorStmt = $state<number | null>(null); // which statement of the run failed (1-based)
  errorMark = $state<{ from: number; to: number } | null>(null);
  lost = $state<string | null>(null); // why the connection went away
  cancelling = $state(false);
  results = $state.raw<ResultSet[]>([]); // this run's, one per statement
  shown = $state(0); // the result shown below the editor
  runTotal = $state(0); // statements in the running script
  tx = $state<TxState>('idle');
  autocommit = $state(true);
  private showTimer: ReturnType<typeof setTimeout> | null = null;
  private shownAt = 0; // when flush last showed the store's counts
  private ticker: ReturnType<typeof setInterval> | null = null;
  private stopScript = false;

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
    this.selection = { from: Math.min(anchor, head), to: Math.max(anchor, head) };
    this.app.workspace.changed();
  }

  /** Text the user would lose by closing the tab. */
  get unsaved(): boolean {
    return this.dirty || (!this.file && this.text().trim() !== '');
  }

  /** Inside a transaction (so closing must ask first). */
  get openTransaction(): boolean {
    return this.tx === 'in_transaction' || this.tx === 'failed_transaction';
  }

  /** Forget the last run's results, messages and error. */
  private clearRun(): void {
    this.results = [];
    this.shown = 0;
    this.messages = [];
    this.error = null;
    this.errorStmt = null;
    this.errorMark = null;
    this.totals = null;
  }

  /** Run sql (one statement or a script); base is where it starts in the editor. */
  async run(sql: string, base = 0): Promise<void> {
    if (this.running || !sql.trim()) return;
    const stmts = splitStatements(sql);
    if (stmts.length === 0) return;
    this.clearRun();
    this.lost = null;
    this.stopScript = false;
    this.runTotal = stmts.length;
    this.running = true;
    try {
      if (!this.autocommit && this.tx === 'idle' && !/^\s*(begin|start\s+transaction)\b/i.test(stmts[0].text)) {
        // auto-commit off: the script runs in a transaction left open
        const r = await this.quiet('BEGIN');
        if (!r) return;
        this.messages.push({ kind: 'info', text: 'BEGIN (auto-commit is off: Commit or Rollback ends the transaction)' });
      }
      for (let k = 0; k < stmts.length && !this.stopScript; k++) {
        const s = stmts[k];
        const res = await this.runOne(s.text, base + s.from, k);
        if (res.error) break;
      }
    } finally {
      this.running = false;
      this.runTotal = 0;
    }
  }

  /** One statement: streamed into its own result. */
  private async runOne(sql: string, base: number, index: number, plan?: { analyze: boolean; note: string | null }): Promise<ResultSet> {
    const rpc = this.app.rpc;
    this.error = null;
    this.store = null;
    this.rowsReceived = 0;
    this.cancelling = false;
    this.startedAt = performance.now();
    this.elapsedMs = 0;
    this.firstRowMs = null;
    this.lastRowMs = null;
    this.ticker = setInterval(() => (this.elapsedMs = performance.now() - this.startedAt), SHOW_EVERY_MS);
    const qid = uuid();
    this.queryId = qid;
    const rs: ResultSet = { index, sql, from: base, to: base + sql.length, store: null, totals: null, error: null,
      elapsedMs: 0, firstRowMs: null, plan: null, planNote: null, capped: false };
    this.results = [...this.results, rs];
    this.shown = this.results.length - 1;
    let store: RowStore | null = null;
    let done = rs;
    const offCols = rpc.on('query_columns', (p) => {
      if (p.query_id !== qid) return;
      store = new RowStore(p.columns, this.app.prefs.rowCap);
      this.store = store;
      rs.store = store;
      this.storeVersion++;
    });
    const offNotice = rpc.on('query_notice', (p) => {
      if (p.query_id !== qid) return;
      this.messages.push({ kind: 'notice', severity: p.severity, text: p.message ?? '', detail: p.detail, hint: p.hint, code: p.code, stmt: index + 1 });
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
      rs.totals = res;
      if (res.transaction) this.tx = res.transaction as TxState;
      if (res.command_tag) this.messages.push({ kind: 'tag', text: res.command_tag, stmt: index + 1 });
      const kept = (store as RowStore | null)?.rowCount ?? 0;
      if (res.row_count > kept && store) {
        rs.capped = true;
        this.messages.push({ kind: 'info', stmt: index + 1, text: `Row cap reached: showing the first ${kept.toLocaleString('en-US')} of ${res.row_count.toLocaleString('en-US')} rows (more rows available; raise the row cap in Preferences).` });
      }
      if (plan && store) {
        const s = store as RowStore;
        const text = s.rowCount > 0 ? s.row(0)[0] : null;
        rs.plan = parsePlan(typeof text === 'string' ? text : '');
        rs.planNote = plan.note;
      }
    } catch (e) {
      const err = e instanceof RpcError ? e : new RpcError({ kind: 'Internal', message: String(e) });
      this.error = err;
      rs.error = err;
      if (err.transaction) this.tx = err.transaction as TxState;
      this.errorStmt = index + 1;
      if (err.kind === 'WorkerLost') this.lost = err.reason ?? err.message;
      if (err.position && err.position > 0) {
        const r = errorRange(sql, err.position);
        this.errorMark = { from: base + r.from, to: base + r.to };
      } else if (err.kind !== 'QueryCancelled') {
        this.errorMark = { from: base, to: base + sql.length }; // the statement that failed
      }
    } finally {
      offCols();
      offNotice();
      rpc.sinkRows(qid, null);
      if (this.ticker) clearInterval(this.ticker);
      this.ticker = null;
      this.lastRowMs = performance.now() - this.startedAt;
      this.elapsedMs = this.totals && rs.totals ? rs.totals.elapsed_ms : performance.now() - this.startedAt;
      rs.elapsedMs = this.elapsedMs;
      rs.firstRowMs = this.firstRowMs;
      this.flush();
      this.queryId = null;
      // a new object: what shows it sees the change
      done = { ...rs };
      const d = done;
      this.results = this.results.map((x) => (x === rs ? d : x));
    }
    return done;
  }

  /** A statement of Tusk's own (BEGIN, COMMIT, a savepoint): its answer
   * updates the transaction state; an error goes to the messages. */
  private async quiet(sql: string): Promise<boolean> {
    try {
      if (!this.connectionId) throw new RpcError({ kind: 'Validation', message: 'this tab has no connection', hint: 'choose a connection for the tab first' });
      const cid = await this.app.sessionFor(this);
      const res = await this.app.rpc.call('execute_query', { connection_id: cid, sql, max_rows: 0 });
      if (res.transaction) this.tx = res.transaction as TxState;
      return true;
    } catch (e) {
      const err = e instanceof RpcError ? e : new RpcError({ kind: 'Internal', message: String(e) });
      if (err.transaction) this.tx = err.transaction as TxState;
      this.error = err;
      this.messages.push({ kind: 'error', text: `${sql}: ${err.message}`, hint: err.hint, code: err.code });
      return false;
    }
  }

  /** Commit or roll back the session's transaction. */
  async endTransaction(commit: boolean): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const sql = commit ? 'COMMIT' : 'ROLLBACK';
      if (await this.quiet(sql)) this.messages.push({ kind: 'tag', text: sql });
    } finally {
      this.running = false;
    }
  }

  /**
   * EXPLAIN (FORMAT JSON[, ANALYZE, BUFFERS]) of one statement, shown as a
   * plan. With ANALYZE the statement runs, inside a transaction (or, in an
   * open one, a savepoint) that is rolled back afterwards.
   */
  async explain(stmt: string, base: number, analyze: boolean): Promise<void> {
    if (this.running || !stmt.trim()) return;
    if (analyze && this.tx === 'failed_transaction') {
      this.error = new RpcError({ kind: 'Validation', message: 'the transaction has failed', hint: 'roll it back first' });
      return;
    }
    this.clearRun();
    this.runTotal = 1;
    this.running = true;
    const inTx = this.tx === 'in_transaction';
    let wrapped = false;
    try {
      if (analyze) {
        wrapped = await this.quiet(inTx ? 'SAVEPOINT tusk_explain' : 'BEGIN');
        if (!wrapped) return;
      }
      const opts = analyze ? 'FORMAT JSON, ANALYZE, BUFFERS' : 'FORMAT JSON';
      const note = analyze ? (inTx ? 'ran in a savepoint, rolled back' : 'ran in a transaction, rolled back') : null;
      // the statement's own text starts after "EXPLAIN (...) ": marks shift by that much
      const head = `EXPLAIN (${opts}) `;
      const rs = await this.runOne(head + stmt, base - head.length, 0, { analyze, note });
      if (rs.error && rs.error.position && rs.error.position <= head.length) this.errorMark = null;
    } finally {
      if (wrapped) {
        const undo = inTx ? 'ROLLBACK TO SAVEPOINT tusk_explain' : 'ROLLBACK';
        if (await this.quiet(undo)) {
          this.messages.push({ kind: 'info', text: `${undo}: EXPLAIN ANALYZE changed nothing` });
          if (inTx) await this.quiet('RELEASE SAVEPOINT tusk_explain');
        }
      }
      this.running = false;
      this.runTotal = 0;
    }
  }

  /** Ask the broker to cancel the running statement (and stop the script). */
  async cancel(): Promise<void> {
    if (!this.running || !this.queryId || this.cancelling) return;
    this.cancelling = true;
    this.stopScript = true;
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
      this.tx = 'idle';
      this.messages.push({ kind: 'info', text: 'Reconnected.' });
    } catch (e) {
      this.messages.push({ kind: 'error', text: 'Reconnect failed: ' + (e as Error).message, hint: (e as RpcError).hint });
    }
  }

  private schedule(): void {
    if (this.showTimer) return;
    const wait = this.rowsReceived === 0 ? 0 : Math.max(0, this.shownAt + SHOW_EVERY_MS - performance.now());
    this.showTimer = setTimeout(() => {
      this.showTimer = null;
      this.flush();
    }, wait);
  }

  private flush(): void {
    if (this.showTimer) clearTimeout(this.showTimer);
    this.showTimer = null;
    this.shownAt = performance.now();
    this.rowsReceived = this.store?.received ?? 0;
    this.storeVersion++;
  }
}
