// The table data tab: typed input into the values apply_edits sends, and
// the edits built from what the user changed (a fake broker answers).
import { describe, expect, it } from 'vitest';
import { TableTab, cellInput, parseInput, type TColumn } from '../src/lib/table.svelte';

const col = (name: string, data_type: string, extra: Partial<TColumn> = {}): TColumn => ({
  name, data_type, type: data_type, nullable: true, key: false, editable: true, generated: false,
  identity: null, has_default: false, ...extra,
});

describe('parseInput', () => {
  it('checks and converts what a user types, by type', () => {
    expect(parseInput(col('b', 'bool'), 'true')).toBe(true);
    expect(parseInput(col('b', 'bool'), 'f')).toBe(false);
    expect(() => parseInput(col('b', 'bool'), 'maybe')).toThrow(/boolean/);
    expect(parseInput(col('i', 'int4'), '-42')).toBe(-42);
    expect(parseInput(col('i', 'int8'), '9223372036854775807')).toBe('9223372036854775807'); // exact, as text
    expect(() => parseInput(col('i', 'int4'), '1.5')).toThrow(/integer/);
    expect(parseInput(col('f', 'float8'), '0.1')).toBe(0.1);
    expect(parseInput(col('f', 'float8'), 'NaN')).toBe('NaN');
    expect(parseInput(col('n', 'numeric'), '12345678901234567890.01')).toBe('12345678901234567890.01');
    expect(() => parseInput(col('j', 'jsonb'), '{"a":')).toThrow(/not JSON/);
    expect(parseInput(col('j', 'jsonb'), '{"a": [1]}')).toBe('{"a": [1]}');
    expect(parseInput(col('x', 'bytea'), '\\x00ff')).toEqual(new Uint8Array([0, 255]));
    expect(() => parseInput(col('x', 'bytea'), 'zz')).toThrow(/hex/);
    expect(parseInput(col('t', 'text'), "'; drop table x; --")).toBe("'; drop table x; --");
  });
  it('shows a value as editable text', () => {
    expect(cellInput(new Uint8Array([1, 171]))).toBe('\\x01ab');
    expect(cellInput(null)).toBe('');
    expect(cellInput(2.5)).toBe('2.5');
  });
});

/** A tab over a fake broker that answers open_table with two rows. */
function fakeTab() {
  const calls: any[] = [];
  const app: any = {
    ensureConnected: async (id: string) => id,
    confirm: async () => true,
    rpc: {
      call: async (method: string, params: any) => {
        calls.push({ method, params });
        if (method === 'open_table')
          return {
            columns: [col('id', 'int4', { key: true, nullable: false }), col('name', 'text'), col('g', 'int4', { editable: false, generated: true })],
            rows: [[1, 'a', 2], [2, 'b', 4]], keys: [{ id: '1' }, { id: '2' }], xmins: ['700', '701'],
            key_columns: ['id'], editable: true, reason: null, next: null, paging: 'keyset', sql: 'SELECT …',
          };
        if (params.dry_run) return { applied: 0, conflicts: [], dry_run: true, statements: [{ sql: 'UPDATE …', params: [] }] };
        return { applied: 0, dry_run: false, statements: [], conflicts: [{ index: 0, op: 'update', reason: 'changed', message: 'm', xmin: '900', current: [1, 'theirs', 2] }] };
      },
    },
  };
  return { tab: new TableTab(app, 'c1', 'public', 'T'), calls };
}

describe('TableTab', () => {
  it('builds updates, deletes and inserts from the pending changes', async () => {
    const { tab } = fakeTab();
    await tab.load();
    tab.edit(tab.rows[0], 1, 'x');
    tab.edit(tab.rows[0], 2, 99); // generated: ignored
    tab.toggleDelete(tab.rows[1]);
    const r = tab.addRow();
    tab.edit(r, 0, 3);
    expect(tab.pending).toBe(3);
    expect(tab.edits().edits).toEqual([
      { op: 'update', key: { id: '1' }, xmin: '700', values: { name: 'x' } },
      { op: 'delete', key: { id: '2' }, xmin: '701' },
      { op: 'insert', values: { id: 3 } },
    ]);
    tab.edit(tab.rows[0], 1, 'a'); // back to what was read: no change
    expect(tab.edits().edits[0].op).toBe('delete');
    tab.discard();
    expect(tab.pending).toBe(0);
    expect(tab.rows.length).toBe(2);
  });
  it('marks conflicts; keeping my change takes the new xmin', async () => {
    const { tab, calls } = fakeTab();
    await tab.load();
    tab.edit(tab.rows[0], 1, 'mine');
    await tab.apply();
    expect(calls.at(-1).params.edits[0].xmin).toBe('700');
    expect(tab.conflicts.length).toBe(1);
    expect(tab.status).toMatch(/Nothing applied/);
    tab.keepMine(tab.rows[0]);
    expect(tab.rows[0].xmin).toBe('900');
    expect(tab.rows[0].values[1]).toBe('theirs');
    expect(tab.edits().edits).toEqual([{ op: 'update', key: { id: '1' }, xmin: '900', values: { name: 'mine' } }]);
  });
});
