// The private messaging relay from the outside, with real Signal-protocol clients (libsignal,
// test-only) over HTTP and `ws`: devices, key upload and bundle fetch (PQXDH), sends while the
// recipient is away and over the socket, acks and `delivered`, no plaintext on disk, device
// mismatches, one-time prekeys under concurrent fetches, 4409, frames sent before `ready`,
// kill -9 between accept and ack, and presence/typing only between mutual contacts.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const WebSocket = require('ws');
const { wsRefused } = require('./lib/ws');
const { startApp, tmpDataDir, request, assertError, sleep, within, sqlite } = require('./lib/app');
const { newAccount, Device, b64, LAST_RESORT_ID } = require('./lib/signal');

// Fast accounts; no rate limit in the way of the parallel fetches and sends.
const ENV = {
  PASSWORD_ITERATIONS: '1000', DB_SYNCHRONOUS: 'normal', RATE_REGISTER_IP: 'off', RATE_LOGIN_IP: 'off',
  RATE_LOGIN_ACCOUNT: 'off', RATE_KEYS_FETCH: 'off', RATE_RELAY_SEND: 'off',
};
const MAX_CONTENT = 98304; // 96 KiB of decoded content
const UUID7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
const MESSAGE_KEYS = ['content', 'envelope_type', 'from', 'from_device', 'id', 'timestamp', 'type'];

let app;
test.before(async () => { app = await startApp({ env: ENV }); });
test.after(async () => {
  if (app) assert.deepEqual(await app.stop(), { code: 0, signal: null }, 'the server stops cleanly');
});

// ---- waiting ----

async function until(cond, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms: ${typeof what === 'function' ? what() : what}`);
    await sleep(20);
  }
}

// ---- accounts, devices, keys, sends ----

let n = 0;
async function user(a, name = 'Relay') {
  const email = `relay-${process.pid}-${++n}@example.test`;
  const r = await request(`${a.url}/api/v1/auth/register`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password: 'correct horse', name }),
  });
  assert.equal(r.status, 201, r.text);
  return { id: r.json.user.id, email, token: r.json.access_token, account: newAccount(r.json.user.id) };
}
const call = (a, method, p, token, body) => request(`${a.url}/api/v1${p}`, {
  method, headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
  body: body === undefined ? undefined : JSON.stringify(body),
});
async function contact(a, owner, other) {
  const r = await call(a, 'POST', '/users/contacts', owner.token, { user_id: other.id });
  assert.equal(r.status, 201, r.text);
}

// Registers a device of u (POST /devices) and uploads fresh keys for it unless keys is false.
async function device(a, u, { prekeys = 20, kyberPrekeys = 20, keys = true } = {}) {
  const registrationId = 1 + crypto.randomInt(16380);
  const r = await call(a, 'POST', '/devices', u.token, { registration_id: registrationId, name: 'a phone' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.registration_id, registrationId);
  assert.equal(r.json.name, 'a phone');
  assert.equal(typeof r.json.device_id, 'number');
  const d = new Device(u.account, { deviceId: r.json.device_id, registrationId, prekeys, kyberPrekeys });
  if (keys) {
    const up = await call(a, 'PUT', '/keys', u.token, await d.keysBody());
    assert.equal(up.status, 200, up.text);
    assert.deepEqual(up.json, { count: prekeys, kyber_count: kyberPrekeys });
  }
  return d;
}

// GET /keys/{to}[/{deviceId}] as `from`'s user, and sessions with what came (PQXDH).
async function fetchBundle(a, fromUser, from, to, deviceId) {
  const r = await call(a, 'GET', `/keys/${to.id}${deviceId ? `/${deviceId}` : ''}`, fromUser.token);
  assert.equal(r.status, 200, r.text);
  await from.processBundle(to.id, r.json);
  return r.json;
}

const send = (a, fromUser, from, to, messages, clientId) => call(a, 'PUT', `/messages/${to.id}?device_id=${from.deviceId}`,
  fromUser.token, clientId === undefined ? { messages } : { client_id: clientId, messages });

const keyCount = async (a, u, deviceId) => {
  const r = await call(a, 'GET', `/keys/count?device_id=${deviceId}`, u.token);
  assert.equal(r.status, 200, r.text);
  return r.json;
};

// ---- WebSocket ----

const wsUrl = (a, q = {}) => {
  const u = new URL(`${a.url.replace(/^http/, 'ws')}/ws`);
  for (const [k, v] of Object.entries(q)) if (v !== undefined) u.searchParams.set(k, String(v));
  return u.toString();
};
const brief = (frames) => JSON.stringify(frames.map((f) => (f.type === 'message' ? { type: f.type, id: f.id } : f)));

// /ws (as device deviceId when given), resolved once open. c.frames gets every JSON frame;
// c.closed resolves to {code, reason}.
async function connect(a, u, deviceId) {
  const ws = new WebSocket(wsUrl(a, { device_id: deviceId }), ['bearer', u.token], { handshakeTimeout: 10000 });
  const c = { ws, frames: [] };
  ws.on('message', (data) => { c.frames.push(JSON.parse(data.toString('utf8'))); });
  ws.on('error', () => { /* seen as closed */ });
  c.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  c.of = (type) => c.frames.filter((f) => f.type === type);
  c.wait = (pred, what, ms = 10000) => until(() => c.frames.find(pred), ms, () => `${what}; got ${brief(c.frames)}`);
  c.queueEmpty = () => c.wait((f) => f.type === 'queue_empty', 'queue_empty');
  c.send = (obj) => ws.send(JSON.stringify(obj));
  c.ack = (id) => c.send({ type: 'ack', id });
  c.close = async () => {
    if (ws.readyState !== WebSocket.CLOSED) {
      ws.close(1000);
      if (!(await within(c.closed, 5000))) ws.terminate();
    }
    return c.closed;
  };
  return c;
}

// The delivery frames of a connection, in arrival order.
const messages = (c) => c.of('message');

// Every regular file under dir (the database, its -wal and -shm, anything else).
function filesUnder(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

// ================================================================================================

test('PQXDH through the relay: a prekey message queued for an offline device, received, decrypted, acked, delivered; the reply over the socket; no plaintext on disk', async () => {
  const alice = await user(app, 'Alice');
  const bob = await user(app, 'Bob');
  const a1 = await device(app, alice);
  const b1 = await device(app, bob);
  assert.equal(a1.deviceId, 1, 'an account\'s first device is 1');
  assert.equal(b1.deviceId, 1);
  const aliceWs = await connect(app, alice, 1);
  await aliceWs.queueEmpty();

  // Alice fetches Bob's bundle: his identity, his signed prekey, one of each one-time key
  const bundle = await fetchBundle(app, alice, a1, bob);
  assert.deepEqual(Object.keys(bundle).sort(), ['devices', 'identity_key']);
  assert.equal(bundle.identity_key, b1.upload.identity_key);
  assert.equal(bundle.devices.length, 1);
  const bd = bundle.devices[0];
  assert.equal(bd.device_id, 1);
  assert.equal(bd.registration_id, b1.registrationId);
  assert.deepEqual(bd.signed_prekey, b1.upload.signed_prekey);
  assert.deepEqual(bd.prekey, b1.upload.one_time_prekeys.find((k) => k.key_id === bd.prekey.key_id), 'a one-time EC prekey as uploaded');
  assert.deepEqual(bd.kyber_prekey, b1.upload.kyber_prekeys.find((k) => k.key_id === bd.kyber_prekey.key_id), 'a one-time Kyber prekey as uploaded');
  assert.deepEqual(await keyCount(app, bob, 1), { count: 19, kyber_count: 19 }, 'the fetch took one of each');
  const byDefault = await call(app, 'GET', '/keys/count', bob.token);
  assert.deepEqual(byDefault.json, { count: 19, kyber_count: 19 }, 'device 1 by default');

  // a PreKey message (type 3) while Bob is offline
  const secret1 = `the first secret ${crypto.randomUUID()}`;
  const [env1] = await a1.encryptAll(bob.id, secret1);
  assert.equal(env1.type, 3);
  assert.equal(env1.registration_id, b1.registrationId);
  const sent = await send(app, alice, a1, bob, [env1], 'c-first');
  assert.equal(sent.status, 200, sent.text);
  assert.deepEqual(Object.keys(sent.json), ['message_id']);
  assert.match(sent.json.message_id, UUID7);

  // Bob comes online: ready, the queued message, queue_empty
  const bobWs = await connect(app, bob, 1);
  await bobWs.queueEmpty();
  assert.deepEqual(bobWs.frames.map((f) => f.type).filter((t) => ['ready', 'message', 'queue_empty'].includes(t)),
    ['ready', 'message', 'queue_empty'], brief(bobWs.frames));
  const m1 = messages(bobWs)[0];
  assert.deepEqual(Object.keys(m1).sort(), MESSAGE_KEYS);
  assert.equal(m1.id, sent.json.message_id);
  assert.equal(m1.from, alice.id);
  assert.equal(m1.from_device, 1);
  assert.equal(m1.envelope_type, 3);
  assert.equal(m1.content, env1.content);
  assert.match(m1.timestamp, RFC3339);
  assert.ok(Math.abs(Date.parse(m1.timestamp) - Date.now()) < 60000, `timestamp ${m1.timestamp} is about now`);
  assert.equal(await b1.decrypt(m1), secret1);
  bobWs.ack(m1.id);
  const delivered = await aliceWs.wait((f) => f.type === 'delivered' && f.message_id === m1.id, 'delivered at Alice');
  assert.ok(Number.isInteger(delivered.seq) && delivered.seq > 0, `delivered carries a seq: ${JSON.stringify(delivered)}`);
  assert.deepEqual({ ...delivered, seq: 0 }, { type: 'delivered', seq: 0, message_id: m1.id, to: bob.id, device_id: 1 });

  // Bob replies over the socket (a Whisper message now, type 1); Alice decrypts it
  const secret2 = `the reply ${crypto.randomUUID()}`;
  const reply = await b1.encrypt(alice.id, 1, secret2);
  assert.equal(reply.type, 1);
  assert.equal(reply.registration_id, a1.registrationId);
  bobWs.send({ type: 'send', to: alice.id, client_id: 'r1', messages: [reply] });
  const ok = await bobWs.wait((f) => f.type === 'sent' && f.client_id === 'r1', 'sent for r1');
  assert.match(ok.message_id, UUID7);
  const m2 = await aliceWs.wait((f) => f.type === 'message' && f.id === ok.message_id, 'the reply at Alice');
  assert.equal(m2.from, bob.id);
  assert.equal(m2.from_device, 1);
  assert.equal(m2.envelope_type, 1);
  assert.equal(await a1.decrypt(m2), secret2);
  aliceWs.ack(m2.id);
  await bobWs.wait((f) => f.type === 'delivered' && f.message_id === m2.id && f.to === alice.id && f.device_id === 1,
    'delivered at Bob');
  assert.equal(messages(bobWs).length, 1, 'an acked message is not sent again on the same connection');
  await bobWs.close();

  // one more, left in Bob's queue
  const secret3 = `the third secret ${crypto.randomUUID()}`;
  const env3 = await a1.encrypt(bob.id, 1, secret3);
  assert.equal(env3.type, 1);
  const third = await send(app, alice, a1, bob, [env3]);
  assert.equal(third.status, 200, third.text);

  // the data directory: the account's email (a positive control) and the queued ciphertext
  // are there; no plaintext ever is
  const files = filesUnder(app.dataDir);
  assert.ok(files.some((f) => path.basename(f) === 'app.db'), `app.db among ${files}`);
  const contents = files.map((f) => fs.readFileSync(f));
  const found = (needle) => contents.some((c) => c.includes(needle));
  assert.ok(found(Buffer.from(alice.email)), 'the grep finds what is stored (the email)');
  assert.ok(found(Buffer.from(env3.content, 'base64')), 'the queued ciphertext is in the database');
  for (const s of [secret1, secret2, secret3]) assert.ok(!found(Buffer.from(s)), `no plaintext on disk: ${s}`);
  await aliceWs.close();
});

test('a second device gets its own copy; missing, extra and stale devices; to oneself; 96 KiB of content at most', async () => {
  const alice = await user(app, 'Alice');
  const bob = await user(app, 'Bob');
  const a1 = await device(app, alice);
  const b1 = await device(app, bob);
  await fetchBundle(app, alice, a1, bob); // Bob has one device yet
  const b2 = await device(app, bob);
  assert.equal(b2.deviceId, 2);
  const list = await call(app, 'GET', '/devices', bob.token);
  assert.equal(list.status, 200, list.text);
  assert.equal(list.json.next_cursor, null);
  assert.deepEqual(list.json.items.map((d) => [d.device_id, d.registration_id]), [[1, b1.registrationId], [2, b2.registrationId]]);
  for (const d of list.json.items) {
    assert.deepEqual(Object.keys(d).sort(), ['created_at', 'device_id', 'last_seen_at', 'name', 'registration_id']);
    assert.match(d.created_at, RFC3339);
  }

  // Alice knows only device 1: 409 naming device 2
  const only1 = await a1.encrypt(bob.id, 1, 'lost');
  let r = await send(app, alice, a1, bob, [only1]);
  assertError(assert, r, 409, 'mismatched_devices');
  assert.deepEqual(r.json.error.missing_devices, [2]);
  assert.deepEqual(r.json.error.extra_devices, []);

  await fetchBundle(app, alice, a1, bob, 2);
  const secret = `to both ${crypto.randomUUID()}`;
  const envs = await a1.encryptAll(bob.id, secret);
  assert.deepEqual(envs.map((e) => [e.device_id, e.type]), [[1, 3], [2, 3]]);
  // one too many: 409 naming it
  r = await send(app, alice, a1, bob, [...envs, { ...envs[1], device_id: 5 }]);
  assertError(assert, r, 409, 'mismatched_devices');
  assert.deepEqual(r.json.error.missing_devices, []);
  assert.deepEqual(r.json.error.extra_devices, [5]);
  // a wrong registration id: 410
  r = await send(app, alice, a1, bob, [envs[0], { ...envs[1], registration_id: (envs[1].registration_id % 16380) + 1 }]);
  assertError(assert, r, 410, 'stale_devices');
  assert.deepEqual(r.json.error.stale_devices, [2]);
  // right: each device its own copy
  r = await send(app, alice, a1, bob, envs);
  assert.equal(r.status, 200, r.text);
  const id = r.json.message_id;
  const aliceWs = await connect(app, alice, 1);
  const w1 = await connect(app, bob, 1);
  const w2 = await connect(app, bob, 2);
  await Promise.all([aliceWs.queueEmpty(), w1.queueEmpty(), w2.queueEmpty()]);
  for (const [w, d, env] of [[w1, b1, envs[0]], [w2, b2, envs[1]]]) {
    assert.equal(messages(w).length, 1, brief(w.frames));
    const m = messages(w)[0];
    assert.equal(m.id, id);
    assert.equal(m.content, env.content, `device ${d.deviceId} gets the envelope made for it`);
    assert.equal(await d.decrypt(m), secret);
    w.ack(m.id);
  }
  assert.notEqual(envs[0].content, envs[1].content);
  for (const d of [1, 2]) {
    await aliceWs.wait((f) => f.type === 'delivered' && f.message_id === id && f.device_id === d, `delivered from device ${d}`);
  }

  // the same refusals over the socket, as error frames naming the client_id
  const next = await a1.encryptAll(bob.id, 'never sent');
  aliceWs.send({ type: 'send', to: bob.id, client_id: 'miss', messages: [next[0]] });
  const miss = await aliceWs.wait((f) => f.type === 'error' && f.client_id === 'miss', 'an error frame for miss');
  assert.equal(miss.code, 'mismatched_devices');
  assert.deepEqual(miss.missing_devices, [2]);
  assert.deepEqual(miss.extra_devices, []);
  aliceWs.send({ type: 'send', to: bob.id, client_id: 'stale', messages: [{ ...next[0], registration_id: (next[0].registration_id % 16380) + 1 }, next[1]] });
  const stale = await aliceWs.wait((f) => f.type === 'error' && f.client_id === 'stale', 'an error frame for stale');
  assert.equal(stale.code, 'stale_devices');
  assert.deepEqual(stale.stale_devices, [1]);

  // content: 96 KiB passes, one byte more is 413 (HTTP) or an error frame (socket)
  const sized = (len) => [1, 2].map((d) => ({ device_id: d, registration_id: d === 1 ? b1.registrationId : b2.registrationId,
    type: 1, content: b64(crypto.randomBytes(len)) }));
  r = await send(app, alice, a1, bob, sized(MAX_CONTENT + 1));
  assertError(assert, r, 413, 'payload_too_large');
  aliceWs.send({ type: 'send', to: bob.id, client_id: 'big', messages: sized(MAX_CONTENT + 1) });
  const big = await aliceWs.wait((f) => f.type === 'error' && f.client_id === 'big', 'an error frame for big');
  assert.equal(big.code, 'payload_too_large');
  const most = sized(MAX_CONTENT);
  r = await send(app, alice, a1, bob, most);
  assert.equal(r.status, 200, r.text);
  aliceWs.send({ type: 'send', to: bob.id, client_id: 'most', messages: most });
  const mostOk = await aliceWs.wait((f) => f.type === 'sent' && f.client_id === 'most', 'sent for most');
  for (const w of [w1, w2]) {
    await w.wait((f) => f.type === 'message' && f.id === mostOk.message_id, 'the 96 KiB messages');
    const got = messages(w).filter((m) => m.id === r.json.message_id || m.id === mostOk.message_id);
    assert.equal(got.length, 2);
    for (const m of got) {
      assert.equal(Buffer.from(m.content, 'base64').length, MAX_CONTENT);
      w.ack(m.id);
    }
  }

  // to oneself: every device but the sender's
  await fetchBundle(app, bob, b1, bob, 2);
  const note = `note to self ${crypto.randomUUID()}`;
  const self = await b1.encrypt(bob.id, 2, note);
  r = await send(app, bob, b1, bob, [self, { ...self, device_id: 1, registration_id: b1.registrationId }]);
  assertError(assert, r, 409, 'mismatched_devices');
  assert.deepEqual(r.json.error.extra_devices, [1], 'the sending device is no recipient');
  r = await send(app, bob, b1, bob, [self]);
  assert.equal(r.status, 200, r.text);
  const mine = await w2.wait((f) => f.type === 'message' && f.id === r.json.message_id, 'the note at device 2');
  assert.equal(mine.from, bob.id);
  assert.equal(mine.from_device, 1);
  assert.equal(await b2.decrypt(mine), note);
  w2.ack(mine.id);
  await sleep(200);
  assert.equal(messages(w1).filter((m) => m.id === r.json.message_id).length, 0, 'not to the sender\'s own device');
  await Promise.all([aliceWs.close(), w1.close(), w2.close()]);
});

test('removing a device closes its socket (1008), drops its keys and queue; ids are never reused; six devices at most', async () => {
  const alice = await user(app, 'Alice');
  const bob = await user(app, 'Bob');
  const a1 = await device(app, alice);
  await device(app, bob);
  const b2 = await device(app, bob);
  await fetchBundle(app, alice, a1, bob);
  const w2 = await connect(app, bob, 2);
  await w2.queueEmpty();
  for (let i = 0; i < 2; i++) {
    const r = await send(app, alice, a1, bob, await a1.encryptAll(bob.id, `queued ${i}`));
    assert.equal(r.status, 200, r.text);
  }
  await until(() => messages(w2).length === 2, 10000, () => `two messages at device 2 (not acked); got ${brief(w2.frames)}`);
  const q = (d) => sqlite(path.join(app.dataDir, 'app.db'),
    `SELECT count(*) FROM relay_queue WHERE user_id = '${bob.id}' AND device_id = ${d}`);
  assert.equal(q(2).stdout.trim(), '2', 'two rows wait for device 2 before');

  const del = await call(app, 'DELETE', `/devices/${b2.deviceId}`, bob.token);
  assert.equal(del.status, 204, del.text);
  const closed = await within(w2.closed, 5000);
  assert.equal(closed && closed.code, 1008, 'the removed device\'s socket is closed with 1008');
  const refused = await wsRefused(wsUrl(app, { device_id: 2 }), ['bearer', bob.token]);
  assertError(assert, refused, 404, 'not_found');
  assert.equal(q(2).stdout.trim(), '0', 'its queue is gone');
  assert.equal(q(1).stdout.trim(), '2', 'device 1\'s queue is kept');
  const list = await call(app, 'GET', '/devices', bob.token);
  assert.deepEqual(list.json.items.map((d) => d.device_id), [1]);
  const bundle = await call(app, 'GET', `/keys/${bob.id}`, alice.token);
  assert.deepEqual(bundle.json.devices.map((d) => d.device_id), [1], 'its keys are gone');
  assert.equal((await call(app, 'GET', `/keys/${bob.id}/2`, alice.token)).status, 404);

  // the sender: device 1 alone is right now, device 2 is extra
  const env = await a1.encrypt(bob.id, 1, 'after the removal');
  const withOld = await send(app, alice, a1, bob, [env, { ...env, device_id: 2, registration_id: b2.registrationId }]);
  assertError(assert, withOld, 409, 'mismatched_devices');
  assert.deepEqual(withOld.json.error.extra_devices, [2]);
  const without = await send(app, alice, a1, bob, [env]);
  assert.equal(without.status, 200, without.text);

  // a new device gets 3, and an empty queue
  const b3 = await device(app, bob, { keys: false });
  assert.equal(b3.deviceId, 3, 'device ids are never reused');
  const w3 = await connect(app, bob, 3);
  await w3.queueEmpty();
  assert.deepEqual(messages(w3), [], 'the removed device\'s queue did not move to the new one');
  await w3.close();
  // six at most: 1 and 3 exist, four more fit, the seventh is refused
  for (let i = 0; i < 4; i++) await device(app, bob, { keys: false });
  const seventh = await call(app, 'POST', '/devices', bob.token, { registration_id: 77 });
  assertError(assert, seventh, 409, 'conflict');
});

test('20 parallel fetches of one device: distinct one-time keys, never a repeat, then the Kyber last resort; keys.low; sessions from both kinds of bundle', async () => {
  const carol = await user(app, 'Carol');
  const dave = await user(app, 'Dave');
  const c1 = await device(app, carol, { prekeys: 10, kyberPrekeys: 10 });
  const d1 = await device(app, dave);
  assert.deepEqual(await keyCount(app, carol, 1), { count: 10, kyber_count: 10 });
  const carolWs = await connect(app, carol, 1);
  await carolWs.queueEmpty();

  const rs = await Promise.all(Array.from({ length: 20 }, () => call(app, 'GET', `/keys/${carol.id}/1`, dave.token)));
  for (const r of rs) {
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.devices.length, 1);
  }
  const devs = rs.map((r) => r.json.devices[0]);
  const withEc = devs.filter((d) => d.prekey);
  const oneTimeKyber = devs.filter((d) => d.kyber_prekey.key_id !== LAST_RESORT_ID);
  assert.equal(withEc.length, 10, 'ten fetches got a one-time EC prekey');
  assert.equal(new Set(withEc.map((d) => d.prekey.key_id)).size, 10, 'never the same one twice');
  assert.equal(oneTimeKyber.length, 10, 'ten fetches got a one-time Kyber prekey');
  assert.equal(new Set(oneTimeKyber.map((d) => d.kyber_prekey.key_id)).size, 10, 'never the same one twice');
  for (const d of devs) {
    assert.equal(Boolean(d.prekey), d.kyber_prekey.key_id !== LAST_RESORT_ID, 'a fetch takes one of each kind or none');
    if (d.prekey) assert.deepEqual(d.prekey, c1.upload.one_time_prekeys.find((k) => k.key_id === d.prekey.key_id));
    if (d.kyber_prekey.key_id === LAST_RESORT_ID) assert.deepEqual(d.kyber_prekey, c1.upload.kyber_last_resort);
    else assert.deepEqual(d.kyber_prekey, c1.upload.kyber_prekeys.find((k) => k.key_id === d.kyber_prekey.key_id));
    assert.deepEqual(d.signed_prekey, c1.upload.signed_prekey);
  }
  assert.deepEqual(await keyCount(app, carol, 1), { count: 0, kyber_count: 0 }, 'the last resort is not counted');

  // the owner hears that the keys run low
  const low = await carolWs.wait((f) => f.type === 'keys.low', 'keys.low at Carol');
  assert.equal(low.device_id, 1);
  assert.ok(Number.isInteger(low.seq), `keys.low is durable (a seq): ${JSON.stringify(low)}`);
  assert.ok(low.count < 10 || low.kyber_count < 10, `below 10: ${JSON.stringify(low)}`);
  for (const f of carolWs.of('keys.low')) assert.equal(f.device_id, 1);

  // a bundle with one-time keys and one with only the last resort both make working sessions
  const lastOnly = rs.find((r) => !r.json.devices[0].prekey).json;
  const oneTime = rs.find((r) => r.json.devices[0].prekey).json;
  const sentIds = [];
  for (const [b, text] of [[oneTime, 'over one-time keys'], [lastOnly, 'over the last resort']]) {
    await d1.processBundle(carol.id, b);
    const r = await send(app, dave, d1, carol, await d1.encryptAll(carol.id, text));
    assert.equal(r.status, 200, r.text);
    sentIds.push([r.json.message_id, text]);
  }
  for (const [id, text] of sentIds) {
    const m = await carolWs.wait((f) => f.type === 'message' && f.id === id, `message ${text}`);
    assert.equal(m.envelope_type, 3);
    assert.equal(await c1.decrypt(m), text);
    carolWs.ack(id);
  }

  // a list replaces that kind; a kind not given is kept
  const more = await call(app, 'PUT', '/keys', carol.token, await c1.keysBody({ only: ['one_time_prekeys'], prekeys: 5 }));
  assert.equal(more.status, 200, more.text);
  assert.deepEqual(more.json, { count: 5, kyber_count: 0 });
  // the identity belongs to the account: another from device 2 is refused; unknown device 404
  const c2 = await device(app, carol, { keys: false });
  const impostor = new Device(newAccount(carol.id), { deviceId: c2.deviceId, prekeys: 1, kyberPrekeys: 1 });
  assertError(assert, await call(app, 'PUT', '/keys', carol.token, await impostor.keysBody()), 409, 'conflict');
  const fine = await call(app, 'PUT', '/keys', carol.token, await c2.keysBody());
  assert.equal(fine.status, 200, fine.text);
  const ghost = new Device(carol.account, { deviceId: 9, prekeys: 1, kyberPrekeys: 1 });
  assertError(assert, await call(app, 'PUT', '/keys', carol.token, await ghost.keysBody()), 404, 'not_found');
  await carolWs.close();
});

test('one relay socket per device: a second one closes the first with 4409; not my device is 404 before the upgrade; the simple form reaches every device', async () => {
  const erin = await user(app, 'Erin');
  const frank = await user(app, 'Frank');
  const e1 = await device(app, erin, { keys: false });
  const first = await connect(app, erin, e1.deviceId);
  await first.queueEmpty();
  const second = await connect(app, erin, e1.deviceId);
  await second.queueEmpty();
  const closed = await within(first.closed, 5000);
  assert.equal(closed && closed.code, 4409, 'the older socket is closed with 4409');
  assert.equal(second.ws.readyState, WebSocket.OPEN);
  assertError(assert, await wsRefused(wsUrl(app, { device_id: 2 }), ['bearer', erin.token]), 404, 'not_found');
  assertError(assert, await wsRefused(wsUrl(app, { device_id: 1 }), ['bearer', frank.token]), 404, 'not_found');

  // the original backend's simple form, from a socket without a device
  const plain = await connect(app, frank);
  await plain.wait((f) => f.type === 'ready', 'ready'); // (frames before ready: the next test)
  plain.send({ type: 'message', to: erin.id, payload: 'hello Erin' });
  const ok = await plain.wait((f) => f.type === 'sent', 'sent for the simple form');
  assert.match(ok.message_id, UUID7);
  const m = await second.wait((f) => f.type === 'message', 'the simple message at Erin\'s device');
  assert.equal(m.id, ok.message_id);
  assert.equal(m.from, frank.id);
  assert.equal(m.envelope_type, 0);
  assert.equal(m.payload, 'hello Erin');
  assert.equal(Buffer.from(m.content, 'base64').toString('utf8'), 'hello Erin');
  second.ack(m.id);
  await Promise.all([second.close(), plain.close()]);
});

test('frames sent right after the upgrade, before ready, are handled and answered, and so are the ones after', async () => {
  const gus = await user(app, 'Gus');
  const hal = await user(app, 'Hal');
  await device(app, gus, { keys: false });
  const h1 = await device(app, hal, { keys: false });
  const envelope = { device_id: 1, registration_id: h1.registrationId, type: 1, content: b64(crypto.randomBytes(16)) };
  // the race is the server's (its part of the socket getting ready while the frame comes): tried a few times
  for (let i = 0; i < 15; i++) {
    for (const deviceId of [1, undefined]) {
      const c = await connect(app, gus, deviceId);
      const frame = (cid) => (deviceId ? { type: 'send', to: hal.id, client_id: cid, messages: [envelope] }
        : { type: 'message', to: hal.id, payload: cid });
      c.send(frame(`early-${i}`));
      await c.wait((f) => f.type === 'ready', 'ready');
      if (deviceId) await c.queueEmpty();
      c.send(frame(`late-${i}`));
      const what = `try ${i} (${deviceId ? 'send on a device socket' : 'the simple form on a plain socket'}): `
        + 'a sent answer to the frame before ready and to the one after';
      await until(() => c.of('sent').length === 2, 3000, () => `${what}; got ${brief(c.frames)}`);
      if (deviceId) assert.deepEqual(c.of('sent').map((f) => f.client_id), [`early-${i}`, `late-${i}`]);
      await c.close();
    }
  }
});

test('kill -9 between accept and ack loses nothing (same ids after the restart); after the ack committed it never comes again', async () => {
  const dataDir = tmpDataDir();
  const env = { ...ENV, DB_SYNCHRONOUS: 'full' };
  let k = await startApp({ dataDir, env });
  let done = false;
  try {
    const alice = await user(k, 'Alice');
    const bob = await user(k, 'Bob');
    const a1 = await device(k, alice);
    const b1 = await device(k, bob);
    await fetchBundle(k, alice, a1, bob);
    const sent = [];
    for (const text of ['before the crash 1', 'before the crash 2']) {
      const e = await a1.encryptAll(bob.id, text);
      const r = await send(k, alice, a1, bob, e);
      assert.equal(r.status, 200, r.text);
      sent.push({ id: r.json.message_id, text, content: e[0].content });
    }
    // Bob receives both and dies before acking
    let w = await connect(k, bob, 1);
    await w.queueEmpty();
    assert.deepEqual(messages(w).map((m) => m.id), sent.map((s) => s.id));
    await k.kill9();
    await w.closed;

    k = await startApp({ dataDir, env });
    const aliceWs = await connect(k, alice, 1);
    await aliceWs.queueEmpty();
    w = await connect(k, bob, 1);
    await w.queueEmpty();
    assert.deepEqual(messages(w).map((m) => m.id), sent.map((s) => s.id), 'both again, same ids, in order');
    for (const [i, m] of messages(w).entries()) {
      assert.equal(m.content, sent[i].content);
      assert.equal(await b1.decrypt(m), sent[i].text);
      w.ack(m.id);
    }
    for (const s of sent) await aliceWs.wait((f) => f.type === 'delivered' && f.message_id === s.id, `delivered ${s.text}`);
    await k.kill9(); // right after the sender saw delivered

    k = await startApp({ dataDir, env });
    w = await connect(k, bob, 1);
    await w.queueEmpty();
    assert.deepEqual(messages(w), [], 'an acked message never comes again');
    await w.close();
    done = true;
  } finally {
    const end = await k.stop();
    if (done) assert.deepEqual(end, { code: 0, signal: null }, 'the last server stops cleanly');
  }
});

test('presence and typing pass between mutual contacts; nothing to or from a non-contact; show_presence hides it', async () => {
  const ann = await user(app, 'Ann');
  const ben = await user(app, 'Ben');
  const cy = await user(app, 'Cy');
  const dee = await user(app, 'Dee');
  await contact(app, ann, ben);
  await contact(app, ben, ann);
  await contact(app, ann, dee);
  await contact(app, dee, ann);
  await contact(app, cy, ben); // one way: Ben does not have Cy
  await device(app, ben, { keys: false });
  const benWs = await connect(app, ben, 1);
  await benWs.queueEmpty();
  const cyWs = await connect(app, cy);
  const annWs = await connect(app, ann);
  await annWs.wait((f) => f.type === 'presence' && f.user_id === ben.id, 'Ben online at Ann');
  await benWs.wait((f) => f.type === 'presence' && f.user_id === ann.id && f.status === 'online', 'Ann online at Ben');
  assert.equal(annWs.of('presence')[0].status, 'online');

  cyWs.send({ type: 'typing', to: ben.id }); // a stranger to Ben
  annWs.send({ type: 'typing', to: cy.id }); // Cy is no contact of Ann's
  annWs.send({ type: 'typing', to: ben.id }); // the positive control
  await benWs.wait((f) => f.type === 'typing' && f.from === ann.id, 'typing from Ann at Ben');
  benWs.send({ type: 'typing', to: ann.id });
  await annWs.wait((f) => f.type === 'typing' && f.from === ben.id, 'typing from Ben at Ann');
  await sleep(300);
  assert.deepEqual(benWs.frames.filter((f) => f.from === cy.id || f.user_id === cy.id), [], 'nothing from Cy at Ben');
  assert.deepEqual(cyWs.frames.filter((f) => ['presence', 'typing', 'read'].includes(f.type)), [], 'nothing at Cy');
  assert.equal(benWs.of('typing').length, 1);

  // show_presence: on by default; off, a new socket of Ann's hears that Dee is online, not Ben
  const deeWs = await connect(app, dee);
  const me = await call(app, 'GET', '/users/me', ben.token);
  assert.equal(me.json.show_presence, true);
  const put = await call(app, 'PUT', '/users/me', ben.token, { show_presence: false });
  assert.equal(put.status, 200, put.text);
  assert.equal((await call(app, 'GET', '/users/me', ben.token)).json.show_presence, false);
  const annAgain = await connect(app, ann);
  await annAgain.wait((f) => f.type === 'presence' && f.user_id === dee.id, 'Dee online at Ann\'s new socket');
  await sleep(300);
  assert.deepEqual(annAgain.of('presence').filter((f) => f.user_id === ben.id), [], 'Ben\'s presence is hidden');
  await Promise.all([benWs.close(), cyWs.close(), annWs.close(), annAgain.close(), deeWs.close()]);
});
