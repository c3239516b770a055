// schema.mjs — the object tree and completion on a big schema, in Debian's
// Chromium through a real tusk-ui gateway and broker (run by bench.py's
// `schema` section, which made the database):
//   get_schema into the page (through the gateway, decoded), cold and cached;
//   the tree's first level, then a schema's Tables group, each from the
//   click to the next frame;
//   frame intervals while the filter narrows as you type (a character a frame);
//   completion lookups (the index built once per schema version).
// Prints one JSON object on stdout.
//   env: TUSK_HOME (the broker's), BENCH_PG_PORT, BENCH_DB
import { startGateway, launchBrowser, until } from '../e2e/lib.mjs';

const home = process.env.TUSK_HOME;
const port = Number(process.env.BENCH_PG_PORT);
const db = process.env.BENCH_DB;
const last = Number(process.env.BENCH_TABLES || 5000) - 1; // s_t0 .. s_t<last>
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const stats = (xs) => ({ median_ms: med(xs), p95_ms: pct(xs, 0.95), max_ms: Math.max(...xs), n: xs.length });

/** p, or a failure naming what did not finish within ms. */
const deadline = (p, ms, what) => Promise.race([p, new Promise((_, reject) =>
  setTimeout(() => reject(new Error(`${what}: not done within ${ms / 1000} s`)), ms).unref())]);
const step = (what) => process.stderr.write(`schema.mjs: ${what}\n`);

const gw = await startGateway(home);
const br = await launchBrowser({ width: 1400, height: 900 });
const { page } = br;
const result = {};
try {
  await page.goto(gw.url);
  await until(() => page.evaluate(() => window.tusk?.link === 'open' && window.tusk.methods.size > 0), 20000, 'page up');
  const cid = await page.evaluate(([p, d]) => window.tusk.connect({ config: { name: 'schema bench', host: '127.0.0.1',
    port: p, database: d, username: 'tusk', ssl_mode: 'disable' } }, { password: 'tuskpw' }), [port, db]);

  // get_schema into the page: the gateway hop and the page's msgpack decode
  step('get_schema into the page');
  result.page_get_schema = await deadline(page.evaluate(async (id) => {
    const time = async (refresh) => {
      const t0 = performance.now();
      const s = await window.tusk.rpc.call('get_schema', { connection_id: id, refresh });
      return [performance.now() - t0, s.schemas.reduce((n, x) => n + x.relations.length, 0)];
    };
    const cold = [], cached = [];
    let tables = 0;
    for (let i = 0; i < 3; i++) cold.push((await time(true))[0]);
    for (let i = 0; i < 10; i++) {
      const [ms, n] = await time(false);
      cached.push(ms);
      tables = n;
    }
    return { cold, cached, tables };
  }, cid), 600000, 'get_schema into the page');
  await page.evaluate((id) => window.tusk.schemaFor(id).load(), cid);
  const tree = `[data-testid="object-tree"][data-conn="${cid}"]`;
  await page.locator(`${tree} .toggle`).waitFor();

  /** ms from fn() to the end of the next frame (rendered). */
  /** From a click (at the start of a frame) to the next frame. */
  const clickFrame = (selector) => page.evaluate((sel) => new Promise((resolve, reject) => {
    requestAnimationFrame((t0) => {
      const el = document.querySelector(sel);
      if (!el) return reject(new Error('nothing matches ' + sel));
      el.click();
      requestAnimationFrame((t1) => resolve(t1 - t0));
    });
  }), selector);

  step('the tree');
  result.tree_first_level_ms = await deadline(clickFrame(`${tree} .toggle`), 60000, 'the first level');
  result.tree_schemas = await page.locator(`${tree} [data-testid="tree-schema"]`).count();
  await deadline(clickFrame(`${tree} [data-testid="tree-schema"][data-name="public"]`), 60000, 'a schema');
  result.tree_expand_ms = await deadline(clickFrame(`${tree} [data-testid="tree-group"][data-name="Tables"]`), 60000, 'a group');
  result.tree_items = await page.locator(`${tree} [data-testid="tree-item"]`).count();

  // the filter, one character a frame (as the grid's bench scrolls): the
  // interval between frames while it narrows and widens again
  const word = `s_t${last}`;
  const steps = [...word].map((_, i) => word.slice(0, i + 1));
  const typing = [...steps, ...steps.slice(0, -1).reverse(), ''];
  step('the filter');
  result.filter_frames = stats(await deadline(page.evaluate(([texts, sel]) => new Promise((resolve) => {
    const input = document.querySelector(`${sel} input.filter`);
    const all = [...texts, ...texts, ...texts];
    const dts = [];
    let i = 0, last = 0;
    const tick = (now) => {
      if (i > 0) dts.push(now - last);
      last = now;
      if (i === all.length) return resolve(dts);
      input.value = all[i++];
      input.dispatchEvent(new Event('input', { bubbles: true }));
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }), [typing, tree]), 120000, 'the filter frames'));

  // completion: the index (once per schema version), then lookups
  step('completion');
  result.completion = await page.evaluate(([id, last]) => {
    const ctx = (doc, pos, explicit = false) => ({ state: { doc: { toString: () => doc } }, pos: pos ?? doc.length, explicit });
    const t0 = performance.now();
    window.tusk.complete(id, ctx('select * from s_t1'));
    const build = performance.now() - t0;
    const time = (doc, pos) => {
      const xs = [];
      let n = 0;
      for (let i = 0; i < 50; i++) {
        const t = performance.now();
        n = window.tusk.complete(id, ctx(doc, pos)).options.length;
        xs.push(performance.now() - t);
      }
      xs.sort((a, b) => a - b);
      return { median_ms: xs[25], max_ms: xs[49], options: n };
    };
    return {
      index_build_ms: build,
      tables: time('select * from s_t49'),
      alias_columns: time(`select x. from public.s_t${last} x join s_t${last - 1} y on true`, 'select x.'.length),
      statement_columns: time('select c1, c from s_t10 a join s_t11 b on a.id = b.parent_id', 'select c1, c'.length),
    };
  }, [cid, last]);
  process.stdout.write(JSON.stringify(result) + '\n');
} finally {
  await br.close();
  await gw.stop();
}
