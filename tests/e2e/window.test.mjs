// window.test.mjs — the window's dead ends, met as a person meets them, in
// Debian's Chromium against a real gateway, broker, PostgreSQL (one plain
// cluster, one that admits only TLS), an OpenSSH server on loopback and a
// local database the broker had to salvage (fixture.py --sshd --tls
// --damaged-store). The tests run in order and build on each other.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture, startGateway, launchBrowser, shot, until } from './lib.mjs';

let fx, gw, br, page;
const PW = 'tuskpw';

before(async () => {
  fx = await startFixture({ sshd: true, tls: true, damagedStore: true });
  gw = await startGateway(fx.home);
  br = await launchBrowser();
  page = br.page;
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(gw.url);
  await until(async () => (await page.getByTestId('broker-health').textContent()).includes('Broker ok'), 20000, 'broker health');
});

after(async () => {
  await br?.close();
  const g = await gw?.stop();
  const f = await fx?.stop();
  assert.equal(g, 0, 'tusk-ui exit status\n' + gw?.log());
  assert.equal(f, 0, 'the broker stopped cleanly without sanitizer reports');
});

const dialog = () => page.getByRole('dialog', { name: /connection/ });
const item = (name) => page.locator(`[data-testid=conn-item][data-name="${name}"]`);
const connState = (name) =>
  page.evaluate((n) => document.querySelector(`[data-testid=conn-item][data-name="${n}"]`)?.dataset.state ?? null, name);
const tabView = () => page.locator('.tabbody:not([hidden])');
const tabTitles = () => page.locator('[role=tab].tab').allTextContents();
const currentTab = () => page.evaluate(() => {
  const t = window.tusk.tabs[window.tusk.current];
  return t ? { connectionId: t.connectionId, title: t.title } : null;
});

/** Fill the connection dialog's fields (those given). */
async function fill(f) {
  const d = dialog();
  const set = async (label, v) => { if (v !== undefined) await d.getByLabel(label, { exact: true }).fill(String(v)); };
  await set('Name', f.name);
  await set('Host', f.host ?? '127.0.0.1');
  await set('Port', f.port ?? fx.pg.port);
  await set('Database', f.database ?? 'tuskdb');
  await set('User', f.user ?? 'tusk');
  await set('Password', f.password ?? '');
  await d.getByLabel('Mode').selectOption(f.sslMode ?? 'disable');
  if (f.clientCert) {
    await set('Client certificate', f.clientCert);
    await set('Client key', f.clientKey);
    await set('Client key passphrase', f.keyPassphrase ?? '');
  }
  if (f.ssh) {
    await d.getByLabel('Connect through SSH').check();
    await set('SSH host', '127.0.0.1');
    await set('SSH port', fx.sshd.port);
    await set('SSH user', fx.sshd.user);
    await d.getByLabel('Authentication').selectOption(f.ssh.auth);
    if (f.ssh.auth === 'password') await set('SSH password', f.ssh.password ?? '');
    if (f.ssh.auth === 'key_file') {
      await set('Key file', f.ssh.key);
      await set('Key passphrase', f.ssh.passphrase ?? '');
    }
  }
}

/** Answer the secret prompt named title with value. */
async function answer(title, label, value) {
  const p = page.getByRole('dialog', { name: title });
  await p.waitFor({ timeout: 30000 });
  assert.match(await p.textContent(), new RegExp(label + ' for '), 'the prompt names the secret it wants');
  await p.getByLabel(label, { exact: true }).fill(value);
  await p.getByRole('button', { name: 'Connect' }).click();
  await p.waitFor({ state: 'hidden' });
}

async function setSql(sql) {
  const ed = tabView().locator('.cm-content');
  await ed.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(sql);
}

async function runSql(sql) {
  await setSql(sql);
  await page.keyboard.press('Control+Enter');
  await until(async () => !(await page.evaluate(() => window.tusk.tabs[window.tusk.current].running)), 60000, 'the query to end');
  return tabView().getByTestId('run-state').textContent();
}

const cells = (row = 0) => tabView().locator('[data-testid=grid] .rows .tr').nth(row).locator('.td').allTextContents();

async function closeAllTabs() {
  while ((await page.locator('[role=tab].tab').count()) > 0)
    await page.locator('[role=tab].tab').first().getByRole('button', { name: 'Close tab' }).click();
}

test('the storage notice reads as text, not [object Object], and can be dismissed', async () => {
  const h = await fx.call('check_database_health');
  assert.ok(h.notice, 'the broker salvaged the damaged file');
  await page.getByTestId('storage-notice').click();
  const d = page.getByRole('dialog', { name: 'Storage notice' });
  const text = await d.textContent();
  assert.doesNotMatch(text, /\[object Object\]/);
  assert.match(text, /Local storage was salvaged/);
  assert.ok(text.includes(h.notice.message), text);
  assert.ok(text.includes(h.notice.backup_path), 'the kept copy is named');
  await shot(page, 'w01-storage-notice');
  await d.getByRole('button', { name: 'Dismiss' }).click();
  await d.waitFor({ state: 'hidden' });
  await until(async () => (await page.getByTestId('storage-notice').count()) === 0, 5000, 'the notice gone');
  assert.equal((await fx.call('check_database_health')).notice, null, 'dismissed in the broker');
  await page.reload();
  await until(async () => (await page.getByTestId('broker-health').textContent()).includes('Broker ok'), 20000, 'reloaded');
  assert.equal(await page.getByTestId('storage-notice').count(), 0, 'and it stays dismissed');
});

test('an unknown SSH host key is shown and trusted; the SSH password and then the database password are asked for', async () => {
  await page.getByRole('button', { name: '+ New' }).click();
  await fill({ name: 'ssh-pw', ssh: { auth: 'password' } });
  assert.equal(await dialog().getByText('Local port').count(), 0, 'no local port: the tunnel always picks a free one');
  await dialog().getByRole('button', { name: 'Save and connect' }).click();
  // the server's key is on record nowhere: its fingerprint, Trust or Cancel
  const hk = page.getByRole('alertdialog', { name: 'Unknown SSH host key' });
  await hk.waitFor({ timeout: 30000 });
  assert.equal(await hk.getByTestId('host-key-fingerprint').textContent(), fx.sshd.fingerprint);
  assert.match(await hk.textContent(), new RegExp(`127\\.0\\.0\\.1:${fx.sshd.port}`));
  await shot(page, 'w02-host-key');
  await hk.getByRole('button', { name: 'Cancel' }).click();
  const err = dialog().getByTestId('dialog-error');
  await until(async () => /is not known/.test(await err.textContent()), 10000, 'the refusal');
  // again, and trust it this time
  await dialog().getByRole('button', { name: 'Save and connect' }).click();
  await hk.waitFor({ timeout: 30000 });
  await hk.getByRole('button', { name: 'Trust' }).click();
  // the SSH server wants its password: asked for as such (a wrong one is asked for again)
  await answer('SSH password needed', 'SSH password', 'not-the-password');
  await answer('SSH password needed', 'SSH password', fx.sshd.password);
  // then the database wants its own
  await answer('Password needed', 'Password', PW);
  await until(async () => (await connState('ssh-pw')) === 'connected', 30000, 'connected through the tunnel');
  assert.equal(await page.getByRole('dialog').count(), 0, 'no dialog left');
  assert.match(await runSql('select inet_server_port() as port'), /1 rows/);
  assert.deepEqual(await cells(), [String(fx.pg.port)]);
});

test('an SSH key passphrase is asked for as such', async () => {
  await page.getByRole('button', { name: '+ New' }).click();
  await fill({ name: 'ssh-key', password: PW, ssh: { auth: 'key_file', key: fx.sshd.key_pass } });
  await dialog().getByRole('button', { name: 'Save and connect' }).click();
  await answer('SSH key passphrase needed', 'SSH key passphrase', 'not-it');
  await answer('SSH key passphrase needed', 'SSH key passphrase', fx.sshd.key_passphrase);
  await until(async () => (await connState('ssh-key')) === 'connected', 30000, 'connected with the key');
});

test('a client key passphrase has its field, and is asked for when it is missing', async () => {
  await page.getByRole('button', { name: '+ New' }).click();
  const tls = { name: 'tls-key', port: fx.tls.port, database: 'certdb', sslMode: 'require', clientCert: fx.tls.cert, clientKey: fx.tls.key };
  await fill(tls);
  await dialog().getByRole('button', { name: 'Save and connect' }).click();
  await answer('Client key passphrase needed', 'Client key passphrase', fx.tls.passphrase);
  await until(async () => (await connState('tls-key')) === 'connected', 30000, 'connected with the client certificate');
  await item('tls-key').getByRole('button', { name: 'Disconnect' }).click();
  await until(async () => (await connState('tls-key')) === 'disconnected', 10000, 'disconnected');
  // typed in the dialog, it is saved with the connection: warnings read as text
  await item('tls-key').getByRole('button', { name: 'Edit' }).click();
  await dialog().getByLabel('Client key passphrase', { exact: true }).fill(fx.tls.passphrase);
  await dialog().getByRole('button', { name: 'Save', exact: true }).click();
  const w = dialog().getByTestId('save-warning');
  await w.first().waitFor();
  const wt = await w.first().textContent();
  assert.doesNotMatch(wt, /\[object Object\]/);
  assert.match(wt, /kept for this session only.*Hint: /s);
  await shot(page, 'w03-save-warning');
  await dialog().getByRole('button', { name: 'Cancel', exact: true }).click();
  await item('tls-key').getByRole('button', { name: 'Connect' }).click();
  await until(async () => (await connState('tls-key')) === 'connected', 30000, 'connected without a prompt');
  assert.equal(await page.getByRole('dialog').count(), 0, 'nothing was asked');
});

test('a key file that is not there (yet) is saved with a warning; connecting says it is missing', async () => {
  await page.getByRole('button', { name: '+ New' }).click();
  await fill({ name: 'usb-key', ssh: { auth: 'key_file', key: '/media/usb-stick/id_ed25519' } });
  await dialog().getByRole('button', { name: 'Save', exact: true }).click();
  const w = dialog().getByTestId('save-warning');
  await w.first().waitFor();
  assert.match(await w.first().textContent(), /cannot read \/media\/usb-stick\/id_ed25519.*saved anyway.*Hint: .*mounted/s);
  await dialog().getByRole('button', { name: 'Cancel', exact: true }).click();
  assert.equal(await connState('usb-key'), 'disconnected', 'saved');
  await item('usb-key').getByRole('button', { name: 'Connect' }).click();
  const err = page.locator('.sidebar [role=alert]');
  await until(async () => /usb-key: .*cannot read \/media\/usb-stick\/id_ed25519/.test(await err.textContent()), 10000, 'the refusal');
});

test('double-clicking a connection connects it and opens a query tab; a new tab takes the connection in use', async () => {
  // a saved connection with its password, not open
  await page.getByRole('button', { name: '+ New' }).click();
  await fill({ name: 'plain', password: PW });
  await dialog().getByRole('button', { name: 'Save', exact: true }).click();
  await dialog().getByTestId('save-warning').first().waitFor(); // (no keychain here: kept for the session)
  await dialog().getByRole('button', { name: 'Cancel', exact: true }).click();
  await closeAllTabs();
  await item('plain').locator('.name').dblclick();
  await until(async () => (await connState('plain')) === 'connected', 30000, 'connected by a double-click');
  await until(async () => (await tabTitles()).length === 1, 5000, 'a query tab');
  const plainId = (await fx.call('list_connections')).find((c) => c.name === 'plain').id;
  assert.equal((await currentTab()).connectionId, plainId);
  assert.match(await runSql('select 1 as one'), /1 rows/);
  // + Query tab: the current tab's connection
  await page.getByRole('button', { name: '+ Query tab' }).click();
  assert.equal((await tabTitles()).length, 2);
  assert.equal((await currentTab()).connectionId, plainId);
  assert.match(await runSql('select 2 as two'), /1 rows/);
  // no tab: the connection selected in the sidebar
  await closeAllTabs();
  await item('ssh-pw').locator('.name').click();
  await page.getByRole('button', { name: '+ Query tab' }).click();
  const sshId = (await fx.call('list_connections')).find((c) => c.name === 'ssh-pw').id;
  assert.equal((await currentTab()).connectionId, sshId);
  assert.match((await currentTab()).title, /^ssh-pw · /);
  assert.match(await runSql('select 3 as three'), /1 rows/);
  await shot(page, 'w04-double-click');
});

test('renaming an open connection renames it everywhere at once; deleting it warns that its session goes on', async () => {
  await closeAllTabs();
  await item('plain').locator('.name').dblclick();
  await until(async () => (await currentTab())?.title?.startsWith('plain · '), 10000, 'a tab on plain');
  await page.getByRole('button', { name: 'Workers' }).click();
  const row = (name) => page.locator(`[data-testid=worker-row][data-connection="${name}"]:not([data-state=dead])`);
  await until(async () => (await row('plain').count()) === 1, 10000, 'its worker listed');
  await item('plain').getByRole('button', { name: 'Edit' }).click();
  await dialog().getByLabel('Name', { exact: true }).fill('plain renamed');
  await dialog().getByRole('button', { name: 'Save', exact: true }).click();
  await dialog().waitFor({ state: 'hidden' });
  // without a reconnect: the sidebar, the tab, the workers panel, the broker
  await until(async () => (await connState('plain renamed')) === 'connected', 5000, 'renamed in the sidebar');
  await until(async () => (await currentTab()).title.startsWith('plain renamed · '), 5000, 'renamed in the tab');
  await until(async () => (await row('plain renamed').count()) === 1, 10000, 'renamed in the workers panel');
  const id = (await fx.call('list_connections')).find((c) => c.name === 'plain renamed').id;
  assert.equal((await fx.call('get_active_connections')).find((a) => a.connection_id === id).name, 'plain renamed');
  await shot(page, 'w05-renamed');
  await page.getByRole('button', { name: 'Workers' }).click();

  // delete it while it is open: the window says so, the session goes on
  await item('plain renamed').getByRole('button', { name: 'Edit' }).click();
  await dialog().getByRole('button', { name: 'Delete' }).click();
  const confirm = page.getByRole('alertdialog', { name: 'Delete connection' });
  assert.match(await confirm.textContent(), /It is open: its session goes on, unsaved, until you disconnect it/);
  await confirm.getByRole('button', { name: 'Delete' }).click();
  const note = page.getByTestId('conn-notice');
  await note.waitFor();
  assert.match(await note.textContent(), /'plain renamed' is still open: its session goes on, unsaved, until it is disconnected/);
  assert.ok(!(await fx.call('list_connections')).some((c) => c.id === id), 'deleted');
  await until(async () => /not saved/.test(await item('plain renamed').textContent()), 5000, 'shown as not saved');
  assert.equal(await connState('plain renamed'), 'connected');
  assert.match(await runSql('select 4 as four'), /1 rows/);
  await shot(page, 'w06-deleted-open');
  await item('plain renamed').getByRole('button', { name: 'Disconnect' }).click();
  await until(async () => (await item('plain renamed').count()) === 0, 10000, 'gone once disconnected');
  await note.getByRole('button', { name: 'Dismiss' }).click();
  assert.equal(await page.getByTestId('conn-notice').count(), 0);
});
