import { describe, expect, it } from 'vitest';
import { formatRows, quoteIdent, quoteLiteral, sqlValue } from '../src/lib/copyfmt';
import { RowViewer } from '../src/lib/rowview';
import { RowStore, type Column, type Value } from '../src/lib/rows';
import { parsePlan, textPlan } from '../src/lib/explain';

const cols: Column[] = [{ name: 'id', data_type: 'integer' }, { name: 'Name', data_type: 'text' }, { name: 'amt', data_type: 'numeric(12,2)' }];
const rows: Value[][] = [[1, 'a\tb', '1.50'], [2, null, '-3'], [3, 'say "hi"\nbye', null], [4, '', '7']];

describe('formatRows', () => {
  it('TSV with headers, quoted where a spreadsheet needs it', () => {
    expect(formatRows('tsv', cols, rows)).toBe('id\tName\tamt\n1\t"a\tb"\t1.50\n2\t\t-3\n3\t"say ""hi""\nbye"\t\n4\t\t7\n');
  });
  it('CSV keeps NULL apart from the empty string', () => {
    expect(formatRows('csv', cols, rows)).toBe('id,Name,amt\n1,a\tb,1.50\n2,,-3\n3,"say ""hi""\nbye",\n4,"",7\n');
  });
  it('Markdown escapes pipes and newlines', () => {
    expect(formatRows('markdown', cols, [[1, 'x|y\\z', null], [2, 'l1\nl2', '2']])).toBe(
      '| id | Name | amt |\n| ---: | --- | ---: |\n| 1 | x\\|y\\\\z | NULL |\n| 2 | l1<br>l2 | 2 |\n');
  });
  it('INSERT statements quote names and values as the server would', () => {
    expect(formatRows('sql', cols, rows.slice(0, 3), 'public.T')).toBe(
      'INSERT INTO public."T" (id, "Name", amt) VALUES (1, \'a\tb\', 1.50);\n' +
      'INSERT INTO public."T" (id, "Name", amt) VALUES (2, NULL, -3);\n' +
      'INSERT INTO public."T" (id, "Name", amt) VALUES (3, \'say "hi"\nbye\', NULL);\n');
    expect(quoteIdent('user')).toBe('"user"');
    expect(quoteIdent('a_1')).toBe('a_1');
    expect(quoteIdent('1a')).toBe('"1a"');
    expect(quoteLiteral("it's")).toBe("'it''s'");
    expect(quoteLiteral('a\\b')).toBe("E'a\\\\b'");
    expect(sqlValue(NaN, 'double precision')).toBe("'NaN'");
    expect(sqlValue(-0, 'double precision')).toBe("'-0'");
    expect(sqlValue(true, 'boolean')).toBe('true');
    expect(sqlValue(12345678901234567890n, 'bigint')).toBe('12345678901234567890');
    expect(sqlValue(new Uint8Array([0, 255]), 'bytea')).toBe("E'\\\\x00ff'");
    expect(sqlValue('12.5', 'text')).toBe("'12.5'");
  });
});

describe('RowViewer', () => {
  const store = new RowStore(cols);
  store.addDecoded([[3, 'b', '10'], [1, null, '9.5'], [2, 'A', null], [5, 'c', '-1'], [4, 'a', '100']]);
  const ids = (idx: Uint32Array | null) => (idx ? [...idx].map((i) => store.row(i)[0]) : null);
  it('sorts by a column, NULLs last both ways, numbers as numbers', async () => {
    const v = new RowViewer();
    expect(ids(await v.view(store, { col: 0, desc: false }, ''))).toEqual([1, 2, 3, 4, 5]);
    expect(ids(await v.view(store, { col: 2, desc: false }, ''))).toEqual([5, 1, 3, 4, 2]);
    expect(ids(await v.view(store, { col: 2, desc: true }, ''))).toEqual([4, 3, 1, 5, 2]);
    expect(ids(await v.view(store, { col: 1, desc: false }, ''))).toEqual([2, 4, 3, 5, 1]);
    expect(await v.view(store, null, '')).toBeNull();
  });
  it('filters by text in any cell, in the sorted order', async () => {
    const v = new RowViewer();
    expect(ids(await v.view(store, null, 'a'))).toEqual([2, 4]);
    expect(ids(await v.view(store, { col: 0, desc: true }, '1'))).toEqual([5, 4, 3, 1]);
    expect(ids(await v.view(store, null, 'zzz'))).toEqual([]);
  });
  it('sorts many rows through the merges', async () => {
    const big = new RowStore([{ name: 'n', data_type: 'integer' }]);
    const n = 20000;
    big.addDecoded(Array.from({ length: n }, (_, i) => [(i * 7919) % n]));
    const idx = (await new RowViewer().view(big, { col: 0, desc: false }, ''))!;
    const got = [...idx].map((i) => big.row(i)[0]);
    expect(got).toEqual(Array.from({ length: n }, (_, i) => i));
  });
});

describe('parsePlan', () => {
  const json = JSON.stringify([{
    Plan: { 'Node Type': 'Hash Join', 'Join Type': 'Inner', 'Startup Cost': 1, 'Total Cost': 50, 'Plan Rows': 10, 'Plan Width': 8,
      'Actual Startup Time': 0.5, 'Actual Total Time': 20, 'Actual Rows': 1000, 'Actual Loops': 1, 'Hash Cond': '(a.id = b.id)',
      'Shared Hit Blocks': 7,
      Plans: [
        { 'Node Type': 'Seq Scan', 'Parent Relationship': 'Outer', 'Relation Name': 'a', Schema: 'public', Alias: 'a',
          'Startup Cost': 0, 'Total Cost': 20, 'Plan Rows': 1000, 'Plan Width': 4, 'Actual Startup Time': 0.01,
          'Actual Total Time': 4, 'Actual Rows': 1000, 'Actual Loops': 1, Filter: '(x > 1)', 'Rows Removed by Filter': 5 },
        { 'Node Type': 'Hash', 'Parent Relationship': 'Inner', 'Startup Cost': 1, 'Total Cost': 1, 'Plan Rows': 1, 'Plan Width': 4,
          'Actual Startup Time': 12, 'Actual Total Time': 12, 'Actual Rows': 100, 'Actual Loops': 1,
          Plans: [{ 'Node Type': 'Index Scan', 'Parent Relationship': 'Outer', 'Relation Name': 'b', Schema: 'public', Alias: 'bb',
            'Index Name': 'b_pkey', 'Startup Cost': 0, 'Total Cost': 1, 'Plan Rows': 1, 'Plan Width': 4,
            'Actual Startup Time': 0.1, 'Actual Total Time': 0.1, 'Actual Rows': 1, 'Actual Loops': 100 }] },
      ] },
    'Planning Time': 0.2, 'Execution Time': 20.5,
  }]);
  it('computes inclusive and exclusive times, misestimates and the hot nodes', () => {
    const p = parsePlan(json);
    expect(p.analyze).toBe(true);
    expect(p.nodes.map((n) => n.type)).toEqual(['Hash Join', 'Seq Scan', 'Hash', 'Index Scan']);
    const [join, seq, hash, idx] = p.nodes;
    expect(join.inclusive).toBe(20);
    expect(join.exclusive).toBe(4); // 20 - 4 - 12
    expect(hash.exclusive).toBeCloseTo(2); // 12 - 0.1 × 100
    expect(idx.inclusive).toBeCloseTo(10);
    expect(join.misestimate).toBe(100);
    expect(join.under).toBe(true);
    expect(hash.misestimate).toBe(100);
    expect(seq.misestimate).toBe(1);
    expect(seq.relation).toBe('public.a');
    expect(idx.relation).toBe('public.b bb');
    expect(idx.index).toBe('b_pkey');
    expect(join.buffers).toEqual({ 'shared hit': 7 });
    expect(seq.conds).toEqual(['Filter: (x > 1)', 'Rows Removed by Filter: 5']);
    expect(idx.hot && seq.hot && join.hot).toBe(true);
    expect(p.executionMs).toBe(20.5);
    const text = textPlan(p);
    expect(text.split('\n')[0]).toBe('Hash Join  (cost=1.00..50.00 rows=10 width=8) (actual time=0.500..20.000 rows=1000 loops=1)');
    expect(text).toContain('\n  ->  Seq Scan on public.a  (cost=0.00..20.00 rows=1000 width=4)');
    expect(text).toContain('        ->  Index Scan using b_pkey on public.b bb');
    expect(text).toContain('Execution Time: 20.500 ms');
  });
  it('works without ANALYZE (costs), and refuses what is not a plan', () => {
    const p = parsePlan(JSON.stringify([{ Plan: { 'Node Type': 'Result', 'Startup Cost': 0, 'Total Cost': 0.01, 'Plan Rows': 1, 'Plan Width': 4 } }]));
    expect(p.analyze).toBe(false);
    expect(p.root.misestimate).toBeNull();
    expect(() => parsePlan('[1]')).toThrow();
  });
});

import { parsePgArray } from '../src/lib/pgarray';
describe('parsePgArray', () => {
  it('reads PostgreSQL array text', () => {
    expect(parsePgArray('{1,2,3}')).toEqual(['1', '2', '3']);
    expect(parsePgArray('{}')).toEqual([]);
    expect(parsePgArray('{NULL,"",null,"NULL"}')).toEqual([null, '', null, 'NULL']);
    expect(parsePgArray('{"a b","c,d","x\\"y","\\\\"}')).toEqual(['a b', 'c,d', 'x"y', '\\']);
    expect(parsePgArray('{{1,2},{3,4}}')).toEqual([['1', '2'], ['3', '4']]);
    expect(parsePgArray('[0:1]={7,8}')).toEqual(['7', '8']);
    expect(() => parsePgArray('{1,2')).toThrow();
  });
});

describe('plan node names', () => {
  it('are the text format\'s', () => {
    const p = parsePlan(JSON.stringify([{ Plan: { 'Node Type': 'ModifyTable', Operation: 'Delete', 'Relation Name': 't', Alias: 't',
      'Total Cost': 1, 'Plan Rows': 0, Plans: [{ 'Node Type': 'Aggregate', Strategy: 'Hashed', 'Total Cost': 1, 'Plan Rows': 1 }] } }]));
    expect(p.nodes.map((n) => n.type)).toEqual(['Delete', 'HashAggregate']);
    expect(textPlan(p).split('\n')[0]).toBe('Delete on t  (cost=0.00..1.00 rows=0 width=0)');
  });
});

import { Encoder } from '@msgpack/msgpack';
describe('RowStore.cell', () => {
  it('reads one value in place as the decoder would', () => {
    const row: Value[] = [null, true, false, 5, -3, 200, 70000, -200, -70000, 2 ** 40, -(2 ** 40), 12345678901234567890n,
      -9007199254740993n, 1.5, 'ascii', 'ünïcode ✓', 'x'.repeat(100), new Uint8Array([1, 2])];
    const enc = new Encoder({ useBigInt64: true });
    const body = enc.encode(row);
    const bytes = new Uint8Array(body.length + 5);
    bytes.set([0xdd, 0, 0, 0, 1]);
    bytes.set(body, 5);
    const s = new RowStore(row.map((_, i) => ({ name: 'c' + i, data_type: 'text' })));
    s.add(bytes, 5, 1);
    row.forEach((v, i) => expect(s.cell(0, i)).toEqual(v));
    expect(s.row(0)).toEqual(row);
  });
});
