// workspace.svelte.ts — the tabs survive anything: every tab (title, SQL,
// cursor and selection, connection, file, unsaved flag), the active tab and
// the recently closed ones are kept in the broker (save_workspace) within a
// second of a change, and restored when the page starts. A failure to save
// is shown (and retried with the next change, or when the link is back).

import type { AppState } from './app.svelte';
import { QueryTab, type TabSnapshot } from './tab.svelte';

export const WORKSPACE_VERSION = 1;
const SAVE_DELAY_MS = 400; // after the last change; well within a second
const CLOSED_MAX = 20;

export interface WorkspaceDoc {
  version: number;
  active: string | null;
  tabs: TabSnapshot[];
  closed: TabSnapshot[];
}

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
      active: tabs[this.app.current]?.key ?? null,
      tabs: tabs.map((t) => t.snapshot()),
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
        const r = await this.app.rpc.call<{ saved_at: string }>('save_workspace', { workspace: this.doc() });
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
      const ws = await this.app.rpc.call<WorkspaceDoc | null>('get_workspace');
      if (ws && Array.isArray(ws.tabs) && this.app.tabs.length === 0) this.restore(ws);
    }
    this.ready = true;
  }

  restore(ws: WorkspaceDoc): void {
    const tabs = ws.tabs.filter((t) => t && typeof t === 'object').map((t) => QueryTab.from(this.app, t));
    this.app.tabs = tabs;
    const i = tabs.findIndex((t) => t.key === ws.active);
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
