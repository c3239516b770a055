// schema.svelte.ts — what a connection's database holds (get_schema), kept
// per connection for the object tree and the editor's completion, and
// read again when the broker says it changed (schema_changed: DDL ran
// through Tusk, from this page or any other client).

import type { AppState } from './app.svelte';
import { buildIndex, type CompletionIndex } from './complete';

export interface Column {
  name: string;
  type: string;
  nullable: boolean;
  default: string | null;
  primary_key: boolean;
  identity?: 'always' | 'by_default';
  generated?: string;
  comment?: string;
}

export type RelationKind = 'table' | 'partitioned_table' | 'view' | 'materialized_view' | 'foreign_table';

export interface Relation {
  name: string;
  kind: RelationKind;
  comment: string | null;
  estimated_rows: number | null;
  columns: Column[];
  parent?: { schema: string; name: string };
}

export interface Func {
  name: string;
  arguments: string;
  result: string | null;
  kind: 'function' | 'procedure' | 'aggregate' | 'window';
  identity_arguments: string;
  comment?: string;
}

export interface TypeInfo {
  name: string;
  kind: 'enum' | 'domain' | 'composite' | 'range';
  values?: string[];
  base_type?: string;
  comment?: string;
}

export interface SchemaInfo {
  name: string;
  owner: string | null;
  comment: string | null;
  relations: Relation[];
  functions: Func[];
  sequences: string[];
  types: TypeInfo[];
}

export interface Schema {
  version: number;
  fetched_at: string;
  schemas: SchemaInfo[];
  extensions: { name: string; version: string; schema: string }[];
  search_path: string[];
  database: string;
  user: string;
  server_version: number;
  system: boolean;
  warnings: string[];
}

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
      this.data = await this.app.rpc.call<Schema>('get_schema', { connection_id: this.connectionId, refresh });
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
