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
  /** One gateway frame holding msgs, each after its msgpack uint32 length. */
  deliverFrame(...msgs: unknown[]) {
    const parts = msgs.map((m) => encode(m));
    const out = new Uint8Array(parts.reduce((a, p) => a + 5 + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out[at] = 0xce;
      new DataView(out.buffer).setUint32(at + 1, p.length);
      out.set(p, at + 5);
      at += 5 + p.length;
    }
    this.onmessage?.({ data: out.buffer });
    return out.length;
  }
  deliver(msg: unknown) {
    return this.deliverFrame(msg);
  }
  deliverRaw(bytes: number[]) {
    this.onmessage?.({ data: new Uint8Array(bytes).buffer });
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

  it('takes every message of a gateway frame, in order, and refuses a bad frame', async () => {
    const { c, sock, ready } = client();
    await ready;
    const rows: number[] = [];
    c.sinkRows('q', (b, o, n) => rows.push(n));
    const events: unknown[] = [];
    c.on('event', (p) => events.push(p));
    const call = c.call('health_check');
    sock().deliverFrame([2, 'query_rows', [{ query_id: 'q', rows: [[1], [2]] }]], [2, 'event', [{ topic: 'a' }]],
      [2, 'query_rows', [{ query_id: 'q', rows: [[3]] }]], [1, 1, null, { status: 'ok' }]);
    expect(rows).toEqual([2, 1]);
    expect(events).toEqual([{ topic: 'a' }]);
    await expect(call).resolves.toEqual({ status: 'ok' });
    // no length first, or a length past the end: an error, nothing taken from it
    expect(() => sock().deliverRaw([0x93, 0x02, 0xa1, 0x78, 0x90])).toThrow(/no length/);
    expect(() => sock().deliverRaw([0xce, 0, 0, 0, 9, 0x90])).toThrow(/past its end/);
    expect(rows).toEqual([2, 1]);
  });

  it('acknowledges processed bytes so the gateway keeps sending', async () => {
    const { c, sock, ready } = client({ ackBytes: 100, ackDelayMs: 5 });
    await ready;
    c.sinkRows('q', () => {});
    const framed = sock().deliver([2, 'query_rows', [{ query_id: 'q', rows: [['x'.repeat(200)]] }]]);
    expect(sock().acks()).toEqual(['ack ' + framed]);
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
