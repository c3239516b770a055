import { describe, expect, it } from 'vitest';
import { errorRange, codePointOffset } from '../src/lib/sqlpos';

describe('errorRange', () => {
  it('marks the token at the 1-based position', () => {
    const sql = 'select 1;\nSELEC 2';
    const r = errorRange(sql, 11);
    expect(sql.slice(r.from, r.to)).toBe('SELEC');
  });
  it('counts characters, not UTF-16 units', () => {
    const sql = "select '😀😀', frm";
    expect(codePointOffset(sql, 13)).toBe(14);
    const r = errorRange(sql, 14);
    expect(sql.slice(r.from, r.to)).toBe('frm');
  });
  it('marks quoted strings whole and the end of input', () => {
    const sql = "select 'it''s' x";
    expect(sql.slice(errorRange(sql, 8).from, errorRange(sql, 8).to)).toBe("'it''s'");
    const end = errorRange('select (', 9);
    expect(end).toEqual({ from: 7, to: 8 });
  });
});
