// schema.mjs — the object tree and completion on a big schema, in Debian's
// Chromium through a real tusk-ui gateway and broker (run by bench.py's
// `schema` section, which made the database):
//   get_schema into the page (through the gateway, decoded), cold and cached;
//   the tree's first level, then a schema's 5,000 tables, rendered;
//   frame times while the filter narrows as you type;
//   completion lookups (the index built once per schema version).
// Prints one JSON object on stdout.
//   env: TUSK_HOME (the broker's), BENCH_PG_PORT, BENCH_DB
import { startGateway, launchBrowser, until } from '../e2e/lib.mjs';

const home = process.env.TUSK_HOME;
const port = Number(process.env.BENCH_PG_PORT);
const db = process.env.BENCH_DB;
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const stats = (xs) => ({ median_ms: med(xs), p95_ms: pct(xs, 0.95), max_ms: Math.max(...xs), n: xs.length });

const gw = await startGateway(home);
const br = await launchBrowser({ width: 1400, height: 900 });
const { page } = br;
const result = {};
try {
  await page.goto(gw.url);
  await until(() => page.evaluate(() => window.tusk?.link === 'open' && window.tusk.methods.size > 0), 20000, 'page up');
  const cid = await page.evaluate(([p, d]) => window.tusk.connect({ config: { name: 'schema bench', host: '127.0.0.1',
    port: p, database: d, username: 'tusk', ssl_mode: 'disable' } }, 'tuskpw'), [port, db]);

  // get_schema into the page: the gateway hop and the page's msgpack decode
  result.page_get_schema = await page.evaluate(async (id) => {
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
  }, cid);
  await page.evaluate((id) => window.tusk.schemaFor(id).load(), cid);

  /** ms from fn() to the end of the next frame (rendered). */
  const frame = (fn) => page.evaluate(fn === 'open' ? () => new Promise((resolve) => {
    const t0 = performance.now();
    document.querySelector('[data-testid="object-tree"] .toggle').click();
    requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0)));
  }) : fn);

  result.tree_first_level_ms = await frame('open');
  result.tree_schemas = await page.locator('[data-testid="tree-schema"]').count();
  result.tree_expand_ms = await page.evaluate(() => new Promise((resolve) => {
    const t0 = performance.now();
    document.querySelector('[data-testid="tree-schema"][data-name="public"]').click();
    requestAnimationFrame(() => {
      document.querySelector('[data-testid="tree-group"][data-name="Tables"]').click();
      requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0)));
    });
  }));
  result.tree_items = await page.locator('[data-testid="tree-item"]').count();

  // the filter, one character at a time (each keystroke: input event to
  // the end of the frame that shows it), narrowing then widening
  const word = 's_t4999';
  const steps = [...word].map((_, i) => word.slice(0, i + 1));
  const typing = [...steps, ...steps.slice(0, -1).reverse(), ''];
  const frames = [];
  for (let round = 0; round < 3; round++) {
    for (const text of typing) {
      frames.push(await page.evaluate((t) => new Promise((resolve) => {
        const input = document.querySelector('[data-testid="object-tree"] input.filter');
        const t0 = performance.now();
        input.value = t;
        input.dispatchEvent(new Event('input', { bubbles: true }));
        requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0)));
      }), text));
    }
  }
  result.filter_frames = stats(frames);

  // completion: the index (once per schema version), then lookups
  result.completion = await page.evaluate((id) => {
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
      alias_columns: time('select x. from public.s_t4999 x join s_t4998 y on true', 'select x.'.length),
      statement_columns: time('select c1, c from s_t10 a join s_t11 b on a.id = b.parent_id', 'select c1, c'.length),
    };
  }, cid);
  process.stdout.write(JSON.stringify(result) + '\n');
} finally {
  await br.close();
  await gw.stop();
}
