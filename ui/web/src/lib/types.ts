// types.ts — the shapes the broker answers (docs/protocol.md).

export type SslMode = 'disable' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

export interface SshTunnel {
  host: string;
  port?: number;
  username: string;
  auth_method: { type: 'password' | 'key_file' | 'agent'; path?: string | null };
  local_port?: number | null;
}

export interface ConnConfig {
  id?: string;
  name?: string;
  host: string;
  port?: number;
  database: string;
  username: string;
  ssl_mode?: SslMode;
  ssl_ca_cert?: string | null;
  ssl_client_cert?: string | null;
  ssl_client_key?: string | null;
  ssh_tunnel?: SshTunnel | null;
  read_only?: boolean;
  statement_timeout_ms?: number | null;
  created_at?: string;
  updated_at?: string;
}

export interface ActiveConn {
  connection_id: string;
  name: string;
  host: string;
  port: number;
  database: string;
  username: string;
  state: 'connecting' | 'connected' | 'lost';
  lost_reason?: string | null;
  server_version?: string | null;
  worker_pid?: number;
  tls?: boolean;
  read_only?: boolean;
  saved_id?: string | null; // the saved connection a session belongs to
  label?: string | null; // a tab's title
}

export interface HistoryEntry {
  history_id: number;
  sql: string;
  connection_name: string;
  id?: string; // the saved connection
  connection_id: string;
  database: string | null;
  started_at: string;
  elapsed_ms: number;
  row_count: number;
  status: 'ok' | 'error' | 'cancelled';
  error_code?: string;
  client: 'window' | 'tuskctl' | 'other';
}

export interface SavedQuery {
  saved_query_id: string;
  name: string;
  sql: string;
  description: string | null;
  id: string | null;
  folder: string | null;
  created_at: string;
  updated_at: string;
}

export interface WorkerInfo {
  worker_id: number;
  pid: number;
  role?: string;
  backend_pid?: number | null;
  connection_id?: string | null;
  connection_name?: string | null;
  state: string;
  query_id?: string | null;
  query_sql?: string | null;
  query_elapsed_ms?: number | null;
  rows_streamed?: number;
  bytes_streamed?: number;
  rss_bytes?: number | null;
  cpu_ms?: number | null;
  heartbeat_age_ms?: number | null;
  started_at?: string;
  died_at?: string | null;
  death_reason?: string | null;
  saved_id?: string | null;
  label?: string | null;
}

/** A connection as the sidebar shows it: saved, open, or both. */
export type ConnState = 'disconnected' | 'connecting' | 'connected' | 'lost';
