import { describe, expect, it } from 'vitest';
import { buildIndex, completeAt, tableRefs } from '../src/lib/complete';
import type { Schema } from '../src/lib/schema.svelte';

const col = (name: string, type = 'integer', pk = false) =>
  ({ name, type, nullable: !pk, default: null, primary_key: pk });

const schema: Schema = {
  version: 1, fetched_at: '', database: 'db', user: 'me', server_version: 150000, system: false,
  warnings: [], extensions: [], search_path: ['public'],
  schemas: [
    { name: 'Sales', owner: 'me', comment: null, sequences: [], types: [], functions: [],
      relations: [{ name: 'Order Items', kind: 'table', comment: null, estimated_rows: null,
        columns: [col('order_id', 'bigint', true), col('select', 'text'), col('Qty')] },
      { name: 'customers', kind: 'table', comment: null, estimated_rows: null, columns: [col('region', 'text')] }] },
    { name: 'public', owner: 'me', comment: null, sequences: ['orders_id_seq'], types: [],
      functions: [{ name: 'order_count', arguments: 'region text', result: 'bigint', kind: 'function',
        identity_arguments: 'region text' }],
      relations: [{ name: 'orders', kind: 'table', comment: null, estimated_rows: 10,
        columns: [col('id', 'bigint', true), col('customer_region', 'text'), col('user', 'text')] },
      { name: 'big_orders', kind: 'view', comment: null, estimated_rows: null, columns: [col('id')] }] },
  ],
};
const ix = buildIndex(schema);
const at = (text: string, explicit = false) => {
  const pos = text.indexOf('|');
  const doc = text.replace('|', '');
  const r = completeAt(ix, doc, pos, explicit);
  return r && { from: r.from, labels: r.options.map((o) => o.displayLabel ?? o.label) };
};

describe('tableRefs', () => {
  it('finds tables, schemas and aliases in FROM, JOIN, UPDATE, INTO', () => {
    expect(tableRefs('select * from orders o join "Sales"."Order Items" as i on i.order_id = o.id')).toEqual([
      { schema: null, name: 'orders', alias: 'o' },
      { schema: 'Sales', name: 'Order Items', alias: 'i' },
    ]);
    expect(tableRefs('select 1 from a, public.B b2 where x')).toEqual([
      { schema: null, name: 'a', alias: null }, { schema: 'public', name: 'b', alias: 'b2' }]);
    expect(tableRefs("update orders set x = 'from t'")).toEqual([{ schema: null, name: 'orders', alias: null }]);
  });
});

describe('completeAt', () => {
  it('completes tables, qualified when their schema is not on the search path', () => {
    const r = at('select  from ord|')!;
    expect(r.from).toBe('select  from '.length);
    expect(r.labels).toContain('orders');
    expect(r.labels).toContain('"Sales"."Order Items"');
    expect(r.labels).toContain('"Sales"');
    expect(r.labels).toContain('order_count');
  });
  it('completes the columns of a table through its alias', () => {
    const r = at('select o.| from orders o')!;
    expect(r.labels).toEqual(['id', 'customer_region', '"user"']);
    expect(r.from).toBe('select o.'.length);
    expect(at('select i.| from "Sales"."Order Items" i')!.labels).toEqual(['order_id', '"select"', '"Qty"']);
    expect(at('select orders.| from orders')!.labels).toContain('customer_region');
  });
  it('matches names as typed, and inserts them as SQL needs them', () => {
    const r = completeAt(ix, 'select * from Ord', 17, false)!;
    const items = r.options.find((o) => o.label === 'Order Items')!;
    expect(items.apply).toBe('"Sales"."Order Items"');
    const q = completeAt(ix, 'select * from "Sales"."Ord', 25, false)!;
    expect(q.from).toBe(22);
    expect(q.options.map((o) => o.label)).toContain('"Order Items"');
  });
  it('completes a schema\'s members after schema.', () => {
    expect(at('select * from "Sales".|')!.labels).toEqual(['"Order Items"', 'customers']);
    expect(at('select * from public.o|')!.labels).toContain('orders');
  });
  it('offers the statement\'s columns first, and only within its statement', () => {
    const r = at('select 1 from big_orders; select cu| from orders')!;
    expect(r.labels.slice(0, 3)).toEqual(['id', 'customer_region', '"user"']);
    expect(at('select |', false)).toBeNull();
    expect(at('select |', true)!.labels).toContain('orders');
  });
  it('handles 5,000 tables of 20 columns', () => {
    const rels = Array.from({ length: 5000 }, (_, i) => ({ name: 't' + i, kind: 'table' as const, comment: null,
      estimated_rows: 0, columns: Array.from({ length: 20 }, (_, c) => col('c' + c)) }));
    const big = buildIndex({ ...schema, schemas: [{ ...schema.schemas[1], relations: rels }] });
    const r = completeAt(big, 'select x.| from t4999 x', 'select x.'.length, false)!;
    expect(r.options).toHaveLength(20);
    expect(completeAt(big, 'select * from t49', 17, false)!.options.length).toBeGreaterThan(5000);
  });
});
