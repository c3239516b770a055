// rows.ts — the results grid's row store.
//
// A million rows must not become a million arrays of JS values: decoded,
// 1M rows x 8 columns cost several hundred MB of heap and seconds of GC.
// So the store keeps each `query_rows` batch as the bytes that arrived
// (the WebSocket message itself, no copy) with where its rows start and
// how many it holds. A row is decoded only when it is looked at (the grid
// shows a few dozen at a time); the offsets of a batch's rows are found on
// first access by skipping through it and kept (4 bytes a row).
//
// Rows beyond the cap are counted, not kept: `skipped` says how many.

import { Decoder } from '@msgpack/msgpack';
import { floatText } from './floats';
import { MpCursor } from './mpcursor';
import type { Column } from './protocol.gen';

export type { Column };
export type Value = null | boolean | number | bigint | string | Uint8Array;

interface Batch {
  bytes: Uint8Array;
  start: number; // offset of the first row
  count: number; // rows kept from this batch
  first: number; // index of its first row in the store
  offsets: Uint32Array | null; // row offsets, found on first access
}

// int8 values beyond 2^53 stay exact as bigint
const rowDecoder = new Decoder({ useBigInt64: true });

export class RowStore {
  columns: Column[];
  cap: number;
  rowCount = 0; // rows kept
  skipped = 0; // rows received beyond the cap
  bytes = 0; // bytes of batches held
  private batches: Batch[] = [];
  private lastHit = 0;

  constructor(columns: Column[], cap = Infinity) {
    this.columns = columns;
    this.cap = cap;
  }

  /** Rows received, kept or not. */
  get received(): number {
    return this.rowCount + this.skipped;
  }

  get capped(): boolean {
    return this.skipped > 0;
  }

  /** Take a batch: buf holds count rows starting at offset. */
  add(buf: Uint8Array, offset: number, count: number): void {
    const room = Math.max(0, this.cap - this.rowCount);
    const keep = Math.min(room, count);
    this.skipped += count - keep;
    if (keep === 0) return;
    this.batches.push({ bytes: buf, start: offset, count: keep, first: this.rowCount, offsets: null });
    this.rowCount += keep;
    this.bytes += buf.byteLength;
  }

  /** Rows given as decoded arrays (a result answered in one piece); a
   * store holds either these or batches. */
  addDecoded(rows: Value[][]): void {
    for (const r of rows) {
      if (this.rowCount >= this.cap) {
        this.skipped++;
        continue;
      }
      this.decodedRows.push(r);
      this.rowCount++;
    }
  }

  private decodedRows: Value[][] = [];

  private batchOf(i: number): Batch {
    const bs = this.batches;
    let b = bs[this.lastHit];
    if (b && i >= b.first && i < b.first + b.count) return b;
    let lo = 0;
    let hi = bs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (bs[mid].first <= i) lo = mid;
      else hi = mid - 1;
    }
    this.lastHit = lo;
    b = bs[lo];
    return b;
  }

  private offsetsOf(b: Batch): Uint32Array {
    if (b.offsets) return b.offsets;
    // count + 1 entries: the last one is where the last kept row ends
    const offs = new Uint32Array(b.count + 1);
    const c = new MpCursor(b.bytes, b.start);
    for (let r = 0; r < b.count; r++) {
      offs[r] = c.pos;
      c.skip();
    }
    offs[b.count] = c.pos;
    b.offsets = offs;
    return offs;
  }

  /** Row i, decoded (i < rowCount). */
  row(i: number): Value[] {
    if (i < 0 || i >= this.rowCount) throw new RangeError('row ' + i + ' out of range');
    if (this.decodedRows.length > 0) return this.decodedRows[i];
    const b = this.batchOf(i);
    const offs = this.offsetsOf(b);
    const k = i - b.first;
    const v = rowDecoder.decode(b.bytes.subarray(offs[k], offs[k + 1]));
    if (!Array.isArray(v)) throw new TypeError('row ' + i + ' is not an array');
    return v as Value[];
  }

  /** Column c of row i, decoded alone (sorting reads one column of every row). */
  cell(i: number, c: number): Value {
    if (this.decodedRows.length > 0) return this.decodedRows[i][c];
    const b = this.batchOf(i);
    const offs = this.offsetsOf(b);
    const k = i - b.first;
    const cur = new MpCursor(b.bytes, offs[k], offs[k + 1]);
    const n = cur.array();
    if (c >= n) return null;
    for (let j = 0; j < c; j++) cur.skip();
    const v = cur.scalar();
    if (v !== undefined) return v;
    const at = cur.pos;
    cur.skip();
    return rowDecoder.decode(b.bytes.subarray(at, cur.pos)) as Value;
  }

  /** Rows [from, to), decoded. */
  slice(from: number, to: number): Value[][] {
    const out: Value[][] = [];
    const end = Math.min(to, this.rowCount);
    for (let i = Math.max(0, from); i < end; i++) out.push(this.row(i));
    return out;
  }
}

const hex = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** The text of a value, as the grid and the clipboard show it (NULL aside);
 * type is its column's (float4 and float8 are written as psql does). */
export function valueText(v: Value, max = Infinity, type?: string): string {
  if (v === null) return 'NULL';
  if (typeof v === 'string') return v.length > max ? v.slice(0, max) + '…' : v;
  if (v instanceof Uint8Array) {
    const n = Math.min(v.length, Number.isFinite(max) ? Math.ceil(max / 2) : v.length);
    let s = '\\x';
    for (let i = 0; i < n; i++) s += hex[v[i]];
    return n < v.length ? s + '…' : s;
  }
  if (typeof v === 'number' && (type === 'float4' || type === 'float8')) return floatText(v, type === 'float4');
  return String(v);
}

/** A row as one line of tab-separated text (NULL as empty). */
export function rowTsv(row: Value[], columns?: Column[]): string {
  return row.map((v, i) => (v === null ? '' : valueText(v, Infinity, columns?.[i]?.data_type).replace(/[\t\n\r]/g, ' '))).join('\t');
}
