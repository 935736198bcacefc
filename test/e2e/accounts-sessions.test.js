// Sessions (one per sign-in): GET /auth/sessions lists mine with the device and which one is
// asking; DELETE /auth/sessions/{id} signs one out and DELETE /auth/sessions all of them —
// their refresh tokens AND their access tokens stop working at once, also across a restart;
// another person's session is 404. Logout and a reused refresh token end the access tokens too.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startApp, tmpDataDir, request, assertError, sleep } = require('./lib/app');

const FAST = { PASSWORD_ITERATIONS: '1000' };
let app;
test.before(async () => { app = await startApp({ env: FAST }); });
test.after(async () => { if (app) await app.stop(); });

let seq = 0;
const unique = (tag) => `${tag}-${process.pid}-${++seq}@example.test`;
const call = (base, method, path, { body, token, ua } = {}) => request(`${base}/api/v1${path}`, {
  method,
  body: body === undefined ? undefined : JSON.stringify(body),
  headers: {
    'Content-Type': 'application/json',
    ...(token ? { Authorization: `Bearer ${token}` } : {}),
    ...(ua !== undefined ? { 'User-Agent': ua } : {}),
  },
});
const api = (...a) => call(app.url, ...a);

async function register(ua = 'Laptop/1.0') {
  const email = unique('s');
  const r = await api('POST', '/auth/register', { body: { email, password: 'long enough', name: 'S' }, ua });
  assert.equal(r.status, 201, r.text);
  return { email, ...r.json };
}
const login = async (email, ua, base = app.url) => {
  const r = await call(base, 'POST', '/auth/login', { body: { email, password: 'long enough' }, ua });
  assert.equal(r.status, 200, r.text);
  return r.json;
};
const sessions = async (token, query = '') => {
  const r = await api('GET', `/auth/sessions${query}`, { token });
  assert.equal(r.status, 200, r.text);
  return r.json;
};

test('the list shows each sign-in with its device, newest first, and marks the one asking', async () => {
  const u = await register('Laptop/1.0 (X11)');
  await sleep(5); // distinct ids are time-ordered anyway; this keeps created_at apart too
  const phone = await login(u.email, 'Phone/2.0');
  const fromLaptop = await sessions(u.access_token);
  assert.deepEqual(Object.keys(fromLaptop).sort(), ['items', 'next_cursor']);
  assert.equal(fromLaptop.next_cursor, null);
  assert.equal(fromLaptop.items.length, 2);
  const [newest, oldest] = fromLaptop.items;
  assert.deepEqual(Object.keys(newest).sort(), ['created_at', 'current', 'device', 'id', 'last_used_at']);
  assert.equal(newest.device, 'Phone/2.0');
  assert.equal(oldest.device, 'Laptop/1.0 (X11)');
  assert.equal(newest.current, false);
  assert.equal(oldest.current, true);
  assert.ok(newest.created_at > oldest.created_at);
  assert.equal(oldest.last_used_at, oldest.created_at, 'never refreshed: last used at sign-in');
  const fromPhone = await sessions(phone.access_token);
  assert.deepEqual(fromPhone.items.map((s) => s.current), [true, false]);
  // a page of one, then the rest
  const first = await sessions(u.access_token, '?limit=1');
  assert.equal(first.items.length, 1);
  assert.equal(typeof first.next_cursor, 'string');
  const rest = await sessions(u.access_token, `?limit=1&cursor=${encodeURIComponent(first.next_cursor)}`);
  assert.deepEqual(rest.items.map((s) => s.id), [oldest.id]);
  assert.equal(rest.next_cursor, null);
  assertError(assert, await api('GET', '/auth/sessions'), 401, 'unauthorized');
});

test('a refresh is the session\'s latest use; the session stays the same', async () => {
  const u = await register();
  const [before] = (await sessions(u.access_token)).items;
  await sleep(20);
  const r = await api('POST', '/auth/refresh', { body: { refresh_token: u.refresh_token }, ua: 'Other/9' });
  assert.equal(r.status, 200, r.text);
  const [after] = (await sessions(r.json.access_token)).items;
  assert.equal(after.id, before.id);
  assert.equal(after.device, before.device, 'the device is the one at sign-in');
  assert.equal(after.created_at, before.created_at);
  assert.ok(after.last_used_at > before.last_used_at, `${after.last_used_at} > ${before.last_used_at}`);
  assert.equal(after.current, true, 'a refreshed token still names its session');
});

test('signing one session out ends its refresh token and its access tokens at once, and only it', async () => {
  const u = await register('A');
  const other = await login(u.email, 'B');
  const mine = await sessions(u.access_token);
  const target = mine.items.find((s) => !s.current);
  assert.equal((await api('GET', '/users/me', { token: other.access_token })).status, 200);
  const del = await api('DELETE', `/auth/sessions/${target.id}`, { token: u.access_token });
  assert.equal(del.status, 204, del.text);
  assert.equal(del.text, '');
  const me = await api('GET', '/users/me', { token: other.access_token });
  assertError(assert, me, 401, 'unauthorized');
  assert.match(me.json.error.message, /signed out/);
  assertError(assert, await api('POST', '/auth/refresh', { body: { refresh_token: other.refresh_token } }), 401, 'unauthorized');
  // the one that asked goes on, and the list no longer shows the ended one
  assert.equal((await api('GET', '/users/me', { token: u.access_token })).status, 200);
  assert.deepEqual((await sessions(u.access_token)).items.map((s) => s.id), [mine.items.find((s) => s.current).id]);
  assertError(assert, await api('DELETE', `/auth/sessions/${target.id}`, { token: u.access_token }), 404, 'not_found');
  // ending one's own session works the same way
  const [own] = (await sessions(u.access_token)).items;
  assert.equal((await api('DELETE', `/auth/sessions/${own.id}`, { token: u.access_token })).status, 204);
  assertError(assert, await api('GET', '/users/me', { token: u.access_token }), 401, 'unauthorized');
});

test('another person\'s session, an unknown one and a malformed id are all 404', async () => {
  const a = await register();
  const b = await register();
  const [bs] = (await sessions(b.access_token)).items;
  assertError(assert, await api('DELETE', `/auth/sessions/${bs.id}`, { token: a.access_token }), 404, 'not_found');
  assert.equal((await api('GET', '/users/me', { token: b.access_token })).status, 200, 'b is still signed in');
  assert.equal((await api('POST', '/auth/refresh', { body: { refresh_token: b.refresh_token } })).status, 200);
  for (const id of ['00000000-0000-7000-8000-000000000000', 'nope', '%27%20OR%201%3D1'])
    assertError(assert, await api('DELETE', `/auth/sessions/${id}`, { token: a.access_token }), 404, 'not_found');
  assert.ok((await sessions(a.access_token)).items.every((s) => s.id !== bs.id), 'never listed to others');
});

test('signing out everywhere ends every session, this one too; a new sign-in works at once', async () => {
  const u = await register('One');
  const two = await login(u.email, 'Two');
  const three = await login(u.email, 'Three');
  const r = await api('DELETE', '/auth/sessions', { token: two.access_token });
  assert.equal(r.status, 204, r.text);
  for (const s of [u, two, three]) {
    assertError(assert, await api('GET', '/users/me', { token: s.access_token }), 401, 'unauthorized');
    assertError(assert, await api('POST', '/auth/refresh', { body: { refresh_token: s.refresh_token } }), 401, 'unauthorized');
  }
  // within the same second as the sign-out: the new sign-in is not caught by it
  const again = await login(u.email, 'Four');
  assert.equal((await api('GET', '/users/me', { token: again.access_token })).status, 200);
  assert.deepEqual((await sessions(again.access_token)).items.map((s) => [s.device, s.current]), [['Four', true]]);
  const fresh = await api('POST', '/auth/refresh', { body: { refresh_token: again.refresh_token } });
  assert.equal(fresh.status, 200);
  assert.equal((await api('GET', '/users/me', { token: fresh.json.access_token })).status, 200);
});

test('logout and a reused refresh token end the session\'s access tokens too', async () => {
  const u = await register();
  assert.equal((await api('POST', '/auth/logout', { body: { refresh_token: u.refresh_token } })).status, 204);
  assertError(assert, await api('GET', '/users/me', { token: u.access_token }), 401, 'unauthorized');
  const v = await register();
  const rotated = await api('POST', '/auth/refresh', { body: { refresh_token: v.refresh_token } });
  assert.equal(rotated.status, 200);
  assertError(assert, await api('POST', '/auth/refresh', { body: { refresh_token: v.refresh_token } }), 401, 'unauthorized');
  assertError(assert, await api('GET', '/users/me', { token: rotated.json.access_token }), 401, 'unauthorized');
  assert.deepEqual((await api('GET', '/auth/sessions', { token: rotated.json.access_token })).status, 401);
});

test('the device is the User-Agent trimmed to 200 characters; none gives ""', async () => {
  const u = await register();
  // headers travel as bytes: this string's latin1 code units are the UTF-8 of "é" x 300
  const long = `  Agent/${Buffer.from('é'.repeat(300)).toString('latin1')}  `;
  await login(u.email, long);
  await login(u.email, '');
  await login(u.email, `Cut/${Buffer.from([0xff]).toString('latin1')}tail`); // not UTF-8
  const devices = (await sessions(u.access_token)).items.map((s) => s.device);
  assert.equal(devices[0], 'Cut/', 'kept as far as it is UTF-8');
  assert.equal(devices[1], '');
  assert.equal(devices[2], `Agent/${'é'.repeat(194)}`);
  assert.equal([...devices[2]].length, 200);
});

test('sessions ended before a restart stay ended after it', async (t) => {
  const dataDir = tmpDataDir();
  let a = await startApp({ t, dataDir, env: FAST });
  const email = unique('restart');
  const reg = await call(a.url, 'POST', '/auth/register', { body: { email, password: 'long enough', name: 'R' } });
  assert.equal(reg.status, 201);
  const other = await login(email, 'Other', a.url);
  const [ended] = (await call(a.url, 'GET', '/auth/sessions', { token: reg.json.access_token })).json.items
    .filter((s) => !s.current);
  assert.equal((await call(a.url, 'DELETE', `/auth/sessions/${ended.id}`, { token: reg.json.access_token })).status, 204);
  assert.equal((await a.stop()).code, 0);
  a = await startApp({ t, dataDir, env: FAST });
  assertError(assert, await call(a.url, 'GET', '/users/me', { token: other.access_token }), 401, 'unauthorized');
  assert.equal((await call(a.url, 'GET', '/users/me', { token: reg.json.access_token })).status, 200);
  assert.equal((await a.stop()).code, 0);
});
