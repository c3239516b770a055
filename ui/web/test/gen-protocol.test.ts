// gen-protocol.test.ts — describe's shape trees become the TypeScript the
// page is checked against (scripts/gen-protocol.mjs).
import { describe, expect, it } from 'vitest';
import { generate, paramsType, tsType, typeName } from '../scripts/gen-protocol.mjs';
import * as gen from '../src/lib/protocol.gen';

const S = (kind: string, more: Record<string, unknown> = {}) => ({ kind, ...more });

describe('shape trees as TypeScript', () => {
  it('maps every kind', () => {
    expect(tsType(S('str'))).toBe('string');
    expect(tsType(S('int'))).toBe('number');
    expect(tsType(S('float'))).toBe('number');
    expect(tsType(S('bool'))).toBe('boolean');
    expect(tsType(S('bin'))).toBe('Uint8Array');
    expect(tsType(S('nil'))).toBe('null');
    expect(tsType(S('any'))).toBe('unknown');
    expect(tsType(S('literal', { value: "it's" }))).toBe("'it\\'s'");
    expect(tsType(S('ref', { name: 'storage_notice' }))).toBe('StorageNotice');
    expect(tsType(S('array', { of: S('str') }))).toBe('string[]');
    expect(tsType(S('array', { of: S('union', { of: [S('str'), S('nil')] }) }))).toBe('Array<string | null>');
    expect(tsType(S('dict', { of: S('int') }))).toBe('Record<string, number>');
    expect(tsType(S('union', { of: [S('literal', { value: 'a' }), S('literal', { value: 'b' })] }))).toBe("'a' | 'b'");
    expect(tsType(S('record', { fields: [
      { name: 'a', optional: false, type: S('int') },
      { name: 'b-c', optional: true, type: S('str') },
    ], open: false }))).toBe('{\n  a: number;\n  "b-c"?: string;\n}');
    expect(tsType(S('record', { fields: [{ name: 'a', optional: false, type: S('int') }], open: true })))
      .toBe('{\n  a: number;\n} & Record<string, unknown>');
    expect(() => tsType(S('tuple'))).toThrow(/unknown shape kind/);
  });

  it('names shapes without shadowing the page globals', () => {
    expect(typeName('config_input')).toBe('ConfigInput');
    expect(typeName('error')).toBe('WireError');
    expect(typeName('worker')).toBe('WireWorker');
  });

  it('makes optional parameters optional and nullable', () => {
    expect(paramsType([], '')).toBe('Record<string, never>');
    expect(paramsType([{ name: 'id', optional: true, shape: S('str') }, { name: 'n', optional: false, shape: S('int') }], ''))
      .toBe('{\n  id?: string | null;\n  n: number;\n}');
  });

  it('writes methods, notifications and flags', () => {
    const t = generate({
      protocol_version: 7, version: '9.9',
      shapes: [{ name: 'thing', text: '{a: int}', shape: S('record', { fields: [{ name: 'a', optional: false, type: S('int') }], open: false }) }],
      methods: [{ name: 'get_thing', params: [{ name: 'id', optional: false, doc: 'which', shape: S('str') }],
        result_shape: S('ref', { name: 'thing' }), flags: ['read_only'], doc: 'One thing.' }],
      notifications: [{ name: 'thing_changed', shape: S('ref', { name: 'thing' }), doc: 'It changed.' }],
    });
    expect(t).toContain('export const PROTOCOL_VERSION = 7;');
    expect(t).toContain('export type Thing = {\n  a: number;\n};');
    expect(t).toContain('  get_thing: {\n    params: {\n      /** which */\n      id: string;\n    };\n    result: Thing;\n  };');
    expect(t).toContain('  thing_changed: Thing;');
    expect(t).toContain('export const READ_ONLY: ReadonlySet<MethodName> = new Set<MethodName>(["get_thing"]);');
  });
});

describe('the generated file (from this build of tuskd)', () => {
  it('lists every method with its flags', () => {
    expect(gen.METHODS).toContain('connect');
    expect(gen.METHODS).toContain('trust_host_key');
    expect(gen.READ_ONLY.has('health_check')).toBe(true);
    expect(gen.READ_ONLY.has('connect')).toBe(false);
    expect(gen.NEEDS_CONNECTION.has('execute_query')).toBe(true);
    expect(gen.PROTOCOL_VERSION).toBeGreaterThan(0);
  });
});
