// schema.svelte.ts — what a connection's database holds (get_schema), kept
// per connection for the object tree and the editor's completion, and
// read again when the broker says it changed (schema_changed: DDL ran
// through Tusk, from this page or any other client).

import type { AppState } from './app.svelte';
import { buildIndex, type CompletionIndex } from './complete';

import type { Relation as WireRelation, Schema as WireSchema } from './protocol.gen';
import type { Result } from './rpc';

// the shapes are the broker's (generated from describe); these names are
// what the tree and completion call them
export type Relation = WireRelation;
export type Column = Relation['columns'][number];
export type RelationKind = Relation['kind'];
export type SchemaInfo = WireSchema;
export type Func = SchemaInfo['functions'][number];
export type TypeInfo = SchemaInfo['types'][number];
export type Schema = Result<'get_schema'>;

export class SchemaStore {
  app: AppState;
  connectionId: string;
  data = $state.raw<Schema | null>(null);
  loading = $state(false);
  error = $state<string | null>(null);
  private index: CompletionIndex | null = null;
  private indexOf: Schema | null = null;
  private again = false;

  constructor(app: AppState, connectionId: string) {
    this.app = app;
    this.connectionId = connectionId;
  }

  /** Read it (from the broker's cache unless refresh). */
  async load(refresh = false): Promise<void> {
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = true;
    try {
      this.data = await this.app.rpc.call('get_schema', { connection_id: this.connectionId, refresh });
      this.error = null;
    } catch (e) {
      this.error = (e as Error).message + ((e as any).hint ? ` — ${(e as any).hint}` : '');
    } finally {
      this.loading = false;
    }
    if (this.again) {
      this.again = false;
      await this.load();
    }
  }

  /** The broker says the schema has a new version. */
  changed(version: number): void {
    if (!this.data || this.data.version < version) this.load().catch(() => {});
  }

  /** The completion index of the current data (built once per version). */
  completion(): CompletionIndex | null {
    if (!this.data) return null;
    if (this.indexOf !== this.data) {
      this.index = buildIndex(this.data);
      this.indexOf = this.data;
    }
    return this.index;
  }
}
