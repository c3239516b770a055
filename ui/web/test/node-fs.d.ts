// The one Node API the tests use (the page's tsconfig has no Node types).
declare module 'node:fs' {
  export function readFileSync(path: URL, encoding: 'utf8'): string;
  const fs: { readFileSync: typeof readFileSync };
  export default fs;
}
