// frontend.test.mjs — the web UI in Debian's Chromium against a real
// gateway, broker and PostgreSQL. One browser and one broker for the file;
// the tests run in order and build on each other (connect, then query...).
// A test that needs a broker method `describe` does not list fails, saying
// which (a missing method is a broken build, not a reason to skip).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFixture, startGateway, launchBrowser, shot, until } from './lib.mjs';

let fx, gw, br, page;
let methods = new Set();

const PW = 'tuskpw';

before(async () => {
  fx = await startFixture();
  gw = await startGateway(fx.home);
  br = await launchBrowser();
  page = br.page;
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(gw.url);
  await until(async () => (await page.getByTestId('broker-health').textContent()).includes('Broker ok'), 20000, 'broker health');
  methods = new Set(await page.evaluate(() => [...window.tusk.methods]));
});

after(async () => {
  await br?.close();
  const g = await gw?.stop();
  const f = await fx?.stop();
  assert.equal(g, 0, 'tusk-ui exit status\n' + gw?.log());
  assert.equal(f, 0, 'the broker stopped cleanly without sanitizer reports');
});

function need(t, method) {
  assert.ok(methods.has(method), `describe does not list ${method}: the broker lacks a method this test needs`);
  return true;
}

/** Replace the current tab's SQL. */
async function setSql(sql) {
  const ed = page.locator('.tabbody:not([hidden]) .cm-content');
  await ed.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(sql);
}

const tabView = () => page.locator('.tabbody:not([hidden])');
const runState = () => tabView().getByTestId('run-state');

async function runSql(sql, doneText = /rows ·|Error|Cancelled|WorkerLost|Database/) {
  await setSql(sql);
  await page.keyboard.press('Control+Enter');
  await until(async () => !(await page.evaluate(() => window.tusk.tabs[window.tusk.current].running)), 180000, 'the query to end');
  return runState().textContent();
}

async function cells(rowIndex = 0) {
  const row = tabView().locator('[data-testid=grid] .rows .tr').nth(rowIndex);
  return row.locator('.td').allTextContents();
}

/** A sidebar item's state, without waiting for it to exist. */
function connState(name) {
  return page.evaluate((n) => document.querySelector(`[data-testid=conn-item][data-name="${n}"]`)?.dataset.state ?? null, name);
}

async function fillConnection({ name, password }) {
  const d = page.getByRole('dialog');
  await d.getByLabel('Name', { exact: true }).fill(name);
  await d.getByLabel('Host', { exact: true }).fill('127.0.0.1');
  await d.getByLabel('Port', { exact: true }).fill(String(fx.pg.port));
  await d.getByLabel('Database', { exact: true }).fill('tuskdb');
  await d.getByLabel('User', { exact: true }).fill('tusk');
  await d.getByLabel('Password', { exact: true }).fill(password ?? '');
  await d.getByLabel('Mode').selectOption('disable');
}

test('the page loads through the gateway and shows the broker, its logs and no errors', async () => {
  await until(async () => (await page.getByTestId('log-dir').textContent()).includes(fx.home), 5000, 'log dir');
  assert.match(await page.getByTestId('broker-health').textContent(), /Broker ok · v\d/);
  await shot(page, '01-empty');
});

test('a connection is tested (error with hint, then success), and opened after a password prompt', async () => {
  await page.getByRole('button', { name: '+ New' }).click();
  if (methods.has('check_keychain_available')) {
    // the test broker has no Secret Service: the dialog says where passwords go
    assert.match(await page.getByTestId('keychain-note').textContent(),
      /No keychain: passwords are kept in memory for this session only|Keychain available/);
  }
  await fillConnection({ name: 'e2e', password: 'wrong-password' });
  await page.getByRole('button', { name: 'Test' }).click();
  const bad = page.getByTestId('test-result');
  await until(async () => (await bad.textContent()).includes('Credential'), 20000, 'failed test');
  assert.match(await bad.textContent(), /Hint: .+/, 'the failure carries its hint');
  await page.getByRole('dialog').getByLabel('Password', { exact: true }).fill(PW);
  await page.getByRole('button', { name: 'Test' }).click();
  await until(async () => /Connected: PostgreSQL 15.* in [\d.]+ ms/.test(await bad.textContent()), 20000, 'test success');
  await shot(page, '02-connection-dialog');
  if (methods.has('save_connection')) {
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel', exact: true }).click();
    return;
  }
  // without storage: connect for this session; no password typed, so the
  // broker asks and the page prompts
  await page.getByRole('dialog').getByLabel('Password', { exact: true }).fill('');
  await page.getByRole('button', { name: 'Connect', exact: true }).click();
  const prompt = page.getByRole('dialog', { name: 'Password needed' });
  await prompt.waitFor({ timeout: 20000 });
  await prompt.getByLabel('Password').fill(PW);
  await prompt.getByRole('button', { name: 'Connect' }).click();
  await until(async () => (await connState('e2e')) === 'connected', 20000, 'connected');
});

test('a connection is added, tested, saved (password masked) and connected', async (t) => {
  if (!need(t, 'save_connection')) return;
  await page.getByRole('button', { name: '+ New' }).click();
  await fillConnection({ name: 'e2e', password: PW });
  const pwInput = page.getByRole('dialog').getByLabel('Password', { exact: true });
  assert.equal(await pwInput.getAttribute('type'), 'password');
  await page.getByRole('button', { name: 'Test' }).click();
  await until(async () => /Connected: PostgreSQL/.test(await page.getByTestId('test-result').textContent()), 20000, 'test');
  await page.getByRole('button', { name: 'Save and connect' }).click();
  const item = page.locator('[data-testid=conn-item][data-name="e2e"]');
  await until(async () => (await connState('e2e')) === 'connected', 20000, 'connected');
  assert.doesNotMatch(await item.textContent(), /not saved/);
  if (methods.has('has_stored_password')) {
    await item.getByRole('button', { name: 'Edit' }).click();
    const note = page.getByTestId('keychain-note');
    await until(async () => /stored in keychain|in memory|Keychain available/.test(await note.textContent()), 10000, 'keychain note');
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel', exact: true }).click();
  }
});

test('a query runs and its cells are read from the grid, NULL shown distinctly', async () => {
  const tab = await page.evaluate(() => window.tusk.tabs.length);
  if (tab === 0 || !(await page.evaluate(() => window.tusk.tabs[window.tusk.current].connectionId)))
    await page.locator('[data-testid=conn-item][data-name="e2e"]').getByRole('button', { name: 'New tab' }).click();
  const state = await runSql("select 1 as n, 'hello' as word, null::text as nothing, true as flag, 2.5::float8 as x");
  assert.match(state, /SELECT 1 · 1 rows/);
  assert.deepEqual(await cells(0), ['1', 'hello', 'NULL', 'true', '2.5']);
  const nullCell = tabView().locator('[data-testid=grid] .rows .tr').first().locator('.td').nth(2);
  assert.match(await nullCell.getAttribute('class'), /\bnull\b/);
  await shot(page, '03-query');
});

test('a syntax error shows message, hint and code, and marks the right characters', async () => {
  const state = await runSql('select 1;\nSELEC 2');
  assert.match(state, /Database/);
  const err = tabView().getByTestId('error');
  await err.waitFor();
  assert.match(await err.textContent(), /syntax error at or near "SELEC"/);
  assert.match(await err.textContent(), /SQLSTATE 42601/);
  assert.ok((await tabView().getByTestId('error-hint').textContent()).length > 6, 'a hint is shown');
  const mark = tabView().locator('.cm-error-mark');
  assert.equal(await mark.count(), 1);
  assert.equal(await mark.textContent(), 'SELEC');
  await shot(page, '04-syntax-error');
});

test('pg_sleep(30) is cancelled with Esc and the same tab runs another query', async () => {
  await setSql('select pg_sleep(30)');
  const t0 = Date.now();
  await page.keyboard.press('Control+Enter');
  await until(async () => /Running/.test(await runState().textContent()), 10000, 'running');
  await page.waitForTimeout(300);
  await page.keyboard.press('Escape');
  await until(async () => !(await page.evaluate(() => window.tusk.tabs[window.tusk.current].running)), 10000, 'cancelled');
  assert.ok(Date.now() - t0 < 10000, 'cancelled long before 30 s');
  assert.match(await runState().textContent(), /QueryCancelled/);
  const state = await runSql('select 42 as answer');
  assert.match(state, /1 rows/);
  assert.deepEqual(await cells(0), ['42']);
});

test('a busy worker is killed from the workers panel; the tab reports it and reconnects', async (t) => {
  if (!need(t, 'kill_worker')) return;
  await setSql('select pg_sleep(60)');
  await page.keyboard.press('Control+Enter');
  await until(async () => /Running/.test(await runState().textContent()), 10000, 'running');
  await page.getByRole('button', { name: 'Workers' }).click();
  const busy = page.locator('[data-testid=worker-row][data-state=busy]');
  // events bring the state at once; the 2 s refresh brings query, memory, CPU
  await until(async () => (await busy.count()) === 1 && /pg_sleep\(60\).*[1-9][\d.]* MB/.test(await busy.textContent()),
    10000, 'a busy worker in the panel with its query and memory');
  await shot(page, '05-workers');
  await busy.getByRole('button', { name: 'Kill' }).click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Kill' }).click();
  await until(async () => !(await page.evaluate(() => window.tusk.tabs[window.tusk.current].running)), 20000, 'query ended');
  assert.match(await runState().textContent(), /WorkerLost/);
  const lost = tabView().getByRole('alert').filter({ hasText: 'Connection lost' });
  await lost.waitFor();
  assert.match(await lost.textContent(), /killed by the user/);
  await until(async () => /killed/.test(await page.getByTestId('kill-result').textContent()), 10000, 'kill result');
  await shot(page, '06-killed');
  await tabView().getByRole('button', { name: 'Reconnect' }).click();
  const prompt = page.getByRole('dialog', { name: 'Password needed' });
  await until(async () => {
    if (await prompt.isVisible()) {
      await prompt.getByLabel('Password').fill(PW);
      await prompt.getByRole('button', { name: 'Connect' }).click();
    }
    return (await connState('e2e')) === 'connected';
  }, 20000, 'reconnected');
  assert.match(await runSql('select 7 as again'), /1 rows/);
  assert.deepEqual(await cells(0), ['7']);
  await page.getByRole('button', { name: 'Workers' }).click();
});

test('a 1,000,000-row result streams, scrolls to its last row and shows it', async () => {
  const t0 = Date.now();
  const state = await runSql("select g as n, 'row ' || g as label from generate_series(1, 1000000) g");
  assert.match(state, /SELECT 1000000 · 1,000,000 rows/);
  const ms = Date.now() - t0;
  await tabView().getByRole('button', { name: 'Last row' }).click();
  const last = tabView().locator('[data-testid=grid] .rows .tr', { hasText: 'row 1000000' });
  await until(async () => (await last.count()) === 1, 10000, 'the last row in view');
  assert.deepEqual(await last.locator('.td').allTextContents(), ['1000000', 'row 1000000']);
  assert.equal(await last.locator('.rn').textContent(), '1000000');
  const inDom = await tabView().locator('[data-testid=grid] .rows .tr').count();
  assert.ok(inDom < 100, `only visible rows are in the DOM (${inDom})`);
  const heap = await page.evaluate(() => performance.memory?.usedJSHeapSize ?? 0);
  console.log(`# 1M rows in ${ms} ms; JS heap ${(heap / 1048576).toFixed(1)} MB; ${inDom} rows in the DOM`);
  assert.ok(heap < 150 * 1048576, 'JS heap under 150 MB');
  await shot(page, '07-million-rows');
});

test('the main window, for the README', async () => {
  await runSql(`select g as id, 'Customer ' || g as name, 'c' || g || '@example.com' as email,
    round((g * 37 % 500)::numeric + 0.99, 2) as total, g % 3 <> 0 as paid,
    case when g % 4 = 0 then null else now() - g * interval '1 hour' end as placed_at
    from generate_series(1, 500) g`);
  await page.getByRole('button', { name: 'Workers' }).click();
  await page.locator('[data-testid=worker-row]').first().waitFor();
  await tabView().locator('[data-testid=grid] .rows .td').nth(7).click();
  await shot(page, '09-main-window');
  await page.getByRole('button', { name: 'Workers' }).click();
});

test('the theme survives a reload (stored with set_preference)', async (t) => {
  if (!need(t, 'set_preference')) return;
  await page.getByRole('button', { name: 'Preferences' }).click();
  await page.getByLabel('Theme').selectOption('dark');
  await page.getByRole('dialog').getByRole('button', { name: 'Save', exact: true }).click();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  await page.reload();
  await until(async () => (await page.getByTestId('broker-health').textContent()).includes('Broker ok'), 20000, 'reloaded');
  await until(async () => (await page.evaluate(() => document.documentElement.dataset.theme)) === 'dark', 5000, 'dark after reload');
  await shot(page, '08-dark');
});

test('server notices show in the messages; the row cap and font size from Preferences apply at once', async () => {
  await runSql("do $$ begin raise notice 'hello %', 42; end $$");
  const msgs = tabView().getByTestId('messages');
  await until(async () => /NOTICE\s*hello 42/.test(await msgs.textContent()), 5000, 'the notice');
  assert.match(await msgs.textContent(), /Command\s*DO/);

  const setPrefs = async (rowCap, fontSize) => {
    await page.getByRole('button', { name: 'Preferences' }).click();
    await page.getByLabel('Row cap').fill(String(rowCap));
    await page.getByLabel('Editor font size').fill(String(fontSize));
    await page.getByRole('dialog').getByRole('button', { name: 'Save', exact: true }).click();
  };
  await setPrefs(1000, 18);
  const size = await tabView().locator('.cm-editor').evaluate((el) => getComputedStyle(el).fontSize);
  assert.equal(size, '18px');
  const state = await runSql('select g from generate_series(1, 5000) g');
  assert.match(state, /SELECT 5000 · 5,000 rows/);
  assert.match(await tabView().getByTestId('row-cap').textContent(), /Row cap 1,000 reached — more rows available/);
  assert.match(await tabView().getByTestId('grid-position').textContent(), /^1,000 rows/);
  await tabView().getByRole('tab', { name: /Messages/ }).click();
  assert.match(await tabView().getByTestId('messages').textContent(), /showing the first 1,000 of 5,000 rows/);
  await shot(page, '10-row-cap');
  await setPrefs(1000000, 14);
});

// --- working with results (export, import, scripts, EXPLAIN, transactions, the grid) ---

async function clipboard() {
  return page.evaluate(() => navigator.clipboard.readText());
}

async function runScript(sql) {
  await setSql(sql);
  await page.keyboard.press('Control+Shift+Enter');
  await until(async () => !(await page.evaluate(() => window.tusk.tabs[window.tusk.current].running)), 60000, 'the script to end');
}

test('a script shows one result per statement; the failing one stops it, is marked, and the results before it stay', async () => {
  await runScript("create temp table e2e_s (a int);\ninsert into e2e_s values (1), (2);\nselect a, 'x' || a as b from e2e_s order by a;\n" +
    "select 1/0;\nselect 'never'");
  const tabs = tabView().getByTestId('result-tab');
  assert.equal(await tabs.count(), 4, 'four statements ran, the fifth did not');
  assert.deepEqual((await tabs.allTextContents()).map((t) => t.trim()),
    ['1 · CREATE TABLE', '2 · INSERT 0 2', '3 · SELECT 2', '4 · ✗ Database']);
  assert.equal(await tabView().locator('.cm-error-mark').textContent(), 'select 1/0');
  assert.match(await runState().textContent(), /Database in statement 4/);
  await tabs.nth(2).click();
  assert.deepEqual(await cells(1), ['2', 'x2']);
  await tabs.nth(1).click();
  assert.match(await tabView().getByTestId('result-summary').textContent(), /INSERT 0 2/);
  await tabView().getByRole('tab', { name: /Messages/ }).click();
  const msgs = await tabView().getByTestId('messages').textContent();
  assert.match(msgs, /division by zero/);
  assert.match(msgs, /statement 4 of the script/);
  assert.ok(msgs.indexOf('CREATE TABLE') < msgs.indexOf('INSERT 0 2'), 'messages in order');
  await shot(page, '11-script-results');
  // Ctrl+Enter without a selection runs the statement under the cursor
  await tabView().locator('.cm-content').click();
  await page.keyboard.press('Control+Home');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Control+Enter');
  await until(async () => !(await page.evaluate(() => window.tusk.tabs[window.tusk.current].running)), 20000, 'the statement');
  assert.equal(await tabView().getByTestId('result-tab').count(), 0, 'one statement, one result');
  assert.deepEqual(await cells(0), ['1', 'x1']);
});

test('the transaction badge follows the server through BEGIN, an error and ROLLBACK; closing asks first', async () => {
  const tx = () => tabView().getByTestId('tx-state').textContent();
  await runSql('begin');
  assert.equal(await tx(), 'In transaction');
  await runSql('select 1/0');
  assert.equal(await tx(), 'Failed transaction');
  await shot(page, '12-failed-transaction');
  await runSql('select 1');
  assert.match(await tabView().getByTestId('error').textContent(), /25P02/);
  await tabView().getByRole('button', { name: 'Rollback' }).click();
  await until(async () => (await tx()) === 'No transaction', 10000, 'rolled back');
  // auto-commit off: a run opens a transaction that Commit ends
  await tabView().getByLabel('Auto-commit').uncheck();
  await runSql('create temp table e2e_ac (a int)');
  assert.equal(await tx(), 'In transaction');
  // closing the tab now asks
  const n = await page.evaluate(() => window.tusk.tabs.length);
  await page.locator('.tab.on').getByRole('button', { name: 'Close tab' }).click();
  const ask = page.getByRole('alertdialog', { name: 'Close the tab?' });
  await ask.waitFor();
  await ask.getByRole('button', { name: 'Cancel' }).click();
  assert.equal(await page.evaluate(() => window.tusk.tabs.length), n, 'the tab stays');
  await tabView().getByRole('button', { name: 'Commit' }).click();
  await until(async () => (await tx()) === 'No transaction', 10000, 'committed');
  await tabView().getByLabel('Auto-commit').check();
  assert.match(await runSql('select count(*) from e2e_ac'), /1 rows/);
});

test('EXPLAIN ANALYZE of a join shows a tree with the misestimate and the costliest node; a write is rolled back', async () => {
  await fx.psql('create table ex_a as select g as id, g % 10 as k from generate_series(1, 20000) g; ' +
    'create table ex_b as select g as id from generate_series(1, 5000) g; analyze ex_a; analyze ex_b; ' +
    'alter table ex_a owner to tusk; alter table ex_b owner to tusk');
  await setSql('select count(*) from ex_a a join ex_b b on b.id = a.id where a.id + 0 = a.id');
  await tabView().getByRole('button', { name: 'Explain analyze' }).click();
  const plan = tabView().getByTestId('plan');
  await until(async () => !(await page.evaluate(() => window.tusk.tabs[window.tusk.current].running)), 30000, 'explained');
  await plan.waitFor({ timeout: 30000 });
  const nodes = plan.getByTestId('plan-node');
  assert.ok((await nodes.count()) >= 4, 'aggregate, join, two scans');
  const text = await plan.textContent();
  assert.match(text, /Hash Join|Merge Join|Nested Loop/);
  assert.match(text, /Seq Scan on ex_a a/);
  const mis = await plan.getByTestId('misestimate').allTextContents();
  assert.ok(mis.some((m) => /▲ \d{2,}/.test(m)), `a node estimated 100× too few rows: ${mis}`);
  assert.ok((await plan.locator('[data-hot=true]').count()) >= 1, 'a costliest node stands out');
  assert.match(await plan.getByTestId('plan-note').textContent(), /rolled back/);
  await shot(page, '13-explain-analyze');
  await plan.getByRole('tab', { name: 'Text' }).click();
  assert.match(await plan.getByTestId('plan-text').textContent(), /Seq Scan on ex_a a {2}\(cost=[\d.]+\.\.[\d.]+ rows=\d+ width=\d+\) \(actual time=/);
  await plan.getByRole('tab', { name: 'JSON' }).click();
  assert.match(await plan.getByTestId('plan-json').textContent(), /"Node Type": "Hash Join"|"Node Type"/);
  // a DELETE: the window says so first, runs it, and rolls it back
  await setSql('delete from ex_b where id <= 100');
  await tabView().getByRole('button', { name: 'Explain analyze' }).click();
  const ask = page.getByRole('alertdialog', { name: 'EXPLAIN ANALYZE runs the statement' });
  await ask.waitFor();
  assert.match(await ask.textContent(), /rolls it back/);
  await ask.getByRole('button', { name: 'Run and roll back' }).click();
  await until(async () => !(await page.evaluate(() => window.tusk.tabs[window.tusk.current].running)), 20000, 'explained');
  assert.match(await tabView().getByTestId('plan').textContent(), /Delete on ex_b/);
  assert.equal(await tabView().getByTestId('tx-state').textContent(), 'No transaction');
  assert.match(await runSql('select count(*) from ex_b'), /1 rows/);
  assert.deepEqual(await cells(0), ['5000']);
});

test('the grid sorts and filters the rows it holds, copies a range in four formats, and views a value', async () => {
  await br.ctx.grantPermissions(['clipboard-read', 'clipboard-write']);
  await runSql("select g as n, 'v' || (g % 7) as s, g * 1.5 as x from generate_series(1, 200) g");
  const grid = tabView().getByTestId('grid');
  const head = (name) => grid.locator('.th', { hasText: name }).getByRole('button');
  assert.match(await grid.locator('.th').nth(1).textContent(), /n\s*integer/);
  await head('s').click();
  await until(async () => (await cells(0))[1] === 'v0', 10000, 'sorted ascending');
  assert.deepEqual(await cells(0), ['7', 'v0', '10.5']);
  await head('s').click();
  await until(async () => (await cells(0))[1] === 'v6', 10000, 'sorted descending');
  assert.deepEqual(await cells(0), ['6', 'v6', '9.0']);
  await head('s').click(); // as received
  await until(async () => (await cells(0))[0] === '1', 10000, 'unsorted');
  await tabView().getByLabel('Filter rows').fill('v3');
  await until(async () => /^29 rows of 200/.test(await tabView().getByTestId('grid-position').textContent()), 10000, 'filtered');
  assert.deepEqual(await cells(0), ['3', 'v3', '4.5']);
  await tabView().getByLabel('Filter rows').fill('');
  await until(async () => /^200 rows/.test(await tabView().getByTestId('grid-position').textContent()), 10000, 'unfiltered');
  // a range: click, then Shift+click; Ctrl+C copies TSV with headers
  const cell = (r, c) => grid.locator('.rows .tr').nth(r).locator('.td').nth(c);
  await cell(0, 0).click();
  await cell(2, 1).click({ modifiers: ['Shift'] });
  assert.match(await tabView().getByTestId('grid-position').textContent(), /3 × 2 selected/);
  await page.keyboard.press('Control+c');
  await until(async () => (await clipboard()) === 'n\ts\n1\tv1\n2\tv2\n3\tv3\n', 5000, 'TSV on the clipboard');
  // Shift+ArrowDown grows it
  await page.keyboard.press('Shift+ArrowDown');
  await page.keyboard.press('Control+c');
  await until(async () => (await clipboard()).split('\n').length === 6, 5000, 'four rows and the header');
  const copyAs = async (fmt) => {
    await tabView().getByLabel('Copy as').selectOption(fmt);
    await page.waitForTimeout(200);
    return clipboard();
  };
  assert.equal(await copyAs('csv'), 'n,s\n1,v1\n2,v2\n3,v3\n4,v4\n');
  assert.equal(await copyAs('markdown'), '| n | s |\n| ---: | --- |\n| 1 | v1 |\n| 2 | v2 |\n| 3 | v3 |\n| 4 | v4 |\n');
  assert.match(await copyAs('sql'), /^INSERT INTO exported \(n, s\) VALUES \(1, 'v1'\);\n/);
  // one cell copies as its value
  await cell(4, 2).click();
  await page.keyboard.press('Control+c');
  await until(async () => (await clipboard()) === '7.5', 5000, 'the value alone');
  await shot(page, '14-grid-range');
  // the cell viewer: JSON as a tree, an array's elements, bytea as hex
  await runSql("select '{\"a\": {\"b\": [1, 2]}, \"long\": \"" + 'x'.repeat(500) + "\"}'::jsonb as j, '{10,20,NULL}'::int[] as arr, '\\xdeadbeef'::bytea as b");
  assert.match(await grid.locator('.th').nth(2).textContent(), /arr\s*integer\[\]/);
  await cell(0, 0).dblclick();
  const viewer = page.getByTestId('cell-viewer');
  await viewer.waitFor();
  assert.match(await viewer.getByTestId('cell-json').textContent(), /a:\s*\{1\}\s*b:\s*\[2\]\s*0:\s*1\s*1:\s*2/);
  await shot(page, '15-cell-viewer');
  await page.keyboard.press('Escape');
  await cell(0, 1).click();
  await page.keyboard.press('Enter');
  assert.deepEqual(await page.getByTestId('cell-array').locator('li').allTextContents(), ['10', '20', 'NULL']);
  await page.keyboard.press('Escape');
  await cell(0, 2).dblclick();
  assert.match(await page.getByTestId('cell-hex').textContent(), /^00000000 {2}de ad be ef/);
  await page.keyboard.press('Escape');
});

test('Export… writes a result to a file with progress; Import… from the File menu loads it, and a bad line is named', async (t) => {
  if (!need(t, 'export_query')) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tusk-e2e-copy-'));
  try {
    await runSql("select g as n, 'row ' || g as label from generate_series(1, 50000) g");
    await tabView().getByRole('button', { name: 'Export…' }).click();
    const d = page.getByRole('dialog', { name: 'Export' });
    await d.getByLabel('File path').fill(path.join(dir, 'out.csv'));
    await d.getByRole('button', { name: 'Export' }).click();
    await until(async () => (await d.getByTestId('copy-result').count()) === 1, 30000, 'exported');
    assert.match(await d.getByTestId('copy-result').textContent(), /Exported 50,000 rows .* to .*out\.csv/);
    const lines = fs.readFileSync(path.join(dir, 'out.csv'), 'utf8').split('\n');
    assert.equal(lines[0], 'n,label');
    assert.equal(lines[50000], '50000,row 50000');
    await d.getByLabel('Format').selectOption('json');
    await d.getByLabel('File path').fill(path.join(dir, 'out.json'));
    await d.getByRole('button', { name: 'Export' }).click();
    await until(async () => /out\.json/.test(await d.getByTestId('copy-result').textContent()), 30000, 'exported json');
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'out.json'), 'utf8'))[49999].label, 'row 50000');
    await d.getByRole('button', { name: 'Close' }).click();

    // the export runs on the tab's own session: it sees the tab's temporary table
    await runSql('create temp table e2e_tmp as select 7 as seven');
    assert.match(await runSql('select * from e2e_tmp'), /1 rows/);
    await tabView().getByRole('button', { name: 'Export…' }).click();
    await d.getByLabel('Format').selectOption('csv');
    await d.getByLabel('File path').fill(path.join(dir, 'tmp.csv'));
    await d.getByRole('button', { name: 'Export' }).click();
    await until(async () => (await d.getByTestId('copy-result').count()) === 1 || (await d.getByTestId('copy-error').count()) === 1,
      30000, 'the temporary table exported');
    assert.equal(await d.getByTestId('copy-error').count(), 0);
    assert.equal(fs.readFileSync(path.join(dir, 'tmp.csv'), 'utf8'), 'seven\n7\n');
    await d.getByRole('button', { name: 'Close' }).click();

    await runSql('create table e2e_imp (n int, label text)');
    await page.locator('details.menu summary', { hasText: 'File' }).click();
    await page.getByRole('menuitem', { name: 'Import…' }).click();
    const im = page.getByRole('dialog', { name: 'Import' });
    await im.getByLabel('Table').fill('e2e_imp');
    await im.getByLabel('File path').fill(path.join(dir, 'out.csv'));
    await im.getByRole('button', { name: 'Import' }).click();
    await until(async () => (await im.getByTestId('copy-result').count()) === 1, 30000, 'imported');
    assert.match(await im.getByTestId('copy-result').textContent(), /Imported 50,000 rows into e2e_imp/);
    fs.writeFileSync(path.join(dir, 'bad.csv'), 'n,label\n1,a\nx,b\n');
    await im.getByLabel('File path').fill(path.join(dir, 'bad.csv'));
    await im.getByRole('button', { name: 'Import' }).click();
    await until(async () => (await im.getByTestId('copy-error').count()) === 1, 30000, 'the error');
    assert.match(await im.getByTestId('copy-error').textContent(), /22P02.*At line 3, column n of the file/s);
    await shot(page, '16-import-error');
    await im.getByRole('button', { name: 'Close' }).click();
    assert.match(await runSql('select count(*) from e2e_imp'), /1 rows/);
    assert.deepEqual(await cells(0), ['50000']);
    // COPY FROM STDIN in a query is refused, and the window offers the import
    await runSql('copy e2e_imp from stdin');
    await tabView().getByRole('button', { name: 'Import a file…' }).click();
    const offered = page.getByRole('dialog', { name: 'Import' });
    assert.equal(await offered.getByLabel('Table').inputValue(), 'e2e_imp');
    await offered.getByRole('button', { name: 'Close' }).click();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
