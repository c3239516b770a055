// The grid's row store: batches kept as bytes, rows decoded on demand.
import { describe, expect, it } from 'vitest';
import { encode } from '@msgpack/msgpack';
import { RowStore, rowTsv, valueText } from '../src/lib/rows';
import { MpCursor, peekRows } from '../src/lib/mpcursor';

/** A query_rows notification as the broker sends it. */
function batch(qid: string, rows: unknown[][]): Uint8Array {
  return encode([2, 'query_rows', [{ query_id: qid, rows }]]);
}

function add(store: RowStore, buf: Uint8Array) {
  const span = peekRows(buf)!;
  store.add(buf, span.offset, span.count);
}

const cols = [{ name: 'n', data_type: 'int8' }, { name: 's', data_type: 'text' }];

describe('peekRows', () => {
  it('finds the rows of a query_rows notification without decoding them', () => {
    const buf = batch('q-1', [[1, 'a'], [2, 'b']]);
    const span = peekRows(buf)!;
    expect(span.queryId).toBe('q-1');
    expect(span.count).toBe(2);
    const c = new MpCursor(buf, span.offset);
    c.skip();
    c.skip();
    expect(c.pos).toBe(buf.length);
  });

  it('leaves other messages alone', () => {
    expect(peekRows(encode([1, 3, null, { ok: true }]))).toBeNull();
    expect(peekRows(encode([2, 'query_columns', [{ query_id: 'x', columns: [] }]]))).toBeNull();
  });

  it('accepts keys in any order and refuses a malformed batch', () => {
    const buf = encode([2, 'query_rows', [{ rows: [[1]], query_id: 'late' }]]);
    expect(peekRows(buf)).toMatchObject({ queryId: 'late', count: 1 });
    expect(() => peekRows(encode([2, 'query_rows', [{ query_id: 'q' }]]))).toThrow();
    const good = batch('q', [[1, 'x']]);
    expect(() => peekRows(good.subarray(0, good.length - 1).slice())).not.toThrow();
    const cut = batch('q', [[1, 'x'.repeat(40)]]);
    const span = peekRows(cut)!;
    expect(() => new MpCursor(cut.subarray(0, cut.length - 5), span.offset).skip()).toThrow(/truncated/);
  });
});

describe('RowStore', () => {
  it('keeps batches as bytes and decodes any row', () => {
    const s = new RowStore(cols);
    for (let b = 0; b < 10; b++) {
      const rows = Array.from({ length: 1000 }, (_, i) => [b * 1000 + i, 'row ' + (b * 1000 + i)]);
      add(s, batch('q', rows));
    }
    expect(s.rowCount).toBe(10000);
    expect(s.row(0)).toEqual([0, 'row 0']);
    expect(s.row(9999)).toEqual([9999, 'row 9999']);
    expect(s.row(4321)).toEqual([4321, 'row 4321']);
    expect(s.slice(998, 1002).map((r) => r[0])).toEqual([998, 999, 1000, 1001]);
    expect(() => s.row(10000)).toThrow(RangeError);
  });

  it('handles mixed values: NULL, bool, float, bigint, bytea, unicode', () => {
    const s = new RowStore(cols);
    const big = 2n ** 62n + 1n;
    add(s, encode([2, 'query_rows', [{ query_id: 'q', rows: [[null, true, 1.5, big, new Uint8Array([0, 255]), 'é€😀', 'z'.repeat(100), 'y'.repeat(300)], [-5, 'next']] }]], { useBigInt64: true }));
    expect(s.row(1)).toEqual([-5, 'next']);
    const r = s.row(0);
    expect(r[6]).toBe('z'.repeat(100));
    expect(r[7]).toBe('y'.repeat(300));
    expect(r[0]).toBeNull();
    expect(r[1]).toBe(true);
    expect(r[2]).toBe(1.5);
    expect(r[3]).toBe(big);
    expect(valueText(r[4])).toBe('\\x00ff');
    expect(r[5]).toBe('é€😀');
    expect(valueText(null)).toBe('NULL');
    expect(rowTsv([null, 'a\tb', 3])).toBe('\ta b\t3');
  });

  it('stops keeping rows at the cap and counts the rest', () => {
    const s = new RowStore(cols, 1500);
    add(s, batch('q', Array.from({ length: 1000 }, (_, i) => [i, 'a'])));
    add(s, batch('q', Array.from({ length: 1000 }, (_, i) => [1000 + i, 'b'])));
    add(s, batch('q', Array.from({ length: 1000 }, (_, i) => [2000 + i, 'c'])));
    expect(s.rowCount).toBe(1500);
    expect(s.skipped).toBe(1500);
    expect(s.capped).toBe(true);
    expect(s.received).toBe(3000);
    expect(s.row(1499)).toEqual([1499, 'b']);
    expect(() => s.row(1500)).toThrow(RangeError);
  });

  it('holds a million rows in their bytes, not as objects', () => {
    const s = new RowStore(cols);
    const per = 2000;
    for (let b = 0; b < 1_000_000 / per; b++)
      add(s, batch('q', Array.from({ length: per }, (_, i) => [b * per + i, 'r' + (b * per + i)])));
    expect(s.rowCount).toBe(1_000_000);
    expect(s.bytes).toBeLessThan(20 * 1024 * 1024);
    expect(s.row(999_999)).toEqual([999_999, 'r999999']);
    expect(s.row(500_000)).toEqual([500_000, 'r500000']);
  });
});
