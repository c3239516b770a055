// floats.test.ts — float4 and float8 shown as psql shows them. The table is
// PostgreSQL 15's own output: `select encode(float4send(x), 'hex'), x::text`
// (and float8send) for each value; the bytes are what the server sends, and
// the broker passes float4 on as msgpack float32, float8 as float64.
import { describe, expect, it } from 'vitest';
import { decode, encode } from '@msgpack/msgpack';
import { floatText } from '../src/lib/floats';
import { valueText, rowTsv, RowStore } from '../src/lib/rows';

const hexBytes = (h: string) => new Uint8Array((h.match(/../g) ?? []).map((x) => parseInt(x, 16)));
const f4 = (h: string) => new DataView(hexBytes(h).buffer).getFloat32(0);
const f8 = (h: string) => new DataView(hexBytes(h).buffer).getFloat64(0);

const FLOAT4: [string, string][] = [
  ['3dcccccd', '0.1'],
  ['4996b438', '1.234567e+06'],
  ['47c35000', '100000'],
  ['497423f0', '999999'],
  ['49742400', '1e+06'],
  ['40490fd0', '3.14159'],
  ['3727c5ac', '1e-05'],
  ['38d1b717', '0.0001'],
  ['3901725b', '0.00012345'],
  ['80000000', '-0'],
  ['00800000', '1.1754944e-38'],
  ['7f7fffff', '3.4028235e+38'],
  ['00000001', '1e-45'],
  ['4b800000', '1.6777216e+07'],
  ['4b7fffff', '1.6777215e+07'],
  ['3e99999a', '0.3'],
  ['40200000', '2.5'],
  ['47f1205a', '123456.7'],
  ['38d1b68e', '9.9999e-05'],
  ['c5c5f3c0', '-6334.4688'],
  ['ccacc1de', '-9.0574576e+07'],
  ['4e02a95e', '5.4803443e+08'],
  ['7fc00000', 'NaN'],
  ['7f800000', 'Infinity'],
  ['ff800000', '-Infinity'],
  ['501502f9', '1e+10'],
  ['ca171fdb', '-2.4760228e+06'],
  ['48af25dc', '358702.88'],
];

const FLOAT8: [string, string][] = [
  ['3fb999999999999a', '0.1'],
  ['430c6bf526340000', '1e+15'],
  ['42dc12218377de40', '123456789012345'],
  ['430c6bf52633fff8', '999999999999999'],
  ['3ee4f8b588e368f1', '1e-05'],
  ['3f1a36e2eb1c432d', '0.0001'],
  ['0000000000000001', '5e-324'],
  ['7fefffffffffffff', '1.7976931348623157e+308'],
  ['8000000000000000', '-0'],
  ['3fd3333333333334', '0.30000000000000004'],
  ['4004000000000000', '2.5'],
  ['44b52d02c7e14af6', '9.999999999999999e+22'],
  ['4480f0cf064dd592', '1e+22'],
  ['40fe240b33333333', '123456.7'],
  ['7ff8000000000000', 'NaN'],
  ['fff0000000000000', '-Infinity'],
  ['4340000000000000', '9.007199254740992e+15'],
  ['0010000000000000', '2.2250738585072014e-308'],
  ['4341c37937e08000', '1e+16'],
  ['3f201f31f46ed246', '0.000123'],
];

describe('floatText', () => {
  it('writes every float4 as PostgreSQL does: shortest, plain below 1e6', () => {
    for (const [hex, want] of FLOAT4) expect(floatText(f4(hex), true), hex).toBe(want);
  });

  it('writes every float8 as PostgreSQL does: shortest, plain below 1e15', () => {
    for (const [hex, want] of FLOAT8) expect(floatText(f8(hex), false), hex).toBe(want);
  });

  it('takes the digits that read back through Math.fround, not the double', () => {
    // float4 0.1 is 0.100000001490116… as a double; as a float4 it is 0.1
    const v = Math.fround(0.1);
    expect(String(v)).toBe('0.10000000149011612');
    expect(floatText(v, true)).toBe('0.1');
    expect(Math.fround(Number(floatText(v, true)))).toBe(v);
  });

  it('never takes a decimal exactly halfway to the next float (PostgreSQL does not)', () => {
    // 1e23 is exactly halfway between two doubles: JS writes "1e+23", PostgreSQL the longer form
    expect(String(1e23)).toBe('1e+23');
    expect(floatText(1e23, false)).toBe('9.999999999999999e+22');
    // float4 -90574576: -9.057458e+07 reads back through fround, but only as a tie
    expect(Math.fround(-90574580)).toBe(f4('ccacc1de'));
    expect(floatText(f4('ccacc1de'), true)).toBe('-9.0574576e+07');
  });
});

describe('the grid shows float columns as psql does', () => {
  it('decodes msgpack float32 and float64 row values and writes them by column type', () => {
    // one row as the broker sends it: [float4 as float32, float8 as float64]
    const row = new Uint8Array([0x92, 0xca, ...hexBytes('3dcccccd'), 0xcb, ...hexBytes('3fd3333333333334')]);
    const s = new RowStore([{ name: 'a', data_type: 'float4' }, { name: 'b', data_type: 'float8' }]);
    s.add(row, 0, 1);
    const r = s.row(0);
    expect(valueText(r[0], Infinity, 'float4')).toBe('0.1');
    expect(valueText(r[1], Infinity, 'float8')).toBe('0.30000000000000004');
    expect(rowTsv(r, s.columns)).toBe('0.1\t0.30000000000000004');
    // other numbers are as they were
    expect(valueText(42, Infinity, 'int4')).toBe('42');
    expect(valueText(decode(encode(1.5)) as number)).toBe('1.5');
  });
});
