// mpcursor.ts — walk msgpack bytes without decoding them.
//
// The page keeps row batches as the bytes that arrived (see rows.ts); this
// cursor finds where things are in them: the envelope of a `query_rows`
// notification, and the offset of each row inside a batch. It reads headers
// and skips payloads arithmetically; anything malformed throws.

export class MpCursor {
  view: DataView;
  pos: number;
  end: number;

  constructor(public buf: Uint8Array, pos = 0, end = buf.length) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = pos;
    this.end = end;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new RangeError('msgpack: truncated');
  }

  private u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  private be(n: number): number {
    this.need(n);
    const p = this.pos;
    this.pos += n;
    if (n === 1) return this.buf[p];
    if (n === 2) return this.view.getUint16(p);
    return this.view.getUint32(p);
  }

  /** An array header: its length. */
  array(): number {
    const b = this.u8();
    if (b >= 0x90 && b <= 0x9f) return b & 0x0f;
    if (b === 0xdc) return this.be(2);
    if (b === 0xdd) return this.be(4);
    throw new TypeError('msgpack: not an array');
  }

  /** A map header: its number of pairs. */
  map(): number {
    const b = this.u8();
    if (b >= 0x80 && b <= 0x8f) return b & 0x0f;
    if (b === 0xde) return this.be(2);
    if (b === 0xdf) return this.be(4);
    throw new TypeError('msgpack: not a map');
  }

  /** A non-negative integer. */
  uint(): number {
    const b = this.u8();
    if (b <= 0x7f) return b;
    if (b === 0xcc) return this.be(1);
    if (b === 0xcd) return this.be(2);
    if (b === 0xce) return this.be(4);
    throw new TypeError('msgpack: not a small unsigned integer');
  }

  /** A str: its bytes' [start, end). */
  strSpan(): [number, number] {
    const b = this.u8();
    let n: number;
    if (b >= 0xa0 && b <= 0xbf) n = b & 0x1f;
    else if (b === 0xd9) n = this.be(1);
    else if (b === 0xda) n = this.be(2);
    else if (b === 0xdb) n = this.be(4);
    else throw new TypeError('msgpack: not a str');
    this.need(n);
    const s = this.pos;
    this.pos += n;
    return [s, s + n];
  }

  /** Does a str equal the ASCII literal? Consumes it either way. */
  strIs(lit: string): boolean {
    const [s, e] = this.strSpan();
    if (e - s !== lit.length) return false;
    for (let i = 0; i < lit.length; i++) if (this.buf[s + i] !== lit.charCodeAt(i)) return false;
    return true;
  }

  str(): string {
    const [s, e] = this.strSpan();
    return utf8.decode(this.buf.subarray(s, e));
  }

  /**
   * A scalar (nil, bool, int, float, str) read in place, without a
   * decoder's allocations (sorting reads a million of them); undefined for
   * anything else, with the position left where it was.
   */
  scalar(): null | boolean | number | bigint | string | undefined {
    const at = this.pos;
    this.need(1);
    const b = this.buf[at];
    if (b <= 0x7f) { this.pos++; return b; }
    if (b >= 0xe0) { this.pos++; return b - 256; }
    if (b >= 0xa0 && b <= 0xbf || b === 0xd9 || b === 0xda || b === 0xdb) {
      const [s, e] = this.strSpan();
      if (e - s <= 64) {
        let out = '';
        let i = s;
        for (; i < e && this.buf[i] < 0x80; i++) out += String.fromCharCode(this.buf[i]);
        if (i === e) return out;
      }
      return utf8.decode(this.buf.subarray(s, e));
    }
    const v = this.view;
    this.pos++;
    switch (b) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xca: this.need(4); this.pos += 4; return v.getFloat32(at + 1);
      case 0xcb: this.need(8); this.pos += 8; return v.getFloat64(at + 1);
      case 0xcc: return this.be(1);
      case 0xcd: return this.be(2);
      case 0xce: return this.be(4);
      case 0xd0: this.need(1); this.pos += 1; return v.getInt8(at + 1);
      case 0xd1: this.need(2); this.pos += 2; return v.getInt16(at + 1);
      case 0xd2: this.need(4); this.pos += 4; return v.getInt32(at + 1);
      case 0xcf: case 0xd3: {
        this.need(8);
        this.pos += 8;
        const x = b === 0xcf ? v.getBigUint64(at + 1) : v.getBigInt64(at + 1);
        return x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x;
      }
      default:
        this.pos = at;
        return undefined;
    }
  }

  /** Skip one complete value (iteratively: depth costs no stack). */
  skip(): void {
    let left = 1;
    while (left > 0) {
      left--;
      const b = this.u8();
      if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) continue;
      if (b <= 0x8f) { left += 2 * (b & 0x0f); continue; }
      if (b <= 0x9f) { left += b & 0x0f; continue; }
      if (b <= 0xbf) { this.pos += b & 0x1f; this.need(0); continue; }
      switch (b) {
        // (read the length first: `pos += be()` would add to the old pos)
        case 0xc4: case 0xd9: { const n = this.be(1); this.pos += n; break; }
        case 0xc5: case 0xda: { const n = this.be(2); this.pos += n; break; }
        case 0xc6: case 0xdb: { const n = this.be(4); this.pos += n; break; }
        case 0xc7: { const n = this.be(1); this.pos += n + 1; break; }
        case 0xc8: { const n = this.be(2); this.pos += n + 1; break; }
        case 0xc9: { const n = this.be(4); this.pos += n + 1; break; }
        case 0xca: this.pos += 4; break;
        case 0xcb: this.pos += 8; break;
        case 0xcc: case 0xd0: this.pos += 1; break;
        case 0xcd: case 0xd1: this.pos += 2; break;
        case 0xce: case 0xd2: this.pos += 4; break;
        case 0xcf: case 0xd3: this.pos += 8; break;
        case 0xd4: this.pos += 2; break;
        case 0xd5: this.pos += 3; break;
        case 0xd6: this.pos += 5; break;
        case 0xd7: this.pos += 9; break;
        case 0xd8: this.pos += 17; break;
        case 0xdc: left += this.be(2); break;
        case 0xdd: left += this.be(4); break;
        case 0xde: left += 2 * this.be(2); break;
        case 0xdf: left += 2 * this.be(4); break;
        default: throw new TypeError('msgpack: invalid byte 0x' + b.toString(16));
      }
      this.need(0);
    }
  }
}

const utf8 = new TextDecoder();

/** Where a `query_rows` notification's rows are. */
export interface RowsSpan {
  queryId: string;
  offset: number; // of the first row
  count: number;
}

/**
 * If buf is `[2, "query_rows", [{query_id, rows: [...]}]]`, where its rows
 * start and how many; otherwise null (decode it normally). Throws when it
 * claims to be query_rows but is malformed.
 */
export function peekRows(buf: Uint8Array): RowsSpan | null {
  // fixarray(3), 2, fixstr(10) "query_rows"
  if (buf.length < 13 || buf[0] !== 0x93 || buf[1] !== 0x02 || buf[2] !== 0xaa) return null;
  const c = new MpCursor(buf, 2);
  if (!c.strIs('query_rows')) return null;
  if (c.array() !== 1) throw new TypeError('query_rows: params must hold one map');
  const pairs = c.map();
  let queryId: string | null = null;
  let offset = -1;
  let count = 0;
  for (let i = 0; i < pairs; i++) {
    const [s, e] = c.strSpan();
    const key = utf8.decode(buf.subarray(s, e));
    if (key === 'query_id') queryId = c.str();
    else if (key === 'rows') {
      count = c.array();
      offset = c.pos;
      if (i < pairs - 1) for (let r = 0; r < count; r++) c.skip();
    } else c.skip();
  }
  if (queryId === null || offset < 0) throw new TypeError('query_rows: query_id or rows missing');
  return { queryId, offset, count };
}
