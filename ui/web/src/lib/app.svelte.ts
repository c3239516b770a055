// app.svelte.ts — the page's state: the link to the broker, connections,
// tabs, workers, preferences. The broker owns the truth; this is a view of
// it, refreshed from answers and `event` notifications. Nothing here is
// persisted by the page itself: preferences go through set_preference, the
// tabs through save_workspace (workspace.svelte.ts).
//
// Methods that arrive with later broker versions (storage, keychain) are
// used only when `describe` lists them: see `has()`.

import { RpcClient, RpcError, type LinkState, type Params, type Result } from './rpc';
import type { Config, ConfigInput, HostKey, Notifications, SavedQuery, WireWorker } from './protocol.gen';
import { QueryTab } from './tab.svelte';
import { SchemaStore } from './schema.svelte';
import { completeAt } from './complete';
import type { CompletionContext, CompletionResult } from '@codemirror/autocomplete';
import { Workspace } from './workspace.svelte';
import { announceReady, inShell, openFile, readFile, saveFile, statFiles } from './files';
import { TableTab } from './table.svelte';

export type Theme = 'light' | 'dark' | 'system';

export interface Prefs {
  theme: Theme;
  fontSize: number;
  rowCap: number;
}

export const PREF_KEYS = { theme: 'ui.theme', fontSize: 'ui.editor_font_size', rowCap: 'ui.row_cap' } as const;
export const DEFAULT_PREFS: Prefs = { theme: 'system', fontSize: 14, rowCap: 1_000_000 };

/** An open connection, as get_active_connections answers it. */
export type ActiveConn = Result<'get_active_connections'>[number];
/** A connection as the sidebar shows it: saved, open, or both. */
export type ConnState = 'disconnected' | ActiveConn['state'];

/** One entry of the sidebar. */
export interface ConnItem {
  id: string;
  name: string;
  detail: string;
  saved: Config | null;
  active: ActiveConn | null;
  state: ConnState;
  reason: string | null;
}

/** The secrets a connect may need, named as its parameters. */
export type SecretName = 'password' | 'ssh_password' | 'ssh_key_passphrase' | 'ssl_key_passphrase';
export type Secrets = Partial<Record<SecretName, string>>;

/** Which secret a Credential error's code names (docs/protocol.md "Errors");
 * null: none that a prompt can give (ssh_agent: the agent has no key the
 * server takes). A server error without a code is the database password's. */
export function secretOfError(code: string | null): SecretName | null {
  switch (code) {
    case 'ssh_password':
    case 'ssh_key_passphrase':
    case 'ssl_key_passphrase':
      return code;
    case 'ssh_agent':
      return null;
    default:
      return 'password';
  }
}

/** How the prompt names each secret. */
export const SECRET_TEXT: Record<SecretName, { title: string; label: string }> = {
  password: { title: 'Password needed', label: 'Password' },
  ssh_password: { title: 'SSH password needed', label: 'SSH password' },
  ssh_key_passphrase: { title: 'SSH key passphrase needed', label: 'SSH key passphrase' },
  ssl_key_passphrase: { title: 'Client key passphrase needed', label: 'Client key passphrase' },
};

interface SecretAsk {
  title: string;
  label: string;
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

interface HostKeyAsk {
  key: HostKey;
  resolve: (trust: boolean) => void;
}

/** What a connect is aimed at: a saved connection, or a config of its own. */
export type ConnectTarget = ({ id: string; config?: undefined } | { id?: undefined; config: ConfigInput }) &
  { session?: boolean; label?: string };

/** A saved config as connect's input (the answer's nils are the defaults). */
export function configInput(c: Config): ConfigInput {
  return {
    id: c.id, name: c.name, host: c.host ?? '', port: c.port, database: c.database ?? '', username: c.username ?? '',
    ssl_mode: (c.ssl_mode as ConfigInput['ssl_mode']) ?? null, ssl_ca_cert: c.ssl_ca_cert,
    ssl_client_cert: c.ssl_client_cert, ssl_client_key: c.ssl_client_key,
    ssh_tunnel: c.ssh_tunnel
      ? { host: c.ssh_tunnel.host, port: c.ssh_tunnel.port, username: c.ssh_tunnel.username,
          auth_method: { type: c.ssh_tunnel.auth_method.type, path: c.ssh_tunnel.auth_method.path ?? null } }
      : null,
    read_only: c.read_only, statement_timeout_ms: c.statement_timeout_ms,
  };
}

export class AppState {
  rpc: RpcClient;
  link = $state<LinkState>('connecting');
  linkWhy = $state('');
  methods = $state<Set<string>>(new Set());
  health = $state<Result<'health_check'> | null>(null);
  healthError = $state<string | null>(null);
  private announced = false; // the first complete view was announced (announceReady)
  appInfo = $state<Result<'get_app_info'> | null>(null);
  logDir = $state<string | null>(null);
  dbHealth = $state<Result<'check_database_health'> | null>(null);
  keychain = $state<boolean | null>(null);
  saved = $state<Config[]>([]);
  savedQueries = $state<SavedQuery[]>([]);
  active = $state<ActiveConn[]>([]);
  workers = $state<WireWorker[]>([]);
  workersOpen = $state(false);
  killResult = $state<string | null>(null);
  prefs = $state<Prefs>({ ...DEFAULT_PREFS });
  prefsSaved = $state(false);
  tabs = $state<(QueryTab | TableTab)[]>([]);
  current = $state(0);
  /** the sidebar's selected connection */
  selected = $state<string | null>(null);
  /** a message about connections for the sidebar (e.g. a delete's warning) */
  connNotice = $state<string | null>(null);
  secretAsk = $state<SecretAsk | null>(null);
  confirmAsk = $state<ConfirmAsk | null>(null);
  hostKeyAsk = $state<HostKeyAsk | null>(null);
  editing = $state<{ config: Config | null } | null>(null);
  prefsOpen = $state(false);
  copyAsk = $state<CopyAsk | null>(null);
  openTableAsk = $state(false);
  /** each open connection's schema (object tree, completion) */
  schemas = new Map<string, SchemaStore>();
  /** configs of open connections that are not saved (quick ones this page
   * opened, deleted saved ones), for Reconnect */
  quick = new Map<string, ConfigInput>();
  workspace: Workspace = new Workspace(this);
  /** does connect take new_session (a session per tab)? */
  sessions = $state(false);
  historyOpen = $state(false);
  /** a short message at the bottom (a closed tab, a saved file, a failure) */
  toast = $state<{ text: string; bad?: boolean } | null>(null);
  private toastTimer: ReturnType<typeof setTimeout> | null = null;
  private timers: ReturnType<typeof setInterval>[] = [];
  private retryMs = 500;

  constructor(url: string) {
    this.rpc = new RpcClient({ url });
    this.rpc.onState((s, why) => {
      this.link = s;
      this.linkWhy = why;
    });
    this.rpc.on('event', (ev) => this.onEvent(ev));
    this.rpc.on('schema_changed', (p) => this.schemas.get(p?.connection_id)?.changed(p.version));
  }

  /** A connection's schema store (made on first use; loads when asked). */
  schemaFor(id: string): SchemaStore {
    let s = this.schemas.get(id);
    if (!s) this.schemas.set(id, (s = new SchemaStore(this, id)));
    return s;
  }

  /** The editor's completion for a tab's connection. */
  complete(id: string | null, ctx: CompletionContext): CompletionResult | null {
    if (!id || !this.has('get_schema') || this.item(id)?.state !== 'connected') return null;
    const store = this.schemaFor(id);
    const ix = store.completion();
    if (!ix) {
      if (!store.loading) store.load().catch(() => {});
      return null;
    }
    return completeAt(ix, ctx.state.doc.toString(), ctx.pos, ctx.explicit);
  }

  /** A new tab on a connection with this SQL; run it at once when run. */
  openSqlTab(id: string, sql: string, run: boolean): QueryTab {
    const t = this.newTab(id, sql);
    t.dirty = false; // made from the schema: nothing to lose
    if (run) t.run(sql, 0).catch(() => {});
    return t;
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
    this.timers.push(setInterval(() => this.checkFiles(), 2000));
    // a closing page writes what it has at once (the debounce may be pending)
    window.addEventListener('pagehide', () => void this.workspace.save());
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
      this.methods = new Set(d.methods.map((m) => m.name));
      const connect = d.methods.find((m) => m.name === 'connect');
      this.sessions = !!connect?.params.some((p) => p.name === 'new_session');
      await Promise.all([this.loadPrefs(), this.refreshHealth(), this.loadInfo(), this.refreshConnections(),
        this.refreshSaved()]);
      if (this.has('subscribe')) await this.rpc.call('subscribe', { topics: ['workers', 'connections', 'queries'] });
      if (this.workersOpen) await this.refreshWorkers();
      try {
        await this.workspace.linked();
      } catch (e) {
        this.workspace.error = 'the tabs could not be restored: ' + (e as Error).message;
        this.workspace.ready = true;
      }
      if (this.tabs.length === 0) this.newTab(this.items.find((i) => i.state === 'connected')?.id ?? null);
      if (!this.announced) {
        this.announced = true;
        announceReady();
      }
    } catch (e) {
      this.healthError = (e as Error).message;
    }
  }

  async loadInfo(): Promise<void> {
    this.appInfo = await this.rpc.call('get_app_info');
    this.logDir = await this.rpc.call('get_log_directory');
    if (this.has('check_keychain_available')) this.keychain = await this.rpc.call('check_keychain_available');
    if (this.has('check_database_health')) this.dbHealth = await this.rpc.call('check_database_health');
  }

  /** The storage notice after a repair or salvage of the local database. */
  get storageNotice(): NonNullable<Result<'get_app_info'>['storage_notice']> | null {
    return this.appInfo?.storage_notice ?? this.dbHealth?.notice ?? null;
  }

  /** The user has read the storage notice: the broker stops showing it. */
  async dismissStorageNotice(): Promise<void> {
    await this.rpc.call('dismiss_storage_notice');
    await this.loadInfo();
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
      this.has('list_connections') ? this.rpc.call('list_connections') : Promise.resolve([] as Config[]),
      this.rpc.call('get_active_connections'),
    ]);
    this.saved = saved ?? [];
    this.active = active ?? [];
  }

  async refreshSaved(): Promise<void> {
    if (!this.has('list_saved_queries')) return;
    this.savedQueries = (await this.rpc.call('list_saved_queries')) ?? [];
  }

  /** A saved query in a new tab, on its connection (else the current tab's). */
  openSaved(q: SavedQuery): void {
    const t = this.newTab(q.id ?? this.tabs[this.current]?.connectionId ?? null, q.sql, q.name);
    t.dirty = false;
  }

  async deleteSaved(q: SavedQuery): Promise<void> {
    await this.rpc.call('delete_saved_query', { saved_query_id: q.saved_query_id });
    await this.refreshSaved();
  }

  async refreshWorkers(): Promise<void> {
    if (!this.has('list_workers') || this.link !== 'open') return;
    try {
      const ws = await this.rpc.call('list_workers');
      // the live ones first, newest first; then the recently ended
      this.workers = ws.sort((a, b) => Number(a.state === 'dead') - Number(b.state === 'dead') || b.worker_id - a.worker_id);
    } catch {
      /* the next tick tries again */
    }
  }

  private healthSoon: ReturnType<typeof setTimeout> | null = null;

  private onEvent(ev: Notifications['event']): void {
    if (ev.topic !== 'queries' && !this.healthSoon)
      this.healthSoon = setTimeout(() => { this.healthSoon = null; this.refreshHealth(); }, 200);
    if (ev.topic === 'connections') {
      this.refreshConnections().catch(() => {});
      // a rename shows in the workers' connection names too
      if (ev.type === 'renamed' && this.workersOpen) this.refreshWorkers();
    } else if (ev.topic === 'workers') {
      const w = ev.worker;
      const i = this.workers.findIndex((x) => x.worker_id === w.worker_id);
      if (i >= 0) this.workers[i] = w;
      else this.workers = [w, ...this.workers];
    }
  }

  /** The sidebar: saved connections, then open ones that are not saved. A
   * saved connection shows its own session, else the first of its tabs'. */
  get items(): ConnItem[] {
    const out: ConnItem[] = [];
    const byId = new Map(this.active.map((a) => [a.connection_id, a]));
    for (const a of this.active)
      if (a.saved_id && a.saved_id !== a.connection_id && !byId.has(a.saved_id) && a.state === 'connected') byId.set(a.saved_id, a);
    const item = (id: string, saved: Config | null, a: ActiveConn | null): ConnItem => {
      const c = saved ?? a;
      const state: ConnState = a ? a.state : 'disconnected';
      const port = c?.port && c.port !== 5432 ? ':' + c.port : '';
      return {
        id, saved, active: a, state,
        name: saved?.name || a?.name || c?.host || id,
        detail: `${c?.username ?? ''}@${c?.host ?? ''}${port}/${c?.database ?? ''}`,
        reason: a?.lost_reason ?? null,
      };
    };
    for (const s of this.saved) if (s.id) out.push(item(s.id, s, byId.get(s.id) ?? null));
    for (const a of this.active)
      // open and not (or no longer) saved; a tab's own session is its tab's
      if (!this.saved.some((s) => s.id === a.connection_id) && (!a.saved_id || a.saved_id === a.connection_id))
        out.push(item(a.connection_id, null, a));
    return out;
  }

  item(id: string | null): ConnItem | null {
    return id ? this.items.find((i) => i.id === id) ?? null : null;
  }

  /** Ask for a secret in a dialog; null when cancelled. */
  askSecret(name: SecretName, message: string): Promise<string | null> {
    const t = SECRET_TEXT[name];
    return new Promise((resolve) => (this.secretAsk = { title: t.title, label: t.label, message, resolve }));
  }

  confirm(title: string, message: string, action: string): Promise<boolean> {
    return new Promise((resolve) => (this.confirmAsk = { title, message, action, resolve }));
  }

  /** The config a target names (for the prompts' wording). */
  private targetConfig(t: ConnectTarget): ConfigInput | Config | null {
    return t.config ?? this.saved.find((s) => s.id === t.id) ?? this.quick.get(t.id) ?? null;
  }

  /**
   * Can the user get past err? A Credential error names the secret that is
   * missing or refused (its code): ask for that one and keep it in secrets.
   * An unknown SSH host key: show its fingerprint and let the user trust it
   * (trust_host_key). true: try again. secrets null: host keys only (the
   * connection dialog's Test, whose fields hold the secrets).
   */
  async resolve(err: RpcError, cfg: ConfigInput | Config | null, secrets: Secrets | null): Promise<boolean> {
    if (err.kind === 'Credential') {
      if (!secrets) return false;
      const name = secretOfError(err.code);
      if (!name) return false;
      const ssh = cfg?.ssh_tunnel;
      const who = name === 'password' ? (cfg ? `${cfg.username}@${cfg.host}` : 'this connection')
        : name === 'ssl_key_passphrase' ? `the client key ${cfg?.ssl_client_key ?? ''}`.trim()
        : name === 'ssh_key_passphrase' ? `the SSH key ${ssh?.auth_method.path ?? ''}`.trim()
        : ssh ? `${ssh.username}@${ssh.host}` : 'the SSH server';
      const v = await this.askSecret(name, `${err.message}. ${SECRET_TEXT[name].label} for ${who}:`);
      if (v === null) return false;
      secrets[name] = v;
      return true;
    }
    const hk = err.host_key;
    if (hk && hk.status === 'unknown' && hk.connection_id && hk.fingerprint) {
      const ok = await new Promise<boolean>((resolve) => (this.hostKeyAsk = { key: hk, resolve }));
      if (!ok) return false;
      await this.rpc.call('trust_host_key', { connection_id: hk.connection_id, fingerprint: hk.fingerprint });
      return true;
    }
    return false;
  }

  /** Open a connection (saved or not), asking for each secret the broker
   * does not have and the server wants, and whether to trust a new SSH
   * host key. */
  async connect(target: ConnectTarget, given: Secrets = {}): Promise<string> {
    const secrets: Secrets = { ...given };
    for (let round = 0; ; round++) {
      try {
        const where: Params<'connect'> = target.config ? { config: target.config } : { id: target.id };
        if (target.session) {
          where.new_session = true;
          if (target.label) where.label = target.label.slice(0, 200);
        }
        const r = await this.rpc.call('connect', { ...where, ...secrets });
        if (target.config) this.quick.set(r.connection_id, { ...target.config, id: r.connection_id });
        await this.refreshConnections();
        return r.connection_id;
      } catch (e) {
        const err = e instanceof RpcError ? e : new RpcError({ kind: 'Internal', message: String(e) });
        if (round < 8 && (await this.resolve(err, this.targetConfig(target), secrets))) continue;
        throw err;
      }
    }
  }

  /** Make sure the connection is open (reconnecting a lost one). */
  async ensureConnected(id: string): Promise<string> {
    if (this.active.some((a) => a.connection_id === id && a.state === 'connected')) return id; // a tab's session too
    const it = this.item(id);
    if (it?.state === 'connected') return id;
    if (it?.saved && this.has('list_connections')) return this.connect({ id });
    const cfg = this.quick.get(id);
    if (cfg) return this.connect({ config: cfg });
    if (it?.active) {
      const a = it.active;
      return this.connect({ config: { id: a.connection_id, name: a.name, host: a.host ?? '', port: a.port, database: a.database ?? '', username: a.username ?? '' } });
    }
    throw new RpcError({ kind: 'Validation', message: 'this tab has no connection', hint: 'choose one in the tab bar or the sidebar' });
  }

  /** Connect (when needed) and open a query tab on it: a double-click in the
   * sidebar. */
  async openInTab(id: string): Promise<void> {
    this.selected = id;
    const cid = await this.ensureConnected(id);
    const tab = this.tabs[this.current];
    if (tab instanceof QueryTab && !tab.connectionId && !tab.sql.trim() && !tab.running) {
      tab.connectionId = cid; // the empty tab the window opened with
    } else {
      this.newTab(cid);
    }
  }

  /** A connection of the sidebar was opened: an empty tab takes it. */
  adopt(id: string): void {
    const tab = this.tabs[this.current];
    if (tab && !tab.connectionId) tab.connectionId = id;
  }

  /**
   * The connection a tab runs on: its own session of a saved connection
   * (opened on first use, again after it was lost), else the connection.
   */
  async sessionFor(tab: QueryTab): Promise<string> {
    const id = tab.connectionId;
    if (!id) throw new RpcError({ kind: 'Validation', message: 'this tab has no connection', hint: 'choose one in the tab bar or the sidebar' });
    const it = this.item(id);
    if (!this.sessions || !it?.saved) return this.ensureConnected(id);
    const mine = tab.sessionId ? this.active.find((a) => a.connection_id === tab.sessionId) : undefined;
    if (mine?.state === 'connected') return mine.connection_id;
    if (tab.sessionId && mine) await this.rpc.call('disconnect', { connection_id: tab.sessionId }).catch(() => {});
    tab.sessionId = null;
    const sid = await this.connect({ id, session: true, label: tab.title });
    tab.sessionId = sid;
    return sid;
  }

  /** Close a tab's session (its connection changed, or it closed). */
  endSession(tab: QueryTab): void {
    const sid = tab.sessionId;
    tab.sessionId = null;
    if (sid) this.rpc.call('disconnect', { connection_id: sid }).then(() => this.refreshConnections()).catch(() => {});
  }

  /** Tell the broker a tab's session has a new title. */
  labelSession(tab: QueryTab): void {
    if (tab.sessionId && this.has('set_connection_label'))
      this.rpc.call('set_connection_label', { connection_id: tab.sessionId, label: tab.title.slice(0, 200) }).catch(() => {});
  }

  /** Disconnect a connection and, for a saved one, every tab's session of it. */
  async disconnect(id: string): Promise<void> {
    const ids = [id, ...this.active.filter((a) => a.saved_id === id && a.connection_id !== id).map((a) => a.connection_id)];
    for (const c of ids) {
      if (!this.active.some((a) => a.connection_id === c)) continue;
      await this.rpc.call('disconnect', { connection_id: c });
    }
    for (const t of this.tabs) if (t instanceof QueryTab && t.sessionId && ids.includes(t.sessionId)) t.sessionId = null;
    await this.refreshConnections();
  }

  /** Delete a saved connection; an open session of it goes on unsaved (the
   * broker's answer warns, and the sidebar shows the warning). */
  async deleteConnection(c: Config): Promise<void> {
    if (!c.id) return;
    const open = this.active.find((a) => a.connection_id === c.id && a.state !== 'closing');
    if (open) this.quick.set(c.id, configInput(c));
    const r = await this.rpc.call('delete_connection', { id: c.id });
    this.connNotice = r.warnings.length ? r.warnings.map((w) => w.message + (w.hint ? ` — ${w.hint}` : '')).join('\n') : null;
    await this.refreshConnections();
  }

  async killWorker(w: WireWorker): Promise<void> {
    const r = await this.rpc.call('kill_worker', { worker_id: w.worker_id });
    this.killResult = r.killed
      ? `Worker ${r.worker_id} (pid ${r.pid}) killed` +
        (r.backend_terminated ? `; server backend ${r.backend_pid ?? ''} ended` : r.backend_error ? `; backend not ended: ${r.backend_error}` : '') +
        (r.hint ? ` — ${r.hint}` : '')
      : `Worker ${w.worker_id} was not running`;
    await this.refreshWorkers();
  }

  /** A new query tab on connectionId; by default the connection in use:
   * the current tab's, else the one selected in the sidebar. */
  newTab(connectionId: string | null = this.tabs[this.current]?.connectionId ?? this.selected, sql = '',
    name: string | null = null): QueryTab {
    const t = new QueryTab(this, connectionId);
    t.initial = sql;
    t.name = name;
    if (sql) t.dirty = true;
    this.tabs.push(t);
    this.current = this.tabs.length - 1;
    this.workspace.changed();
    return t;
  }

  select(i: number): void {
    this.current = i;
    this.workspace.changed();
  }

  /** Close a tab; text that is in no file goes to "recently closed". */
  /** A table's data in a tab of its own (the one already open, if any). */
  openTable(connectionId: string, schema: string, table: string): TableTab {
    const i = this.tabs.findIndex((t) => t instanceof TableTab && t.connectionId === connectionId && t.schema === schema && t.table === table);
    if (i >= 0) {
      this.current = i;
      return this.tabs[i] as TableTab;
    }
    const t = new TableTab(this, connectionId, schema, table);
    this.tabs.push(t);
    this.current = this.tabs.length - 1;
    this.workspace.changed();
    return t;
  }

  /** Close a tab; one inside a transaction asks first, then rolls it back. */
  async closeTab(i: number): Promise<void> {
    const t = this.tabs[i];
    if (!t) return;
    if (t instanceof QueryTab && t.openTransaction) {
      const ok = await this.confirm('Close the tab?',
        `Its session is in ${t.tx === 'failed_transaction' ? 'a failed' : 'an open'} transaction. Closing the tab rolls it back: its changes are lost.`,
        'Roll back and close');
      if (!ok) return;
      if (t.running) await t.cancel();
      await t.endTransaction(false);
    }
    if (t.running) t.cancel();
    if (t instanceof QueryTab) {
      if (t.unsaved) {
        this.workspace.keepClosed(t);
        this.say(`Closed “${t.title}” — Ctrl+Shift+T reopens it`);
      }
      this.endSession(t);
      t.attach(null, null);
    }
    const k = this.tabs.indexOf(t);
    if (k < 0) return;
    this.tabs.splice(k, 1);
    if (this.current >= this.tabs.length) this.current = Math.max(0, this.tabs.length - 1);
    else if (this.current > k) this.current--;
    this.workspace.changed();
  }

  /** Reopen the most recently closed tab (or the one at i of the list). */
  reopenClosed(i = 0): void {
    const s = this.workspace.takeClosed(i);
    if (!s) return;
    const t = QueryTab.from(this, { ...s, key: s.key });
    this.tabs.push(t);
    this.current = this.tabs.length - 1;
    this.workspace.changed();
  }

  /** The tab's connection was changed by the user. */
  tabConnectionChanged(t: QueryTab): void {
    this.endSession(t);
    this.workspace.changed();
  }

  say(text: string, bad = false): void {
    this.toast = { text, bad };
    if (this.toastTimer) clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => (this.toast = null), bad ? 12000 : 6000);
  }

  /** Open a .sql file: into the current tab when it is empty, else a new one. */
  async openFileTab(): Promise<void> {
    try {
      const f = await openFile();
      if (!f) return;
      const cur = this.tabs[this.current];
      let t = cur instanceof QueryTab ? cur : undefined;
      if (!t || t.file || t.text().trim() !== '' || t.running) t = this.newTab(cur?.connectionId ?? null);
      t.file = { path: f.path, name: f.name, mtime: f.mtime };
      t.name = null;
      t.setText(f.text);
      t.dirty = false;
      t.diskChanged = null;
      this.labelSession(t);
      this.workspace.changed();
    } catch (e) {
      this.say('Cannot open the file: ' + (e as Error).message, true);
    }
  }

  /** Save a tab to its file (or, saveAs / no file yet, where the user says). */
  async saveTab(t: QueryTab | undefined, saveAs = false): Promise<void> {
    if (!t) return;
    const suggested = (t.name ?? t.title).replace(/[\/\\]/g, '_').replace(/\.sql$/i, '') + '.sql';
    try {
      const r = await saveFile(t.file, suggested, t.text(), saveAs || !t.file?.path && inShell());
      if (!r) return;
      t.file = r;
      t.dirty = false;
      t.diskChanged = null;
      this.labelSession(t);
      this.workspace.changed();
      this.say(r.path ? `Saved ${r.path}` : `Downloaded ${r.name}`);
    } catch (e) {
      this.say('Cannot save the file: ' + (e as Error).message, true);
    }
  }

  /** Read a tab's file again (it changed on disk). */
  async reloadTab(t: QueryTab): Promise<void> {
    if (!t.file?.path) return;
    try {
      const f = await readFile(t.file.path);
      t.setText(f.text);
      t.file = { path: f.path, name: f.name, mtime: f.mtime };
      t.dirty = false;
      t.diskChanged = null;
      this.workspace.changed();
    } catch (e) {
      this.say('Cannot read the file: ' + (e as Error).message, true);
    }
  }

  /** Keep the tab's text; the file's change is noted as seen. */
  keepMine(t: QueryTab): void {
    if (t.file && t.diskChanged !== null && t.diskChanged >= 0) t.file = { ...t.file, mtime: t.diskChanged };
    t.diskChanged = null;
    t.dirty = true;
    this.workspace.changed();
  }

  private checking = false;

  /** Notice files changed (or removed) on disk under an open tab. */
  async checkFiles(): Promise<void> {
    if (this.checking || !inShell()) return;
    const tabs = this.tabs.filter((t): t is QueryTab => t instanceof QueryTab && !!t.file?.path);
    if (tabs.length === 0) return;
    this.checking = true;
    try {
      const st = await statFiles([...new Set(tabs.map((t) => t.file!.path!))]);
      const by = new Map(st.map((x) => [x.path, x]));
      for (const t of tabs) {
        const x = by.get(t.file!.path!);
        if (!x) continue;
        const now = x.exists ? x.mtime : -1;
        if (now !== null && now !== t.file!.mtime && t.diskChanged !== now) t.diskChanged = now;
      }
    } catch {
      /* the next tick tries again */
    } finally {
      this.checking = false;
    }
  }

  /** Is any tab inside a transaction (leaving the page would lose it)? */
  get openTransactions(): number {
    return this.tabs.filter((t) => t instanceof QueryTab && t.openTransaction).length;
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
    const int = (v: unknown, ok: (n: number) => boolean, def: number) =>
      typeof v === 'number' && Number.isInteger(v) && ok(v) ? v : def;
    this.prefs = {
      theme: theme === 'light' || theme === 'dark' || theme === 'system' ? theme : DEFAULT_PREFS.theme,
      fontSize: int(fontSize, (n) => n >= 8 && n <= 40, DEFAULT_PREFS.fontSize),
      rowCap: int(rowCap, (n) => n > 0, DEFAULT_PREFS.rowCap),
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
