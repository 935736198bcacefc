// The web app's live connection (/ws) in a real browser against the real binary: two tabs of
// one person; what is written in one (or from another device) appears in the other without a
// reload, each message once, and the chat list reorders itself; the token is renewed on the
// open socket; a cut connection comes back by itself with what was said meanwhile (replayed
// after `since`), and so does one cut by a restart of the server on the same port and data.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startApp, sleep } = require('./lib/app');
const { problems, launch, newPage, check, register, signIn, call } = require('./lib/browser');

const ENV = { PASSWORD_ITERATIONS: '1000', LLM_DEMO_DELAY_MS: '0' };
let app;
let browser;
let ann;
let a; // Ann's first tab: she writes here
let b; // her second tab, same browser profile: it only watches
let chatId;
const sockets = []; // tab B's WebSockets: {url, sent: [payload]}

test.before(async () => {
  app = await startApp({ env: ENV });
  browser = await launch();
  ann = await register(app, `ann-${process.pid}@example.test`, 'Ann Live');
});
test.after(async () => {
  if (browser) await browser.close();
  if (app) await app.stop();
});

// A second tab in the same context (so the same session), watched like newPage()'s.
async function sameSession(page) {
  const tab = await page.context().newPage();
  tab.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) problems.push(m.text()); });
  tab.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return tab;
}

const state = (page) => page.locator('#live');
const liveAgain = (page) => state(page).filter({ hasText: 'Live' }).waitFor({ timeout: 20000 });
// The page's own live.js module, at the hashed asset path the page loaded it from.
const live = (page, fn) => page.evaluate(async (name) => {
  const m = await import(document.querySelector('script[type=module]').src.replace(/app\.js$/, 'live.js'));
  return m[name]();
}, fn);
// The messages a tab shows: [{id, role, text}].
const shown = (page) => page.locator('.messages li.msg').evaluateAll((lis) => lis.map((li) => ({
  id: li.dataset.id, role: li.classList.contains('user') ? 'user' : 'assistant', text: li.querySelector('.text').textContent })));

// Sends a message from a tab's composer and waits for the whole exchange, ids and all.
async function say(page, text) {
  const n = await page.locator('.msg.assistant').count();
  await page.getByLabel('Your message').fill(text);
  await page.getByLabel('Your message').press('Enter');
  await page.waitForFunction((before) => document.querySelectorAll('.msg.assistant').length > before &&
    !document.querySelector('.msg[aria-busy], .msg[data-id=""]'), n);
}

test('a message written in one tab appears in the other without a reload, once; the list follows', async () => {
  a = await newPage(browser);
  await signIn(a, app, ann);
  await state(a).filter({ hasText: 'Live' }).waitFor();
  await a.getByRole('button', { name: 'New chat' }).click();
  await a.locator('#chat-title', { hasText: 'New chat' }).waitFor();
  chatId = new URL(a.url()).pathname.split('/')[2];

  b = await sameSession(a);
  b.on('websocket', (ws) => {
    const s = { url: ws.url(), sent: [] };
    ws.on('framesent', (f) => s.sent.push(String(f.payload)));
    sockets.push(s);
  });
  await b.goto(`${app.url}/chats/${chatId}`);
  await b.locator('#chat-title', { hasText: 'New chat' }).waitFor();
  await liveAgain(b);
  await b.evaluate(() => { window.notReloaded = true; });
  assert.equal(sockets.length, 1);
  assert.doesNotMatch(sockets[0].url, /access_token|since/, 'the token goes in the subprotocol, not the URL');

  await say(a, 'Hello from tab A');
  await b.locator('.msg.user', { hasText: 'Hello from tab A' }).waitFor();
  await b.locator('.msg.assistant').waitFor();
  await b.waitForFunction(() => /^Hello from tab A/.test(document.querySelector('.chat-list a[aria-current="page"]').textContent));
  await sleep(300); // anything late would come now
  const inA = await shown(a);
  const inB = await shown(b);
  assert.deepEqual(inA.map((m) => m.role), ['user', 'assistant'], 'tab A shows its exchange once (stream and socket)');
  assert.ok(inA.every((m) => m.id), JSON.stringify(inA));
  assert.deepEqual(inB, inA, 'tab B shows the same messages, with the same ids');
  assert.equal(await b.locator('#chat-title').textContent(), 'Hello from tab A', 'the heading follows the new title');
  await check(b, 'chats-live');

  // a new chat with a message moves to the top of the other tab's list; its open chat stays
  await a.getByRole('button', { name: 'New chat' }).click();
  await a.locator('#chat-title', { hasText: 'New chat' }).waitFor();
  await say(a, 'Second chat');
  await b.waitForFunction(() => /^Second chat/.test(document.querySelector('.chat-list a').textContent));
  assert.equal((await shown(b)).length, 2, 'a message of another chat does not show in the open one');
  // and one written from elsewhere (another device, through the API) moves the first back up
  const r = await call(app, ann, 'POST', `/chats/${chatId}/messages`, { content: 'From my phone' });
  assert.equal(r.status, 201, r.text);
  await b.locator('.msg.user', { hasText: 'From my phone' }).waitFor();
  await b.waitForFunction(() => /^Hello from tab A/.test(document.querySelector('.chat-list a').textContent));
  await b.waitForFunction(() => document.querySelectorAll('.messages li.msg').length === 4);
  await a.waitForFunction(() => /^Hello from tab A/.test(document.querySelector('.chat-list a').textContent));
  assert.equal(await b.evaluate(() => window.notReloaded), true, 'no reload');
  assert.deepEqual(problems, [], 'no Content-Security-Policy violation (connect-src \'self\' takes ws:), no page error');
});

test('a refreshed token is renewed on the open socket, which stays open', async () => {
  const before = sockets.length;
  const sent = sockets[before - 1].sent.length;
  await b.evaluate(async () => {
    const m = await import(document.querySelector('script[type=module]').src.replace(/app\.js$/, 'api.js'));
    if (!(await m.refresh())) throw new Error('the refresh failed');
  });
  for (let i = 0; i < 50 && sockets[before - 1].sent.length === sent; i++) await sleep(20);
  const frames = sockets[before - 1].sent.slice(sent).map((p) => JSON.parse(p));
  assert.deepEqual(frames.map((f) => f.type), ['auth']);
  assert.match(frames[0].access_token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  await sleep(500);
  assert.equal(sockets.length, before, 'no new connection: the server took the new token');
  assert.equal(await state(b).textContent(), 'Updates: Live');
});

test('a cut connection comes back by itself and brings what was said meanwhile; so does a server restart', async () => {
  // cut as a network loss would, kept down while tab A writes
  await b.goto(`${app.url}/chats/${chatId}`);
  await liveAgain(b);
  await b.evaluate(() => { window.notReloaded = true; });
  const before = sockets.length;
  await live(b, 'drop');
  await state(b).filter({ hasText: 'Reconnecting…' }).waitFor();
  await a.goto(`${app.url}/chats/${chatId}`);
  await a.locator('.msg.user', { hasText: 'From my phone' }).waitFor();
  await say(a, 'Said while B was away');
  await sleep(300);
  assert.equal(await b.locator('.msg.user', { hasText: 'Said while B was away' }).count(), 0, 'nothing came while cut');
  const { seq } = await live(b, 'status');
  assert.ok(seq > 0, `the last seq seen: ${seq}`);
  await live(b, 'resume');
  await liveAgain(b);
  await b.locator('.msg.user', { hasText: 'Said while B was away' }).waitFor();
  assert.equal(sockets.length, before + 1);
  assert.equal(new URL(sockets[before].url).searchParams.get('since'), String(seq), 'resumed after the last seq seen');
  assert.equal((await shown(b)).length, 6);

  // the server goes away and comes back on the same port with the same data
  const { port, dataDir } = app;
  await app.stop();
  await state(b).filter({ hasText: 'Reconnecting…' }).waitFor();
  await state(a).filter({ hasText: 'Reconnecting…' }).waitFor();
  app = await startApp({ env: ENV, dataDir, listen: `127.0.0.1:${port}` });
  await Promise.all([liveAgain(a), liveAgain(b)]);
  await say(a, 'After the restart');
  await b.locator('.msg.user', { hasText: 'After the restart' }).waitFor();
  await b.locator('.msg.assistant').nth(3).waitFor();
  await sleep(300);
  const inA = await shown(a);
  assert.deepEqual(await shown(b), inA);
  assert.equal(inA.length, 8);
  assert.equal(new Set(inA.map((m) => m.id)).size, 8, 'every message once');
  assert.equal(await b.evaluate(() => window.notReloaded), true, 'no reload');
  await check(b, 'chats-live-again');
  assert.deepEqual(problems, []);
});

test('with short-lived tokens the socket renews its own before they run out, and stays open', async (t) => {
  const short = await startApp({ t, env: { ...ENV, ACCESS_TTL: '10' } });
  const bea = await register(short, `bea-${process.pid}@example.test`, 'Bea Brief');
  const page = await newPage(browser);
  const mine = [];
  page.on('websocket', (ws) => {
    const s = { sent: [], closed: false, t0: Date.now(), log: [] }; // log: what happened when (ms), for a failure's message
    ws.on('framesent', (f) => { s.sent.push(JSON.parse(String(f.payload)).type); s.log.push(['sent', Date.now() - s.t0]); });
    ws.on('framereceived', (f) => s.log.push(['got', Date.now() - s.t0, String(f.payload).slice(0, 80)]));
    ws.on('close', () => { s.closed = true; s.log.push(['close', Date.now() - s.t0]); });
    mine.push(s);
  });
  await signIn(page, short, bea);
  await liveAgain(page);
  await sleep(21000); // more than two lifetimes: the server closes (1008) a socket whose token ran out
  assert.equal(mine.length, 1, `one connection all along: ${JSON.stringify(mine)}`);
  assert.equal(mine[0].closed, false);
  assert.ok(mine[0].sent.length >= 2 && mine[0].sent.every((type) => type === 'auth'), JSON.stringify(mine[0].sent));
  assert.equal(await state(page).textContent(), 'Updates: Live');
  await page.context().close();
  await short.stop();
  assert.deepEqual(problems, []);
});
