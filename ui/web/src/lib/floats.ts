// floats.ts — float4 and float8 values as PostgreSQL (and so psql) prints
// them: the shortest decimal that reads back as the same value, written
// plainly when its exponent is in [-4, 6) for float4 ([-4, 15) for
// float8), else as d.ddde±XX (PostgreSQL's float4out/float8out with the
// default extra_float_digits = 1).
//
// The broker sends a float4 as msgpack float32, the server's exact 4-byte
// value (docs/protocol.md "Values"); decoded, it is a JS number holding
// that float32. Its shortest decimal is the one that reads back through
// Math.fround, not through a double: float4 0.1 is 0.1, not
// 0.100000001490116.

/** n × 2^e2 × 10^e10, exactly. */
interface Exact {
  n: bigint;
  e2: number;
  e10: number;
}

const buf = new DataView(new ArrayBuffer(8));

/** A finite double as n × 2^e2. */
function exactOf(x: number): Exact {
  buf.setFloat64(0, x);
  const bits = buf.getBigUint64(0);
  const exp = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  return exp === 0 ? { n: frac, e2: -1074, e10: 0 } : { n: frac | (1n << 52n), e2: exp - 1075, e10: 0 };
}

/** The float32 or float64 next to v (v > 0) going up or down. */
function neighbour(v: number, single: boolean, up: boolean): number {
  if (single) {
    buf.setFloat32(0, v);
    buf.setUint32(0, buf.getUint32(0) + (up ? 1 : -1));
    return buf.getFloat32(0);
  }
  buf.setFloat64(0, v);
  buf.setBigUint64(0, buf.getBigUint64(0) + (up ? 1n : -1n));
  return buf.getFloat64(0);
}

/** Halfway between two doubles, exactly. */
function midpoint(a: number, b: number): Exact {
  const x = exactOf(a), y = exactOf(b);
  const e = Math.min(x.e2, y.e2);
  return { n: (x.n << BigInt(x.e2 - e)) + (y.n << BigInt(y.e2 - e)), e2: e - 1, e10: 0 };
}

/** The values as integers on one common scale (comparable, subtractable). */
function scale(xs: Exact[]): bigint[] {
  const e2 = Math.min(...xs.map((x) => x.e2));
  const e10 = Math.min(...xs.map((x) => x.e10));
  return xs.map((x) => (x.n << BigInt(x.e2 - e2)) * 10n ** BigInt(x.e10 - e10));
}

/**
 * The shortest digits of v (finite, > 0) and the decimal exponent of the
 * first one, as PostgreSQL's Ryu finds them: the fewest significant digits
 * whose value lies strictly inside v's rounding interval (halfway to each
 * neighbouring float4 or float8; a value exactly halfway is not taken), and
 * of those the nearest to v, a tie going to the even last digit.
 */
function shortest(v: number, single: boolean): { digits: string; exp: number } {
  const down = neighbour(v, single, false);
  let up = neighbour(v, single, true);
  if (!Number.isFinite(up)) up = v + (v - down); // the largest: the same spacing above
  const lo = midpoint(down, v), hi = midpoint(v, up), exact = exactOf(v);
  for (let p = 1; p <= (single ? 9 : 17); p++) {
    const { digits, exp } = parseExp(v.toExponential(p - 1));
    const m = BigInt(digits.padEnd(p, '0'));
    const k = exp - p + 1; // the candidates are c × 10^k
    const cands = [m - 1n, m, m + 1n].filter((c) => c > 0n);
    const [L, H, V, ...C] = scale([lo, hi, exact, ...cands.map((c) => ({ n: c, e2: 0, e10: k }))]);
    let best = -1;
    let bestD = 0n;
    C.forEach((x, i) => {
      if (x <= L || x >= H) return;
      const d = x > V ? x - V : V - x;
      if (best < 0 || d < bestD || (d === bestD && cands[i] % 2n === 0n)) {
        best = i;
        bestD = d;
      }
    });
    if (best >= 0) {
      const s = cands[best].toString();
      return { digits: s.replace(/0+$/, '') || '0', exp: k + s.length - 1 };
    }
  }
  return parseExp(v.toExponential(single ? 8 : 16)); // never reached: 9 and 17 digits always do
}

/** "d.ddde±x" (as toExponential writes it) as digits and exponent. */
function parseExp(s: string): { digits: string; exp: number } {
  const [mant, e] = s.split('e');
  const digits = mant.replace('.', '').replace(/0+$/, '') || '0';
  return { digits, exp: Number(e) };
}

/** Digits d1d2… with the first at 10^exp, written as PostgreSQL does. */
function layout(digits: string, exp: number, maxPlain: number): string {
  if (exp < -4 || exp >= maxPlain) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const ae = Math.abs(exp);
    return `${mant}e${exp < 0 ? '-' : '+'}${ae < 10 ? '0' + ae : ae}`;
  }
  if (exp < 0) return '0.' + '0'.repeat(-exp - 1) + digits;
  if (digits.length <= exp + 1) return digits + '0'.repeat(exp + 1 - digits.length);
  return `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

/** A float4 (single) or float8 value as psql shows it. */
export function floatText(v: number, single: boolean): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const neg = v < 0;
  const { digits, exp } = shortest(Math.abs(v), single);
  return (neg ? '-' : '') + layout(digits, exp, single ? 6 : 15);
}
