// workspace.test.mjs — never lose work, in Debian's Chromium against a real
// gateway, broker and PostgreSQL: the tabs (text, cursor, connection,
// active tab) come back after a reload, a kill -9 of the gateway, a kill -9
// of the browser and a restart of the broker; a failed save is shown;
// closed tabs are kept and reopened; .sql files are uploaded and
// downloaded (several MB too); each tab runs on its own session; the
// history panel and saved queries. The tests run in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFixture, startGateway, launchBrowser, shot, until } from './lib.mjs';

let fx, gw, br, page, saved;

before(async () => {
  fx = await startFixture();
  saved = (await fx.call('save_connection', { config: { ...fx.pg.config, name: 'ws' }, password: 'tuskpw' })).config.id;
  gw = await startGateway(fx.home);
  await openBrowser();
});

after(async () => {
  await br?.close();
  const g = await gw?.stop();
  const f = await fx?.stop();
  assert.ok(g === 0 || g === 'SIGKILL', 'tusk-ui exit status ' + g + '\n' + gw?.log());
  assert.equal(f, 0, 'the broker stopped cleanly without sanitizer reports');
});

async function openBrowser() {
  br = await launchBrowser();
  page = br.page;
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await load();
}

/** (Re)load the page from the gateway and wait for it to be ready. */
async function load() {
  await page.goto(gw.url);
  await until(async () => (await page.getByTestId('broker-health').textContent()).includes('Broker ok'), 30000, 'broker health');
  await until(() => page.evaluate(() => window.tusk.workspace.ready && window.tusk.tabs.length > 0), 10000, 'the workspace restored');
}

/** The tabs as the page holds them. */
const tabs = () => page.evaluate(() => window.tusk.tabs.map((t) => ({ title: t.title, sql: t.text(), conn: t.connectionId,
  cursor: t.cursor, dirty: t.dirty })));
const current = () => page.evaluate(() => window.tusk.current);
const tabView = () => page.locator('.tabbody:not([hidden])');

/** The workspace as the broker keeps it. */
const stored = () => fx.call('get_workspace', {});
async function storedHas(text) {
  await until(async () => JSON.stringify(await stored()).includes(text), 10000, `the workspace holding ${text}`);
}

async function setSql(sql) {
  const ed = tabView().locator('.cm-content');
  await ed.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(sql);
}

async function runCurrent() {
  await page.keyboard.press('Control+Enter');
  await until(async () => !(await page.evaluate(() => window.tusk.tabs[window.tusk.current].running)), 60000, 'the query to end');
  return tabView().getByTestId('run-state').textContent();
}

async function newTabOn(conn) {
  await page.evaluate((id) => window.tusk.newTab(id), conn);
  await tabView().locator('.cm-content').waitFor();
}

test('the tabs, their text, cursor, connection and the active tab are kept in the broker', async () => {
  await page.evaluate((id) => { window.tusk.tabs[0].connectionId = id; }, saved);
  await setSql("select 'first tab' as one");
  await newTabOn(saved);
  await setSql('-- second tab\nselect 2 as two');
  // a selection: "second"
  await page.evaluate(() => window.tusk.tabs[1].setText(window.tusk.tabs[1].text(), [3, 9]));
  await page.keyboard.press('End');
  await newTabOn(null);
  await setSql('select 3 -- third, no connection');
  await page.locator('.tab').nth(1).click();
  await storedHas('second tab');
  await until(async () => {
    const w = await stored();
    return w.tabs.length === 3 && w.active === w.tabs[1].key && w.tabs[2].sql.includes('third');
  }, 10000, 'all three tabs and the active one stored');
  const w = await stored();
  assert.equal(w.version, 1);
  assert.deepEqual(w.tabs.map((t) => t.connection), [saved, saved, null]);
  assert.ok(w.tabs.every((t) => t.dirty === true && t.file === null));
});

async function sameTabs(before, what) {
  await until(async () => JSON.stringify(await tabs()) === JSON.stringify(before), 10000, what)
    .catch(async (e) => { throw new Error(e.message + '\n' + JSON.stringify(await tabs()) + '\n!= ' + JSON.stringify(before)); });
  assert.equal(await current(), 1, 'the active tab');
  assert.match(await tabView().locator('.cm-content').textContent(), /second tab/);
}

test('a reload of the page shows the same tabs with the same text', async () => {
  const b = await tabs();
  await load();
  await sameTabs(b, 'the tabs after a reload');
});

test('kill -9 of the gateway: a new gateway serves the same tabs', async () => {
  await setSql('-- second tab, edited before the gateway died\nselect 2');
  await storedHas('edited before the gateway died');
  const b = await tabs();
  gw.proc.kill('SIGKILL');
  await until(async () => (await page.getByTestId('broker-health').textContent()).includes('unreachable'), 10000, 'the page noticing');
  gw = await startGateway(fx.home);
  await load();
  await sameTabs(b, 'the tabs after the gateway was killed');
});

test('kill -9 of the browser: a new one shows the same tabs', async () => {
  await setSql('-- second tab, typed just before the browser died\nselect 2');
  await storedHas('typed just before the browser died');
  const b = await tabs();
  br.kill();
  fs.rmSync(br.tmp, { recursive: true, force: true });
  await openBrowser();
  await sameTabs(b, 'the tabs after the browser was killed');
});

test('a restart of the broker keeps the tabs; the page saves again once it is back', async () => {
  const b = await tabs();
  await fx.restart();
  // no keychain here: the password was kept for the broker's session only
  await fx.call('save_connection', { config: { ...fx.pg.config, id: saved, name: 'ws' }, password: 'tuskpw' });
  await until(async () => (await page.getByTestId('broker-health').textContent()).includes('Broker ok'), 30000, 'the page back on the new broker');
  await load();
  await sameTabs(b, 'the tabs after the broker restarted');
  await setSql('-- second tab, after the restart\nselect 2');
  await storedHas('after the restart');
});

test('a failed save is shown, and cleared by the next good one', async () => {
  // more than the broker keeps (16 MiB): it refuses the workspace, loudly
  await page.evaluate(() => { const t = window.tusk.tabs[window.tusk.current]; t.setText('-- ' + 'x'.repeat(17 * 1024 * 1024)); t.edited(); });
  const err = page.getByTestId('workspace-error');
  await until(async () => (await err.count()) === 1 && /Tabs not saved.*workspace/.test(await err.textContent()), 20000, 'the failure shown');
  await shot(page, 'ws-01-save-failed');
  assert.doesNotMatch(JSON.stringify(await stored()), /x{1000}/, 'the refused workspace was not stored');
  await setSql('-- second tab, small again\nselect 2');
  await storedHas('small again');
  await until(async () => (await err.count()) === 0, 10000, 'the failure cleared');
});

test('closing a tab keeps its text in "recently closed"; Ctrl+Shift+T reopens it', async () => {
  const n = (await tabs()).length;
  await page.locator('.tab').nth(2).getByRole('button', { name: 'Close tab' }).click();
  await until(async () => (await tabs()).length === n - 1, 5000, 'the tab closed');
  assert.match(await page.getByTestId('toast').textContent(), /Closed “Query \d+” — Ctrl\+Shift\+T reopens it/);
  await storedHas('"closed":[{');
  // kept across a reload too
  await load();
  await page.locator('.tabbody:not([hidden]) .cm-content').click();
  await page.keyboard.press('Control+Shift+T');
  await until(async () => (await tabs()).some((t) => t.sql.includes('third, no connection')), 5000, 'the tab reopened');
  assert.equal((await tabs()).length, n);
  await until(async () => (await stored()).closed.length === 0, 10000, 'the list stored empty again');
});

test('a .sql file is opened (upload), edited with an unsaved marker, and saved (download)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tusk-files-'));
  const file = path.join(dir, 'report.sql');
  fs.writeFileSync(file, "-- the report\nselect 'from a file' as origin;\n");
  await newTabOn(saved);
  const chooser = page.waitForEvent('filechooser');
  await page.keyboard.press('Control+O');
  await (await chooser).setFiles(file);
  const title = () => page.locator('.tab.on [data-testid=tab-title]').textContent();
  await until(async () => (await title()) === 'report.sql', 5000, 'the file in the tab');
  assert.match(await tabView().locator('.cm-content').textContent(), /from a file/);
  assert.equal(await page.locator('.tab.on [data-testid=tab-unsaved]').count(), 0);
  assert.match(await runCurrent(), /1 rows/);
  await tabView().locator('.cm-content').click();
  await page.keyboard.press('Control+End');
  await page.keyboard.insertText('select 2;\n');
  await page.locator('.tab.on [data-testid=tab-unsaved]').waitFor();
  assert.equal(await page.title(), '• report.sql — Tusk');
  const download = page.waitForEvent('download');
  await page.keyboard.press('Control+S');
  const d = await download;
  assert.equal(d.suggestedFilename(), 'report.sql');
  const out = path.join(dir, 'downloaded.sql');
  await d.saveAs(out);
  assert.equal(fs.readFileSync(out, 'utf8'), "-- the report\nselect 'from a file' as origin;\nselect 2;\n");
  await until(async () => (await page.locator('.tab.on [data-testid=tab-unsaved]').count()) === 0, 5000, 'the marker gone');
  await storedHas('"name":"report.sql"');
  await shot(page, 'ws-02-file');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a 6 MB file opens and the editor stays usable', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tusk-files-'));
  const file = path.join(dir, 'big.sql');
  const line = "insert into t values (1, 'some text to make the line longer than most', now());\n";
  fs.writeFileSync(file, line.repeat(Math.ceil(6e6 / line.length)));
  await newTabOn(null);
  const chooser = page.waitForEvent('filechooser');
  await page.getByRole('button', { name: 'Open…' }).click();
  await (await chooser).setFiles(file);
  await until(async () => (await page.locator('.tab.on [data-testid=tab-title]').textContent()) === 'big.sql', 20000, 'the big file in its tab');
  const size = await page.evaluate(() => window.tusk.tabs[window.tusk.current].text().length);
  assert.equal(size, fs.statSync(file).size);
  // typing at its end works and is seen at once
  await tabView().locator('.cm-content').click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type('-- the end');
  await until(async () => (await tabView().locator('.cm-content').textContent()).includes('-- the end'), 10000, 'the typed text');
  await storedHas('big.sql');
  await page.locator('.tab.on').getByRole('button', { name: 'Close tab' }).click();
  await page.evaluate(() => window.tusk.workspace.takeClosed(0)); // keep the stored workspace small
  fs.rmSync(dir, { recursive: true, force: true });
});

test('each tab has its own session: a long query in one does not hold up another', async () => {
  await newTabOn(saved);
  await setSql('select pg_sleep(30) as long_one');
  await page.keyboard.press('Control+Enter');
  await until(() => page.evaluate(() => window.tusk.tabs[window.tusk.current].running), 10000, 'the long query running');
  const longTab = await current();
  await newTabOn(saved);
  await setSql("select 'not held up' as quick");
  assert.match(await runCurrent(), /1 rows/);
  assert.equal(await page.evaluate((i) => window.tusk.tabs[i].running, longTab), true, 'the long one still runs');
  const ids = await page.evaluate(() => window.tusk.tabs.map((t) => t.sessionId).filter(Boolean));
  assert.equal(new Set(ids).size, ids.length, 'one session per tab');
  // the workers panel shows each session under its connection with the tab's title
  await page.getByRole('button', { name: 'Workers' }).click();
  await until(async () => (await page.getByTestId('worker-label').allTextContents()).some((x) => /Query \d+/.test(x)), 10000, 'labels');
  await shot(page, 'ws-03-sessions');
  await page.getByRole('button', { name: 'Workers' }).click();
  await page.locator('.tab').nth(longTab).click();
  await tabView().locator('.cm-content').click();
  await page.keyboard.press('Escape');
  await until(async () => !(await page.evaluate((i) => window.tusk.tabs[i].running, longTab)), 10000, 'cancelled');
  // closing a tab ends its session
  const sid = await page.evaluate(() => window.tusk.tabs[window.tusk.current].sessionId);
  await page.locator('.tab.on').getByRole('button', { name: 'Close tab' }).click();
  await until(async () => !(await fx.call('get_active_connections', {})).some((a) => a.connection_id === sid), 10000, 'the session closed');
});

test('the history panel finds what the window ran, opens it in a tab and runs it again', async () => {
  await page.getByRole('button', { name: 'History' }).click();
  await page.getByLabel('Search history').fill('not held');
  const entry = page.getByTestId('history-entry');
  await until(async () => (await entry.count()) === 1, 10000, 'the entry');
  assert.match(await entry.textContent(), /select 'not held up' as quick/);
  assert.match(await entry.textContent(), /ok · ws · .* · window/);
  const n = (await tabs()).length;
  await entry.getByRole('button', { name: 'Run again' }).click();
  await until(async () => (await tabs()).length === n + 1, 5000, 'a new tab');
  await until(async () => /1 rows/.test(await tabView().getByTestId('run-state').textContent()), 20000, 'run again');
  await until(async () => (await entry.count()) === 2, 10000, 'the new run in the panel');
  await shot(page, 'ws-04-history');
  await page.getByRole('button', { name: 'Close history' }).click();
});

test('a query is saved with a name, listed in the sidebar, and opens in a tab', async () => {
  await setSql('select 42 as the_answer');
  await tabView().getByRole('button', { name: 'Save query…' }).click();
  const d = page.getByRole('dialog', { name: 'Save query' });
  await d.getByLabel('Name').fill('The answer');
  await d.getByLabel('Folder').fill('examples');
  await d.getByRole('button', { name: 'Save', exact: true }).click();
  const item = page.locator('[data-testid=saved-query][data-name="The answer"]');
  await item.waitFor();
  const q = (await fx.call('list_saved_queries', {})).find((x) => x.name === 'The answer');
  assert.equal(q.sql, 'select 42 as the_answer');
  assert.equal(q.folder, 'examples');
  assert.equal(q.id, saved);
  await item.getByRole('button', { name: 'The answer', exact: true }).click();
  await until(async () => (await page.locator('.tab.on [data-testid=tab-title]').textContent()) === 'The answer', 5000, 'the saved query in a tab');
  assert.match(await runCurrent(), /1 rows/);
});
