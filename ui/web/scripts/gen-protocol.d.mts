// gen-protocol.d.mts — the types of gen-protocol.mjs's exports (for its tests).
export type Shape = { kind: string; [k: string]: unknown };
export function typeName(name: string): string;
export function tsType(shape: Shape, indent?: string): string;
export function paramsType(params: { name: string; optional: boolean; doc?: string; shape: Shape }[], indent: string): string;
export function generate(describe: unknown): string;
