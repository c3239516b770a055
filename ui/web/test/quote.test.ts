import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { KEYWORDS, qualified, quoteIdent } from '../src/lib/quote';

describe('quoteIdent', () => {
  it('quotes what quote_ident quotes', () => {
    expect(quoteIdent('orders')).toBe('orders');
    expect(quoteIdent('_x1')).toBe('_x1');
    expect(quoteIdent('Orders')).toBe('"Orders"');
    expect(quoteIdent('Order Items')).toBe('"Order Items"');
    expect(quoteIdent('user')).toBe('"user"');
    expect(quoteIdent('select')).toBe('"select"');
    expect(quoteIdent('name')).toBe('name');
    expect(quoteIdent('a"b')).toBe('"a""b"');
    expect(quoteIdent('Ünïcode')).toBe('"Ünïcode"');
    expect(quoteIdent('1abc')).toBe('"1abc"');
  });
  it('qualifies names that are not on the search path', () => {
    expect(qualified('public', 'orders', ['public'])).toBe('orders');
    expect(qualified('Sales', 'Order Items', ['public'])).toBe('"Sales"."Order Items"');
    expect(qualified('public', 'user')).toBe('public."user"');
  });
  it('has the keyword list of common/sqlident.c', () => {
    const c = fs.readFileSync(new URL('../../../common/sqlident.c', import.meta.url), 'utf8');
    const body = c.slice(c.indexOf('quoted_keywords[] = {'), c.indexOf('};', c.indexOf('quoted_keywords[] = {')));
    const words = [...body.matchAll(/"([a-z_]+)"/g)].map((m) => m[1]);
    expect(words.length).toBeGreaterThan(100);
    expect([...KEYWORDS].sort()).toEqual([...words].sort());
  });
});
