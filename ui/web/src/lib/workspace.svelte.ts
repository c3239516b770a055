// workspace.svelte.ts — the tabs survive anything: every tab (title, SQL,
// cursor and selection, connection, file, unsaved flag), the active tab and
// the recently closed ones are kept in the broker (save_workspace) within a
// second of a change, and restored when the page starts. A failure to save
// is shown (and retried with the next change, or when the link is back).

import type { AppState } from './app.svelte';
import { QueryTab, type TabSnapshot } from './tab.svelte';
import { TableTab } from './table.svelte';

/** A table tab is kept by what it shows (its unapplied edits are not). */
export interface TableSnapshot {
  kind: 'table';
  key: string;
  connection: string | null;
  schema: string;
  table: string;
}

/** A tab's key in the workspace. */
export function tabKey(t: QueryTab | TableTab): string {
  return t instanceof QueryTab ? t.key : `table:${t.connectionId}:${t.schema}.${t.table}`;
}

export const WORKSPACE_VERSION = 1;
const SAVE_DELAY_MS = 400; // after the last change; well within a second
const CLOSED_MAX = 20;

export type WorkspaceDoc = {
  version: number;
  active: string | null;
  tabs: (TabSnapshot | TableSnapshot)[];
  closed: TabSnapshot[];
};

export class Workspace {
  app: AppState;
  /** restored (or found empty): from now on changes are saved */
  ready = false;
  error = $state<string | null>(null);
  savedAt = $state<string | null>(null);
  closed = $state<TabSnapshot[]>([]);
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inflight: Promise<void> | null = null;
  private again = false;

  constructor(app: AppState) {
    this.app = app;
  }

  /** Something a workspace holds changed: save soon. */
  changed(): void {
    if (!this.ready) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.save();
    }, SAVE_DELAY_MS);
  }

  doc(): WorkspaceDoc {
    const tabs = this.app.tabs;
    return {
      version: WORKSPACE_VERSION,
      active: tabs[this.app.current] ? tabKey(tabs[this.app.current]) : null,
      tabs: tabs.map((t) => (t instanceof QueryTab ? t.snapshot()
        : { kind: 'table' as const, key: tabKey(t), connection: t.connectionId, schema: t.schema, table: t.table })),
      closed: this.closed.map((c) => ({ ...c })),
    };
  }

  /** Save now (one save at a time; a change meanwhile saves again after). */
  async save(): Promise<void> {
    if (!this.ready || !this.app.has('save_workspace')) return;
    if (this.inflight) {
      this.again = true;
      return this.inflight;
    }
    if (this.app.link !== 'open') {
      this.error = 'not saved yet: the broker is unreachable (saved when it is back)';
      this.again = true;
      return;
    }
    this.inflight = (async () => {
      try {
        const r = await this.app.rpc.call('save_workspace', { workspace: this.doc() });
        this.savedAt = r.saved_at;
        this.error = null;
      } catch (e) {
        const err = e as { message?: string; hint?: string | null };
        this.error = (err.message ?? String(e)) + (err.hint ? ` — ${err.hint}` : '');
      }
    })();
    await this.inflight;
    this.inflight = null;
    if (this.again) {
      this.again = false;
      this.changed();
    }
  }

  /** After (re)connecting: restore once, or push what this page holds. */
  async linked(): Promise<void> {
    if (this.ready) {
      if (this.error || this.again) {
        this.again = false;
        await this.save();
      }
      return;
    }
    if (this.app.has('get_workspace')) {
      const ws = await this.app.rpc.call('get_workspace');
      // the broker keeps the map as it was given; this page wrote it
      if (ws && Array.isArray(ws.tabs) && this.app.tabs.length === 0) this.restore(ws as unknown as WorkspaceDoc);
    }
    this.ready = true;
  }

  restore(ws: WorkspaceDoc): void {
    const tabs: (QueryTab | TableTab)[] = [];
    for (const t of ws.tabs) {
      if (!t || typeof t !== 'object') continue;
      if ('kind' in t && t.kind === 'table') {
        if (t.connection && typeof t.schema === 'string' && typeof t.table === 'string' && this.app.has('open_table'))
          tabs.push(new TableTab(this.app, t.connection, t.schema, t.table));
      } else {
        tabs.push(QueryTab.from(this.app, t as TabSnapshot));
      }
    }
    this.app.tabs = tabs;
    const i = tabs.findIndex((t) => tabKey(t) === ws.active);
    this.app.current = i >= 0 ? i : 0;
    this.closed = Array.isArray(ws.closed) ? ws.closed.slice(0, CLOSED_MAX) : [];
  }

  /** A tab with text not in a file was closed: keep it to reopen. */
  keepClosed(t: QueryTab): void {
    this.closed = [t.snapshot(), ...this.closed].slice(0, CLOSED_MAX);
  }

  /** The most recently closed tab (or the one at i), taken out of the list. */
  takeClosed(i = 0): TabSnapshot | null {
    const s = this.closed[i];
    if (!s) return null;
    this.closed = this.closed.filter((_, j) => j !== i);
    return s;
  }
}
