// lib.mjs — what the end-to-end tests run against: a real PostgreSQL and
// broker (fixture.py, from tests/lib), a real tusk-ui gateway, and Debian's
// Chromium driven by playwright-core (never a downloaded browser).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

// (import.meta.dirname is Node 20's; Debian 12 has Node 18)
const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '..', '..');
export const BIN = path.resolve(ROOT, process.env.TUSK_BIN || 'build/bin');
export const SHOTS = path.join(ROOT, 'build', 'e2e-shots');
const require = createRequire(path.join(ROOT, 'ui', 'web', 'package.json'));
export const { chromium } = require('playwright-core');

/** The first line a child prints, within ms. */
function firstLine(child, ms, what) {
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout });
    const timer = setTimeout(() => reject(new Error(`${what}: no output within ${ms} ms`)), ms);
    rl.once('line', (l) => { clearTimeout(timer); resolve({ line: l, rl }); });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${what} exited with ${code}`)); });
  });
}

/** PostgreSQL + broker (and with opts.sshd an SSH server, opts.tls a TLS
 * cluster, opts.damagedStore a salvaged local database: fixture.py). stop()
 * resolves with the fixture's exit code. */
export async function startFixture(opts = {}) {
  const args = [path.join(HERE, 'fixture.py')];
  if (opts.sshd) args.push('--sshd');
  if (opts.tls) args.push('--tls');
  if (opts.damagedStore) args.push('--damaged-store');
  const child = spawn('/usr/bin/python3', args, {
    env: { ...process.env, TUSK_BIN: BIN }, stdio: ['pipe', 'pipe', 'inherit'],
  });
  const { line, rl } = await firstLine(child, 120000, 'fixture');
  const info = JSON.parse(line);
  const lines = [];
  let waiter = null;
  rl.on('line', (l) => { if (waiter) { const w = waiter; waiter = null; w(l); } else lines.push(l); });
  const next = () => new Promise((r) => (lines.length ? r(lines.shift()) : (waiter = r)));
  return {
    ...info,
    /** Run SQL as the superuser in the test database. */
    async psql(sql) {
      child.stdin.write('psql ' + sql.replace(/\n/g, ' ') + '\n');
      const r = JSON.parse(await next());
      if (!r.ok) throw new Error(r.error);
      return r.out;
    },
    /** Call a broker method (on a connection of its own). */
    async call(method, params) {
      child.stdin.write('call ' + JSON.stringify({ method, params }) + '\n');
      const r = JSON.parse(await next());
      if (!r.ok) throw new Error(JSON.stringify(r.error));
      return r.out;
    },
    /** Stop the broker (cleanly) and start it again on the same home. */
    async restart() {
      child.stdin.write('restart\n');
      const r = JSON.parse(await next());
      if (!r.ok) throw new Error(r.error);
      return r.out;
    },
    stop() {
      return new Promise((resolve) => {
        child.once('exit', (code) => resolve(code));
        child.stdin.end();
      });
    },
  };
}

/** A tusk-ui gateway for the broker under home. */
export async function startGateway(home, args = []) {
  const child = spawn(path.join(BIN, 'tusk-ui'), args, {
    env: { ...process.env, TUSK_HOME: home, ASAN_OPTIONS: 'detect_leaks=0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  const { line } = await firstLine(child, 20000, 'tusk-ui');
  const m = /^http:\/\/127\.0\.0\.1:(\d+)\/\?token=([0-9a-f]{64})$/.exec(line);
  if (!m) throw new Error('tusk-ui printed ' + line);
  return {
    url: line, port: Number(m[1]), token: m[2], origin: `http://127.0.0.1:${m[1]}`, proc: child,
    log: () => log,
    stop() {
      return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code, sig) => resolve(code ?? sig));
        child.kill('SIGTERM');
      });
    },
  };
}

/** Debian's Chromium, headless, isolated (RECIPES.md §4). */
export async function launchBrowser(viewport = { width: 1400, height: 900 }) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tusk-pw-'));
  const home = path.join(tmp, 'home');
  fs.mkdirSync(home);
  const ctx = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
    executablePath: '/usr/bin/chromium', headless: true, chromiumSandbox: false,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--enable-precise-memory-info'],
    env: { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config') },
    viewport,
  });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  return {
    ctx, page, tmp,
    async close() {
      await ctx.close().catch(() => {});
      fs.rmSync(tmp, { recursive: true, force: true });
    },
    /** kill -9 every process of this browser (its pages die with it). */
    kill() {
      for (const d of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(d)) continue;
        try {
          if (fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(tmp)) process.kill(Number(d), 'SIGKILL');
        } catch { /* gone */ }
      }
    },
  };
}

export async function shot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, name + '.png') });
}

/** Poll fn until it returns a truthy value. */
export async function until(fn, ms = 15000, what = 'condition') {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}
