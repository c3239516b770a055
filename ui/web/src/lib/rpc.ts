// rpc.ts — the page's msgpack-RPC client over the gateway's WebSocket.
//
// The page sends one msgpack-RPC message per WebSocket message. The
// gateway sends the whole messages it has at hand together, up to ~1 MiB,
// each after its length as a msgpack uint32 (0xce + 4 bytes big endian):
// fewer, larger WebSocket messages cost Chromium less (docs/frontend.md).
// Requests are [0, id, method, [params]] (params: one map of named
// arguments, or none); responses [1, id, error, result] settle the call's
// promise; notifications [2, method, [params]] go to listeners. `query_rows` notifications take a
// fast path: their bytes are handed to the query's row sink undecoded
// (rows.ts keeps them as they are).
//
// Flow control: after processing a message the page credits the gateway
// with its size ("ack N" text messages, batched); the gateway stops reading
// the broker when too much is unacknowledged, so a busy page slows the
// query down instead of piling up memory (docs/frontend.md).

import { Decoder, Encoder } from '@msgpack/msgpack';
import { peekRows } from './mpcursor';
import type { HostKey, MethodName, Methods, NotificationName, Notifications, WireError } from './protocol.gen';

/** A method's parameters and result, as generated from `describe`. */
export type Params<M extends MethodName> = Methods[M]['params'];
export type Result<M extends MethodName> = Methods[M]['result'];
/** The params argument: optional when every parameter is. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export type ParamsArg<M extends MethodName> = {} extends Params<M> ? [params?: Params<M>] : [params: Params<M>];

/** What an RpcError is made from: the broker's error map, or the fields
 * the page sets itself when the broker cannot answer. */
export type ErrorInit = Pick<WireError, 'kind' | 'message'> & Partial<Omit<WireError, 'kind' | 'message'>>;

/** An error answered by the broker (or made up here when it is gone). */
export class RpcError extends Error {
  kind: string;
  detail: string | null;
  hint: string | null;
  position: number | null;
  code: string | null;
  elapsed_ms: number | null;
  reason: string | null;
  line: number | null; // import_file: the file's line the server named
  column: string | null;
  transaction: string | null; // the session's transaction state after a query's error
  host_key: HostKey | null;

  constructor(e: ErrorInit) {
    super(e.message);
    this.kind = e.kind;
    this.detail = e.detail ?? null;
    this.hint = e.hint ?? null;
    this.position = e.position ?? null;
    this.code = e.code ?? null;
    this.elapsed_ms = e.elapsed_ms ?? null;
    this.reason = e.reason ?? null;
    this.line = e.line ?? null;
    this.column = e.column ?? null;
    this.transaction = e.transaction ?? null;
    this.host_key = e.host_key ?? null;
  }
}

export type RowSink = (bytes: Uint8Array, offset: number, count: number) => void;
export type NotifyHandler<N extends NotificationName = NotificationName> = (params: Notifications[N]) => void;
export type LinkState = 'connecting' | 'open' | 'closed';

/** Anything with the WebSocket surface we use (tests pass a fake). */
export interface SocketLike {
  binaryType: string;
  readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code?: number; reason?: string } | undefined) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: ArrayBuffer | string }) => void) | null;
  send(data: Uint8Array | string): void;
  close(code?: number, reason?: string): void;
}

export interface RpcOptions {
  url: string;
  socket?: (url: string) => SocketLike;
  ackBytes?: number; // credit the gateway once this much is processed
  ackDelayMs?: number; // ... or after this long
}

interface Pending {
  method: string;
  resolve: (v: unknown) => void;
  reject: (e: RpcError) => void;
}

const encoder = new Encoder({ ignoreUndefined: true });
const decoder = new Decoder();

export class RpcClient {
  state: LinkState = 'closed';
  closeReason = '';
  private ws: SocketLike | null = null;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private listeners = new Map<string, Set<(params: unknown) => void>>();
  private sinks = new Map<string, RowSink>();
  private stateListeners = new Set<(s: LinkState, why: string) => void>();
  private unacked = 0;
  private ackTimer: ReturnType<typeof setTimeout> | null = null;
  private opts: Required<Omit<RpcOptions, 'socket'>> & Pick<RpcOptions, 'socket'>;

  constructor(opts: RpcOptions) {
    this.opts = { ackBytes: 1 << 20, ackDelayMs: 15, ...opts };
  }

  /** Open the channel; resolves once open, rejects if it closes first. */
  connect(): Promise<void> {
    const make = this.opts.socket ?? ((u: string) => new WebSocket(u) as unknown as SocketLike);
    const ws = make(this.opts.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.unacked = 0;
    this.setState('connecting', '');
    return new Promise((resolve, reject) => {
      ws.onopen = () => {
        this.setState('open', '');
        resolve();
      };
      ws.onmessage = (ev) => this.receive(ev.data);
      ws.onerror = () => {};
      ws.onclose = (ev) => {
        if (this.ws !== ws) return;
        const why = ev?.reason || (ev?.code ? 'closed (code ' + ev.code + ')' : 'closed');
        this.ws = null;
        this.failAll(why);
        this.setState('closed', why);
        reject(new RpcError({ kind: 'Connection', message: 'cannot reach the gateway: ' + why }));
      };
    });
  }

  close(): void {
    this.ws?.close(1000, 'bye');
  }

  onState(fn: (s: LinkState, why: string) => void): () => void {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  private setState(s: LinkState, why: string): void {
    this.state = s;
    this.closeReason = why;
    for (const fn of this.stateListeners) fn(s, why);
  }

  /** Call a method; params is the map of named arguments (its type and the
   * result's come from the broker's own description, protocol.gen.ts). */
  call<M extends MethodName>(method: M, ...args: ParamsArg<M>): Promise<Result<M>> {
    const ws = this.ws;
    if (!ws || this.state !== 'open')
      return Promise.reject(new RpcError({ kind: 'Connection', message: 'not connected to the broker',
        hint: 'the page reconnects by itself; try again in a moment' }));
    const id = this.nextId++;
    const params = args[0];
    const wire = params == null ? [] : [clean(params as Record<string, unknown>)];
    const bytes = encoder.encode([0, id, method, wire]);
    return new Promise<Result<M>>((resolve, reject) => {
      this.pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject });
      ws.send(bytes);
    });
  }

  /** Listen to a notification; returns the unsubscribe function. */
  on<N extends NotificationName>(method: N, fn: NotifyHandler<N>): () => void {
    let set = this.listeners.get(method);
    if (!set) this.listeners.set(method, (set = new Set()));
    const f = fn as (params: unknown) => void;
    set.add(f);
    return () => set.delete(f);
  }

  /** Route a query's row batches to sink (until removed). */
  sinkRows(queryId: string, sink: RowSink | null): void {
    if (sink) this.sinks.set(queryId, sink);
    else this.sinks.delete(queryId);
  }

  private receive(data: ArrayBuffer | string): void {
    if (typeof data === 'string') return; // the gateway sends binary only
    const all = new Uint8Array(data);
    const view = new DataView(data);
    try {
      for (let at = 0; at < all.length;) {
        if (all[at] !== 0xce || at + 5 > all.length) throw new TypeError('gateway frame: no length at byte ' + at);
        const n = view.getUint32(at + 1);
        if (n > all.length - at - 5) throw new TypeError('gateway frame: a message runs past its end');
        // one message's failure (a listener that throws) must not lose the
        // messages after it in the frame: reported, not propagated
        try {
          this.dispatch(all.subarray(at + 5, at + 5 + n));
        } catch (e) {
          setTimeout(() => {
            throw e;
          });
        }
        at += 5 + n;
      }
    } finally {
      this.credit(all.byteLength);
    }
  }

  private dispatch(buf: Uint8Array): void {
    const rows = peekRows(buf);
    if (rows) {
      this.sinks.get(rows.queryId)?.(buf, rows.offset, rows.count);
      return;
    }
    const m: unknown = decoder.decode(buf);
    if (!Array.isArray(m)) return;
    if (m[0] === 1 && m.length === 4 && typeof m[1] === 'number') {
      const p = this.pending.get(m[1]);
      if (!p) return;
      this.pending.delete(m[1]);
      if (m[2] != null) p.reject(new RpcError(m[2] as WireError));
      else p.resolve(m[3]);
    } else if (m[0] === 2 && m.length === 3 && typeof m[1] === 'string') {
      const set = this.listeners.get(m[1]);
      const params: unknown = Array.isArray(m[2]) ? m[2][0] : undefined;
      if (set && params != null) for (const fn of [...set]) fn(params);
    }
  }

  private credit(n: number): void {
    this.unacked += n;
    if (this.unacked >= this.opts.ackBytes) this.flushAck();
    else if (!this.ackTimer) this.ackTimer = setTimeout(() => this.flushAck(), this.opts.ackDelayMs);
  }

  private flushAck(): void {
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    if (this.unacked > 0 && this.ws && this.state === 'open') this.ws.send('ack ' + this.unacked);
    this.unacked = 0;
  }

  private failAll(why: string): void {
    const err: ErrorInit = { kind: 'Connection', message: 'lost the connection to the broker (' + why + ')',
      hint: 'the page reconnects by itself; run the query again once it has' };
    const ps = [...this.pending.values()];
    this.pending.clear();
    this.sinks.clear();
    for (const p of ps) p.reject(new RpcError(err));
  }

  /** Calls still waiting for an answer. */
  get inFlight(): number {
    return this.pending.size;
  }
}

/** Drop undefined fields (msgpack would send nil; absent is clearer). */
function clean(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}
