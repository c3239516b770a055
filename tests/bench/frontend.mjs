// frontend.mjs — the web frontend's numbers, in Debian's Chromium, through
// a real tusk-ui gateway and broker (run by bench.py's `frontend` section,
// which owns the broker and the bench_1m table):
//   time to first row and to last row of a 1M-row result, through the UI,
//   with the CPU of every process on the way, and the same result received
//   by a bare WebSocket page through the same gateway (Chromium's own cost);
//   the page's JS heap after it (and the row bytes it holds);
//   frame times while scrolling it and working on it; the gateway's memory.
// The timed runs drive the page over a DevTools pipe with nothing but
// Runtime (cdppipe.mjs): under Playwright, Chromium copies every WebSocket
// frame to DevTools. The frames and grid work use Playwright.
// Prints one JSON object on stdout.
//   env: TUSK_HOME (the broker's), BENCH_PG_PORT, BENCH_SQL, BENCH_ROUNDS,
//        BENCH_BROKER_PID
import { startGateway, launchBrowser, until } from '../e2e/lib.mjs';
import { launchPiped, cpuMs } from './cdppipe.mjs';
import fs from 'node:fs';

const home = process.env.TUSK_HOME;
const port = Number(process.env.BENCH_PG_PORT);
const sql = process.env.BENCH_SQL || 'select * from bench_1m';
const rounds = Number(process.env.BENCH_ROUNDS || 3);
const brokerPid = Number(process.env.BENCH_BROKER_PID);

function smaps(pid) {
  const out = {};
  for (const line of fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').split('\n')) {
    const m = /^(\w+):\s+(\d+) kB/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  out.Uss = (out.Private_Clean ?? 0) + (out.Private_Dirty ?? 0);
  return out;
}

const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const children = (pid) => {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

// The page receiving the result as a user's would: Tab.run (what Ctrl+Enter
// calls) times it from the call to the whole result in the grid's store.
// Every frame's time while the rows arrive is recorded too.
const RUN_IN_TAB = `(async () => {
  const t = window.tusk.tabs[window.tusk.current];
  const frames = [];
  let running = true;
  let last = performance.now();
  const tick = (now) => { frames.push(now - last); last = now; if (running) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  await t.run(${JSON.stringify(sql)});
  running = false;
  return { first_row_ms: t.firstRowMs, last_row_ms: t.lastRowMs, broker_ms: t.totals?.elapsed_ms,
    rows: t.store?.rowCount, bytes: t.store?.bytes, error: t.error?.message ?? null, frames: frames.slice(1) };
})()`;

// The floor: a bare WebSocket on the same gateway and session, sending the
// same execute_query by hand, crediting the gateway as the page does and
// keeping every WebSocket message, doing nothing else.
const RUN_BARE = `(async () => {
  const cid = await window.tusk.sessionFor(window.tusk.tabs[window.tusk.current]);
  const te = new TextEncoder();
  const enc = (v, out) => {
    if (typeof v === 'number') { out.push(v); return; }
    if (typeof v === 'string') { const b = te.encode(v); out.push(0xda, b.length >> 8, b.length & 255, ...b); return; }
    if (Array.isArray(v)) { out.push(0x90 | v.length); v.forEach((x) => enc(x, out)); return; }
    const ks = Object.keys(v); out.push(0x80 | ks.length); ks.forEach((k) => { enc(k, out); enc(v[k], out); });
  };
  const req = [];
  enc([0, 1, 'execute_query', [{ connection_id: cid, sql: ${JSON.stringify(sql)}, query_id: crypto.randomUUID() }]], req);
  const ws = new WebSocket(location.origin.replace('http', 'ws') + '/rpc');
  ws.binaryType = 'arraybuffer';
  await new Promise((r) => (ws.onopen = r));
  const keep = [];
  let unacked = 0;
  let messages = 0;
  const t0 = performance.now();
  return await new Promise((resolve, reject) => {
    ws.onclose = () => reject(new Error('the gateway closed the bare WebSocket'));
    ws.onmessage = (e) => {
      const b = new Uint8Array(e.data);
      keep.push(b);
      unacked += b.length;
      if (unacked >= 1 << 20) { ws.send('ack ' + unacked); unacked = 0; }
      // the gateway's frame: messages, each after a msgpack uint32 length
      const v = new DataView(e.data);
      let last = 0;
      for (let at = 0; at + 5 <= b.length; at += 5 + v.getUint32(at + 1)) { last = at + 5; messages++; }
      if (b[last] === 0x94 && b[last + 1] === 0x01) {
        const ms = performance.now() - t0;
        ws.onclose = null;
        ws.close();
        resolve({ last_row_ms: ms, messages, frames: keep.length, bytes: keep.reduce((a, x) => a + x.length, 0) });
      }
    };
    ws.send(new Uint8Array(req));
  });
})()`;

/** Run expr in the page, with the CPU each process spent meanwhile. A
 * full GC first: no run pays for the garbage another left (the page's own
 * previous result is still held by its tab, and freed within its run). */
async function timed(br, gwPid, expr) {
  await br.page('HeapProfiler.collectGarbage');
  const procs = [...br.processes(), [gwPid, 'gateway'], [brokerPid, 'broker'],
    ...children(brokerPid).map((p) => [p, 'worker'])];
  const before = procs.map(([p]) => cpuMs(p));
  const r = await br.evaluate(expr);
  const cpu = {};
  procs.forEach(([p, kind], i) => (cpu[kind] = (cpu[kind] ?? 0) + cpuMs(p) - before[i]));
  return { ...r, cpu };
}

/** Median of each process kind's CPU over runs. */
function medianCpu(runs) {
  const kinds = new Set(runs.flatMap((r) => Object.keys(r.cpu)));
  return Object.fromEntries([...kinds].map((k) => [k, med(runs.map((r) => r.cpu[k] ?? 0))]));
}

const gw = await startGateway(home);
await new Promise((r) => setTimeout(r, 300));
const gwIdle = smaps(gw.proc.pid);
const result = { sql, gateway_idle: gwIdle };
const connectJs = `(async () => {
  const cid = await window.tusk.connect({ config: { name: 'bench', host: '127.0.0.1', port: ${port},
    database: 'tuskdb', username: 'tusk', ssl_mode: 'disable' } }, { password: 'tuskpw' });
  const t = window.tusk.tabs[window.tusk.current];
  if (t) t.connectionId = cid; else window.tusk.newTab(cid);
  return cid;
})()`;

// 1. timed runs, as a user's page runs them (no Playwright)
const piped = await launchPiped(gw.url);
try {
  await until(() => piped.evaluate(`window.tusk?.link === 'open' && window.tusk.methods.size > 0`), 20000, 'page up');
  await new Promise((r) => setTimeout(r, 500));
  result.gateway_with_page = smaps(gw.proc.pid);
  await piped.evaluate(connectJs);
  const runs = [];
  const bare = [];
  // the first result in a fresh page pays for the page's first touch of
  // ~145 MB of memory (page faults, ~16 µs a page on these VMs) and for
  // compiling its code: reported on its own, not in the median
  const cold = await timed(piped, gw.proc.pid, RUN_IN_TAB);
  if (cold.error) throw new Error(cold.error);
  result.cold = cold;
  // then interleaved: the page, then the bare WebSocket, each round
  for (let i = 0; i < rounds; i++) {
    const r = await timed(piped, gw.proc.pid, RUN_IN_TAB);
    if (r.error) throw new Error(r.error);
    runs.push(r);
    bare.push(await timed(piped, gw.proc.pid, RUN_BARE));
  }
  result.runs = runs;
  result.bare = bare;
  result.first_row_ms = med(runs.map((r) => r.first_row_ms));
  result.last_row_ms = med(runs.map((r) => r.last_row_ms));
  result.bare_ms = med(bare.map((r) => r.last_row_ms));
  const frames = runs.flatMap((r) => r.frames);
  result.arriving = { frames: frames.length, median_ms: med(frames), p95_ms: pct(frames, 0.95), max_ms: Math.max(...frames) };
  for (const r of [cold, ...runs]) delete r.frames;
  result.cpu = medianCpu(runs);
  result.bare_cpu = medianCpu(bare);
  result.rows = runs[0].rows;
  result.row_bytes = runs[0].bytes;
  result.ws_messages = bare[0].messages;
  result.ws_frames = bare[0].frames;
  result.ws_bytes = bare[0].bytes;
  await piped.page('HeapProfiler.collectGarbage');
  await new Promise((r) => setTimeout(r, 300));
  const heap = await piped.page('Runtime.getHeapUsage');
  result.js_heap_used = heap.usedSize;
  result.js_heap_total = heap.totalSize;
} finally {
  await piped.close();
}

// 2. frames while scrolling and working on the result (Playwright)
const br = await launchBrowser({ width: 1400, height: 900 });
const { page, ctx } = br;
try {
  await page.goto(gw.url);
  await until(() => page.evaluate(() => window.tusk?.link === 'open' && window.tusk.methods.size > 0), 20000, 'page up');
  await page.evaluate(connectJs);
  const ed = page.locator('.tabbody:not([hidden]) .cm-content');
  await ed.click();
  await page.keyboard.press('Control+a');
  await page.keyboard.insertText(sql);
  await ed.click();
  await page.keyboard.press('Control+Enter');
  await until(() => page.evaluate(() => { const t = window.tusk.tabs[window.tusk.current]; return !t.running && (t.totals || t.error); }), 600000, 'the query');
  const err = await page.evaluate(() => window.tusk.tabs[window.tusk.current].error?.message ?? null);
  if (err) throw new Error(err);
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Performance.enable');
  const metrics = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
  result.dom_nodes = metrics.Nodes ?? null;

  // frame times while scrolling: a sweep over the whole result (each frame
  // jumps ~0.5% of it: every frame shows rows never decoded before), then
  // wheel-like scrolling (3 rows a frame)
  await page.evaluate(() => document.querySelector('.tabbody:not([hidden]) [data-testid=grid]').scrollTop = 0);
  result.scroll = await page.evaluate(async () => {
    const g = document.querySelector('.tabbody:not([hidden]) [data-testid=grid]');
    const frames = (ms, step) => new Promise((resolve) => {
      const dts = [];
      let last = performance.now();
      const t0 = last;
      const tick = (now) => {
        dts.push(now - last);
        last = now;
        g.scrollTop = step(g);
        if (now - t0 < ms) requestAnimationFrame(tick);
        else resolve(dts.slice(2));
      };
      requestAnimationFrame(tick);
    });
    const sweep = await frames(3000, (el) => (el.scrollTop + (el.scrollHeight - el.clientHeight) / 200) % (el.scrollHeight - el.clientHeight));
    const wheel = await frames(2000, (el) => el.scrollTop + 72);
    const rowsShown = g.querySelectorAll('.rows .tr').length;
    return { sweep, wheel, rowsShown };
  });
  for (const k of ['sweep', 'wheel']) {
    const d = result.scroll[k];
    result.scroll[k] = { frames: d.length, median_ms: med(d), p95_ms: pct(d, 0.95), max_ms: Math.max(...d) };
  }

  // frame times while the grid works on the 1M rows: sorting by a text
  // column and by a number, filtering, selecting and copying a range,
  // opening the cell viewer (a rAF loop in the page records every frame)
  const tab = page.locator('.tabbody:not([hidden])');
  const grid = tab.getByTestId('grid');
  const record = () => page.evaluate(() => {
    const w = window;
    w.__frames = [];
    w.__stop = false;
    let last = performance.now();
    const tick = (now) => { w.__frames.push(now - last); last = now; if (!w.__stop) requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
  });
  const stop = async () => {
    const d = await page.evaluate(async () => {
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      window.__stop = true;
      return window.__frames.slice(1);
    });
    return { frames: d.length, median_ms: med(d), p95_ms: pct(d, 0.95), max_ms: Math.max(...d) };
  };
  const idle = () => until(async () => (await tab.getByRole('status').filter({ hasText: /Sorting|Filtering/ }).count()) === 0, 600000, 'the grid idle');
  result.grid = {};
  for (const [name, col] of [['sort_text', 'name'], ['sort_number', 'ratio']]) {
    await record();
    const t0 = Date.now();
    await grid.locator('.th', { hasText: col }).getByRole('button').click();
    await page.waitForTimeout(50);
    await idle();
    result.grid[name] = { ...(await stop()), total_ms: Date.now() - t0 };
  }
  await grid.locator('.th', { hasText: 'ratio' }).getByRole('button').click(); // descending
  await idle();
  await grid.locator('.th', { hasText: 'ratio' }).getByRole('button').click(); // as received
  await idle();
  await record();
  let t0 = Date.now();
  await tab.getByLabel('Filter rows').fill('abc');
  await page.waitForTimeout(300);
  await idle();
  result.grid.filter = { ...(await stop()), total_ms: Date.now() - t0, rows: (await tab.getByTestId('grid-position').textContent()).trim() };
  await tab.getByLabel('Filter rows').fill('');
  await page.waitForTimeout(300);
  await idle();
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write']);
  const cell = (r, c) => grid.locator('.rows .tr').nth(r).locator('.td').nth(c);
  await cell(0, 0).click();
  for (const [name, key, n] of [['select_copy_1k', 'Shift+PageDown', 40], ['select_copy_100k', 'Shift+Control+End', 1]]) {
    await cell(0, 0).click();
    await record();
    t0 = Date.now();
    for (let i = 0; i < n; i++) await page.keyboard.press(key);
    await page.keyboard.press('Control+c');
    await until(async () => (await tab.getByRole('status').filter({ hasText: 'copied' }).count()) === 1, 60000, 'copied')
      .catch(async (e) => { throw new Error(e.message + ' ' + name + ' ' + JSON.stringify(await tab.getByRole('status').allTextContents()) + ' ' + await tab.getByTestId('grid-position').textContent()); });
    result.grid[name] = { ...(await stop()), total_ms: Date.now() - t0,
      rows: (await page.evaluate(() => navigator.clipboard.readText())).split('\n').length - 2 };
  }
  await cell(1, 1).click();
  await record();
  await cell(1, 1).dblclick();
  await page.getByTestId('cell-viewer').waitFor();
  result.grid.cell_viewer = await stop();
  await page.keyboard.press('Escape');
} finally {
  await br.close();
  await gw.stop();
}
console.log(JSON.stringify(result));
