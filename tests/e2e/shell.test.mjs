// shell.test.mjs — the desktop window: `tusk` under Xvfb opens a GTK +
// WebKitGTK window on its own gateway; the window shows the UI (a
// screenshot that is not blank) and its page reaches the broker (seen from
// the broker's side); WebKitWebDriver drives the real window through a
// connection and a query. Ending tusk ends its gateway, however tusk ends.
// `tusk --browser` opens the default browser (a fake one that records what
// it was given) without the token on any command line or in any
// environment.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
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
  assert.match(fs.readFileSync(`/proc/${gwPid}/cmdline`, 'utf8'), /\0--window\0/, 'a gateway for the window only');
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

/** Every process's command line and environment now (a set of texts). */
function processTexts(into) {
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    for (const f of ['cmdline', 'environ']) {
      try {
        into.add(`${d}/${f}\0` + fs.readFileSync(`/proc/${d}/${f}`, 'latin1'));
      } catch { /* gone, or not ours to read */ }
    }
  }
}

// The user's default browser, as GIO finds it: a desktop entry for
// text/html in the test's XDG directories. It records its argv and pid,
// reads the file it was given, follows the page's redirect with a cookie jar
// as a browser would, and waits to be told to exit.
const FAKE_BROWSER = `#!/usr/bin/python3
import http.cookiejar, json, os, re, sys, time, urllib.parse, urllib.request
log = os.environ["FAKE_BROWSER_LOG"]
rec = {"argv": sys.argv, "pid": os.getpid()}
try:
    arg = sys.argv[1]
    if arg.startswith("http:"):
        url = arg  # (what tusk used to do)
    else:
        path = urllib.parse.unquote(urllib.parse.urlparse(arg).path) if arg.startswith("file:") else arg
        rec["mode"] = oct(os.stat(path).st_mode & 0o777)
        html = open(path).read()
        url = re.search(r'http-equiv="refresh" content="0;url=([^"]+)"', html).group(1)
    op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    r = op.open(url, timeout=20)
    body = r.read().decode()
    rec.update(status=r.status, final=r.geturl(), app='id="app"' in body)
    script = re.search(r'src="\\./(assets/[^"]+\\.js)"', body)
    if script:
        a = op.open(urllib.parse.urljoin(r.geturl(), script.group(1)), timeout=20)
        rec["asset"] = a.status
except Exception as e:
    rec["error"] = repr(e)
with open(log + ".tmp", "w") as f:
    json.dump(rec, f)
os.rename(log + ".tmp", log)
deadline = time.time() + 60
while not os.path.exists(log + ".done") and time.time() < deadline:
    time.sleep(0.05)
`;

test('tusk --automation whose display cannot be opened fails plainly instead of serving headless', () => {
  const r = spawnSync(path.join(BIN, 'tusk'), ['--automation'], {
    env: { ...process.env, DISPLAY: ':4242', TUSK_HOME: fx.home, ASAN_OPTIONS: 'detect_leaks=0' }, encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /--automation needs a window, and the display :4242 cannot be opened/);
  assert.match(r.stderr, /hint: start an X server/);
});

test('tusk --browser opens the browser on a private page: the token is on no command line and in no environment', async () => {
  const home = path.join(tmp, 'browserhome');
  const apps = path.join(home, 'share', 'applications');
  fs.mkdirSync(apps, { recursive: true });
  fs.mkdirSync(path.join(home, 'config'), { recursive: true });
  const fake = path.join(home, 'fake-browser');
  fs.writeFileSync(fake, FAKE_BROWSER, { mode: 0o755 });
  fs.writeFileSync(path.join(apps, 'tusk-test-browser.desktop'),
    `[Desktop Entry]\nType=Application\nName=Test browser\nExec=${fake} %u\nMimeType=text/html;x-scheme-handler/http;\nNoDisplay=true\n`);
  fs.writeFileSync(path.join(home, 'config', 'mimeapps.list'),
    '[Default Applications]\ntext/html=tusk-test-browser.desktop\nx-scheme-handler/http=tusk-test-browser.desktop\n');
  const log = path.join(home, 'browser.json');

  // watch every process from before tusk starts until the browser is done
  const seen = new Set();
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      processTexts(seen);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const child = spawn(path.join(BIN, 'tusk'), ['--browser'], {
    env: { ...process.env, DISPLAY: display, TUSK_HOME: fx.home, HOME: home, XDG_DATA_HOME: path.join(home, 'share'),
      XDG_CONFIG_HOME: path.join(home, 'config'), XDG_CACHE_HOME: path.join(home, 'cache'), FAKE_BROWSER_LOG: log,
      ASAN_OPTIONS: 'detect_leaks=0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  try {
    const url = await new Promise((resolve, reject) => {
      readline.createInterface({ input: child.stdout }).once('line', resolve);
      child.once('exit', (c) => reject(new Error('tusk exited ' + c + ': ' + err)));
    });
    const token = /token=([0-9a-f]{64})$/.exec(url)?.[1];
    assert.ok(token, 'tusk printed the address to its own terminal: ' + url);
    const rec = await until(() => fs.existsSync(log) && JSON.parse(fs.readFileSync(log, 'utf8')), 30000, 'the browser to load the page')
      .catch((e) => { throw new Error(e.message + '\n' + err); });
    assert.equal(rec.error, undefined, rec.error);
    // the watcher saw the browser process itself (so it would have seen a token in it)
    await until(() => [...seen].some((t) => t.startsWith(`${rec.pid}/cmdline\0`) && t.includes(rec.argv[1])), 5000,
      'the browser process in /proc');
    fs.writeFileSync(log + '.done', '');
    processTexts(seen);
    watching = false;
    await watcher;
    const leaks = [...seen].filter((t) => t.includes(token)).map((t) => t.slice(0, t.indexOf('\0')));
    assert.deepEqual(leaks, [], 'the token in /proc/' + leaks.join(', /proc/'));
    assert.ok(seen.size > 20, `${seen.size} command lines and environments looked at`);
    // it was given the private page, by path
    assert.equal(rec.argv.length, 2, JSON.stringify(rec.argv));
    assert.match(rec.argv[1], new RegExp('^(file://)?' + fx.home + '/run/open-\\d+\\.html$'));
    assert.equal(rec.mode, '0o600', 'the page is for our eyes only');
    // and the page loaded: the token traded for a cookie, the UI and its script served
    assert.equal(rec.status, 200);
    assert.match(rec.final, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.ok(rec.app, 'the page is the UI');
    assert.equal(rec.asset, 200, 'the UI\'s script loads with the cookie');
    const page = rec.argv[1].replace(/^file:\/\//, '');
    assert.ok(fs.existsSync(page));
    child.kill('SIGTERM');
    assert.equal(await new Promise((r) => child.once('exit', (c) => r(c))), 0, err);
    assert.ok(!fs.existsSync(page), 'the page is removed when tusk ends');
  } finally {
    watching = false;
    fs.writeFileSync(log + '.done', '');
    if (child.exitCode === null) child.kill('SIGKILL');
  }
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
    // (the session may start before the window's first page has committed)
    await until(async () => (await wd.url()) !== 'about:blank', 20000, 'the gateway\'s page in the window');
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
    assert.equal(await wd.exec('return typeof window.webkit?.messageHandlers?.tusk?.postMessage'), 'function');
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

// --- never lose work, in the window ------------------------------------------------

/** A WebKitWebDriver driving a new tusk window; stop() ends both. */
async function driveWindow(name) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const home = path.join(tmp, name);
  fs.mkdirSync(home, { recursive: true });
  const drv = spawn('WebKitWebDriver', ['--port=' + port], {
    env: { ...process.env, DISPLAY: display, TUSK_HOME: fx.home, HOME: home, NO_AT_BRIDGE: '1', ASAN_OPTIONS: 'detect_leaks=0',
      GTK_USE_PORTAL: '0' },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  const wd = webdriver(`http://127.0.0.1:${port}`);
  await until(async () => (await fetch(`http://127.0.0.1:${port}/status`)).ok, 10000, 'WebKitWebDriver');
  await wd.start({ 'webkitgtk:browserOptions': { binary: path.join(BIN, 'tusk'), args: ['--automation'] } });
  await until(async () => /Broker ok/.test(await wd.text(await wd.find("//*[@data-testid='broker-health']"))), 30000, 'broker health in the window');
  await until(() => wd.exec('return window.tusk.workspace.ready && window.tusk.tabs.length > 0'), 10000, 'the workspace restored');
  const tusk = await until(() => children(drv.pid).find((p) => fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('--automation')), 10000, 'the tusk process');
  return {
    wd, tusk,
    gateway: () => children(tusk).find((p) => fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('tusk-ui')),
    texts: () => wd.exec('return window.tusk.tabs.map((t) => t.text())'),
    // the editor's chunk loads once the first view is painted: it may come a moment after
    editor: () => until(() => wd.find("//div[contains(concat(' ', @class, ' '), ' tabbody ') and not(@hidden)]//div[contains(concat(' ', @class, ' '), ' cm-content ')]"), 10000, 'the editor'),
    async stop() {
      await wd.stop().catch(() => {});
      drv.kill('SIGTERM');
      await new Promise((r) => (drv.exitCode !== null ? r() : drv.once('exit', r)));
    },
  };
}

const stored = async () => JSON.stringify(await fx.call('get_workspace', {}));

test('the window keeps its tabs through kill -9 of the window, kill -9 of its gateway and a broker restart', async () => {
  let w = await driveWindow('ws1');
  try {
    const ed = await w.editor();
    await w.wd.click(ed);
    await w.wd.type(ed, "select 'kept by the window' as survivor");
    await until(async () => (await stored()).includes('kept by the window'), 10000, 'the tab in the broker');
    process.kill(w.tusk, 'SIGKILL'); // the window dies; its gateway ends with it
    await w.stop();
    w = await driveWindow('ws2');
    assert.ok((await w.texts()).some((t) => t.includes('kept by the window')), 'after kill -9 of the window');

    await w.wd.click(await w.editor());
    await w.wd.type(await w.editor(), ' -- and its gateway');
    await until(async () => (await stored()).includes('and its gateway'), 10000, 'the edit in the broker');
    process.kill(w.gateway(), 'SIGKILL');
    await until(async () => /unreachable/.test(await w.wd.text(await w.wd.find("//*[@data-testid='broker-health']"))), 10000, 'the page noticing');
    await w.stop();
    w = await driveWindow('ws3');
    assert.ok((await w.texts()).some((t) => t.includes('and its gateway')), 'after kill -9 of the gateway');
    await w.stop();

    await fx.restart();
    w = await driveWindow('ws4');
    assert.ok((await w.texts()).some((t) => t.includes("select 'kept by the window' as survivor -- and its gateway")),
      'after the broker restarted');
  } finally {
    await w.stop();
  }
});

/** xdotool: wait for a window named name, give it the focus, type into it. */
async function chooserType(name, text) {
  const win = await until(() => {
    try {
      return execFileSync('xdotool', ['search', '--name', '^' + name + '$'], { env: { ...process.env, DISPLAY: display } }).toString().trim().split('\n')[0];
    } catch { return null; }
  }, 15000, `the "${name}" dialog`);
  const x = (...a) => execFileSync('xdotool', a, { env: { ...process.env, DISPLAY: display } });
  x('windowfocus', '--sync', win);
  await new Promise((r) => setTimeout(r, 300)); // the dialog maps its entry
  x('key', '--clearmodifiers', 'ctrl+l');
  x('key', '--clearmodifiers', 'ctrl+a');
  x('type', '--delay', '20', text);
  // the location entry completes the path as it is typed, in the background:
  // Return (sent to the dialog's window, so that none reaches the page once
  // the dialog is gone) until the dialog takes it
  let last = 0;
  await until(() => {
    try {
      execFileSync('xdotool', ['search', '--name', '^' + name + '$'], { env: { ...process.env, DISPLAY: display } });
    } catch { return true; }
    if (Date.now() - last > 700) {
      try { x('key', '--window', win, 'Return'); } catch { /* closed meanwhile */ }
      last = Date.now();
    }
    return false;
  }, 15000, `the "${name}" dialog closed`);
}

test('a .sql file: opened with the GTK chooser, saved with Ctrl+S and Save As, a change on disk noticed', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tusk-win-files-'));
  const file = path.join(dir, 'script.sql');
  fs.writeFileSync(file, "select 'from disk' as origin;\n");
  const w = await driveWindow('files');
  const title = () => w.wd.exec("return document.querySelector('.tab.on [data-testid=tab-title]').textContent");
  try {
    await w.wd.click(await w.editor());
    await w.wd.type(await w.editor(), '\uE009o\uE009'); // Ctrl+O
    await chooserType('Open SQL file', file);
    await until(async () => (await title()) === 'script.sql', 10000, 'the file in a tab');
    assert.equal(await w.wd.exec('return window.tusk.tabs[window.tusk.current].text()'), "select 'from disk' as origin;\n");
    // edit: the unsaved marker; Ctrl+S writes the same file, no question asked
    await w.wd.click(await w.editor());
    await w.wd.type(await w.editor(), '\uE009\uE010\uE009select 2;'); // Ctrl+End, then text
    await until(() => w.wd.exec("return !!document.querySelector('.tab.on [data-testid=tab-unsaved]')"), 5000, 'the unsaved marker');
    await w.wd.type(await w.editor(), '\uE009s\uE009');
    await until(() => fs.readFileSync(file, 'utf8') === "select 'from disk' as origin;\nselect 2;", 10000, 'the file written');
    await until(() => w.wd.exec("return !document.querySelector('.tab.on [data-testid=tab-unsaved]')"), 5000, 'the marker gone');
    // another program changes it: the tab says so, and reloads it
    fs.writeFileSync(file, 'select 3; -- changed elsewhere\n');
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(file, later, later);
    await until(() => w.wd.exec("return !!document.querySelector('[data-testid=disk-changed]')"), 10000, 'the change noticed');
    await w.wd.click(await w.wd.find("//*[@data-testid='disk-changed']//button[normalize-space()='Reload']"));
    await until(async () => (await w.wd.exec('return window.tusk.tabs[window.tusk.current].text()')) === 'select 3; -- changed elsewhere\n', 5000, 'reloaded');
    // Save As: a new file, the tab follows it
    const copy = path.join(dir, 'copy.sql');
    await w.wd.click(await w.editor());
    await w.wd.type(await w.editor(), '\uE009\uE008s\uE008\uE009'); // Ctrl+Shift+S
    await chooserType('Save SQL file', copy);
    await until(() => fs.existsSync(copy) && fs.readFileSync(copy, 'utf8') === 'select 3; -- changed elsewhere\n', 10000, 'the copy written');
    await until(async () => (await title()) === 'copy.sql', 5000, 'the tab renamed');
    fs.mkdirSync(SHOTS, { recursive: true });
    fs.writeFileSync(path.join(SHOTS, 'shell-file.png'), await w.wd.screenshot());
  } finally {
    await w.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
