// The Messages screen in a real browser against the real binary: Ann's contact Ben comes online
// (his app's socket, a plain `ws` client here), types to her and leaves, and her screen follows
// without a reload; a device registered through the API is listed and removed in the page;
// the "show my presence" switch reaches the server and back, and Ben's app hears Ann go and
// come back with it (open connections follow the setting at once). The page never shows a message:
// it says where messages are read. Checked with axe-core, light and dark, and at phone width.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const { startApp, sleep } = require('./lib/app');
const { problems, launch, newPage, check, register, signIn, call } = require('./lib/browser');

let app;
let browser;
let ann; // looks at the screen
let ben; // her contact, whose app connects from node
test.before(async () => {
  app = await startApp({ env: { PASSWORD_ITERATIONS: '1000' } });
  browser = await launch();
  ann = await register(app, 'ann@example.test', 'Ann Reader');
  ben = await register(app, 'ben@example.test', 'Ben Writer');
  // presence and typing pass between mutual contacts only
  assert.equal((await call(app, ann, 'POST', '/users/contacts', { user_id: ben.id })).status, 201);
  assert.equal((await call(app, ben, 'POST', '/users/contacts', { user_id: ann.id })).status, 201);
});
test.after(async () => {
  if (browser) await browser.close();
  if (app) await app.stop();
});

// Resolves once ok() is true; fails naming what was awaited after 10 s.
async function until(ok, what) {
  for (let i = 0; i < 200; i++) {
    if (ok()) return;
    await sleep(50);
  }
  assert.fail(`waited 10 s for: ${what}`);
}

// Opens /ws as someone and resolves once the hub said `ready`; ws.frames has every frame.
function connect(person) {
  const ws = new WebSocket(`${app.url.replace(/^http/, 'ws')}/ws`, ['bearer', person.access_token], { handshakeTimeout: 10000 });
  ws.frames = [];
  return new Promise((resolve, reject) => {
    ws.on('message', (data) => {
      const f = JSON.parse(data.toString('utf8'));
      ws.frames.push(f);
      if (f.type === 'ready') resolve(ws);
    });
    ws.once('error', reject);
    ws.once('close', (code) => reject(new Error(`closed before ready: ${code}`)));
  });
}

test('presence, typing, devices and the presence switch on the Messages screen', async () => {
  const a = await newPage(browser);
  await signIn(a, app, ann);
  await a.getByRole('link', { name: 'Messages' }).click();
  await a.getByRole('heading', { name: 'Messages', level: 1 }).waitFor();
  await a.getByText('encrypted end to end with the Signal protocol').waitFor();
  await a.locator('#live', { hasText: 'Live' }).waitFor();
  assert.equal(await a.locator('textarea, [contenteditable]').count(), 0, 'nothing to write a message in');

  // Ben's app connects, types to Ann, and goes
  const status = a.locator('li.person', { hasText: 'Ben Writer' }).locator('.presence');
  assert.equal(await status.textContent(), 'Offline');
  const ws = await connect(ben);
  await status.filter({ hasText: 'Online' }).waitFor();
  ws.send(JSON.stringify({ type: 'typing', to: ann.id }));
  await status.filter({ hasText: 'Typing…' }).waitFor();
  ws.close(1000);
  await status.filter({ hasText: /^Last seen / }).waitFor();

  // a device registered by Ann's app is listed; removing it asks first
  const r = await call(app, ann, 'POST', '/devices', { registration_id: 4242, name: 'Ann’s phone' });
  assert.equal(r.status, 201, r.text);
  const id = r.json.device_id;
  await a.getByRole('link', { name: 'Messages' }).click(); // the list is read as the screen opens
  const row = a.locator('li.device', { hasText: 'Ann’s phone' });
  await row.waitFor();
  assert.deepEqual((await row.locator('dd').allTextContents()).slice(0, 2), [String(id), '4242']);
  assert.match(await status.textContent(), /^Last seen /, 'what the tab heard outlives the screen');
  await check(a, 'messages');
  await a.setViewportSize({ width: 390, height: 844 });
  assert.ok(await a.evaluate(() => document.documentElement.scrollWidth <= 390), 'nothing wider than a phone');
  await a.setViewportSize({ width: 1280, height: 860 });

  await a.getByRole('button', { name: `Remove Ann’s phone (device ${id})` }).click();
  const yes = a.getByRole('button', { name: `Yes, remove Ann’s phone (device ${id})` });
  assert.equal(await yes.evaluate((b) => b === document.activeElement), true, 'the question has the focus');
  await a.getByRole('button', { name: 'Keep' }).click();
  assert.equal((await call(app, ann, 'GET', '/devices')).json.items.length, 1, 'kept');
  await a.getByRole('button', { name: `Remove Ann’s phone (device ${id})` }).click();
  await yes.click();
  await row.waitFor({ state: 'detached' });
  await a.getByText('No devices yet').waitFor();
  assert.deepEqual((await call(app, ann, 'GET', '/devices')).json.items, [], 'the server has no device left');

  // the presence switch, there and back, while Ben's app is connected: he hears Ann go and
  // come back, and she hears nothing of his while hers is hidden
  const again = await connect(ben);
  const heard = () => again.frames.filter((f) => f.type === 'presence' && f.user_id === ann.id).map((f) => f.status);
  await until(() => heard().length === 1, 'Ben hears Ann is here');
  await status.filter({ hasText: 'Online' }).waitFor();
  const sw = a.getByRole('switch', { name: 'Show my presence' });
  assert.equal(await sw.isChecked(), true);
  await sw.click();
  await status.filter({ hasText: 'Presence hidden' }).waitFor();
  await a.waitForFunction(() => !document.getElementById('show-presence').disabled);
  assert.equal((await call(app, ann, 'GET', '/users/me')).json.show_presence, false);
  await until(() => heard().length === 2, 'Ben hears Ann go');
  assert.deepEqual(heard(), ['online', 'offline']);
  await a.reload();
  await a.getByRole('heading', { name: 'Messages', level: 1 }).waitFor();
  await a.locator('#live', { hasText: 'Live' }).waitFor();
  assert.equal(await sw.isChecked(), false);
  assert.equal(await status.textContent(), 'Presence hidden');
  await sw.click();
  await status.filter({ hasText: 'Online' }).waitFor(); // Ben is online: her new connection hears it
  assert.equal((await call(app, ann, 'GET', '/users/me')).json.show_presence, true);
  await until(() => heard().length === 3, 'Ben hears Ann come back');
  assert.deepEqual(heard(), ['online', 'offline', 'online'], 'nothing of Ann while hidden, the reload neither');
  again.close(1000);
  await status.filter({ hasText: /^Last seen / }).waitFor();
  await a.context().close();
  assert.deepEqual(problems, []);
});
