// The relay's protocol from the outside, with opaque bytes (relay-signal.test.js uses real
// libsignal keys and messages): devices, key uploads and their checks, bundles, sends over
// HTTP and the socket, the offline queue in order across pages, acks and delivered, the
// original backend's simple form, limits, and an account's deletion.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const path = require('node:path');
const WebSocket = require('ws');
const { wsRefused } = require('./lib/ws');
const { startApp, request, assertError, sleep, sqlite } = require('./lib/app');

const FAST = {
  PASSWORD_ITERATIONS: '1000', DB_SYNCHRONOUS: 'normal',
  RATE_REGISTER_IP: 'off', RATE_LOGIN_IP: 'off', RATE_LOGIN_ACCOUNT: 'off',
  RATE_RELAY_SEND: 'off', RATE_KEYS_FETCH: 'off',
};

let app; // most tests
let tight; // small limits
let aged; // RELAY_RETENTION=60: its expiry job first runs a minute after start, beside the other tests
let agedStarted;
test.before(async () => {
  agedStarted = Date.now();
  [aged, app, tight] = await Promise.all([
    startApp({ env: { ...FAST, RELAY_RETENTION: '60' } }),
    startApp({ env: FAST }),
    startApp({ env: { ...FAST, RATE_RELAY_SEND: '5/min', RATE_KEYS_FETCH: '3/h', RELAY_QUEUE_MAX: '3' } }),
  ]);
});
test.after(async () => {
  const ends = await Promise.all([app, tight, aged].filter(Boolean).map((a) => a.stop()));
  for (const e of ends) assert.deepEqual(e, { code: 0, signal: null }, 'each server stops cleanly');
});

let n = 0;
async function register(a, name = 'Relay') {
  const r = await request(`${a.url}/api/v1/auth/register`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: `relay-${process.pid}-${++n}@example.test`, password: 'correct horse', name }),
  });
  assert.equal(r.status, 201, r.text);
  return { id: r.json.user.id, token: r.json.access_token };
}
const call = (a, method, p, token, body) => request(`${a.url}/api/v1${p}`, {
  method, headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
  body: body === undefined ? undefined : JSON.stringify(body),
});
async function device(a, u, registrationId = 1000 + n) {
  const r = await call(a, 'POST', '/devices', u.token, { registration_id: registrationId, name: 'phone' });
  assert.equal(r.status, 201, r.text);
  return r.json;
}
const b64 = (buf) => Buffer.from(buf).toString('base64');
const ecKey = () => b64(Buffer.concat([Buffer.from([5]), crypto.randomBytes(32)]));
const kyberKey = () => b64(Buffer.concat([Buffer.from([8]), crypto.randomBytes(1568)]));
const sig = () => b64(crypto.randomBytes(64));
function keysBody(deviceId, { identity = ecKey(), ec = 5, kyber = 5, from = 1 } = {}) {
  const body = {
    device_id: deviceId, identity_key: identity,
    signed_prekey: { key_id: 1, public_key: ecKey(), signature: sig() },
    kyber_last_resort: { key_id: 999, public_key: kyberKey(), signature: sig() },
  };
  if (ec !== null) body.one_time_prekeys = Array.from({ length: ec }, (_, i) => ({ key_id: from + i, public_key: ecKey() }));
  if (kyber !== null) {
    body.kyber_prekeys = Array.from({ length: kyber }, (_, i) => ({ key_id: from + i, public_key: kyberKey(), signature: sig() }));
  }
  return body;
}

// A socket that collects every frame; next(pred) waits for the first unread one that matches.
function connect(a, u, deviceId) {
  const q = deviceId ? `?device_id=${deviceId}` : '';
  const ws = new WebSocket(`${a.url.replace(/^http/, 'ws')}/ws${q}`, ['bearer', u.token]);
  const frames = [];
  const waiters = [];
  ws.on('message', (data) => {
    const f = JSON.parse(data.toString());
    frames.push(f);
    for (const w of waiters.slice()) w();
  });
  ws.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.frames = frames;
  let read = 0;
  ws.next = (pred = () => true, ms = 5000) => new Promise((resolve, reject) => {
    const look = () => {
      for (let i = read; i < frames.length; i++) {
        if (pred(frames[i])) {
          read = i + 1;
          const idx = waiters.indexOf(look);
          if (idx >= 0) waiters.splice(idx, 1);
          clearTimeout(timer);
          resolve(frames[i]);
          return true;
        }
      }
      return false;
    };
    const timer = setTimeout(() => {
      const idx = waiters.indexOf(look);
      if (idx >= 0) waiters.splice(idx, 1);
      reject(new Error(`no matching frame within ${ms} ms; got ${JSON.stringify(frames.slice(read)).slice(0, 500)}`));
    }, ms);
    if (!look()) waiters.push(look);
  });
  ws.opened = new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
  ws.send1 = (o) => ws.send(JSON.stringify(o));
  return ws;
}
const envelope = (d, content, type = 1) => ({ device_id: d.device_id, registration_id: d.registration_id, type, content: b64(content) });

test('devices: the first is 1, ids are never reused, at most 6, and only mine', async () => {
  const u = await register(app);
  const other = await register(app);
  const d1 = await device(app, u, 11);
  assert.equal(d1.device_id, 1);
  assert.equal(d1.registration_id, 11);
  assert.equal(d1.name, 'phone');
  const d2 = await device(app, u, 12);
  assert.equal(d2.device_id, 2);
  let r = await call(app, 'DELETE', '/devices/2', u.token);
  assert.equal(r.status, 204);
  const d3 = await device(app, u, 13);
  assert.equal(d3.device_id, 3, 'a removed id is not given again');
  for (let i = 0; i < 4; i++) await device(app, u, 20 + i);
  r = await call(app, 'POST', '/devices', u.token, { registration_id: 30 });
  assertError(assert, r, 409, 'conflict');
  r = await call(app, 'GET', '/devices', u.token);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.items.map((d) => d.device_id), [1, 3, 4, 5, 6, 7]);
  assert.equal(r.json.next_cursor, null);
  r = await call(app, 'DELETE', '/devices/1', other.token);
  assertError(assert, r, 404, 'not_found');
  for (const bad of [{}, { registration_id: 0 }, { registration_id: 16381 }, { registration_id: '5' }, { registration_id: 5, name: 'x'.repeat(101) }]) {
    r = await call(app, 'POST', '/devices', other.token, bad);
    assertError(assert, r, 400, 'invalid_input');
  }
});

test('keys: lengths and kinds checked, the identity belongs to the account, counts and bundles', async () => {
  const u = await register(app);
  const d1 = await device(app, u);
  const d2 = await device(app, u);
  let r = await call(app, 'PUT', '/keys', u.token, { ...keysBody(1), identity_key: undefined });
  assertError(assert, r, 400, 'invalid_input'); // the first upload needs the identity
  const identity = ecKey();
  r = await call(app, 'PUT', '/keys', u.token, keysBody(1, { identity, ec: 12, kyber: 11 }));
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { count: 12, kyber_count: 11 });
  r = await call(app, 'PUT', '/keys', u.token, keysBody(2, { identity: ecKey() }));
  assertError(assert, r, 409, 'conflict'); // device 2 cannot change the account's identity
  r = await call(app, 'PUT', '/keys', u.token, keysBody(2, { identity }));
  assert.equal(r.status, 200, r.text);
  r = await call(app, 'PUT', '/keys', u.token, { device_id: 2, one_time_prekeys: [] }); // identity kept, EC cleared
  assert.deepEqual(r.json, { count: 0, kyber_count: 5 });
  r = await call(app, 'PUT', '/keys', u.token, keysBody(9));
  assertError(assert, r, 404, 'not_found');
  const bad = [
    { identity_key: b64(crypto.randomBytes(32)) },
    { identity_key: b64(Buffer.concat([Buffer.from([6]), crypto.randomBytes(32)])) },
    { signed_prekey: { key_id: 1, public_key: ecKey(), signature: b64(crypto.randomBytes(63)) } },
    { signed_prekey: { key_id: -1, public_key: ecKey(), signature: sig() } },
    { one_time_prekeys: Array.from({ length: 101 }, (_, i) => ({ key_id: i, public_key: ecKey() })) },
    { one_time_prekeys: [{ key_id: 1, public_key: ecKey() }, { key_id: 1, public_key: ecKey() }] },
    { kyber_prekeys: [{ key_id: 1, public_key: b64(crypto.randomBytes(1569)), signature: sig() }] },
    { kyber_last_resort: { key_id: 1, public_key: kyberKey() } },
    { one_time_prekeys: [{ key_id: 1, public_key: 'not base64!' }] },
  ];
  for (const b of bad) {
    r = await call(app, 'PUT', '/keys', u.token, { device_id: 1, identity_key: identity, ...b });
    assertError(assert, r, 400, 'invalid_input');
  }
  r = await call(app, 'GET', '/keys/count?device_id=1', u.token);
  assert.deepEqual(r.json, { count: 12, kyber_count: 11 });

  const asker = await register(app);
  const owner = connect(app, u); // keys.low reaches the owner's sockets
  await owner.opened;
  await owner.next((f) => f.type === 'ready');
  r = await call(app, 'GET', `/keys/${u.id}`, asker.token);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.identity_key, identity);
  assert.deepEqual(r.json.devices.map((d) => d.device_id), [1, 2]);
  const [b1, b2] = r.json.devices;
  assert.equal(b1.registration_id, d1.registration_id);
  assert.equal(b1.prekey.key_id, 1, 'the lowest key id goes first');
  assert.equal(b1.kyber_prekey.key_id, 1);
  assert.equal(b2.registration_id, d2.registration_id);
  assert.equal(b2.prekey, undefined, 'no one-time EC key left: no prekey');
  assert.equal(b2.kyber_prekey.key_id, 1);
  r = await call(app, 'GET', '/keys/count?device_id=1', u.token);
  assert.deepEqual(r.json, { count: 11, kyber_count: 10 });
  r = await call(app, 'GET', `/keys/${u.id}/1`, asker.token);
  assert.deepEqual(r.json.devices.map((d) => [d.device_id, d.prekey.key_id, d.kyber_prekey.key_id]), [[1, 2, 2]]);
  // device 1 below 10 Kyber keys now, device 2 was already: keys.low for each fetch that took one
  const low = await owner.next((f) => f.type === 'keys.low' && f.device_id === 1);
  assert.equal(low.kyber_count, 9);
  assert.ok(low.seq > 0, 'a durable event');
  owner.close();
  r = await call(app, 'GET', `/keys/${u.id}/7`, asker.token);
  assertError(assert, r, 404, 'not_found');
  r = await call(app, 'GET', `/keys/${crypto.randomUUID()}`, asker.token);
  assertError(assert, r, 404, 'not_found');
});

test('a message waits in the queue, comes in order after ready, then queue_empty; ack sends delivered', async () => {
  const alice = await register(app, 'Alice');
  const bob = await register(app, 'Bob');
  await device(app, alice);
  const bd = await device(app, bob);
  const sent = [];
  for (let i = 0; i < 3; i++) {
    const r = await call(app, 'PUT', `/messages/${bob.id}`, alice.token, { messages: [envelope(bd, `secret ${i}`, 3)] });
    assert.equal(r.status, 200, r.text);
    sent.push(r.json.message_id);
  }
  const a = connect(app, alice, 1);
  await a.opened;
  await a.next((f) => f.type === 'queue_empty');
  const b = connect(app, bob, 1);
  await b.opened;
  const got = [];
  for (let i = 0; i < 3; i++) got.push(await b.next((f) => f.type === 'message'));
  assert.deepEqual(got.map((m) => m.id), sent);
  assert.deepEqual(got.map((m) => Buffer.from(m.content, 'base64').toString()), ['secret 0', 'secret 1', 'secret 2']);
  assert.equal(got[0].from, alice.id);
  assert.equal(got[0].from_device, 1);
  assert.equal(got[0].envelope_type, 3);
  assert.match(got[0].timestamp, /^\d{4}-\d\d-\d\dT/);
  await b.next((f) => f.type === 'queue_empty');
  // live now: a new message goes straight out
  const r = await call(app, 'PUT', `/messages/${bob.id}`, alice.token, { client_id: 'x', messages: [envelope(bd, 'live')] });
  const live = await b.next((f) => f.type === 'message');
  assert.equal(live.id, r.json.message_id);
  b.send1({ type: 'ack', id: sent[0] });
  const dlv = await a.next((f) => f.type === 'delivered');
  assert.deepEqual([dlv.message_id, dlv.to, dlv.device_id], [sent[0], bob.id, 1]);
  // the unacked ones come again on the next connection, the acked one never
  b.close();
  await b.closed;
  const b2 = connect(app, bob, 1);
  await b2.opened;
  await b2.next((f) => f.type === 'queue_empty');
  assert.deepEqual(b2.frames.filter((f) => f.type === 'message').map((m) => m.id), [...sent.slice(1), r.json.message_id]);
  a.close();
  b2.close();
});

test('a long queue goes out page by page, in order, all of it', async () => {
  const alice = await register(app);
  const bob = await register(app);
  await device(app, alice);
  const bd = await device(app, bob);
  const a = connect(app, alice, 1);
  await a.opened;
  await a.next((f) => f.type === 'queue_empty');
  const N = 450;
  const ids = [];
  for (let i = 0; i < N; i += 50) {
    const batch = [];
    for (let j = i; j < i + 50; j++) {
      a.send1({ type: 'send', to: bob.id, client_id: `c${j}`, messages: [envelope(bd, crypto.randomBytes(2000))] });
    }
    for (let j = i; j < i + 50; j++) batch.push(await a.next((f) => f.type === 'sent' && f.client_id === `c${j}`));
    ids.push(...batch.map((f) => f.message_id));
  }
  const b = connect(app, bob, 1);
  await b.opened;
  await b.next((f) => f.type === 'queue_empty', 15000);
  assert.deepEqual(b.frames.filter((f) => f.type === 'message').map((m) => m.id), ids);
  a.close();
  b.close();
});

test('the socket answers send with sent or an error carrying its client_id and lists', async () => {
  const alice = await register(app);
  const bob = await register(app);
  await device(app, alice);
  const b1 = await device(app, bob);
  const b2 = await device(app, bob);
  const a = connect(app, alice, 1);
  await a.opened;
  await a.next((f) => f.type === 'queue_empty');
  a.send1({ type: 'send', to: bob.id, client_id: 'm1', messages: [envelope(b1, 'one')] });
  let f = await a.next((x) => x.client_id === 'm1');
  assert.deepEqual([f.type, f.code, f.missing_devices, f.extra_devices], ['error', 'mismatched_devices', [2], []]);
  a.send1({ type: 'send', to: bob.id, client_id: 'm2', messages: [envelope(b1, 'one'), envelope(b2, 'two'), { ...envelope(b2, 'x'), device_id: 9 }] });
  f = await a.next((x) => x.client_id === 'm2');
  assert.deepEqual([f.code, f.missing_devices, f.extra_devices], ['mismatched_devices', [], [9]]);
  a.send1({ type: 'send', to: bob.id, client_id: 'm3', messages: [envelope(b1, 'one'), { ...envelope(b2, 'two'), registration_id: 1 }] });
  f = await a.next((x) => x.client_id === 'm3');
  assert.deepEqual([f.code, f.stale_devices], ['stale_devices', [2]]);
  a.send1({ type: 'send', to: bob.id, client_id: 'm4', messages: [envelope(b1, Buffer.alloc(96 * 1024 + 1)), envelope(b2, 'two')] });
  f = await a.next((x) => x.client_id === 'm4');
  assert.equal(f.code, 'payload_too_large');
  a.send1({ type: 'send', to: crypto.randomUUID(), client_id: 'm5', messages: [envelope(b1, 'one')] });
  f = await a.next((x) => x.client_id === 'm5');
  assert.equal(f.code, 'not_found');
  a.send1({ type: 'send', to: bob.id, client_id: 'm6', messages: [envelope(b1, Buffer.alloc(96 * 1024)), envelope(b2, 'two')] });
  f = await a.next((x) => x.client_id === 'm6');
  assert.equal(f.type, 'sent', 'exactly 96 KiB is accepted');
  // over HTTP, the same refusals
  let r = await call(app, 'PUT', `/messages/${bob.id}`, alice.token, { messages: [envelope(b1, 'one')] });
  assertError(assert, r, 409, 'mismatched_devices');
  assert.deepEqual([r.json.error.missing_devices, r.json.error.extra_devices], [[2], []]);
  r = await call(app, 'PUT', `/messages/${bob.id}`, alice.token, { messages: [envelope(b1, 'a'), { ...envelope(b2, 'b'), registration_id: 7 }] });
  assertError(assert, r, 410, 'stale_devices');
  assert.deepEqual(r.json.error.stale_devices, [2]);
  r = await call(app, 'PUT', `/messages/${bob.id}`, alice.token, { messages: [envelope(b1, Buffer.alloc(98305)), envelope(b2, 'b')] });
  assertError(assert, r, 413, 'payload_too_large');
  r = await call(app, 'PUT', `/messages/${bob.id}?device_id=4`, alice.token, { messages: [envelope(b1, 'a'), envelope(b2, 'b')] });
  assertError(assert, r, 404, 'not_found'); // not the sender's device
  for (const body of [{}, { messages: [] }, { messages: [{ ...envelope(b1, 'a'), type: 2 }] }, { messages: [{ ...envelope(b1, 'a'), content: '%%' }] }]) {
    r = await call(app, 'PUT', `/messages/${bob.id}`, alice.token, body);
    assertError(assert, r, 400, 'invalid_input');
  }
  // to oneself: every device but the sender's
  const a2 = await device(app, alice);
  r = await call(app, 'PUT', `/messages/${alice.id}?device_id=1`, alice.token, { messages: [envelope(a2, 'note to self')] });
  assert.equal(r.status, 200, r.text);
  a.close();
});

test('the original backend\'s simple form reaches every device, with the payload as sent', async () => {
  const alice = await register(app);
  const bob = await register(app);
  await device(app, bob);
  await device(app, bob);
  const a = connect(app, alice); // no device: a plain /ws, as the original clients connect
  await a.opened;
  await a.next((f) => f.type === 'ready');
  a.send1({ type: 'message', to: bob.id, payload: 'encrypted-data ✓' });
  const s = await a.next((f) => f.type === 'sent');
  for (const d of [1, 2]) {
    const b = connect(app, bob, d);
    await b.opened;
    const m = await b.next((f) => f.type === 'message');
    assert.equal(m.id, s.message_id);
    assert.equal(m.payload, 'encrypted-data ✓');
    assert.equal(Buffer.from(m.content, 'base64').toString(), 'encrypted-data ✓');
    assert.deepEqual([m.envelope_type, m.from, m.from_device], [0, alice.id, 0]);
    b.close();
  }
  a.close();
});

test('accounts without devices (the original backend\'s clients) share an inbox on plain sockets', async () => {
  const alice = await register(app);
  const bob = await register(app);
  const a = connect(app, alice);
  await a.opened;
  await a.next((f) => f.type === 'ready'); // alice has no device either: an empty inbox, no queue_empty
  a.send1({ type: 'message', to: bob.id, payload: 'while you were away' });
  const s1 = await a.next((f) => f.type === 'sent');
  const tab1 = connect(app, bob);
  await tab1.opened;
  const m1 = await tab1.next((f) => f.type === 'message');
  assert.deepEqual([m1.id, m1.payload, m1.from_device], [s1.message_id, 'while you were away', 0]);
  await tab1.next((f) => f.type === 'queue_empty');
  const tab2 = connect(app, bob);
  await tab2.opened;
  assert.equal((await tab2.next((f) => f.type === 'message')).id, s1.message_id, 'each socket gets the inbox');
  await tab2.next((f) => f.type === 'queue_empty');
  a.send1({ type: 'message', to: bob.id, payload: 'now' });
  const s2 = await a.next((f) => f.type === 'sent');
  for (const t of [tab1, tab2]) assert.equal((await t.next((f) => f.type === 'message')).id, s2.message_id);
  tab2.send1({ type: 'ack', id: s1.message_id });
  assert.equal((await a.next((f) => f.type === 'delivered')).message_id, s1.message_id);
  tab1.close();
  tab2.close();
  const tab3 = connect(app, bob);
  await tab3.opened;
  await tab3.next((f) => f.type === 'queue_empty');
  assert.deepEqual(tab3.frames.filter((f) => f.type === 'message').map((m) => m.id), [s2.message_id]);
  tab3.close();
  // once bob has a device, the simple form goes to it
  await device(app, bob);
  a.send1({ type: 'message', to: bob.id, payload: 'to the phone' });
  const s3 = await a.next((f) => f.type === 'sent');
  const phone = connect(app, bob, 1);
  await phone.opened;
  assert.equal((await phone.next((f) => f.type === 'message')).id, s3.message_id);
  phone.close();
  a.close();
});

test('a second socket of a device closes the first with 4409; a removed device is closed and its queue gone', async () => {
  const alice = await register(app);
  const bob = await register(app);
  await device(app, alice);
  const bd = await device(app, bob);
  const first = connect(app, bob, 1);
  await first.opened;
  await first.next((f) => f.type === 'queue_empty');
  const second = connect(app, bob, 1);
  await second.opened;
  const closed = await first.closed;
  assert.equal(closed.code, 4409);
  await second.next((f) => f.type === 'queue_empty');
  let r = await call(app, 'PUT', `/messages/${bob.id}`, alice.token, { messages: [envelope(bd, 'for the second')] });
  const m = await second.next((f) => f.type === 'message');
  assert.equal(m.id, r.json.message_id);
  r = await call(app, 'DELETE', '/devices/1', bob.token);
  assert.equal(r.status, 204);
  assert.equal((await second.closed).code, 1008);
  const rows = sqlite(path.join(app.dataDir, 'app.db'), `SELECT count(*) FROM relay_queue WHERE user_id = '${bob.id}'`);
  assert.equal(rows.stdout.trim(), '0');
  const gone = await wsRefused(`${app.url.replace(/^http/, 'ws')}/ws?device_id=1`, ['bearer', bob.token]);
  assertError(assert, gone, 404, 'not_found');
});

test('limits: sends per account, queue depth per device, key fetches per account', async () => {
  const alice = await register(tight);
  const bob = await register(tight);
  await device(tight, alice);
  const bd = await device(tight, bob);
  await call(tight, 'PUT', '/keys', bob.token, keysBody(1));
  let r;
  for (let i = 0; i < 3; i++) {
    r = await call(tight, 'PUT', `/messages/${bob.id}`, alice.token, { messages: [envelope(bd, `m${i}`)] });
    assert.equal(r.status, 200, r.text);
  }
  r = await call(tight, 'PUT', `/messages/${bob.id}`, alice.token, { messages: [envelope(bd, 'full')] });
  assertError(assert, r, 429, 'rate_limited'); // RELAY_QUEUE_MAX 3
  r = await call(tight, 'PUT', `/messages/${bob.id}`, alice.token, { messages: [envelope(bd, 'x')] });
  r = await call(tight, 'PUT', `/messages/${bob.id}`, alice.token, { messages: [envelope(bd, 'x')] });
  assertError(assert, r, 429, 'rate_limited'); // RATE_RELAY_SEND 5/min
  assert.ok(Number(r.headers.get('retry-after')) >= 1);
  const a = connect(tight, alice, 1); // the socket says the same with a frame
  await a.opened;
  a.send1({ type: 'send', to: bob.id, client_id: 'over', messages: [envelope(bd, 'x')] });
  assert.equal((await a.next((f) => f.client_id === 'over')).code, 'rate_limited');
  a.close();
  for (let i = 0; i < 3; i++) assert.equal((await call(tight, 'GET', `/keys/${bob.id}`, alice.token)).status, 200);
  r = await call(tight, 'GET', `/keys/${bob.id}`, alice.token);
  assertError(assert, r, 429, 'rate_limited'); // RATE_KEYS_FETCH 3/h
});

test('deleting an account takes its devices, keys and queue; the export lists the devices', async () => {
  const alice = await register(app);
  const bob = await register(app);
  await device(app, alice);
  const bd = await device(app, bob);
  await call(app, 'PUT', '/keys', bob.token, keysBody(1));
  await call(app, 'PUT', `/messages/${bob.id}`, alice.token, { messages: [envelope(bd, 'bye')] });
  let r = await call(app, 'GET', '/users/me/export', bob.token);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.relay.devices.map((d) => d.device_id), [1]);
  r = await call(app, 'DELETE', '/users/me', bob.token, { password: 'correct horse' });
  assert.equal(r.status, 204, r.text);
  const db = path.join(app.dataDir, 'app.db');
  for (const t of ['relay_queue', 'relay_devices', 'relay_keys', 'relay_accounts']) {
    assert.equal(sqlite(db, `SELECT count(*) FROM ${t} WHERE user_id = '${bob.id}'`).stdout.trim(), '0', t);
  }
});

test('"show my presence" off: contacts never hear I am online, and I hear nobody', async () => {
  const a = await register(app, 'A');
  const hider = await register(app, 'Hider');
  const c = await register(app, 'C');
  for (const [x, y] of [[a, hider], [hider, a], [a, c], [c, a]]) {
    assert.equal((await call(app, 'POST', '/users/contacts', x.token, { user_id: y.id })).status, 201);
  }
  let r = await call(app, 'PUT', '/users/me', hider.token, { show_presence: false });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.show_presence, false);
  r = await call(app, 'PUT', '/users/me', hider.token, { show_presence: 'no' });
  assertError(assert, r, 400, 'invalid_input');
  const wa = connect(app, a);
  await wa.opened;
  await wa.next((f) => f.type === 'ready');
  const wh = connect(app, hider);
  await wh.opened;
  await wh.next((f) => f.type === 'ready');
  const wc = connect(app, c);
  await wc.opened;
  // the positive control: C's arrival reaches A; the hider's, before it, never did
  await wa.next((f) => f.type === 'presence' && f.user_id === c.id && f.status === 'online');
  assert.equal(wa.frames.filter((f) => f.type === 'presence' && f.user_id === hider.id).length, 0);
  await sleep(200);
  assert.equal(wh.frames.filter((f) => f.type === 'presence').length, 0, 'the hider hears nobody');
  // typing still passes between mutual contacts
  wh.send1({ type: 'typing', to: a.id });
  await wa.next((f) => f.type === 'typing' && f.from === hider.id);
  // a change reaches the open connections at once, both ways
  r = await call(app, 'PUT', '/users/me', hider.token, { show_presence: true });
  assert.equal(r.status, 200, r.text);
  await wa.next((f) => f.type === 'presence' && f.user_id === hider.id && f.status === 'online');
  await wh.next((f) => f.type === 'presence' && f.user_id === a.id && f.status === 'online');
  wc.close();
  wa.close();
  await wh.next((f) => f.type === 'presence' && f.user_id === a.id && f.status === 'offline');
  const wa2 = connect(app, a);
  await wa2.opened;
  await wh.next((f) => f.type === 'presence' && f.user_id === a.id && f.status === 'online');
  await wa2.next((f) => f.type === 'presence' && f.user_id === hider.id && f.status === 'online');
  r = await call(app, 'PUT', '/users/me', hider.token, { show_presence: false });
  await wa2.next((f) => f.type === 'presence' && f.user_id === hider.id && f.status === 'offline');
  wa2.close();
  await sleep(200);
  assert.equal(wh.frames.filter((f) => f.type === 'presence' && f.user_id === a.id).length, 3, 'hidden again: A\'s leaving is not heard');
  wh.close();
  r = await call(app, 'GET', '/users/me', hider.token);
  assert.equal(r.json.show_presence, false);
});

test('messages nobody acknowledged within RELAY_RETENTION are dropped by the expiry job', async () => {
  const alice = await register(aged);
  const bob = await register(aged);
  await device(aged, alice);
  const bd = await device(aged, bob);
  const ids = [];
  for (const text of ['old', 'new']) {
    const r = await call(aged, 'PUT', `/messages/${bob.id}`, alice.token, { messages: [envelope(bd, text)] });
    assert.equal(r.status, 200, r.text);
    ids.push(r.json.message_id);
  }
  const db = path.join(aged.dataDir, 'app.db');
  const out = sqlite(db, "UPDATE relay_queue SET created_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-2 hours')"
    + ` WHERE message_id = '${ids[0]}'`);
  assert.equal(out.code, 0, out.stderr);
  const left = () => sqlite(db, `SELECT message_id FROM relay_queue WHERE user_id = '${bob.id}' ORDER BY seq`).stdout.trim();
  const deadline = agedStarted + 75000;
  while (left() !== ids[1] && Date.now() < deadline) await sleep(500);
  assert.equal(left(), ids[1], 'the old one is gone, the recent one kept');
  const b = connect(aged, bob, 1);
  await b.opened;
  await b.next((f) => f.type === 'queue_empty');
  assert.deepEqual(b.frames.filter((f) => f.type === 'message').map((m) => m.id), [ids[1]]);
  b.close();
});

test('a reader that stops reading is not dropped: what it cannot take waits in the queue, then comes in order', async () => {
  const alice = await register(app);
  const bob = await register(app);
  await device(app, alice);
  const bd = await device(app, bob);
  const b = connect(app, bob, 1);
  await b.opened;
  await b.next((f) => f.type === 'queue_empty');
  b._socket.pause(); // far more than CONN_SEND_QUEUE_BYTES (1 MiB) and the socket buffers arrives meanwhile
  const ids = [];
  for (let i = 0; i < 80; i++) {
    const r = await call(app, 'PUT', `/messages/${bob.id}`, alice.token, { messages: [envelope(bd, crypto.randomBytes(90 * 1024))] });
    assert.equal(r.status, 200, r.text);
    ids.push(r.json.message_id);
  }
  b._socket.resume();
  for (const id of ids) assert.equal((await b.next((f) => f.type === 'message', 15000)).id, id);
  assert.equal(b.readyState, WebSocket.OPEN);
  b.close();
});

test('a socket that piles up frames faster than they are answered is closed (1008), not buffered without bound', async () => {
  const alice = await register(app);
  await device(app, alice);
  const a = connect(app, alice, 1);
  await a.opened;
  await a.next((f) => f.type === 'queue_empty');
  const frame = JSON.stringify({ type: 'send', to: crypto.randomUUID(), messages: [] });
  a._socket.write(Buffer.concat(Array.from({ length: 2000 }, () => maskedText(frame))));
  assert.equal((await a.closed).code, 1008);
});

// One masked client text frame (what ws would send), so that 2,000 go out in one write.
function maskedText(text) {
  const payload = Buffer.from(text);
  const mask = crypto.randomBytes(4);
  const head = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length])
    : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 255]);
  const body = Buffer.from(payload.map((c, i) => c ^ mask[i % 4]));
  return Buffer.concat([head, mask, body]);
}
