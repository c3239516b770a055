// tabledata.test.mjs — the table data view and the Activity panel in
// Chromium against a real gateway, broker and PostgreSQL: sorting,
// filtering and keyset paging by the server, editors, pending changes,
// Preview SQL, Apply (Ctrl+S), a conflict with a concurrent psql update,
// the not-editable reason; sessions blocking each other as a tree,
// cancelled and terminated after a confirmation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startFixture, startGateway, launchBrowser, shot, until } from './lib.mjs';

let fx, gw, br, page;
const T = 'Order Items';

before(async () => {
  fx = await startFixture();
  await fx.psql(`CREATE TABLE "${T}" (id int PRIMARY KEY, "Name" text NOT NULL, qty int, ok bool NOT NULL DEFAULT false,
    doc jsonb, d date, twice int GENERATED ALWAYS AS (id * 2) STORED);
    INSERT INTO "${T}" (id, "Name", qty, ok, doc, d) SELECT i, 'item ' || i, CASE WHEN i % 7 = 0 THEN NULL ELSE i % 50 END,
      i % 2 = 0, jsonb_build_object('n', i), date '2024-01-01' + i FROM generate_series(1, 500) i;
    ALTER TABLE "${T}" OWNER TO tusk; CREATE TABLE nokey (a int); ALTER TABLE nokey OWNER TO tusk;
    CREATE TABLE lk (x int); ALTER TABLE lk OWNER TO tusk`);
  await fx.call('connect', { config: { ...fx.pg.config, name: 'data' }, password: 'tuskpw' });
  gw = await startGateway(fx.home);
  br = await launchBrowser();
  page = br.page;
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(gw.url);
  await until(async () => (await page.getByTestId('broker-health').textContent()).includes('Broker ok'), 20000, 'broker health');
  await until(() => page.evaluate(() => window.tusk.items.some((i) => i.name === 'data' && i.state === 'connected')), 20000, 'the connection in the sidebar');
});

after(async () => {
  await br?.close();
  const g = await gw?.stop();
  const f = await fx?.stop();
  assert.equal(g, 0, 'tusk-ui exit status\n' + gw?.log());
  assert.equal(f, 0, 'the broker stopped cleanly without sanitizer reports');
});

const view = () => page.locator('.tabbody:not([hidden]) [data-testid=table-view]');
const status = () => view().getByTestId('table-status').textContent();
const tableTab = () => page.evaluate(() => {
  const t = window.tusk.tabs[window.tusk.current];
  return { rows: t.rows.length, pending: t.pending, loading: t.loading, order: t.orderBy, status: t.status };
});
const cell = (row, col) => view().locator(`[data-testid=trow][data-row="${row}"] [data-col="${col}"]`);
const psql = (sql) => fx.psql(sql).then((s) => s.trim());
const idle = () => until(async () => !(await tableTab()).loading, 20000, 'the page to be read');

async function openTable(name) {
  await page.getByRole('button', { name: 'Open table…' }).click();
  const d = page.getByRole('dialog', { name: 'Open table' });
  await d.getByLabel('Table').fill(name);
  await d.getByRole('button', { name: 'Open' }).click();
  await until(async () => (await view().count()) === 1 && (await view().getAttribute('data-table')) === name, 15000, 'the table tab');
  await idle();
}

test('a table opens by name, its rows sorted and filtered by the server, paged on scroll', async () => {
  await openTable(T);
  assert.match(await status(), /^200 rows \(more on scroll\)/);
  assert.equal(await cell(0, 'Name').textContent(), 'item 1');
  assert.equal((await cell(6, 'qty').textContent()).trim(), 'NULL');
  // sort: ascending, then descending (the key breaks ties)
  await view().getByTestId('sort-qty').click();
  await idle();
  assert.deepEqual((await tableTab()).order, [{ column: 'qty', desc: false }]);
  assert.equal(await cell(0, 'qty').textContent(), '0');
  await view().getByTestId('sort-qty').click();
  await idle();
  assert.equal(await cell(0, 'qty').textContent(), 'NULL'); // NULLs first when descending, as PostgreSQL sorts
  // filter: contains, case ignored
  await view().getByLabel('Filter operator of Name').selectOption('contains');
  await view().getByLabel('Filter value of Name').fill('ITEM 12');
  await view().getByLabel('Filter value of Name').press('Enter');
  await idle();
  const names = await view().locator('[data-testid=trow] [data-col=Name]').allTextContents();
  assert.deepEqual(names.sort(), ['item 12', 'item 120', 'item 121', 'item 122', 'item 123', 'item 124', 'item 125',
    'item 126', 'item 127', 'item 128', 'item 129'].sort());
  await view().getByLabel('Filter value of Name').fill('');
  await view().getByLabel('Filter value of Name').press('Enter');
  await view().getByTestId('sort-qty').click(); // back to the key order
  await idle();
  assert.deepEqual((await tableTab()).order, []);
  // scrolling to the end reads the next page after the last row
  await view().getByTestId('table-grid').evaluate((el) => (el.scrollTop = el.scrollHeight));
  await until(async () => (await tableTab()).rows === 400, 15000, 'the second page');
  await view().getByTestId('table-grid').evaluate((el) => (el.scrollTop = el.scrollHeight));
  await until(async () => (await tableTab()).rows === 500, 15000, 'the last page');
  assert.match(await status(), /^500 rows$/);
  await shot(page, 'table-data');
});

test('cells are edited with editors that fit their type, previewed, and applied with Ctrl+S', async () => {
  await view().getByRole('button', { name: 'Reload' }).click();
  await idle();
  // text
  await cell(1, 'Name').dblclick();
  const ed = view().getByLabel('Edit Name');
  await ed.fill("it's 'quoted'; drop table nokey; --");
  await ed.press('Enter');
  assert.match(await cell(1, 'Name').getAttribute('class'), /\bchanged\b/);
  // boolean: a toggle
  assert.equal(await cell(1, 'ok').textContent(), 'true');
  await cell(1, 'ok').dblclick();
  assert.equal(await cell(1, 'ok').textContent(), 'false');
  // number: checked before it is kept; then NULL from the editor
  await cell(1, 'qty').dblclick();
  await view().getByLabel('Edit qty').fill('12x');
  await view().getByLabel('Edit qty').press('Enter');
  assert.match(await view().getByLabel('Edit qty').getAttribute('title'), /integer/);
  await view().locator('.editor .nullbtn').click();
  assert.equal(await cell(1, 'qty').textContent(), 'NULL');
  // a date picker, and JSON in an editor of its own that checks it
  await cell(1, 'd').dblclick();
  assert.equal(await view().getByLabel('Edit d').getAttribute('type'), 'date');
  await view().getByLabel('Edit d').fill('2030-12-31');
  await view().getByLabel('Edit d').press('Enter');
  await cell(1, 'doc').dblclick();
  const dlg = page.getByRole('dialog', { name: 'Edit doc' });
  await dlg.locator('textarea').fill('{"n": [1, 2,');
  await dlg.getByRole('button', { name: /OK/ }).click();
  assert.match(await dlg.getByRole('alert').textContent(), /not JSON/);
  await dlg.locator('textarea').fill('{"n": [1, 2], "ü": null}');
  await dlg.getByRole('button', { name: /OK/ }).click();
  // generated columns are not editable
  await cell(1, 'twice').dblclick();
  assert.equal(await view().getByLabel('Edit twice').count(), 0);
  assert.match(await view().getByTestId('table-pending').textContent(), /1 pending change/);
  await view().getByTestId('preview').click();
  const sql = await page.getByTestId('preview-sql').textContent();
  assert.match(sql, /UPDATE public\."Order Items" SET "Name" = \$1, qty = \$2, ok = \$3, doc = \$4, d = \$5 WHERE id = \$6 AND xmin = \$7/);
  assert.match(sql, /\$1 = 'it''s ''quoted''; drop table nokey; --'/);
  await shot(page, 'table-preview');
  await page.getByRole('dialog', { name: 'Preview SQL' }).getByRole('button', { name: 'Close' }).click();
  await view().getByTestId('table-grid').focus();
  await page.keyboard.press('Control+s');
  await until(async () => /Applied 1 change/.test(await status()), 15000, 'the edit applied');
  assert.equal(await psql(`SELECT "Name", ok, qty IS NULL, d, doc FROM "${T}" WHERE id = 2`),
    `it's 'quoted'; drop table nokey; --|f|t|2030-12-31|{"n": [1, 2], "ü": null}`);
  assert.equal(await psql('SELECT count(*) FROM nokey'), '0');
});

test('rows are added and deleted; Discard drops pending changes', async () => {
  await cell(2, 'id').click(); // id 3
  await view().getByTestId('delete-row').click();
  assert.match(await view().locator('[data-testid=trow][data-row="2"]').getAttribute('class'), /\bdeleted\b/);
  // read every page, then add a row at the end
  for (const n of [400, 500]) {
    await view().getByTestId('table-grid').evaluate((el) => (el.scrollTop = el.scrollHeight));
    await until(async () => (await tableTab()).rows === n, 15000, `${n} rows read`);
  }
  await view().getByTestId('add-row').click();
  const last = (await tableTab()).rows - 1;
  assert.equal(last, 500);
  assert.equal(await cell(last, 'twice').textContent(), 'default');
  await cell(last, 'id').dblclick();
  await view().getByLabel('Edit id').fill('1000');
  await view().getByLabel('Edit id').press('Enter');
  await cell(last, 'Name').dblclick();
  await view().getByLabel('Edit Name').fill('brand new');
  await view().getByLabel('Edit Name').press('Enter');
  assert.match(await view().getByTestId('table-pending').textContent(), /2 pending changes/);
  await view().getByTestId('apply').click();
  await until(async () => /Applied 2 changes/.test(await status()), 15000, 'the insert and delete applied');
  assert.equal(await psql(`SELECT "Name", ok, twice FROM "${T}" WHERE id = 1000`), 'brand new|f|2000');
  assert.equal(await psql(`SELECT count(*) FROM "${T}" WHERE id = 3`), '0');
  await cell(0, 'Name').dblclick();
  await view().getByLabel('Edit Name').fill('never');
  await view().getByLabel('Edit Name').press('Enter');
  await view().getByTestId('discard').click();
  assert.equal(await cell(0, 'Name').textContent(), 'item 1');
  assert.equal((await tableTab()).pending, 0);
});

test('a row psql changed meanwhile is a conflict: nothing is applied, its current values are shown', async () => {
  await cell(3, 'Name').dblclick(); // id 5
  await view().getByLabel('Edit Name').fill('mine');
  await view().getByLabel('Edit Name').press('Enter');
  await cell(4, 'Name').dblclick(); // id 6
  await view().getByLabel('Edit Name').fill('mine too');
  await view().getByLabel('Edit Name').press('Enter');
  await psql(`UPDATE "${T}" SET "Name" = 'psql was here' WHERE id = 5`);
  await view().getByTestId('table-grid').focus();
  await page.keyboard.press('Control+s');
  await until(async () => /Nothing applied: 1 row changed by another session/.test(await status()), 15000, 'the conflict');
  assert.match(await view().getByTestId('conflict-current').textContent(), /psql was here/);
  assert.equal(await psql(`SELECT string_agg("Name", ',' ORDER BY id) FROM "${T}" WHERE id IN (5, 6)`), 'psql was here,item 6');
  await shot(page, 'table-conflict');
  // keep my change over theirs: it applies now
  await view().getByTestId('conflicts').getByRole('button', { name: 'Keep my change' }).click();
  await view().getByTestId('apply').click();
  await until(async () => /Applied 2 changes/.test(await status()), 15000, 'applied over the new version');
  assert.equal(await psql(`SELECT string_agg("Name", ',' ORDER BY id) FROM "${T}" WHERE id IN (5, 6)`), 'mine,mine too');
});

test('a table without a key says why it cannot be edited', async () => {
  await openTable('nokey');
  assert.match(await view().getByTestId('table-reason').textContent(), /no primary key or unique key/);
  assert.equal(await view().getByTestId('add-row').isDisabled(), true);
});

function psqlSession(sql, app) {
  const p = spawn('psql', ['-X', '-q', '-h', fx.pg.sock, '-p', String(fx.pg.port), '-U', 'tusk', '-d', 'tuskdb', '-c', sql],
    { env: { ...process.env, PGPASSWORD: 'tuskpw', PGAPPNAME: app }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  const done = new Promise((r) => p.once('exit', (code) => r({ code, err })));
  return { p, done };
}

test('the Activity panel shows who blocks whom as a tree; cancel and terminate after a confirmation', async () => {
  const holder = psqlSession('BEGIN; LOCK TABLE lk IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(120)', 'e2e-holder');
  const waiter = psqlSession('SELECT count(*) FROM lk', 'e2e-waiter');
  try {
    await page.getByRole('button', { name: 'Activity', exact: true }).click();
    const panel = page.getByTestId('activity');
    const row = (app) => panel.locator('[data-testid=backend]', { hasText: app });
    await until(async () => (await row('e2e-waiter').count()) === 1 && (await row('e2e-waiter').getAttribute('data-depth')) === '1',
      20000, 'the waiter under the holder');
    const holderPid = await row('e2e-holder').getAttribute('data-pid');
    assert.equal(await row('e2e-holder').getAttribute('data-depth'), '0');
    assert.match(await row('e2e-waiter').textContent(), new RegExp(`SELECT count\\(\\*\\) FROM lk`));
    assert.match(await row('e2e-waiter').locator('td').nth(7).textContent(), new RegExp(holderPid));
    // the tree: the waiter comes right after the session blocking it
    const pids = await panel.locator('[data-testid=backend]').evaluateAll((els) => els.map((e) => e.dataset.pid));
    assert.equal(pids[pids.indexOf(holderPid) + 1], await row('e2e-waiter').getAttribute('data-pid'));
    await shot(page, 'activity');
    // pausing stops the refresh
    await page.getByTestId('activity-pause').click();
    assert.equal(await page.getByTestId('activity-pause').getAttribute('aria-pressed'), 'true');
    await page.getByTestId('activity-pause').click();
    // cancel the waiting query: asked first
    await row('e2e-waiter').getByTestId('cancel-backend').click();
    const confirm = page.getByRole('alertdialog');
    assert.match(await confirm.textContent(), /Cancel the running query of pid/);
    await confirm.getByRole('button', { name: 'Cancel', exact: true }).click(); // dismissed: nothing happens
    assert.equal(waiter.p.exitCode, null);
    await row('e2e-waiter').getByTestId('cancel-backend').click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Cancel query' }).click();
    const w = await waiter.done;
    assert.notEqual(w.code, 0);
    assert.match(w.err, /canceling statement due to user request/);
    assert.match(await page.getByTestId('activity-result').textContent(), /Cancelled the query of backend/);
    // terminate the holder
    await row('e2e-holder').getByTestId('terminate-backend').click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Terminate' }).click();
    const h = await holder.done;
    assert.notEqual(h.code, 0);
    await until(async () => (await row('e2e-holder').count()) === 0, 15000, 'the holder gone from the list');
  } finally {
    for (const s of [holder, waiter]) if (s.p.exitCode === null) s.p.kill();
  }
});
