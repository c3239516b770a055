// gateway.test.mjs — tusk-ui's doors: token, cookie, Host, Origin, methods,
// message validation, and flow control from the page back to the worker.
// Raw HTTP from Node for the refusals; Chromium for what a page does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import { startFixture, startGateway, launchBrowser, until } from './lib.mjs';

let fx, gw, br, page;

before(async () => {
  fx = await startFixture();
  gw = await startGateway(fx.home);
});

after(async () => {
  await br?.close();
  const g = await gw?.stop();
  const f = await fx?.stop();
  assert.equal(g, 0, 'tusk-ui exits 0 on SIGTERM\n' + gw?.log());
  assert.equal(f, 0, 'the broker stopped cleanly');
});

/** One raw request; resolves {status, headers, body} or {upgraded: true}. */
function request(path, { method = 'GET', headers = {}, upgrade = false } = {}) {
  return new Promise((resolve, reject) => {
    const h = { Host: `127.0.0.1:${gw.port}`, ...headers };
    if (upgrade) Object.assign(h, { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': crypto.randomBytes(16).toString('base64') });
    for (const k of Object.keys(h)) if (h[k] === null) delete h[k];
    const req = http.request({ host: '127.0.0.1', port: gw.port, path, method, headers: h, setHost: false });
    req.on('upgrade', (res, sock) => { sock.destroy(); resolve({ status: res.statusCode, upgraded: true }); });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const cookie = () => `tusk_${gw.port}=${gw.token}`;
const origin = () => `http://127.0.0.1:${gw.port}`;

test('it listens on loopback only and prints its address with a 256-bit token', () => {
  assert.match(gw.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64}$/);
});

test('a request without the token is refused, for pages, files and the WebSocket', async () => {
  assert.equal((await request('/')).status, 403);
  assert.equal((await request('/index.html')).status, 403);
  assert.equal((await request('/rpc', { upgrade: true, headers: { Origin: origin() } })).status, 403);
});

test('a wrong token is refused, in the URL and in the cookie', async () => {
  const bad = crypto.randomBytes(32).toString('hex');
  assert.equal((await request('/?token=' + bad)).status, 403);
  assert.equal((await request('/?token=' + gw.token.slice(0, 63))).status, 403);
  assert.equal((await request('/', { headers: { Cookie: `tusk_${gw.port}=${bad}` } })).status, 403);
  assert.equal((await request('/rpc', { upgrade: true, headers: { Origin: origin(), Cookie: `tusk_${gw.port}=${bad}` } })).status, 403);
});

test('the token is traded once for an HttpOnly SameSite=Strict cookie and dropped from the address', async () => {
  const r = await request('/?token=' + gw.token);
  assert.equal(r.status, 303);
  assert.equal(r.headers.location, `http://127.0.0.1:${gw.port}/`);
  const set = r.headers['set-cookie'][0];
  assert.match(set, new RegExp(`^tusk_${gw.port}=${gw.token}; Path=/; HttpOnly; SameSite=Strict$`));
  const page = await request('/', { headers: { Cookie: cookie() } });
  assert.equal(page.status, 200);
  assert.match(page.body, /<div id="app">/);
  assert.match(page.headers['content-security-policy'], /default-src 'self'.*frame-ancestors 'none'/);
  assert.equal(page.headers['x-frame-options'], 'DENY');
  assert.equal(page.headers['referrer-policy'], 'no-referrer');
  assert.equal(page.headers['cross-origin-opener-policy'], 'same-origin');
});

test('--window (the tusk window\'s own gateway) keeps every door but COOP, which guards nothing there', async () => {
  const w = await startGateway(fx.home, ['--window']);
  try {
    const r = await new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: w.port, path: '/?token=' + w.token }, (res) => { res.resume(); resolve(res); }).on('error', reject);
    });
    assert.equal(r.statusCode, 303);
    const page = await new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: w.port, path: '/', headers: { Cookie: `tusk_${w.port}=${w.token}` } },
        (res) => { res.resume(); resolve(res); }).on('error', reject);
    });
    assert.equal(page.statusCode, 200);
    assert.match(page.headers['content-security-policy'], /default-src 'self'.*frame-ancestors 'none'/);
    assert.equal(page.headers['x-frame-options'], 'DENY');
    assert.equal(page.headers['cross-origin-resource-policy'], 'same-origin');
    assert.equal(page.headers['cross-origin-opener-policy'], undefined);
    const bad = await new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: w.port, path: '/' }, (res) => { res.resume(); resolve(res); }).on('error', reject);
    });
    assert.equal(bad.statusCode, 403);
  } finally {
    assert.equal(await w.stop(), 0);
  }
});

test('a foreign Host is refused even with the cookie (DNS rebinding)', async () => {
  for (const host of [`evil.example:${gw.port}`, '127.0.0.1', `127.0.0.1:${gw.port + 1}`, `localhost.evil:${gw.port}`]) {
    const r = await request('/', { headers: { Host: host, Cookie: cookie() } });
    assert.equal(r.status, 403, host);
    assert.match(r.body, /Host/);
  }
  const ws = await request('/rpc', { upgrade: true, headers: { Host: `evil.example:${gw.port}`, Origin: `http://evil.example:${gw.port}`, Cookie: cookie() } });
  assert.equal(ws.status, 403);
  assert.equal((await request('/', { headers: { Host: `localhost:${gw.port}`, Cookie: cookie() } })).status, 200);
});

test('a foreign or missing Origin cannot open the WebSocket (cross-site requests)', async () => {
  for (const o of ['http://evil.example', `http://127.0.0.1:${gw.port + 1}`, 'null', `https://127.0.0.1:${gw.port}`]) {
    const r = await request('/rpc', { upgrade: true, headers: { Origin: o, Cookie: cookie() } });
    assert.equal(r.status, 403, o);
  }
  assert.equal((await request('/rpc', { upgrade: true, headers: { Origin: null, Cookie: cookie() } })).status, 403);
  assert.equal((await request('/index.html', { headers: { Origin: 'http://evil.example', Cookie: cookie() } })).status, 403);
  const ok = await request('/rpc', { upgrade: true, headers: { Origin: origin(), Cookie: cookie() } });
  assert.equal(ok.status, 101);
  assert.ok(ok.upgraded);
});

test('only GET and HEAD are served; unknown paths are 404, never files outside the bundle', async () => {
  assert.equal((await request('/', { method: 'POST', headers: { Cookie: cookie() } })).status, 405);
  assert.equal((await request('/rpc', { method: 'PUT', headers: { Cookie: cookie(), Origin: origin() } })).status, 405);
  assert.equal((await request('/nope.js', { headers: { Cookie: cookie() } })).status, 404);
  for (const p of ['/..%2f..%2fetc%2fpasswd', '/assets/../../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd']) {
    const r = await request(p, { headers: { Cookie: cookie() } });
    assert.ok(r.status === 404 || r.status === 400, `${p}: ${r.status}`); // libsoup refuses some itself
    assert.doesNotMatch(r.body, /root:/);
  }
});

test('a page message that is not one msgpack-RPC request closes that page only', async () => {
  br = await launchBrowser();
  page = br.page;
  await page.goto(gw.url);
  await until(async () => (await page.getByTestId('broker-health').textContent()).includes('Broker ok'), 20000, 'page up');
  const codes = await page.evaluate(async () => {
    const open = () => new Promise((res) => {
      const ws = new WebSocket(`ws://${location.host}/rpc`);
      ws.binaryType = 'arraybuffer';
      ws.onopen = () => res(ws);
    });
    const closed = (ws) => new Promise((res) => (ws.onclose = (e) => res(e.code)));
    const out = [];
    for (const bytes of [[0xc1], [0x93, 0x02, 0xa1], [0x91, 0x01, 0x02], [0x94, 0x01, 0x01, 0xc0, 0xc0]]) {
      const ws = await open();
      const c = closed(ws);
      ws.send(new Uint8Array(bytes));
      out.push(await c);
    }
    const ws = await open();
    const c = closed(ws);
    ws.send('ack 999999');
    out.push(await c);
    return out;
  });
  assert.deepEqual(codes, [1008, 1008, 1008, 1008, 1008]);
  // the app's own session is untouched
  const h = await page.evaluate(() => window.tusk.rpc.call('health_check'));
  assert.equal(h.status, 'ok');
  assert.match(gw.log(), /not one msgpack-RPC request|bad control message|the page sent/);
});

test('a page that stops acknowledging stops the stream at the gateway window, and resumes when it acknowledges', async () => {
  const cfg = fx.pg.config;
  const r = await page.evaluate(async ({ cfg }) => {
    const Rpc = window.tusk.rpc.constructor;
    const url = `ws://${location.host}/rpc`;
    const slow = new Rpc({ url, ackBytes: 1e15, ackDelayMs: 1e9 }); // never acknowledges by itself
    await slow.connect();
    const { connection_id } = await slow.call('connect', { config: cfg, password: 'tuskpw' });
    let bytes = 0;
    let rows = 0;
    slow.sinkRows('bp', (b, o, n) => { bytes += b.byteLength; rows += n; });
    const done = slow.call('execute_query', { connection_id, query_id: 'bp',
      sql: "select g, repeat('x', 200) from generate_series(1, 3000000) g" }).catch((e) => e.kind);
    const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
    // conditions with deadlines, not a fixed wait (the machine may be busy):
    // rows flow, then stop (nothing new for a second)
    const flowedBy = Date.now() + 60000;
    while (bytes <= 4 * 1048576 && Date.now() < flowedBy) await sleep(50);
    const stopBy = Date.now() + 60000;
    for (let last = -1; bytes !== last && Date.now() < stopBy;) {
      last = bytes;
      await sleep(1000);
    }
    const stalled1 = { bytes, rows };
    await sleep(1000);
    const stalled2 = { bytes, rows };
    // the broker sees a query still running, held back
    const running = await window.tusk.rpc.call('get_running_queries', {});
    slow.flushAck();
    const resumeBy = Date.now() + 30000;
    while (bytes === stalled2.bytes && Date.now() < resumeBy) await sleep(50);
    const resumed = { bytes, rows };
    slow.close();
    const end = await done;
    return { stalled1, stalled2, resumed, running, end };
  }, { cfg });
  const MiB = 1048576;
  assert.ok(r.stalled1.bytes > 4 * MiB, `rows flowed first (${r.stalled1.bytes})`);
  assert.ok(r.stalled1.bytes <= 9 * MiB, `at most the window (8 MiB) plus one batch arrived unacknowledged (${r.stalled1.bytes})`);
  assert.equal(r.stalled2.bytes, r.stalled1.bytes, 'nothing more arrived while unacknowledged');
  assert.ok(r.running.some((q) => q.query_id === 'bp'), 'the query still runs, paused');
  assert.ok(r.resumed.bytes > r.stalled2.bytes, 'an acknowledgement lets rows flow again');
  assert.ok(r.resumed.rows < 3000000, 'and the page never held the whole result');
  assert.equal(r.end, 'Connection', 'closing the page ends its call');
});
