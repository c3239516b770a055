// shell.test.mjs — the desktop window: `tusk` under Xvfb opens a GTK +
// WebKitGTK window on its own gateway; the window shows the UI (a
// screenshot that is not blank) and its page reaches the broker (seen from
// the broker's side); WebKitWebDriver drives the real window through a
// connection and a query. Ending tusk ends its gateway, however tusk ends.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { BIN, ROOT, SHOTS, startFixture, until } from './lib.mjs';

let fx, xvfb, display, tmp;

before(async () => {
  fx = await startFixture();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tusk-shell-'));
  xvfb = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x800x24', '-nolisten', 'tcp'],
    { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
  display = await new Promise((resolve, reject) => {
    let buf = '';
    xvfb.stdio[3].on('data', (d) => { buf += d; if (buf.includes('\n')) resolve(':' + buf.trim()); });
    xvfb.once('exit', (c) => reject(new Error('Xvfb exited ' + c)));
  });
});

after(async () => {
  xvfb?.kill('SIGTERM');
  assert.equal(await fx?.stop(), 0, 'the broker stopped cleanly');
  fs.rmSync(tmp, { recursive: true, force: true });
});

function startTusk() {
  const home = path.join(tmp, 'home');
  fs.mkdirSync(home, { recursive: true });
  const child = spawn(path.join(BIN, 'tusk'), [], {
    env: { ...process.env, DISPLAY: display, TUSK_HOME: fx.home, HOME: home, XDG_CACHE_HOME: path.join(home, 'cache'),
      XDG_DATA_HOME: path.join(home, 'data'), XDG_CONFIG_HOME: path.join(home, 'config'), NO_AT_BRIDGE: '1',
      ASAN_OPTIONS: 'detect_leaks=0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const url = new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (c) => reject(new Error('tusk exited ' + c + ': ' + err)));
  });
  return { child, url, err: () => err };
}

/** Live children of pid. */
function children(pid) {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const rest = st.slice(st.lastIndexOf(')') + 2).split(' ');
      if (rest[0] !== 'Z' && Number(rest[1]) === pid) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

const alive = (pid) => { try { process.kill(pid, 0); return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0] !== 'Z'; } catch { return false; } };

test('tusk opens a window showing the UI, whose page reaches the broker through its own gateway', async () => {
  const t = startTusk();
  const url = await t.url;
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64}$/);
  const gwPid = await until(() => children(t.child.pid).find((p) => fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('tusk-ui')), 10000, 'the gateway child');
  // the page's WebSocket is a broker client of its own (the call below is the other)
  await until(async () => (await fx.call('health_check')).clients >= 2, 30000, 'the window\'s page connected to the broker');
  await new Promise((r) => setTimeout(r, 1500)); // let it paint what it received
  fs.mkdirSync(SHOTS, { recursive: true });
  const shot = path.join(SHOTS, 'shell-window.png');
  await until(() => {
    execFileSync('import', ['-display', display, '-window', 'root', shot]);
    return Number(execFileSync('identify', ['-format', '%k', shot]).toString()) > 50;
  }, 30000, 'a painted, non-blank window');
  // a clean stop takes the gateway down with the window
  t.child.kill('SIGTERM');
  const code = await new Promise((r) => t.child.once('exit', (c) => r(c)));
  assert.equal(code, 0, t.err());
  await until(() => !alive(gwPid), 5000, 'the gateway gone');
  await until(async () => (await fx.call('health_check')).clients === 1, 5000, 'the page\'s broker connection closed');
});

test('if tusk dies without cleaning up, its gateway still ends (its lifetime pipe closes)', async () => {
  const t = startTusk();
  await t.url;
  const gwPid = await until(() => children(t.child.pid).find((p) => fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('tusk-ui')), 10000, 'the gateway child');
  t.child.kill('SIGKILL');
  await until(() => !alive(gwPid), 5000, 'the orphaned gateway gone');
});

test('without a display tusk prints the address and serves it until interrupted', async () => {
  const child = spawn(path.join(BIN, 'tusk'), [], {
    env: { ...process.env, DISPLAY: '', WAYLAND_DISPLAY: '', TUSK_HOME: fx.home, ASAN_OPTIONS: 'detect_leaks=0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const url = await new Promise((r) => readline.createInterface({ input: child.stdout }).once('line', r));
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=/);
  const res = await fetch(url, { redirect: 'manual' });
  assert.equal(res.status, 303);
  await until(() => /no display/.test(err), 5000, 'the no-display note');
  child.kill('SIGINT');
  assert.equal(await new Promise((r) => child.once('exit', (c) => r(c))), 0);
  void ROOT;
});

/** A W3C WebDriver client for WebKitWebDriver (plain HTTP). */
function webdriver(base) {
  const ELEM = 'element-6066-11e4-a52e-4f735466cecf';
  const req = async (method, p, body) => {
    const r = await fetch(base + p, { method, headers: { 'Content-Type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
    const v = (await r.json()).value;
    if (!r.ok) throw new Error(`${method} ${p}: ${JSON.stringify(v).slice(0, 300)}`);
    return v;
  };
  let sid = null;
  const s = (p) => `/session/${sid}${p}`;
  return {
    async start(caps) { sid = (await req('POST', '/session', { capabilities: { alwaysMatch: caps } })).sessionId; },
    stop: () => req('DELETE', s('')),
    find: async (xpath) => (await req('POST', s('/element'), { using: 'xpath', value: xpath }))[ELEM],
    count: async (xpath) => (await req('POST', s('/elements'), { using: 'xpath', value: xpath })).length,
    text: (id) => req('GET', s(`/element/${id}/text`)),
    click: (id) => req('POST', s(`/element/${id}/click`), {}),
    clear: (id) => req('POST', s(`/element/${id}/clear`), {}),
    type: (id, text) => req('POST', s(`/element/${id}/value`), { text }),
    url: () => req('GET', s('/url')),
    exec: (script) => req('POST', s('/execute/sync'), { script, args: [] }),
    screenshot: async () => Buffer.from(await req('GET', s('/screenshot')), 'base64'),
  };
}

test('WebKitWebDriver drives the real window: connect, run a query, read the grid', async () => {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const home = path.join(tmp, 'wdhome');
  fs.mkdirSync(home, { recursive: true });
  const drv = spawn('WebKitWebDriver', ['--port=' + port], {
    env: { ...process.env, DISPLAY: display, TUSK_HOME: fx.home, HOME: home, NO_AT_BRIDGE: '1', ASAN_OPTIONS: 'detect_leaks=0' },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  const wd = webdriver(`http://127.0.0.1:${port}`);
  try {
    await until(async () => (await fetch(`http://127.0.0.1:${port}/status`)).ok, 10000, 'WebKitWebDriver');
    await wd.start({ 'webkitgtk:browserOptions': { binary: path.join(BIN, 'tusk'), args: ['--automation'] } });
    assert.match(await wd.url(), /^http:\/\/127\.0\.0\.1:\d+\/$/, 'the token was traded for a cookie');
    await until(async () => /Broker ok/.test(await wd.text(await wd.find("//*[@data-testid='broker-health']"))), 20000, 'broker health in the window');
    await wd.click(await wd.find("//button[normalize-space()='+ New']"));
    const field = async (label, value) => {
      const id = await wd.find(`//div[@role='dialog']//label[starts-with(normalize-space(.), '${label}')]/input`);
      await wd.clear(id);
      await wd.type(id, value);
    };
    await field('Name', 'window');
    await field('Host', '127.0.0.1');
    await field('Port', String(fx.pg.port));
    await field('Database', 'tuskdb');
    await field('User', 'tusk');
    await field('Password', 'tuskpw');
    await wd.click(await wd.find("//div[@role='dialog']//select/option[@value='disable']"));
    await wd.click(await wd.find("//div[@role='dialog']//button[@type='submit']"));
    await until(async () => (await wd.count("//*[@data-testid='conn-item'][@data-name='window'][@data-state='connected']")) === 1, 20000, 'connected in the window');
    const editor = await wd.find("//div[contains(concat(' ', @class, ' '), ' tabbody ') and not(@hidden)]//div[contains(concat(' ', @class, ' '), ' cm-content ')]");
    await wd.click(editor);
    await wd.type(editor, 'select 40 + 2 as answer, null as nothing');
    await wd.type(editor, '\uE009\uE007\uE009'); // Ctrl+Enter (press, release)
    // the cells' rendered text (innerText) in the window's page
    // the cells' rendered text in the window's page, and whether each is
    // really on screen (the topmost element at its centre)
    const cells = () => wd.exec(`return [...document.querySelectorAll('.tabbody:not([hidden]) [data-testid=grid] .rows .td')]
      .map((e) => { const r = e.getBoundingClientRect();
        return e.innerText + (document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === e ? '' : ' (not visible)'); })`);
    await until(async () => (await cells()).length === 2, 20000, 'the result in the grid');
    await until(async () => JSON.stringify(await cells()) === '["42","NULL"]', 5000, 'the cells on screen')
      .catch(async (e) => { throw new Error(e.message + ' ' + JSON.stringify(await cells())); });
    // the window's own file chooser is offered to the page (Export…'s Choose…)
    assert.equal(await wd.exec('return typeof window.webkit?.messageHandlers?.tuskFile?.postMessage'), 'function');
    await wd.click(await wd.find("//button[normalize-space()='Export…']"));
    assert.equal(await wd.count("//div[@role='dialog']//button[normalize-space()='Choose…']"), 1);
    await wd.click(await wd.find("//div[@role='dialog']//button[normalize-space()='Close']"));
    fs.mkdirSync(SHOTS, { recursive: true });
    fs.writeFileSync(path.join(SHOTS, 'shell-webdriver.png'), await wd.screenshot());
  } finally {
    await wd.stop().catch(() => {});
    drv.kill('SIGTERM');
  }
});
