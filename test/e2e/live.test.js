// Real time, from the outside: GET /ws with the `ws` client and with a raw socket for the
// frames `ws` will not send, GET /api/v1/events over raw HTTP and the `eventsource` client.
// Sign-in, tabs, resume and resync, presence between mutual contacts, close codes, token
// renewal, a reader that stops reading, and the gauges in /metrics.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const WebSocket = require('ws');
const { wsRefused } = require('./lib/ws');
const { startApp, request, assertError, sleep, sqlite } = require('./lib/app');

// Fast accounts, an instant demo responder, no rate limit in the way of many sign-ups.
const FAST = {
  PASSWORD_ITERATIONS: '1000', LLM_DEMO_DELAY_MS: '0', DB_SYNCHRONOUS: 'normal', CHAT_DAILY_LIMIT: '1000000',
  RATE_REGISTER_IP: 'off', RATE_LOGIN_IP: 'off', RATE_LOGIN_ACCOUNT: 'off',
};
const SLOW_QUEUE = 65536;
const TTL_S = 3; // tokens that end within seconds (whole seconds: a token lives TTL_S-1 to TTL_S s)
const RETENTION_S = 60; // the smallest EVENTS_RETENTION; the pruning job first runs a minute after start

let app; // most tests
let ttlApp; // ACCESS_TTL=3
let slowApp; // CONN_SEND_QUEUE_BYTES small
let retApp; // EVENTS_RETENTION=60, started first so that its pruning minute runs beside the other tests
let retStarted;
let retUser;
test.before(async () => {
  retStarted = Date.now();
  [retApp, app, ttlApp, slowApp] = await Promise.all([
    startApp({ env: { ...FAST, EVENTS_RETENTION: String(RETENTION_S) } }),
    startApp({ env: FAST }),
    startApp({ env: { ...FAST, ACCESS_TTL: String(TTL_S) } }),
    startApp({ env: { ...FAST, CONN_SEND_QUEUE_BYTES: String(SLOW_QUEUE) } }),
  ]);
  // two events, dated two hours back: the job's first run prunes them
  retUser = await register(retApp);
  await exchange(retApp, retUser, await newChat(retApp, retUser), 'soon pruned');
  const out = sqlite(path.join(retApp.dataDir, 'app.db'), "UPDATE events SET created_at = "
    + `strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-2 hours') WHERE stream = 'u:${retUser.id}'`);
  assert.equal(out.code, 0, out.stderr);
});
test.after(async () => {
  const ends = await Promise.all([app, ttlApp, slowApp, retApp].filter(Boolean).map((a) => a.stop()));
  for (const e of ends) assert.deepEqual(e, { code: 0, signal: null }, 'each server stops cleanly');
});

// ---- accounts, chats ----

let n = 0;
async function register(a, name = 'Live') {
  const r = await request(`${a.url}/api/v1/auth/register`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: `live-${process.pid}-${++n}@example.test`, password: 'correct horse', name }),
  });
  assert.equal(r.status, 201, r.text);
  return { id: r.json.user.id, token: r.json.access_token, refresh: r.json.refresh_token };
}
const call = (a, method, p, token, body) => request(`${a.url}/api/v1${p}`, {
  method, headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
  body: body === undefined ? undefined : JSON.stringify(body),
});
async function newChat(a, u) {
  const r = await call(a, 'POST', '/chats', u.token, {});
  assert.equal(r.status, 201, r.text);
  return r.json.id;
}
// One message answered whole by the demo responder: two chat.message events for u.
async function exchange(a, u, chatId, content) {
  const r = await call(a, 'POST', `/chats/${chatId}/messages`, u.token, { content });
  assert.equal(r.status, 201, r.text);
  return r.json;
}
async function contact(a, owner, other) {
  const r = await call(a, 'POST', '/users/contacts', owner.token, { user_id: other.id });
  assert.equal(r.status, 201, r.text);
}
const health = async (a) => (await request(`${a.url}/health`)).status;

// ---- waiting ----

// Polls cond until it is truthy (its value) or ms have passed (fails with what).
async function until(cond, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms: ${typeof what === 'function' ? what() : what}`);
    await sleep(20);
  }
}

// ---- WebSocket through the ws client ----

const wsUrl = (a, q = {}) => {
  const u = new URL(`${a.url.replace(/^http/, 'ws')}/ws`);
  for (const [k, v] of Object.entries(q)) if (v !== undefined) u.searchParams.set(k, String(v));
  return u.toString();
};

// Opens /ws with the token in Sec-WebSocket-Protocol (via 'protocol') or the query (via
// 'query'); resolves once open. Every JSON frame lands in c.frames; c.closed resolves to
// {code, reason} when the socket closes.
async function wsOpen(a, token, { via = 'protocol', since } = {}) {
  const url = wsUrl(a, { access_token: via === 'query' ? token : undefined, since });
  const ws = new WebSocket(url, via === 'protocol' ? ['bearer', token] : [], { handshakeTimeout: 10000 });
  const c = { ws, frames: [], errors: [], bad: [] };
  ws.on('message', (data, isBinary) => {
    if (isBinary) { c.bad.push('a binary frame'); return; }
    try { c.frames.push(JSON.parse(data.toString('utf8'))); } catch { c.bad.push(data.toString('utf8')); }
  });
  ws.on('error', (e) => c.errors.push(e));
  c.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  c.of = (type) => c.frames.filter((f) => f.type === type);
  c.ready = () => until(() => c.of('ready')[0], 10000, () => `a ready frame; got ${JSON.stringify(c.frames)}`);
  c.send = (obj) => ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
  c.isOpen = () => ws.readyState === WebSocket.OPEN;
  c.close = async () => {
    if (ws.readyState === WebSocket.CLOSED) return c.closed;
    ws.close(1000);
    const r = await Promise.race([c.closed, sleep(5000).then(() => null)]);
    if (!r) ws.terminate();
    return c.closed;
  };
  return c;
}
const openReady = async (a, token, opts) => {
  const c = await wsOpen(a, token, opts);
  await c.ready();
  return c;
};

// ---- WebSocket over a raw socket, for frames ws never sends ----

// Builds a client frame: masked unless told otherwise, FIN unless told otherwise.
function frame(opcode, payload, { fin = true, rsv = 0, mask = true, declared } = {}) {
  const body = Buffer.from(payload);
  const len = declared === undefined ? body.length : declared;
  let head;
  if (len < 126) head = Buffer.from([0, len]);
  else if (len < 65536) { head = Buffer.alloc(4); head[1] = 126; head.writeUInt16BE(len, 2); }
  else { head = Buffer.alloc(10); head[1] = 127; head.writeBigUInt64BE(BigInt(len), 2); }
  head[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  if (!mask) return Buffer.concat([head, body]);
  head[1] |= 0x80;
  const key = crypto.randomBytes(4);
  const masked = Buffer.alloc(body.length);
  for (let i = 0; i < body.length; i++) masked[i] = body[i] ^ key[i & 3];
  return Buffer.concat([head, key, masked]);
}

// Upgrades by hand; frames the server sends land in c.frames as {fin, op, masked, payload}.
async function rawWs(a, token) {
  const sock = net.connect(a.port, '127.0.0.1');
  await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
  const key = crypto.randomBytes(16).toString('base64');
  const c = { sock, head: null, frames: [], ended: false, error: null, bytes: 0, closeSent: false };
  let buf = Buffer.alloc(0);
  sock.on('data', (d) => {
    c.bytes += d.length;
    buf = Buffer.concat([buf, d]);
    if (c.head === null) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      c.head = buf.subarray(0, end).toString('latin1');
      buf = buf.subarray(end + 4);
    }
    for (;;) {
      if (buf.length < 2) return;
      let len = buf[1] & 0x7f;
      let at = 2;
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); at = 4; }
      else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); at = 10; }
      const masked = (buf[1] & 0x80) !== 0;
      if (masked) at += 4;
      if (buf.length < at + len) return;
      const f = { fin: (buf[0] & 0x80) !== 0, rsv: (buf[0] >> 4) & 7, op: buf[0] & 0x0f, masked,
        payload: Buffer.from(buf.subarray(at, at + len)) };
      c.frames.push(f);
      buf = buf.subarray(at + len);
      // a client answers the server's Close with its own (RFC 6455 section 5.5.1)
      if (f.op === 8 && !c.closeSent && !sock.destroyed) {
        c.closeSent = true;
        sock.write(frame(8, f.payload.subarray(0, 2)));
      }
    }
  });
  sock.on('error', (e) => { c.error = e; });
  sock.on('close', () => { c.ended = true; });
  sock.write(`GET /ws?access_token=${token} HTTP/1.1\r\nHost: 127.0.0.1:${a.port}\r\nUpgrade: websocket\r\n`
    + `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  await until(() => c.head !== null || c.ended, 10000, 'the upgrade response');
  assert.match(c.head || '', /^HTTP\/1\.1 101 /, `upgrade answer: ${c.head}`);
  const accept = crypto.createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  assert.match(c.head, new RegExp(`\\r\\nsec-websocket-accept: *${accept.replace(/[+/=]/g, '\\$&')}\\r?$`, 'im'));
  c.write = (bytes) => new Promise((resolve) => {
    if (sock.destroyed) { resolve(false); return; }
    sock.write(bytes, (e) => resolve(!e));
  });
  c.sendClose = (code) => {
    c.closeSent = true;
    const p = Buffer.alloc(2);
    p.writeUInt16BE(code);
    return c.write(frame(8, p));
  };
  c.texts = () => c.frames.filter((f) => f.op === 1).map((f) => JSON.parse(f.payload.toString('utf8')));
  c.ready = () => until(() => c.texts().find((f) => f.type === 'ready'), 10000, 'a ready frame on the raw socket');
  // The close code the server sent, once it also closed the TCP connection.
  c.closeCode = async (ms = 10000) => {
    await until(() => c.ended, ms, () => `the server closing the connection (frames: ${c.frames.map((f) => f.op)})`);
    const cl = c.frames.find((f) => f.op === 8);
    assert.ok(cl, `a close frame before the connection closed; error: ${c.error && c.error.code}`);
    assert.equal(cl.masked, false, 'server frames are never masked');
    assert.ok(cl.payload.length >= 2, 'the close frame carries a code');
    return cl.payload.readUInt16BE(0);
  };
  return c;
}

// ---- SSE ----

// GET /api/v1/events over raw HTTP; c.events gets {id, event, data} (id null when absent).
function sseOpen(a, token, { via = 'header', since, lastEventId } = {}) {
  const u = new URL(`${a.url}/api/v1/events`);
  if (via === 'query') u.searchParams.set('access_token', token);
  if (since !== undefined) u.searchParams.set('since', String(since));
  const headers = { Accept: 'text/event-stream' };
  if (via === 'header') headers.Authorization = `Bearer ${token}`;
  if (lastEventId !== undefined) headers['Last-Event-ID'] = String(lastEventId);
  const c = { events: [], raw: '', status: null, headers: null, ended: false };
  let pending = '';
  c.req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, agent: false, headers }, (res) => {
    c.status = res.statusCode;
    c.headers = res.headers;
    res.setEncoding('utf8');
    res.on('data', (d) => {
      c.raw += d;
      pending += d.replace(/\r\n?/g, '\n');
      let i;
      while ((i = pending.indexOf('\n\n')) >= 0) {
        const block = pending.slice(0, i);
        pending = pending.slice(i + 2);
        const ev = { id: null, event: 'message', data: [] };
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const [, field, value] = /^([^:]*):? ?(.*)$/.exec(line);
          if (field === 'id') ev.id = value;
          else if (field === 'event') ev.event = value;
          else if (field === 'data') ev.data.push(value);
        }
        if (ev.data.length) c.events.push({ ...ev, data: JSON.parse(ev.data.join('\n')) });
      }
    });
    res.on('end', () => { c.ended = true; });
    res.on('error', () => { c.ended = true; });
  });
  c.req.on('error', () => { c.ended = true; });
  c.req.end();
  c.of = (type) => c.events.filter((e) => e.event === type);
  c.ready = () => until(() => c.of('ready')[0], 10000, () => `SSE ready; status ${c.status}, got ${c.raw.slice(0, 300)}`);
  c.close = () => c.req.destroy();
  return c;
}

// ---- /metrics ----

async function metric(a, name) {
  const r = await request(`${a.url}/metrics`);
  assert.equal(r.status, 200);
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(r.text);
  assert.ok(m, `${name} in /metrics`);
  return Number(m[1]);
}

// The token with one character of its signature changed.
const tampered = (token) => {
  const at = token.lastIndexOf('.') + 10;
  return token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1);
};
const chatMessages = (frames) => frames.filter((f) => f.type === 'chat.message');
const seqs = (frames) => frames.map((f) => f.seq);
const range = (from, count) => Array.from({ length: count }, (_, i) => from + i);

// ================================================================================================

test('/ws: no token or a bad one is 401 before any upgrade; bearer subprotocol and ?access_token= both sign in', async () => {
  const u = await register(app);
  for (const [url, protocols] of [
    [wsUrl(app), []],
    [wsUrl(app), ['bearer', 'not.a.token']],
    [wsUrl(app, { access_token: 'not.a.token' }), []],
    [wsUrl(app, { access_token: `${u.token}x` }), []],
    [wsUrl(app), ['bearer', tampered(u.token)]],
  ]) {
    const r = await wsRefused(url, protocols);
    assertError(assert, r, 401, 'unauthorized');
  }
  // the subprotocol: the server answers "bearer" and says ready with the head of an empty log
  const viaProto = await wsOpen(app, u.token, { via: 'protocol' });
  assert.equal(viaProto.ws.protocol, 'bearer');
  assert.deepEqual(await viaProto.ready(), { type: 'ready', seq: 0 });
  // the query
  const viaQuery = await wsOpen(app, u.token, { via: 'query' });
  assert.deepEqual(await viaQuery.ready(), { type: 'ready', seq: 0 });
  // a ping is answered
  const pong = new Promise((resolve) => viaQuery.ws.once('pong', (d) => resolve(d.toString())));
  viaQuery.ws.ping('are you there');
  assert.equal(await Promise.race([pong, sleep(5000).then(() => 'no pong')]), 'are you there');
  // a normal close is answered with a normal close
  assert.equal((await viaProto.close()).code, 1000);
  assert.equal((await viaQuery.close()).code, 1000);
  assert.deepEqual(viaProto.bad, []);
  // a plain GET is no upgrade: 400 or 426, as a JSON error
  const plain = await request(`${app.url}/ws`, { headers: { Authorization: `Bearer ${u.token}` } });
  assert.ok([400, 426].includes(plain.status), `plain GET /ws: ${plain.status} ${plain.text}`);
  assert.match(plain.headers.get('content-type') || '', /^application\/json/);
  // a wrong version is 426 naming the one spoken
  const s = net.connect(app.port, '127.0.0.1');
  let got = '';
  s.on('data', (d) => { got += d.toString('latin1'); });
  s.on('error', () => {});
  s.write(`GET /ws?access_token=${u.token} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
    + `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 8\r\n\r\n`);
  await until(() => got.includes('\r\n\r\n'), 10000, 'an answer to version 8');
  s.destroy();
  assert.match(got, /^HTTP\/1\.1 426 /);
  assert.match(got, /\r\nsec-websocket-version: *13\r\n/i);
});

test('client frames: bad JSON and unknown types get an error frame and the socket stays; subscribe to a topic is forbidden', async () => {
  const u = await register(app);
  const c = await openReady(app, u.token);
  c.send('{not json');
  await until(() => c.of('error').length === 1, 5000, 'an error frame for bad JSON');
  c.send({ type: 'no.such.type' });
  await until(() => c.of('error').length === 2, 5000, 'an error frame for an unknown type');
  for (const e of c.of('error')) {
    assert.equal(e.code, 'invalid_input');
    assert.equal(typeof e.message, 'string');
  }
  c.send({ type: 'subscribe', topic: 'tickets', since: 0 });
  await until(() => c.of('error').length === 3, 5000, 'an error frame for subscribe');
  assert.equal(c.of('error')[2].code, 'forbidden');
  assert.ok(c.isOpen(), 'the socket is still open');
  // and it still delivers
  await exchange(app, u, await newChat(app, u), 'still here?');
  await until(() => chatMessages(c.frames).length === 2, 10000, 'two chat.message frames');
  await c.close();
});

test('a second tab: both sockets of a user get the user\'s and the assistant\'s chat.message, another user gets nothing', async () => {
  const u = await register(app);
  const other = await register(app);
  const chatId = await newChat(app, u);
  await exchange(app, u, chatId, 'before the tabs'); // seq 1 and 2
  const tab1 = await openReady(app, u.token);
  const tab2 = await openReady(app, u.token, { via: 'query' });
  const stranger = await openReady(app, other.token);
  assert.equal(tab1.of('ready')[0].seq, 2);
  assert.equal(tab2.of('ready')[0].seq, 2);
  const r = await exchange(app, u, chatId, 'hello from tab 1');
  for (const tab of [tab1, tab2]) {
    await until(() => chatMessages(tab.frames).length === 2, 10000, () => `two chat.message; got ${JSON.stringify(tab.frames)}`);
    const [mine, reply] = chatMessages(tab.frames);
    assert.deepEqual(seqs([mine, reply]), [3, 4], 'seq goes on from the head, one by one');
    assert.equal(mine.chat_id, chatId);
    assert.equal(mine.message.role, 'user');
    assert.equal(mine.message.content, 'hello from tab 1');
    assert.equal(mine.message.id, r.user_message.id);
    assert.equal(reply.chat_id, chatId);
    assert.equal(reply.message.role, 'assistant');
    assert.equal(reply.message.id, r.message.id);
    assert.equal(reply.message.content, r.message.content);
    assert.equal(reply.message.status, 'complete');
    for (const m of [mine, reply]) assert.deepEqual(Object.keys(m.message).sort(), ['content', 'created_at', 'id', 'role', 'status']);
    // ready first, then exactly these two
    assert.deepEqual(tab.frames.map((f) => f.type), ['ready', 'chat.message', 'chat.message']);
  }
  await sleep(300);
  assert.deepEqual(stranger.frames, [{ type: 'ready', seq: 0 }], 'another user\'s socket hears nothing');
  await Promise.all([tab1.close(), tab2.close(), stranger.close()]);
});

test('resume loses nothing: 100 events while away come back in order after ?since=, then ready; the same over SSE', async () => {
  const u = await register(app);
  const chatId = await newChat(app, u);
  await exchange(app, u, chatId, 'first'); // seq 1, 2
  const before = await openReady(app, u.token);
  const since = before.of('ready')[0].seq;
  assert.equal(since, 2);
  await before.close();
  const sent = [];
  for (let i = 0; i < 50; i++) {
    const content = `away ${i}`;
    const r = await exchange(app, u, chatId, content);
    sent.push(r.user_message.id, r.message.id);
  }
  const check = (frames, label) => {
    const cm = chatMessages(frames);
    assert.equal(cm.length, 100, `${label}: 100 chat.message`);
    assert.deepEqual(seqs(cm), range(since + 1, 100), `${label}: seq in order, none missing, none twice`);
    assert.deepEqual(cm.map((f) => f.message.id), sent, `${label}: the messages, in the order stored`);
    for (let i = 0; i < 100; i++) {
      assert.equal(cm[i].message.role, i % 2 ? 'assistant' : 'user');
      if (i % 2 === 0) assert.equal(cm[i].message.content, `away ${i / 2}`);
    }
  };
  // WebSocket
  const back = await wsOpen(app, u.token, { since });
  await back.ready();
  await sleep(200);
  assert.deepEqual(back.frames.at(-1), { type: 'ready', seq: since + 100 }, 'ready comes last, with the head');
  assert.equal(back.frames.length, 101, 'the replay and ready, nothing else');
  check(back.frames.slice(0, 100), 'ws');
  await back.close();
  // SSE, Last-Event-ID
  const s1 = sseOpen(app, u.token, { lastEventId: since });
  await s1.ready();
  assert.equal(s1.status, 200);
  assert.match(s1.headers['content-type'], /^text\/event-stream/);
  assert.deepEqual(s1.events.map((e) => e.event), [...Array(100).fill('chat.message'), 'ready']);
  check(s1.events.slice(0, 100).map((e) => e.data), 'sse Last-Event-ID');
  for (const e of s1.events.slice(0, 100)) {
    assert.equal(e.id, String(e.data.seq), 'id: is the seq');
    assert.equal(e.data.type, 'chat.message', 'the data is the same JSON as over /ws');
  }
  assert.deepEqual(s1.of('ready')[0].data, { type: 'ready', seq: since + 100 });
  assert.equal(s1.of('ready')[0].id, null, 'ready carries no id');
  s1.close();
  // SSE, ?since= with the token in the query
  const s2 = sseOpen(app, u.token, { via: 'query', since: since + 98 });
  await s2.ready();
  assert.deepEqual(s2.events.map((e) => [e.id, e.event]),
    [[String(since + 99), 'chat.message'], [String(since + 100), 'chat.message'], [null, 'ready']]);
  s2.close();
  // the eventsource client, resuming from ?since= and going on live
  const { EventSource } = await import('eventsource');
  const es = new EventSource(`${app.url}/api/v1/events?since=${since + 99}&access_token=${u.token}`);
  const got = [];
  es.addEventListener('chat.message', (e) => got.push({ id: e.lastEventId, data: JSON.parse(e.data) }));
  let ready = null;
  es.addEventListener('ready', (e) => { ready = JSON.parse(e.data); });
  try {
    await until(() => ready, 10000, 'ready over eventsource');
    assert.deepEqual(ready, { type: 'ready', seq: since + 100 });
    await exchange(app, u, chatId, 'live after the replay');
    await until(() => got.length === 3, 10000, () => `three chat.message over eventsource; got ${got.length}`);
    assert.deepEqual(got.map((e) => e.id), [since + 100, since + 101, since + 102].map(String));
    assert.deepEqual(got.map((e) => e.data.seq), [since + 100, since + 101, since + 102]);
    assert.equal(got[1].data.message.content, 'live after the replay');
  } finally {
    es.close();
  }
});

test('resume while events keep coming: replay, ready and live frames join with no gap and no repeat', async () => {
  const u = await register(app);
  const chatId = await newChat(app, u);
  let posted = 0;
  const writer = (async () => {
    for (let i = 0; i < 30; i++) { await exchange(app, u, chatId, `busy ${i}`); posted++; }
  })();
  await until(() => posted >= 5, 10000, 'a few exchanges posted');
  const c = await wsOpen(app, u.token, { since: 0 });
  await writer;
  await until(() => chatMessages(c.frames).length >= 60, 10000,
    () => `60 chat.message; got ${chatMessages(c.frames).length}`);
  await sleep(200);
  assert.deepEqual(seqs(chatMessages(c.frames)), range(1, 60));
  const readyAt = c.frames.findIndex((f) => f.type === 'ready');
  assert.equal(c.of('ready').length, 1);
  const ready = c.frames[readyAt];
  assert.ok(ready.seq >= 10, `ready after the replay of what was there (${ready.seq})`);
  assert.ok(c.frames.slice(0, readyAt).every((f) => f.seq <= ready.seq), 'before ready: the replay, up to its seq');
  assert.ok(c.frames.slice(readyAt + 1).every((f) => f.seq > ready.seq), 'after ready: live frames only');
  await c.close();
});

test('resync: a since above the head gets resync then ready, over /ws and SSE', async () => {
  const u = await register(app);
  await exchange(app, u, await newChat(app, u), 'two events');
  const c = await wsOpen(app, u.token, { since: 1000 });
  await c.ready();
  await sleep(200);
  assert.deepEqual(c.frames, [{ type: 'resync', seq: 2 }, { type: 'ready', seq: 2 }]);
  await c.close();
  const s = sseOpen(app, u.token, { lastEventId: 1000 });
  await s.ready();
  assert.deepEqual(s.events.map((e) => [e.event, e.data]), [['resync', { type: 'resync', seq: 2 }], ['ready', { type: 'ready', seq: 2 }]]);
  s.close();
  // at the head exactly: nothing to replay, no resync
  const atHead = await wsOpen(app, u.token, { since: 2 });
  await atHead.ready();
  await sleep(200);
  assert.deepEqual(atHead.frames, [{ type: 'ready', seq: 2 }]);
  await atHead.close();
});

test('resync: a since below what was pruned gets resync (the pruning done by hand in the database, as the job does it)', async () => {
  const u = await register(app);
  const chatId = await newChat(app, u);
  await exchange(app, u, chatId, 'one');
  await exchange(app, u, chatId, 'two'); // seq 1..4
  const db = path.join(app.dataDir, 'app.db');
  const out = sqlite(db, `BEGIN; DELETE FROM events WHERE stream = 'u:${u.id}' AND seq <= 2; `
    + `UPDATE event_streams SET floor = 2 WHERE stream = 'u:${u.id}'; COMMIT;`);
  assert.equal(out.code, 0, out.stderr);
  for (const since of [0, 1]) {
    const c = await wsOpen(app, u.token, { since });
    await c.ready();
    await sleep(100);
    assert.deepEqual(c.frames, [{ type: 'resync', seq: 4 }, { type: 'ready', seq: 4 }], `since=${since}`);
    await c.close();
  }
  const kept = await wsOpen(app, u.token, { since: 2 });
  await kept.ready();
  await sleep(100);
  assert.deepEqual(kept.frames.map((f) => [f.type, f.seq]), [['chat.message', 3], ['chat.message', 4], ['ready', 4]]);
  await kept.close();
});

test('presence, typing and read pass between mutual contacts only', async () => {
  const A = await register(app, 'Ann');
  const B = await register(app, 'Ben');
  const C = await register(app, 'Cy');
  await contact(app, A, B);
  await contact(app, B, A);
  await contact(app, C, A); // one way: A does not have C
  const ephemeral = (f) => ['presence', 'typing', 'read'].includes(f.type);
  const b = await openReady(app, B.token);
  const bSse = sseOpen(app, B.token);
  await bSse.ready();
  const c = await openReady(app, C.token);
  assert.deepEqual(b.frames.filter(ephemeral), [], 'B alone: no presence yet');
  // A's first socket: B hears online; A hears B is online; C hears nothing
  const a1 = await openReady(app, A.token);
  await until(() => b.of('presence').length === 1, 5000, 'A online at B');
  assert.deepEqual(b.of('presence')[0], { type: 'presence', user_id: A.id, status: 'online', last_seen: null });
  await until(() => a1.of('presence').length === 1, 5000, 'B online at A');
  assert.deepEqual(a1.of('presence')[0], { type: 'presence', user_id: B.id, status: 'online', last_seen: null });
  // A's second tab: told about B too; B is not told A came online again
  const a2 = await openReady(app, A.token);
  await until(() => a2.of('presence').length === 1, 5000, 'B online at A\'s second tab');
  assert.equal(a2.of('presence')[0].user_id, B.id);
  // typing and read from A reach B, on every connection of B's
  a1.send({ type: 'typing', to: B.id });
  a1.send({ type: 'read', to: B.id, message_id: 'm-42' });
  await until(() => b.of('typing').length === 1 && b.of('read').length === 1, 5000, 'typing and read at B');
  assert.deepEqual(b.of('typing')[0], { type: 'typing', from: A.id, to: B.id });
  assert.deepEqual(b.of('read')[0], { type: 'read', from: A.id, message_id: 'm-42' });
  await until(() => bSse.of('typing').length === 1 && bSse.of('read').length === 1, 5000, 'typing and read over B\'s SSE');
  assert.equal(bSse.of('typing')[0].id, null, 'ephemeral events carry no id:');
  assert.deepEqual(bSse.of('typing')[0].data, { type: 'typing', from: A.id, to: B.id });
  // A to C, C to A: one-way contacts, nothing passes
  a1.send({ type: 'typing', to: C.id });
  a1.send({ type: 'read', to: C.id, message_id: 'm-43' });
  c.send({ type: 'typing', to: A.id });
  c.send({ type: 'read', to: A.id, message_id: 'm-44' });
  // B as a barrier: what A sends after reaches B, so what A sent before was handled
  a1.send({ type: 'typing', to: B.id });
  await until(() => b.of('typing').length === 2, 5000, 'the second typing at B');
  await sleep(300);
  // A's second tab closes: still online; the last one closes: B hears offline with last_seen
  await a2.close();
  await sleep(300);
  assert.equal(b.of('presence').length, 1, 'no offline while A still has a tab open');
  await a1.close();
  await until(() => b.of('presence').length === 2, 5000, 'A offline at B');
  const off = b.of('presence')[1];
  assert.equal(off.user_id, A.id);
  assert.equal(off.status, 'offline');
  assert.match(off.last_seen, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  assert.ok(Math.abs(Date.parse(off.last_seen) - Date.now()) < 60000, `last_seen ${off.last_seen} is about now`);
  await sleep(200);
  assert.deepEqual(c.frames.filter(ephemeral), [], 'C heard nothing of A');
  for (const tab of [a1, a2])
    assert.deepEqual(tab.frames.filter((f) => f.from === C.id), [], 'A heard nothing from C');
  assert.deepEqual(b.frames.filter((f) => f.type !== 'ready').every((f) => !('seq' in f)), true, 'ephemeral frames carry no seq');
  for (const f of [...b.frames, ...c.frames, ...a1.frames, ...a2.frames]) {
    if (f.type === 'typing') assert.equal(f.to, B.id, 'only typing to B was delivered');
    if (f.type === 'read') assert.notEqual(f.message_id, 'm-43');
  }
  await Promise.all([b.close(), c.close()]);
  bSse.close();
});

test('protocol errors: unmasked 1002, reserved bit 1002, unknown opcode 1002, bad UTF-8 1007, over 1 MiB 1009; the server stays healthy', async () => {
  const u = await register(app);
  const cases = [
    ['an unmasked frame', 1002, [frame(1, '{"type":"typing"}', { mask: false })]],
    ['a reserved bit', 1002, [frame(1, '{}', { rsv: 4 })]],
    ['an unknown data opcode', 1002, [frame(3, 'hi')]],
    ['an unknown control opcode', 1002, [frame(0xb, 'hi')]],
    ['text that is not UTF-8', 1007, [frame(1, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))]],
    ['a UTF-8 sequence cut short across fragments', 1007,
      [frame(1, Buffer.from([0x22, 0xe2, 0x82]), { fin: false }), frame(0, Buffer.from([0x22]))]],
    ['a frame whose header says 2 MiB', 1009, [frame(1, '', { declared: 2 << 20 })]],
    ['fragments adding up to 1 MiB and one byte', 1009,
      [frame(1, Buffer.alloc(1 << 20, 0x61), { fin: false }), 'pause', frame(0, 'a')]],
  ];
  for (const [what, code, parts] of cases) {
    const c = await rawWs(app, u.token);
    await c.ready();
    for (const p of parts) {
      if (p === 'pause') await sleep(300); // let the server take the first fragment whole
      else await c.write(p);
    }
    assert.equal(await c.closeCode(), code, what);
    c.sock.destroy();
    assert.equal(await health(app), 200, `healthy after ${what}`);
  }
  // the limits' other side: a 1 MiB message in fragments, and UTF-8 cut across them, are fine
  const c = await rawWs(app, u.token);
  await c.ready();
  const [open, close] = ['{"type":"nope","pad":"', '"}'];
  const big = `${open}${'x'.repeat((1 << 20) - open.length - close.length)}${close}`;
  assert.equal(Buffer.byteLength(big), 1 << 20);
  await c.write(frame(1, big.slice(0, 500000), { fin: false }));
  await c.write(frame(0, big.slice(500000)));
  const euro = Buffer.from('{"type":"nope","v":"€"}');
  const cut = euro.indexOf(0xe2) + 1;
  await c.write(Buffer.concat([frame(1, euro.subarray(0, cut), { fin: false }), frame(9, 'ping in between'),
    frame(0, euro.subarray(cut))]));
  await until(() => c.texts().filter((f) => f.type === 'error').length === 2, 10000,
    () => `two error frames; got ${JSON.stringify(c.texts())}`);
  assert.ok(c.texts().filter((f) => f.type === 'error').every((f) => f.code === 'invalid_input'));
  const pong = c.frames.find((f) => f.op === 10);
  assert.ok(pong, 'a ping between fragments is answered');
  assert.equal(pong.payload.toString(), 'ping in between');
  assert.equal(c.ended, false, 'still open');
  await c.sendClose(1000);
  assert.equal(await c.closeCode(), 1000);
  assert.equal(await health(app), 200);
});

test('auth renewal: a socket that renews outlives its first token; one that does not is closed with 1008', async () => {
  const u = await register(ttlApp);
  let refresh = u.refresh;
  const fresh = async () => {
    const r = await call(ttlApp, 'POST', '/auth/refresh', null, { refresh_token: refresh });
    assert.equal(r.status, 200, r.text);
    refresh = r.json.refresh_token;
    return r.json.access_token;
  };
  const opened = Date.now();
  const renewing = await openReady(ttlApp, await fresh());
  const lapsing = await openReady(ttlApp, await fresh());
  const sse = sseOpen(ttlApp, await fresh());
  await sse.ready();
  let renewals = 0;
  let stop = false;
  const renewer = (async () => {
    while (!stop) {
      const t = await fresh();
      if (stop) break;
      renewing.send({ type: 'auth', access_token: t });
      renewals++;
      await sleep(500);
    }
  })();
  try {
    const closed = await Promise.race([lapsing.closed, sleep(10000).then(() => null)]);
    assert.ok(closed, 'the socket without renewal was closed within 10 s');
    assert.equal(closed.code, 1008);
    await until(() => sse.ended, 10000, 'the SSE stream ending with its token');
    // past two whole lifetimes: every token the socket had at first has expired
    const left = (2 * TTL_S + 1) * 1000 - (Date.now() - opened);
    if (left > 0) await sleep(left);
    assert.ok(renewing.isOpen(), `the renewing socket is open after ${Date.now() - opened} ms and ${renewals} renewals`);
    assert.deepEqual(renewing.of('error'), [], 'a good auth frame is answered with nothing');
  } finally {
    stop = true;
    await renewer;
  }
  // a bad token in auth: an error frame, then 1008
  renewing.send({ type: 'auth', access_token: 'not.a.token' });
  const end = await Promise.race([renewing.closed, sleep(10000).then(() => null)]);
  assert.ok(end, 'closed after a bad auth frame');
  assert.equal(end.code, 1008);
  assert.equal(renewing.of('error').length, 1, 'an error frame before the close');
  // an expired token cannot connect at all
  const old = await fresh();
  await sleep(TTL_S * 1000 + 1500);
  assertError(assert, await wsRefused(wsUrl(ttlApp), ['bearer', old]), 401, 'unauthorized');
  assertError(assert, await request(`${ttlApp.url}/api/v1/events`, { headers: { Authorization: `Bearer ${old}` } }),
    401, 'unauthorized');
});

test('a reader that stops reading is dropped; the server stays healthy and the user\'s other socket gets everything', async (t) => {
  const u = await register(slowApp);
  const chatId = await newChat(slowApp, u);
  const wsBase = await metric(slowApp, 'ws_open');
  const droppedBase = await metric(slowApp, 'events_dropped_total');
  const normal = await openReady(slowApp, u.token);
  const slow = await rawWs(slowApp, u.token);
  await slow.ready();
  slow.sock.pause(); // never reads again
  await until(async () => (await metric(slowApp, 'ws_open')) === wsBase + 2, 5000, 'two sockets open');
  // control characters are escaped \u00XX in JSON: each user message is ~192 KB on the wire
  const content = '\u0001'.repeat(32000);
  let exchanges = 0;
  let dropped = false;
  while (exchanges < 300 && !dropped) {
    await exchange(slowApp, u, chatId, content);
    exchanges++;
    if (exchanges % 5 === 0) dropped = (await metric(slowApp, 'ws_open')) === wsBase + 1;
  }
  assert.ok(dropped, `the slow socket was dropped after at most ${exchanges} exchanges (~${exchanges * 192} KB)`);
  assert.equal(await health(slowApp), 200);
  // the slow client, reading again, finds the connection closed before everything
  slow.sock.resume();
  await until(() => slow.ended, 10000, 'the slow socket being closed');
  const slowGot = slow.frames.filter((f) => f.op === 1).length;
  t.diagnostic(`dropped after ${exchanges} exchanges; the slow socket had taken ${slowGot} frames, ${slow.bytes} bytes`);
  assert.ok(slowGot < 2 * exchanges, `the slow socket got ${slowGot} of ${2 * exchanges} frames`);
  // the other socket of the same user got all of them, and still gets new ones
  await exchange(slowApp, u, chatId, 'after the drop');
  const total = 2 * exchanges + 2;
  await until(() => chatMessages(normal.frames).length === total, 20000,
    () => `all ${total} chat.message on the normal socket; got ${chatMessages(normal.frames).length}`);
  assert.deepEqual(seqs(chatMessages(normal.frames)), range(1, total));
  assert.ok(normal.isOpen());
  assert.ok((await metric(slowApp, 'events_dropped_total')) > droppedBase, 'events_dropped_total counts what was dropped');
  await normal.close();
  assert.equal(await health(slowApp), 200);
});

test('/metrics: ws_open and sse_open go up and down; events_published_total and connections_refused_total are there', async () => {
  const u = await register(app);
  const ws0 = await metric(app, 'ws_open');
  const sse0 = await metric(app, 'sse_open');
  const pub0 = await metric(app, 'events_published_total');
  assert.equal(typeof (await metric(app, 'connections_refused_total')), 'number');
  const w1 = await openReady(app, u.token);
  const w2 = await openReady(app, u.token, { via: 'query' });
  const s1 = sseOpen(app, u.token);
  await s1.ready();
  await until(async () => (await metric(app, 'ws_open')) === ws0 + 2 && (await metric(app, 'sse_open')) === sse0 + 1,
    5000, 'ws_open +2 and sse_open +1');
  await exchange(app, u, await newChat(app, u), 'count me');
  await until(async () => (await metric(app, 'events_published_total')) >= pub0 + 2, 5000, 'events_published_total +2');
  await w1.close();
  await until(async () => (await metric(app, 'ws_open')) === ws0 + 1, 5000, 'ws_open back by one');
  await w2.close();
  s1.close();
  await until(async () => (await metric(app, 'ws_open')) === ws0 && (await metric(app, 'sse_open')) === sse0,
    5000, 'ws_open and sse_open back where they were');
});

test('resync after retention: the pruning job (EVENTS_RETENTION=60) removes old events and their cursor resyncs', async () => {
  const db = path.join(retApp.dataDir, 'app.db');
  const floor = () => Number(sqlite(db, `SELECT floor FROM event_streams WHERE stream = 'u:${retUser.id}'`).stdout.trim());
  // the job's first run is a minute after the start
  await until(() => floor() === 2, Math.max(5000, retStarted + 80000 - Date.now()), 'the pruning job raising the floor to 2');
  const c = await wsOpen(retApp, retUser.token, { since: 1 });
  await c.ready();
  await sleep(100);
  assert.deepEqual(c.frames, [{ type: 'resync', seq: 2 }, { type: 'ready', seq: 2 }]);
  await c.close();
  const s = sseOpen(retApp, retUser.token, { lastEventId: 0 });
  await s.ready();
  assert.deepEqual(s.events.map((e) => e.event), ['resync', 'ready']);
  s.close();
});
