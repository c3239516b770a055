// The page's RPC client, against a fake socket that plays the gateway.
import { describe, expect, it } from 'vitest';
import { decode, encode } from '@msgpack/msgpack';
import { RpcClient, RpcError, type SocketLike } from '../src/lib/rpc';

class FakeSocket implements SocketLike {
  binaryType = 'blob';
  readyState = 0;
  onopen: ((ev: any) => void) | null = null;
  onclose: ((ev: any) => void) | null = null;
  onerror: ((ev: any) => void) | null = null;
  onmessage: ((ev: { data: any }) => void) | null = null;
  sent: any[] = [];
  send(d: any) { this.sent.push(d); }
  close(code = 1000, reason = '') { this.onclose?.({ code, reason }); }
  open() { this.readyState = 1; this.onopen?.({}); }
  deliver(msg: unknown) {
    const b = encode(msg);
    this.onmessage?.({ data: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) });
  }
  requests() { return this.sent.filter((s) => typeof s !== 'string').map((s) => decode(s) as any[]); }
  acks() { return this.sent.filter((s) => typeof s === 'string'); }
}

function client(opts: Partial<{ ackBytes: number; ackDelayMs: number }> = {}) {
  let sock!: FakeSocket;
  const c = new RpcClient({ url: 'ws://x/rpc', socket: () => (sock = new FakeSocket()), ...opts });
  const ready = c.connect();
  sock.open();
  return { c, sock: () => sock, ready };
}

describe('RpcClient', () => {
  it('sends [0, id, method, [params]] and settles by msgid, in any order', async () => {
    const { c, sock, ready } = client();
    await ready;
    const a = c.call('health_check');
    const b = c.call('execute_query', { connection_id: 'c', sql: 'select 1', max_rows: undefined });
    const [ra, rb] = sock().requests();
    expect(ra).toEqual([0, 1, 'health_check', []]);
    expect(rb).toEqual([0, 2, 'execute_query', [{ connection_id: 'c', sql: 'select 1' }]]);
    sock().deliver([1, 2, null, { row_count: 1 }]);
    sock().deliver([1, 1, null, { status: 'ok' }]);
    expect(await a).toEqual({ status: 'ok' });
    expect(await b).toEqual({ row_count: 1 });
  });

  it('turns error maps into RpcError with every field', async () => {
    const { c, sock, ready } = client();
    await ready;
    const p = c.call('execute_query', { connection_id: 'c', sql: 'SELEC' });
    sock().deliver([1, 1, { kind: 'Database', message: 'syntax error', detail: null, hint: 'check it', position: 1, code: '42601', elapsed_ms: null }, null]);
    const e = await p.catch((x) => x);
    expect(e).toBeInstanceOf(RpcError);
    expect(e).toMatchObject({ kind: 'Database', message: 'syntax error', hint: 'check it', position: 1, code: '42601' });
  });

  it('passes notifications to listeners and rows to the query sink undecoded', async () => {
    const { c, sock, ready } = client();
    await ready;
    const events: any[] = [];
    const off = c.on('event', (p) => events.push(p));
    let got: { n: number; first: unknown } | null = null;
    c.sinkRows('q1', (bytes, offset, count) => (got = { n: count, first: decode(bytes.subarray(offset, offset + 2)) }));
    sock().deliver([2, 'event', [{ topic: 'workers', type: 'dead' }]]);
    sock().deliver([2, 'query_rows', [{ query_id: 'q1', rows: [[7], [8]] }]]);
    sock().deliver([2, 'query_rows', [{ query_id: 'other', rows: [[9]] }]]);
    expect(events).toEqual([{ topic: 'workers', type: 'dead' }]);
    expect(got).toEqual({ n: 2, first: [7] });
    off();
    sock().deliver([2, 'event', [{ topic: 'x' }]]);
    expect(events.length).toBe(1);
  });

  it('acknowledges processed bytes so the gateway keeps sending', async () => {
    const { c, sock, ready } = client({ ackBytes: 100, ackDelayMs: 5 });
    await ready;
    c.sinkRows('q', () => {});
    const big = encode([2, 'query_rows', [{ query_id: 'q', rows: [['x'.repeat(200)]] }]]);
    sock().deliver([2, 'query_rows', [{ query_id: 'q', rows: [['x'.repeat(200)]] }]]);
    expect(sock().acks()).toEqual(['ack ' + big.byteLength]);
    sock().deliver([1, 99, null, null]);
    expect(sock().acks().length).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(sock().acks()[1]).toMatch(/^ack \d+$/);
  });

  it('fails pending calls when the channel closes, and refuses new ones', async () => {
    const { c, sock, ready } = client();
    await ready;
    const states: string[] = [];
    c.onState((s) => states.push(s));
    const p = c.call('connect', { id: 'x' });
    sock().close(1001, 'the broker closed the connection');
    const e = await p.catch((x) => x);
    expect(e.kind).toBe('Connection');
    expect(e.message).toMatch(/the broker closed the connection/);
    expect(states).toEqual(['closed']);
    await expect(c.call('health_check')).rejects.toMatchObject({ kind: 'Connection' });
  });
});
