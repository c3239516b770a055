import { describe, expect, it } from 'vitest';
import { splitStatements, statementAt, statementWrites } from '../src/lib/sqlsplit';

const texts = (sql: string) => splitStatements(sql).map((s) => s.text);

describe('splitStatements', () => {
  it('splits at semicolons and keeps offsets', () => {
    const sql = 'select 1;\n  select 2 ;select 3';
    const st = splitStatements(sql);
    expect(st.map((s) => s.text)).toEqual(['select 1', 'select 2', 'select 3']);
    for (const s of st) expect(sql.slice(s.from, s.to)).toBe(s.text);
    expect(st[0].end).toBe(9);
    expect(st[2].end).toBe(sql.length);
  });

  it('leaves empty statements and comments out', () => {
    expect(texts(';;  ;\n-- just a comment\n;/* c */;')).toEqual([]);
    expect(texts('-- lead\nselect 1; -- trail')).toEqual(['select 1']);
  });

  it('ignores semicolons in quotes, identifiers and comments', () => {
    expect(texts("select ';', 'it''s; ok', \"a;b\" from t; select 2")).toEqual([
      "select ';', 'it''s; ok', \"a;b\" from t", 'select 2']);
    expect(texts("select E'\\';' ; select 3")).toEqual(["select E'\\';'", 'select 3']);
    expect(texts('select 1 -- a;b\n + 1; select /* x; /* nested; */ y; */ 2')).toEqual([
      'select 1 -- a;b\n + 1', 'select /* x; /* nested; */ y; */ 2']);
  });

  it('does not treat a backslash in a standard string as an escape', () => {
    expect(texts("select 'a\\'; select 2")).toEqual(["select 'a\\'", 'select 2']);
  });

  it('respects dollar quotes, with and without tags', () => {
    const fn = "create function f() returns int language plpgsql as $$ begin return 1; end $$";
    expect(texts(fn + '; select f()')).toEqual([fn, 'select f()']);
    const tagged = "do $body$ begin raise notice '$$;'; end $body$";
    expect(texts(tagged + ';select 1')).toEqual([tagged, 'select 1']);
    // $1 is a parameter, a$b$ an identifier
    expect(texts('select $1; select a$b$ from t; select 2')).toEqual(['select $1', 'select a$b$ from t', 'select 2']);
  });

  it('keeps a BEGIN ATOMIC body whole', () => {
    const body = 'create function g() returns int begin atomic select 1; select case when true then 2 end; end';
    expect(texts(body + '; select 9')).toEqual([body, 'select 9']);
    expect(texts('begin; select 1; commit')).toEqual(['begin', 'select 1', 'commit']);
  });

  it('ends an unterminated quote at the end of the text', () => {
    expect(texts("select 'open; select 2")).toEqual(["select 'open; select 2"]);
  });
});

describe('statementAt', () => {
  const sql = 'select 1;\nselect 2;\n\n-- c\nselect 3';
  const st = splitStatements(sql);
  it('finds the statement under the cursor', () => {
    expect(statementAt(st, 0)?.text).toBe('select 1');
    expect(statementAt(st, 9)?.text).toBe('select 1'); // just after its ';'
    expect(statementAt(st, 12)?.text).toBe('select 2');
    expect(statementAt(st, sql.length)?.text).toBe('select 3');
    expect(statementAt(st, 21)?.text).toBe('select 2'); // the blank line after it
    expect(statementAt([], 0)).toBeNull();
  });
});

describe('statementWrites', () => {
  it('tells reads from writes', () => {
    for (const s of ['select 1', 'SELECT * FROM t', 'values (1)', 'table t', 'with a as (select 1) select * from a',
      "select 'insert into' from t"])
      expect(statementWrites(s)).toBe(false);
    for (const s of ['insert into t values (1)', 'update t set a = 1', 'delete from t', 'create table x (a int)',
      'with d as (delete from t returning *) select * from d', 'select * into t2 from t', 'merge into t using s on true when matched then do nothing'])
      expect(statementWrites(s)).toBe(true);
  });
});
