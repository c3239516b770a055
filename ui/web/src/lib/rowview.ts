// rowview.ts — the grid's order and filter over the rows a result holds:
// a list of row indexes (Uint32Array) made in slices of a few milliseconds,
// so that sorting or filtering a million rows never holds a frame (each
// slice yields to the browser). Sorting reads one column of every row
// (RowStore.cell), sorts runs natively and merges them step by step; NULLs
// go last either way. Text sorts by code point (PostgreSQL's C collation:
// a locale-aware compare is ~20 times slower, too slow for a million rows),
// numbers and numeric's text by value. Filtering keeps the rows where any cell's text holds
// the needle (case-insensitive), in the current order.

import { RowStore, valueText, type Value } from './rows';

export interface SortSpec {
  col: number;
  desc: boolean;
}

const SLICE_MS = 8;
const RUN = 2048;

/** Yield to the browser (a new frame may be drawn). */
const yieldFrame = () => new Promise<void>((r) => setTimeout(r, 0));

/** Cancelled by a newer request. */
export class Superseded extends Error {}

type Key = number | string | bigint | null;

/** A value's sort key; numeric's text (numeric) as the number it is. */
function keyOf(v: Value, numeric: boolean): Key {
  if (v === null) return null;
  if (typeof v === 'string') {
    if (numeric) {
      const n = Number(v);
      return Number.isNaN(n) && v !== 'NaN' ? v : n;
    }
    return v;
  }
  if (typeof v === 'number' || typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return valueText(v);
}

function cmpKeys(a: Exclude<Key, null>, b: Exclude<Key, null>): number {
  if (typeof a === 'string' && typeof b !== 'string') return 1; // text after numbers (a mixed column)
  if (typeof b === 'string' && typeof a !== 'string') return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Make row views, one request at a time (a new one supersedes the old). */
export class RowViewer {
  private gen = 0;
  progress = 0; // 0..1 of the running request

  /** The rows of store in the order spec asks (null: as they came),
   * keeping those matching filter (empty: all). null: every row in order. */
  async view(store: RowStore, spec: SortSpec | null, filter: string, onProgress?: (p: number) => void): Promise<Uint32Array | null> {
    const my = ++this.gen;
    const n = store.rowCount;
    let deadline = performance.now() + SLICE_MS;
    const tick = async (p: number) => {
      if (performance.now() < deadline) return;
      this.progress = p;
      onProgress?.(p);
      await yieldFrame();
      if (my !== this.gen) throw new Superseded();
      deadline = performance.now() + SLICE_MS;
    };
    if (!spec && !filter) return null;
    let idx = new Uint32Array(n);
    for (let i = 0; i < n; i++) idx[i] = i;
    if (spec) {
      const keys: Key[] = new Array(n);
      const numeric = /^numeric(\(.*\))?$/.test(store.columns[spec.col]?.data_type ?? '');
      for (let i = 0; i < n; i++) {
        keys[i] = keyOf(store.cell(i, spec.col), numeric);
        if ((i & 1023) === 0) await tick((0.5 * i) / n);
      }
      const sign = spec.desc ? -1 : 1;
      const cmp = (a: number, b: number) => {
        const ka = keys[a], kb = keys[b];
        if (ka === null || kb === null) return ka === kb ? a - b : ka === null ? 1 : -1; // NULLs last
        return sign * cmpKeys(ka, kb) || a - b; // stable
      };
      // sorted runs, then merges of doubling width, each step resumable
      for (let s = 0; s < n; s += RUN) {
        idx.subarray(s, Math.min(n, s + RUN)).sort(cmp);
        await tick(0.5 + (0.1 * s) / n);
      }
      let tmp = new Uint32Array(n);
      const passes = Math.max(1, Math.ceil(Math.log2(Math.max(1, n / RUN))));
      let pass = 0;
      for (let w = RUN; w < n; w *= 2, pass++) {
        for (let lo = 0; lo < n; lo += 2 * w) {
          const mid = Math.min(n, lo + w), hi = Math.min(n, lo + 2 * w);
          let i = lo, j = mid, k = lo;
          while (i < mid && j < hi) {
            tmp[k++] = cmp(idx[i], idx[j]) <= 0 ? idx[i++] : idx[j++];
            if ((k & 4095) === 0) await tick(0.6 + (0.4 * (pass + k / n)) / passes);
          }
          while (i < mid) tmp[k++] = idx[i++];
          while (j < hi) tmp[k++] = idx[j++];
        }
        [idx, tmp] = [tmp, idx];
      }
    }
    if (filter) {
      const needle = filter.toLowerCase();
      const out = new Uint32Array(n);
      let m = 0;
      for (let k = 0; k < n; k++) {
        const row = store.row(idx[k]);
        for (const v of row) {
          if (v !== null && valueText(v).toLowerCase().includes(needle)) {
            out[m++] = idx[k];
            break;
          }
        }
        if ((k & 255) === 0) await tick(k / n);
      }
      idx = out.slice(0, m);
    }
    this.progress = 1;
    return idx;
  }

  /** Drop what runs. */
  cancel(): void {
    this.gen++;
  }
}
