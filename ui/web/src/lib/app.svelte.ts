// app.svelte.ts — the page's state: the link to the broker, connections,
// tabs, workers, preferences. The broker owns the truth; this is a view of
// it, refreshed from answers and `event` notifications. Nothing here is
// persisted by the page itself (preferences go through set_preference).
//
// Methods that arrive with later broker versions (storage, keychain) are
// used only when `describe` lists them: see `has()`.

import { RpcClient, RpcError, type LinkState } from './rpc';
import type { ActiveConn, ConnConfig, ConnState, WorkerInfo } from './types';
import { QueryTab } from './tab.svelte';

export type Theme = 'light' | 'dark' | 'system';

export interface Prefs {
  theme: Theme;
  fontSize: number;
  rowCap: number;
}

export const PREF_KEYS = { theme: 'ui.theme', fontSize: 'ui.editor_font_size', rowCap: 'ui.row_cap' } as const;
export const DEFAULT_PREFS: Prefs = { theme: 'system', fontSize: 14, rowCap: 1_000_000 };

/** One entry of the sidebar. */
export interface ConnItem {
  id: string;
  name: string;
  detail: string;
  saved: ConnConfig | null;
  active: ActiveConn | null;
  state: ConnState;
  reason: string | null;
}

interface PasswordAsk {
  title: string;
  message: string;
  resolve: (pw: string | null) => void;
}

/** The Export… or Import… dialog's request. */
export type CopyAsk =
  | { mode: 'export'; connectionId: string; sql: string }
  | { mode: 'import'; connectionId: string | null; table: string };

interface ConfirmAsk {
  title: string;
  message: string;
  action: string;
  resolve: (ok: boolean) => void;
}

export class AppState {
  rpc: RpcClient;
  link = $state<LinkState>('connecting');
  linkWhy = $state('');
  methods = $state<Set<string>>(new Set());
  health = $state<any>(null);
  healthError = $state<string | null>(null);
  appInfo = $state<any>(null);
  logDir = $state<string | null>(null);
  dbHealth = $state<any>(null);
  keychain = $state<boolean | null>(null);
  saved = $state<ConnConfig[]>([]);
  active = $state<ActiveConn[]>([]);
  workers = $state<WorkerInfo[]>([]);
  workersOpen = $state(false);
  killResult = $state<string | null>(null);
  prefs = $state<Prefs>({ ...DEFAULT_PREFS });
  prefsSaved = $state(false);
  tabs = $state<QueryTab[]>([]);
  current = $state(0);
  passwordAsk = $state<PasswordAsk | null>(null);
  confirmAsk = $state<ConfirmAsk | null>(null);
  editing = $state<{ config: ConnConfig | null } | null>(null);
  prefsOpen = $state(false);
  copyAsk = $state<CopyAsk | null>(null);
  /** configs of quick connections this page opened (for Reconnect) */
  quick = new Map<string, ConnConfig>();
  private timers: ReturnType<typeof setInterval>[] = [];
  private retryMs = 500;

  constructor(url: string) {
    this.rpc = new RpcClient({ url });
    this.rpc.onState((s, why) => {
      this.link = s;
      this.linkWhy = why;
    });
    this.rpc.on('event', (ev) => this.onEvent(ev));
  }

  has(method: string): boolean {
    return this.methods.has(method);
  }

  /** Connect to the gateway, load everything, and keep reconnecting. */
  async start(): Promise<void> {
    this.applyTheme();
    window.matchMedia?.('(prefers-color-scheme: dark)').addEventListener?.('change', () => this.applyTheme());
    this.rpc.onState((s) => {
      if (s === 'closed') setTimeout(() => this.open(), this.retryMs);
    });
    // a tab inside a transaction: leaving the page asks first (the window
    // too: the shell closes through the page)
    window.addEventListener('beforeunload', (e) => {
      if (this.openTransactions > 0) {
        e.preventDefault();
        e.returnValue = '';
      }
    });
    await this.open();
    this.timers.push(setInterval(() => this.refreshHealth(), 5000));
    this.timers.push(setInterval(() => { if (this.workersOpen) this.refreshWorkers(); }, 2000));
  }

  private async open(): Promise<void> {
    try {
      await this.rpc.connect();
    } catch {
      this.retryMs = Math.min(this.retryMs * 2, 5000);
      return; // onState('closed') schedules the next try
    }
    this.retryMs = 500;
    try {
      const d = await this.rpc.call('describe');
      this.methods = new Set((d.methods ?? []).map((m: any) => m.name));
      await Promise.all([this.loadPrefs(), this.refreshHealth(), this.loadInfo(), this.refreshConnections()]);
      if (this.has('subscribe')) await this.rpc.call('subscribe', { topics: ['workers', 'connections', 'queries'] });
      if (this.workersOpen) await this.refreshWorkers();
      if (this.tabs.length === 0) this.newTab(this.items.find((i) => i.state === 'connected')?.id ?? null);
    } catch (e) {
      this.healthError = (e as Error).message;
    }
  }

  private async loadInfo(): Promise<void> {
    this.appInfo = await this.rpc.call('get_app_info');
    this.logDir = await this.rpc.call('get_log_directory');
    if (this.has('check_keychain_available')) this.keychain = await this.rpc.call('check_keychain_available');
    if (this.has('check_database_health')) this.dbHealth = await this.rpc.call('check_database_health');
  }

  async refreshHealth(): Promise<void> {
    if (this.link !== 'open') return;
    try {
      this.health = await this.rpc.call('health_check');
      this.healthError = null;
    } catch (e) {
      this.healthError = (e as Error).message;
    }
  }

  async refreshConnections(): Promise<void> {
    const [saved, active] = await Promise.all([
      this.has('list_connections') ? this.rpc.call<ConnConfig[]>('list_connections') : Promise.resolve([]),
      this.rpc.call<ActiveConn[]>('get_active_connections'),
    ]);
    this.saved = saved ?? [];
    this.active = active ?? [];
  }

  async refreshWorkers(): Promise<void> {
    if (!this.has('list_workers') || this.link !== 'open') return;
    try {
      const ws = await this.rpc.call<WorkerInfo[]>('list_workers');
      // the live ones first, newest first; then the recently ended
      this.workers = ws.sort((a, b) => Number(a.state === 'dead') - Number(b.state === 'dead') || b.worker_id - a.worker_id);
    } catch {
      /* the next tick tries again */
    }
  }

  private healthSoon: ReturnType<typeof setTimeout> | null = null;

  private onEvent(ev: any): void {
    if (!ev) return;
    if (ev.topic !== 'queries' && !this.healthSoon)
      this.healthSoon = setTimeout(() => { this.healthSoon = null; this.refreshHealth(); }, 200);
    if (ev.topic === 'connections') {
      this.refreshConnections().catch(() => {});
    } else if (ev.topic === 'workers' && ev.worker) {
      const w = ev.worker as WorkerInfo;
      const i = this.workers.findIndex((x) => x.worker_id === w.worker_id);
      if (i >= 0) this.workers[i] = w;
      else this.workers = [w, ...this.workers];
    }
  }

  /** The sidebar: saved connections, then quick ones that are open. */
  get items(): ConnItem[] {
    const out: ConnItem[] = [];
    const byId = new Map(this.active.map((a) => [a.connection_id, a]));
    const item = (id: string, saved: ConnConfig | null, a: ActiveConn | null): ConnItem => {
      const c = saved ?? a!;
      const state: ConnState = a ? a.state : 'disconnected';
      return {
        id, saved, active: a, state,
        name: (saved?.name ?? a?.name) || c.host,
        detail: `${c.username}@${c.host}${c.port && c.port !== 5432 ? ':' + c.port : ''}/${c.database}`,
        reason: a?.lost_reason ?? null,
      };
    };
    for (const s of this.saved) out.push(item(s.id!, s, byId.get(s.id!) ?? null));
    for (const a of this.active) if (!this.saved.some((s) => s.id === a.connection_id)) out.push(item(a.connection_id, null, a));
    return out;
  }

  item(id: string | null): ConnItem | null {
    return id ? this.items.find((i) => i.id === id) ?? null : null;
  }

  /** Ask for a password in a dialog; null when cancelled. */
  askPassword(title: string, message: string): Promise<string | null> {
    return new Promise((resolve) => (this.passwordAsk = { title, message, resolve }));
  }

  confirm(title: string, message: string, action: string): Promise<boolean> {
    return new Promise((resolve) => (this.confirmAsk = { title, message, action, resolve }));
  }

  /** Open a connection (saved or quick), asking for the password when the
   * server wants one that the broker does not have. */
  async connect(target: { id?: string; config?: ConnConfig }, password?: string): Promise<string> {
    const params: Record<string, unknown> = target.id && !target.config ? { id: target.id } : { config: target.config };
    if (password !== undefined) params.password = password;
    try {
      const r = await this.rpc.call<{ connection_id: string }>('connect', params);
      if (target.config) this.quick.set(r.connection_id, { ...target.config, id: r.connection_id });
      await this.refreshConnections();
      return r.connection_id;
    } catch (e) {
      const err = e as RpcError;
      if (err.kind === 'Credential' && password === undefined) {
        const c = target.config ?? this.saved.find((s) => s.id === target.id);
        const who = c ? `${c.username}@${c.host}` : 'this connection';
        const pw = await this.askPassword('Password needed', `${err.message}. Password for ${who}:`);
        if (pw === null) throw err;
        return this.connect(target, pw);
      }
      throw err;
    }
  }

  /** Make sure the connection is open (reconnecting a lost one). */
  async ensureConnected(id: string): Promise<string> {
    const it = this.item(id);
    if (it?.state === 'connected') return id;
    if (it?.saved && this.has('list_connections')) return this.connect({ id });
    const cfg = this.quick.get(id);
    if (cfg) return this.connect({ config: cfg });
    if (it?.active) {
      const a = it.active;
      return this.connect({ config: { id: a.connection_id, name: a.name, host: a.host, port: a.port, database: a.database, username: a.username } });
    }
    throw new RpcError({ kind: 'Validation', message: 'this tab has no connection', hint: 'choose one in the tab bar or the sidebar' });
  }

  async disconnect(id: string): Promise<void> {
    await this.rpc.call('disconnect', { connection_id: id });
    await this.refreshConnections();
  }

  async killWorker(w: WorkerInfo): Promise<void> {
    const r = await this.rpc.call('kill_worker', { worker_id: w.worker_id });
    this.killResult = r.killed
      ? `Worker ${r.worker_id} (pid ${r.pid}) killed` +
        (r.backend_terminated ? `; server backend ${r.backend_pid ?? ''} ended` : r.backend_error ? `; backend not ended: ${r.backend_error}` : '') +
        (r.hint ? ` — ${r.hint}` : '')
      : `Worker ${w.worker_id} was not running`;
    await this.refreshWorkers();
  }

  newTab(connectionId: string | null): void {
    const t = new QueryTab(this, connectionId);
    this.tabs.push(t);
    this.current = this.tabs.length - 1;
  }

  /** Close a tab; one inside a transaction asks first, then rolls it back. */
  async closeTab(i: number): Promise<void> {
    const t = this.tabs[i];
    if (t.openTransaction) {
      const ok = await this.confirm('Close the tab?',
        `Its session is in ${t.tx === 'failed_transaction' ? 'a failed' : 'an open'} transaction. Closing the tab rolls it back: its changes are lost.`,
        'Roll back and close');
      if (!ok) return;
      if (t.running) await t.cancel();
      await t.endTransaction(false);
    }
    if (t.running) t.cancel();
    const k = this.tabs.indexOf(t);
    if (k >= 0) this.tabs.splice(k, 1);
    if (this.current >= this.tabs.length) this.current = Math.max(0, this.tabs.length - 1);
  }

  /** Is any tab inside a transaction (leaving the page would lose it)? */
  get openTransactions(): number {
    return this.tabs.filter((t) => t.openTransaction).length;
  }

  /** Export… a statement's rows (the result's Export… button). */
  openExport(req: { connectionId: string; sql: string }): void {
    this.copyAsk = { mode: 'export', ...req };
  }

  /**
   * Import… a file into a table. The object tree's table nodes call this
   * with their table (written as in SQL: schema.name, quoted as needed) and
   * connection; the File menu calls it with the current tab's connection.
   */
  openImport(req: { connectionId?: string | null; table?: string } = {}): void {
    const conn = req.connectionId ?? this.tabs[this.current]?.connectionId ?? null;
    this.copyAsk = { mode: 'import', connectionId: conn, table: req.table ?? '' };
  }

  private async loadPrefs(): Promise<void> {
    if (!this.has('get_preference')) return;
    const [theme, fontSize, rowCap] = await Promise.all([
      this.rpc.call('get_preference', { key: PREF_KEYS.theme }),
      this.rpc.call('get_preference', { key: PREF_KEYS.fontSize }),
      this.rpc.call('get_preference', { key: PREF_KEYS.rowCap }),
    ]);
    this.prefs = {
      theme: theme === 'light' || theme === 'dark' || theme === 'system' ? theme : DEFAULT_PREFS.theme,
      fontSize: Number.isInteger(fontSize) && fontSize >= 8 && fontSize <= 40 ? fontSize : DEFAULT_PREFS.fontSize,
      rowCap: Number.isInteger(rowCap) && rowCap > 0 ? rowCap : DEFAULT_PREFS.rowCap,
    };
    this.prefsSaved = true;
    this.applyTheme();
  }

  /** Apply and store preferences (in the broker, when it can). */
  async savePrefs(p: Prefs): Promise<void> {
    this.prefs = { ...p };
    this.applyTheme();
    if (!this.has('set_preference')) {
      this.prefsSaved = false;
      return;
    }
    await this.rpc.call('set_preference', { key: PREF_KEYS.theme, value: p.theme });
    await this.rpc.call('set_preference', { key: PREF_KEYS.fontSize, value: p.fontSize });
    await this.rpc.call('set_preference', { key: PREF_KEYS.rowCap, value: p.rowCap });
    this.prefsSaved = true;
  }

  applyTheme(): void {
    const sys = window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
    const t = this.prefs.theme === 'system' ? sys : this.prefs.theme;
    document.documentElement.dataset.theme = t;
    document.documentElement.style.setProperty('--editor-font-size', this.prefs.fontSize + 'px');
  }

  get resolvedTheme(): 'light' | 'dark' {
    return document.documentElement.dataset.theme === 'dark' ? 'dark' : 'light';
  }
}

/** The gateway's WebSocket address for this page. */
export function rpcUrl(): string {
  return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/rpc';
}

export function uuid(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
