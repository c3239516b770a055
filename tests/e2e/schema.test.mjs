// schema.test.mjs — knowing the database in the web UI, in Debian's
// Chromium against a real gateway, broker and PostgreSQL: the object tree
// under an open connection (lazy levels, filter, kind icons, details,
// actions, following DDL) and the editor's completion from the schema
// (tables, aliases' columns, quoted names). The tests run in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture, startGateway, launchBrowser, shot, until } from './lib.mjs';

let fx, gw, br, page, connId;

const FIXTURE = `
  create schema "Sales";
  create table orders (id bigserial primary key, customer_region text not null, "user" text, total numeric);
  insert into orders (customer_region, total) select 'r' || g % 7, g from generate_series(1, 500) g;
  analyze orders;
  create table "Sales"."Order Items" (order_id bigint references orders (id), line int, "select" text);
  create view big_orders as select id, total from orders where total > 100;
  create materialized view order_totals as select customer_region, sum(total) from orders group by 1;
  create table measurements (logdate date not null, peak int) partition by range (logdate);
  create table measurements_2024 partition of measurements for values from ('2024-01-01') to ('2025-01-01');
  create table measurements_rest partition of measurements default;
  create sequence invoice_no;
  create type mood as enum ('sad', 'ok');
  create function order_count(region text) returns bigint language sql as 'select count(*) from orders where customer_region = region';
  grant all on all tables in schema public, "Sales" to tusk; grant usage on schema "Sales" to tusk;
`;

before(async () => {
  fx = await startFixture();
  await fx.psql(FIXTURE);
  gw = await startGateway(fx.home);
  br = await launchBrowser();
  page = br.page;
  await br.ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gw.origin });
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(gw.url);
  await until(async () => (await page.getByTestId('broker-health').textContent()).includes('Broker ok'), 20000, 'broker health');
  connId = await page.evaluate((cfg) => window.tusk.connect({ config: { ...cfg, name: 'shop' } }, { password: 'tuskpw' }), fx.pg.config);
});

after(async () => {
  await br?.close();
  const g = await gw?.stop();
  const f = await fx?.stop();
  assert.equal(g, 0, 'tusk-ui exit status\n' + gw?.log());
  assert.equal(f, 0, 'the broker stopped cleanly without sanitizer reports');
});

const tree = () => page.getByTestId('object-tree');
const item = (name) => tree().locator(`[data-testid="tree-item"][data-name="${name}"]`);
const tabSql = () => page.evaluate(() => window.tusk.tabs[window.tusk.current].sql);

test('the tree opens lazily under the connection: schemas, then kinds, then objects with icons', async () => {
  // nothing is read before the tree is opened
  assert.equal(await page.evaluate((id) => window.tusk.schemas.get(id)?.data ?? null, connId), null);
  await tree().getByRole('button', { name: /Objects/ }).click();
  await until(() => tree().locator('[data-testid="tree-schema"][data-name="public"]').count(), 15000, 'schemas');
  assert.deepEqual(await tree().locator('[data-testid="tree-schema"]').evaluateAll((els) => els.map((e) => e.dataset.name)),
    ['Sales', 'public']);
  assert.equal(await tree().locator('[data-testid="tree-group"]').count(), 0, 'groups wait for their schema');
  await tree().locator('[data-testid="tree-schema"][data-name="public"]').click();
  const groups = await tree().locator('[data-testid="tree-group"]').evaluateAll((els) => els.map((e) => e.dataset.name));
  assert.deepEqual(groups, ['Tables', 'Views', 'Materialized views', 'Functions', 'Sequences', 'Types']);
  assert.equal(await tree().locator('[data-testid="tree-item"]').count(), 0, 'objects wait for their group');
  for (const g of groups) await tree().locator(`[data-testid="tree-group"][data-name="${g}"]`).click();
  const kinds = Object.fromEntries(await tree().locator('[data-testid="tree-item"]')
    .evaluateAll((els) => els.map((e) => [e.dataset.name, e.dataset.kind])));
  assert.deepEqual(kinds, {
    measurements: 'partitioned_table', orders: 'table', big_orders: 'view', order_totals: 'materialized_view',
    order_count: 'function', invoice_no: 'sequence', orders_id_seq: 'sequence', mood: 'enum',
  });
  assert.equal(await item('orders').locator('.ic').textContent(), '▦');
  assert.match(await item('orders').getAttribute('title'), /~500 rows/);
  // partitions under their parent
  assert.equal(await item('measurements_2024').count(), 0);
  await item('measurements').getByRole('button', { name: 'Partitions' }).click();
  await until(() => item('measurements_2024').count(), 5000, 'partitions');
  assert.equal(await item('measurements_rest').count(), 1);
  await shot(page, 'object-tree');
});

test('the filter narrows every level as you type', async () => {
  const filter = tree().getByRole('searchbox', { name: 'Filter objects' });
  await filter.fill('ord');
  await until(async () => (await tree().locator('[data-testid="tree-item"]').count()) === 6, 5000, 'filtered items');
  const names = await tree().locator('[data-testid="tree-item"]').evaluateAll((els) => els.map((e) => e.dataset.name));
  assert.deepEqual(names.sort(), ['Order Items', 'big_orders', 'order_count', 'order_totals', 'orders', 'orders_id_seq']);
  await filter.fill('2024');
  await until(async () => (await tree().locator('[data-testid="tree-item"]').count()) === 1, 5000, 'a partition');
  await filter.fill('');
});

test('an object shows its details, and its actions open SELECT and DDL tabs and copy its quoted name', async () => {
  await item('orders').click();
  const details = page.getByTestId('object-details');
  await until(async () => (await details.getByTestId('detail-rows').count()) > 0, 10000, 'details');
  assert.equal(await details.getByTestId('detail-rows').textContent(), '500');
  assert.match(await details.getByTestId('detail-size').textContent(), /kB$/);
  const tabs = await page.evaluate(() => window.tusk.tabs.length);
  await details.getByTestId('act-select').click();
  await until(async () => page.evaluate((n) => window.tusk.tabs.length === n + 1 &&
    window.tusk.tabs[window.tusk.current].totals?.row_count === 500, tabs), 30000, 'the SELECT tab ran');
  assert.equal(await tabSql(), 'SELECT * FROM orders LIMIT 1000');

  await tree().locator('[data-testid="tree-schema"][data-name="Sales"]').click();
  await tree().locator('[data-testid="tree-group"][data-name="Tables"]').first().click();
  await item('Order Items').click();
  await details.getByTestId('act-copy').click();
  await until(async () => (await details.getByTestId('act-note').count()) > 0, 5000, 'copied');
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), '"Sales"."Order Items"');
  await details.getByTestId('act-select').click();
  await until(async () => (await tabSql()) === 'SELECT * FROM "Sales"."Order Items" LIMIT 1000', 10000, 'quoted SELECT');
  await until(async () => page.evaluate(() => window.tusk.tabs[window.tusk.current].totals?.row_count === 0), 30000, 'it ran');
  await details.getByTestId('act-ddl').click();
  await until(async () => (await tabSql()).startsWith('CREATE TABLE "Sales"."Order Items" ('), 10000, 'the DDL tab');
  assert.match(await tabSql(), /FOREIGN KEY \(order_id\) REFERENCES public\.orders\(id\)/);
});

test('the tree follows DDL run in the editor', async () => {
  await page.evaluate((id) => window.tusk.openSqlTab(id, 'create table zebra_new (id int)', true), connId);
  await until(() => item('zebra_new').count(), 15000, 'the new table in the tree');
  await page.evaluate((id) => window.tusk.openSqlTab(id, 'drop table zebra_new', true), connId);
  await until(async () => (await item('zebra_new').count()) === 0, 15000, 'the table gone from the tree');
});

/** The labels of the open completion list. */
const options = () => page.locator('.cm-tooltip-autocomplete li .cm-completionLabel').allTextContents();
/** Pick an option of the list with the mouse (Enter is ignored for a moment
 * after the list changes, by CodeMirror's design). */
const pick = (label) => page.locator('.cm-tooltip-autocomplete li')
  .filter({ has: page.locator('.cm-completionLabel').getByText(label, { exact: true }) }).click();

test('completion offers the schema\'s tables, then the columns of an alias', async () => {
  await page.evaluate((id) => window.tusk.openSqlTab(id, '', false), connId);
  const ed = page.locator('.tabbody:not([hidden]) .cm-content');
  await ed.click();
  await page.keyboard.type('select  from ord');
  await until(async () => (await options()).includes('orders'), 10000, 'orders offered');
  const offered = await options();
  assert.ok(offered.includes('order_totals') && offered.includes('"Sales"."Order Items"'), offered.join(' '));
  await pick('orders');
  assert.equal(await tabSql(), 'select  from orders');
  await page.keyboard.type(' o');
  await page.keyboard.press('Home');
  for (let i = 0; i < 'select '.length; i++) await page.keyboard.press('ArrowRight');
  await page.keyboard.type('o.');
  await until(async () => (await options()).includes('customer_region'), 10000, 'the columns of o');
  assert.deepEqual((await options()).slice().sort(), ['"user"', 'customer_region', 'id', 'total']);
  await page.keyboard.type('cu');
  await until(async () => (await options())[0] === 'customer_region', 10000, 'customer_region first');
  await pick('customer_region');
  assert.equal(await tabSql(), 'select o.customer_region from orders o');
  // a column that needs quotes goes in quoted; keywords still complete
  await page.keyboard.press('End');
  await page.keyboard.type(' where o.us');
  await until(async () => (await options()).includes('"user"'), 10000, 'the quoted column');
  await pick('"user"');
  assert.equal(await tabSql(), 'select o.customer_region from orders o where o."user"');
  await page.keyboard.type(' is not nu');
  await until(async () => (await options()).includes('null'), 10000, 'a keyword');
  await shot(page, 'completion');
});

test('a schema larger than the gateway reads ahead (a 3 MB comment) reaches the page whole', async () => {
  await fx.psql("do $$ begin execute format('comment on table orders is %L', repeat('x', 3000000)); end $$");
  await page.evaluate((id) => {
    window.tusk.rpc.call('get_schema', { connection_id: id, refresh: true }).then((s) => {
      window.bigComment = s.schemas.find((x) => x.name === 'public').relations.find((r) => r.name === 'orders').comment.length;
    });
  }, connId);
  const len = await until(() => page.evaluate(() => window.bigComment), 60000, 'the big schema in the page');
  assert.equal(len, 3000000);
  await fx.psql('comment on table orders is null');
});
