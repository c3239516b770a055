// cdppipe.mjs — Debian's Chromium driven over --remote-debugging-pipe with
// nothing but Runtime: the page runs as a user's would. Playwright turns on
// the DevTools Network domain for every page, and Chromium then copies each
// WebSocket frame (base64) to it — on a 1M-row result that tripled the
// browser's CPU and hid the page's own cost (issue 16, docs/benchmarks.md).
// The pipe needs no WebSocket client, so this runs on Debian 12's Node 18.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Chromium on url; resolves once the page target is attached. */
export async function launchPiped(url, { width = 1400, height = 900 } = {}) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tusk-cdp-'));
  const home = path.join(tmp, 'home');
  fs.mkdirSync(home);
  const proc = spawn('/usr/bin/chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
    '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--enable-precise-memory-info', '--remote-debugging-pipe', `--user-data-dir=${path.join(tmp, 'profile')}`,
    `--window-size=${width},${height}`, 'about:blank'], {
    stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'],
    env: { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config') },
  });
  const toChrome = proc.stdio[3];
  const fromChrome = proc.stdio[4];
  let nextId = 0;
  const waiting = new Map();
  const listeners = new Set(); // DevTools events: fn({ method, params, sessionId })
  let pending = Buffer.alloc(0);
  fromChrome.on('data', (d) => {
    pending = Buffer.concat([pending, d]);
    for (let z = pending.indexOf(0); z >= 0; z = pending.indexOf(0)) {
      const m = JSON.parse(pending.subarray(0, z).toString('utf8'));
      pending = pending.subarray(z + 1);
      if (m.method) for (const fn of listeners) fn(m);
      const w = m.id !== undefined && waiting.get(m.id);
      if (!w) continue;
      waiting.delete(m.id);
      if (m.error) w.reject(new Error(`${w.method}: ${m.error.message}`));
      else w.resolve(m.result);
    }
  });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  const send = (method, params = {}, sessionId) => new Promise((resolve, reject) => {
    const id = ++nextId;
    waiting.set(id, { resolve, reject, method });
    toChrome.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
  });
  const { targetInfos } = await send('Target.getTargets');
  const target = targetInfos.find((t) => t.type === 'page');
  const { sessionId } = await send('Target.attachToTarget', { targetId: target.targetId, flatten: true });
  const page = (method, params) => send(method, params, sessionId);
  await page('Page.navigate', { url });

  /** The value of expr in the page (promises awaited); retried while the page loads. */
  async function evaluate(expr) {
    for (let tries = 0; ; tries++) {
      try {
        const r = await page('Runtime.evaluate', { expression: expr, awaitPromise: true, returnByValue: true });
        if (r.exceptionDetails) throw new Error(r.exceptionDetails.exception?.description ?? r.exceptionDetails.text);
        return r.result.value;
      } catch (e) {
        if (tries > 100 || !/context/.test(e.message)) throw e;
        await new Promise((res) => setTimeout(res, 100));
      }
    }
  }

  /** [pid, kind] of this browser's processes (kind: browser, renderer, gpu-process, utility, ...). */
  function processes() {
    const out = [];
    for (const d of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        // Chromium's children rewrite their command line with spaces
        const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ');
        if (!cmd.includes(tmp)) continue;
        const kind = /--type=(\S+)/.exec(cmd)?.[1] ?? 'browser';
        out.push([Number(d), kind === 'utility' && cmd.includes('NetworkService') ? 'network' : kind]);
      } catch { /* gone */ }
    }
    return out;
  }

  async function close() {
    for (const [pid] of processes()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch { /* gone */ }
    }
    await exited;
    fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
  const on = (fn) => listeners.add(fn);
  return { send, page, evaluate, processes, close, on };
}

/** CPU time (user + system) of a process in ms, 0 once it is gone. */
export function cpuMs(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * 1000 / 100;
  } catch {
    return 0;
  }
}
