// LLM chat: sessions, messages, token streaming over SSE (raw HTTP and the eventsource
// client) from a fake OpenAI-compatible server that the official openai client accepts,
// cancellation when the client leaves, upstream failures, quotas, ownership, archive and
// delete, the compatibility route and the offline demo responder.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const path = require('node:path');
const { startApp, request, assertError, sleep, sqlite } = require('./lib/app');
const { startLlm } = require('./lib/llm');
const { sseReader } = require('./lib/sse');

const FAST = { PASSWORD_ITERATIONS: '1000', LLM_BREAKER_FAILURES: '1000', LLM_RETRIES: '1' };
let llm;
let app;
test.before(async () => {
  llm = await startLlm();
  app = await startApp({ env: { ...FAST, LLM_BASE_URL: llm.url, LLM_API_KEY: llm.apiKey, LLM_MODEL: 'fake-model' } });
});
test.after(async () => { if (app) await app.stop(); if (llm) await llm.stop(); });

let seq = 0;
const auth = (token) => (token ? { Authorization: `Bearer ${token}` } : {});
async function register(a = app) {
  const email = `chat-${process.pid}-${++seq}@example.test`;
  const r = await request(`${a.url}/api/v1/auth/register`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password: 'correct horse', name: 'Chatter' }),
  });
  assert.equal(r.status, 201, r.text);
  return { token: r.json.access_token, id: r.json.user.id };
}
const call = (a, method, path, token, body) => request(`${a.url}/api/v1${path}`, {
  method, headers: { ...auth(token), 'Content-Type': 'application/json' },
  body: body === undefined ? undefined : JSON.stringify(body),
});
async function newChat(token, body = {}, a = app) {
  const r = await call(a, 'POST', '/chats', token, body);
  assert.equal(r.status, 201, r.text);
  return r.json;
}

// Reads an SSE response over raw HTTP: every event with the time it arrived.
function sse(url, { method = 'GET', headers = {}, body } = {}) {
  const u = new URL(url);
  const events = [];
  const raw = { text: '' };
  let resolveEnd;
  const ended = new Promise((r) => { resolveEnd = r; });
  let firstResolve;
  const first = new Promise((r) => { firstResolve = r; });
  const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, agent: false,
    headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
    const feed = sseReader();
    res.setEncoding('utf8');
    res.on('data', (d) => {
      raw.text += d;
      for (const ev of feed(d)) {
        ev.at = Date.now();
        events.push(ev);
        if (ev.event === 'delta') firstResolve(ev);
      }
    });
    res.on('end', () => resolveEnd({ status: res.statusCode, headers: res.headers, events, raw: raw.text }));
    res.on('error', () => resolveEnd({ status: res.statusCode, headers: res.headers, events, aborted: true }));
  });
  req.on('error', () => resolveEnd({ status: 0, events, aborted: true }));
  req.end(body);
  return { events, ended, firstDelta: first, destroy: () => req.destroy() };
}
const post = (chatId, token, content, a = app) => sse(`${a.url}/api/v1/chats/${chatId}/messages`, {
  method: 'POST', headers: { ...auth(token), 'Content-Type': 'application/json' }, body: JSON.stringify({ content }),
});
const texts = (events) => events.filter((e) => e.event === 'delta').map((e) => e.data.text).join('');
const messages = async (chatId, token) => (await call(app, 'GET', `/chats/${chatId}/messages`, token)).json.items;

test('the fake model server speaks OpenAI\'s streaming format: the official openai client reads it', async () => {
  const { default: OpenAI } = await import('openai');
  const client = new OpenAI({ baseURL: llm.url, apiKey: llm.apiKey, maxRetries: 0 });
  llm.next({ chunks: ['Str', 'eam', 'ed'], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } });
  const stream = await client.chat.completions.create({
    model: 'fake-model', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true },
  });
  let text = '';
  let usage = null;
  let finish = null;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text += c.delta.content || '';
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.equal(text, 'Streamed');
  assert.equal(finish, 'stop');
  assert.deepEqual(usage, { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
  llm.next({ status: 429 });
  await assert.rejects(client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }], stream: true }),
    (e) => e.status === 429);
});

test('a streamed reply: deltas arrive before the model finishes and add up to the stored reply', async () => {
  const me = await register();
  const chat = await newChat(me.token, { system_prompt: 'You are terse.' });
  llm.reset();
  llm.next({ chunks: ['One', ' two', ' three', ' four'], delayMs: 300, usage: { prompt_tokens: 21, completion_tokens: 4, total_tokens: 25 } });
  const s = post(chat.id, me.token, 'Count to four');
  const r = await s.ended;
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'], /^text\/event-stream/);
  const [first] = r.events;
  assert.equal(first.event, 'message');
  assert.equal(first.data.role, 'user');
  const deltas = r.events.filter((e) => e.event === 'delta');
  assert.equal(deltas.length, 4);
  const upstream = llm.requests[0];
  // the first delta reached us while the model was still producing the rest
  assert.ok(deltas[0].at < upstream.sent[3].at, `first delta at ${deltas[0].at}, last chunk sent at ${upstream.sent[3].at}`);
  for (let i = 0; i < 4; i++) {
    const lag = deltas[i].at - upstream.sent[i].at;
    assert.ok(lag < 150, `delta ${i} arrived ${lag} ms after the model sent it`);
  }
  const done = r.events[r.events.length - 1];
  assert.equal(done.event, 'done');
  assert.deepEqual(done.data.usage, { prompt_tokens: 21, completion_tokens: 4 });
  assert.match(r.raw, /^:\n/m, 'comment lines keep the stream alive while the model is silent');
  const stored = await messages(chat.id, me.token);
  assert.equal(stored.length, 2);
  assert.equal(stored[0].role, 'user');
  assert.equal(stored[0].content, 'Count to four');
  assert.equal(stored[1].id, done.data.message_id);
  assert.equal(stored[1].content, texts(r.events));
  assert.equal(stored[1].content, 'One two three four');
  assert.equal(stored[1].status, 'complete');
  assert.deepEqual(stored[1].usage, { prompt_tokens: 21, completion_tokens: 4 });
  // what the model was sent
  assert.equal(upstream.headers.authorization, `Bearer ${llm.apiKey}`);
  assert.equal(upstream.body.model, 'fake-model');
  assert.equal(upstream.body.stream, true);
  assert.deepEqual(upstream.body.stream_options, { include_usage: true });
  assert.deepEqual(upstream.body.messages, [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Count to four' }]);
  // the chat is named after the first message; history goes along next time
  const c = (await call(app, 'GET', `/chats/${chat.id}`, me.token)).json;
  assert.equal(c.title, 'Count to four');
  llm.next({ chunks: ['Five'] });
  await post(chat.id, me.token, 'And next?').ended;
  assert.deepEqual(llm.requests[1].body.messages.map((m) => m.content),
    ['You are terse.', 'Count to four', 'One two three four', 'And next?']);
});

test('without Accept: text/event-stream the reply comes whole as JSON', async () => {
  const me = await register();
  const chat = await newChat(me.token);
  llm.next({ chunks: ['Whole', ' reply'] });
  const r = await call(app, 'POST', `/chats/${chat.id}/messages`, me.token, { content: 'hello' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.user_message.content, 'hello');
  assert.equal(r.json.message.role, 'assistant');
  assert.equal(r.json.message.content, 'Whole reply');
  assert.equal(r.json.message.status, 'complete');
  assertError(assert, await call(app, 'POST', `/chats/${chat.id}/messages`, me.token, { content: '' }), 400, 'invalid_input');
  assertError(assert, await call(app, 'POST', `/chats/${chat.id}/messages`, me.token, { content: 5 }), 400, 'invalid_input');
  assertError(assert, await call(app, 'POST', `/chats/${chat.id}/messages`, me.token, {}), 400, 'invalid_input');
  assertError(assert, await call(app, 'POST', `/chats/${chat.id}/messages`, me.token, { content: 'x'.repeat(32001) }), 400, 'invalid_input');
});

test('each stored message, the user\'s and then the reply, is a chat.message event in its owner\'s log', async () => {
  const me = await register();
  const chat = await newChat(me.token);
  llm.next({ chunks: ['Logged', ' reply'] });
  const r = await call(app, 'POST', `/chats/${chat.id}/messages`, me.token, { content: 'log me' });
  assert.equal(r.status, 201, r.text);
  const out = sqlite(path.join(app.dataDir, 'app.db'),
    `SELECT seq, type, data FROM events WHERE stream = 'u:${me.id}' ORDER BY seq`);
  assert.equal(out.code, 0, out.stderr);
  const rows = out.stdout.trim().split('\n').map((line) => {
    const [seq, type, ...data] = line.split('|');
    return { seq: Number(seq), type, data: JSON.parse(data.join('|')) };
  });
  assert.deepEqual(rows.map((e) => [e.seq, e.type]), [[1, 'chat.message'], [2, 'chat.message']]);
  const shown = (m) => ({ id: m.id, role: m.role, content: m.content, status: m.status, created_at: m.created_at });
  assert.deepEqual(rows[0].data, { chat_id: chat.id, message: shown(r.json.user_message) });
  assert.deepEqual(rows[1].data, { chat_id: chat.id, message: shown(r.json.message) });
  assert.equal(rows[1].data.message.content, 'Logged reply');
});

test('the eventsource client streams GET /stream/chat/{id}?message= with the token in the query', async () => {
  const { EventSource } = await import('eventsource');
  const me = await register();
  const chat = await newChat(me.token);
  llm.next({ chunks: ['Event', 'Source', ' works'], delayMs: 20 });
  const url = `${app.url}/api/v1/stream/chat/${chat.id}?message=${encodeURIComponent('héllo there')}&access_token=${me.token}`;
  const got = await new Promise((resolve, reject) => {
    const es = new EventSource(url);
    const seen = { message: [], delta: [], done: [] };
    es.addEventListener('message', (e) => seen.message.push(JSON.parse(e.data)));
    es.addEventListener('delta', (e) => seen.delta.push(JSON.parse(e.data).text));
    es.addEventListener('done', (e) => { seen.done.push(JSON.parse(e.data)); es.close(); resolve(seen); });
    es.addEventListener('error', (e) => { es.close(); reject(new Error(`eventsource error ${e.message || ''}`)); });
  });
  assert.equal(got.message[0].content, 'héllo there');
  assert.deepEqual(got.delta, ['Event', 'Source', ' works']);
  const stored = await messages(chat.id, me.token);
  assert.equal(stored[1].id, got.done[0].message_id);
  assert.equal(stored[1].content, 'EventSource works');
  assertError(assert, await request(`${app.url}/api/v1/stream/chat/${chat.id}?message=x`), 401, 'unauthorized');
  assertError(assert, await request(`${app.url}/api/v1/stream/chat/${chat.id}?access_token=${me.token}`), 400, 'invalid_input');
});

test('a client that goes away cancels the model call within a second and keeps the partial reply', async () => {
  const me = await register();
  const chat = await newChat(me.token);
  llm.reset();
  llm.next({ chunks: Array.from({ length: 50 }, (_, i) => `w${i} `), delayMs: 200 });
  const s = post(chat.id, me.token, 'Talk for a long time');
  await s.firstDelta;
  await sleep(450);
  const leftAt = Date.now();
  s.destroy();
  const rec = llm.requests[0];
  for (let i = 0; i < 40 && !rec.closedEarly; i++) await sleep(50);
  assert.ok(rec.closedEarly, 'the upstream connection was closed');
  const lag = rec.closedAt - leftAt;
  assert.ok(lag < 1000, `upstream closed ${lag} ms after the client left`);
  let stored;
  for (let i = 0; i < 40; i++) {
    stored = await messages(chat.id, me.token);
    if (stored.length === 2) break;
    await sleep(50);
  }
  assert.equal(stored.length, 2);
  assert.equal(stored[1].status, 'incomplete');
  const sentText = rec.sent.map((x) => x.text).join('');
  assert.ok(stored[1].content.length > 0);
  assert.ok(sentText.startsWith(stored[1].content), `${JSON.stringify(stored[1].content)} is a prefix of what the model sent`);
  assert.ok(rec.sent.length < 20, 'the model stopped early');
});

test('a reply cut short keeps its place in the history: before what the user said while it streamed', async () => {
  const me = await register();
  const chat = await newChat(me.token);
  llm.reset();
  llm.next({ chunks: Array.from({ length: 50 }, (_, i) => `w${i} `), delayMs: 150 }, { chunks: ['quick answer'] });
  const s = post(chat.id, me.token, 'first question');
  await s.firstDelta;
  const second = await call(app, 'POST', `/chats/${chat.id}/messages`, me.token, { content: 'second question' });
  assert.equal(second.status, 201, second.text);
  s.destroy();
  let stored;
  for (let i = 0; i < 60; i++) {
    stored = await messages(chat.id, me.token);
    if (stored.length === 4) break;
    await sleep(50);
  }
  assert.deepEqual(stored.map((m) => [m.role, m.status, m.role === 'user' ? m.content : null]), [
    ['user', 'complete', 'first question'], ['assistant', 'incomplete', null],
    ['user', 'complete', 'second question'], ['assistant', 'complete', null]]);
  assert.equal(stored[3].content, 'quick answer');
});

test('upstream failures become clear errors: 401, 429 and 500 after retries, malformed chunks, a cut stream, silence', async () => {
  const me = await register();
  const chat = await newChat(me.token);
  // errors before any text: JSON answers with the matching status
  llm.reset();
  llm.next({ status: 500 }, { status: 500 });
  assertError(assert, await call(app, 'POST', `/chats/${chat.id}/messages`, me.token, { content: 'a' }), 502, 'upstream_error');
  assert.equal(llm.requests.length, 2, 'one retry (LLM_RETRIES=1) before the first byte');
  llm.next({ status: 429 }, { status: 429 });
  assertError(assert, await call(app, 'POST', `/chats/${chat.id}/messages`, me.token, { content: 'b' }), 503, 'upstream_rate_limited');
  llm.next({ status: 500 }, { chunks: ['Recovered'] });
  const ok = await call(app, 'POST', `/chats/${chat.id}/messages`, me.token, { content: 'c' });
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.json.message.content, 'Recovered');
  // over SSE: an error event; text already produced is kept as incomplete
  llm.next({ chunks: ['Half', ' a', ' reply'], malformedAfter: 2 });
  let r = await post(chat.id, me.token, 'd').ended;
  let last = r.events[r.events.length - 1];
  assert.equal(last.event, 'error');
  assert.equal(last.data.code, 'upstream_malformed');
  assert.equal(texts(r.events), 'Half a');
  let stored = await messages(chat.id, me.token);
  assert.equal(stored[stored.length - 1].id, last.data.message_id);
  assert.equal(stored[stored.length - 1].content, 'Half a');
  assert.equal(stored[stored.length - 1].status, 'incomplete');
  llm.next({ chunks: ['Cut', ' off', ' here'], cutAfter: 2 });
  r = await post(chat.id, me.token, 'e').ended;
  last = r.events[r.events.length - 1];
  assert.equal(last.event, 'error');
  assert.equal(last.data.code, 'upstream_cut');
  stored = await messages(chat.id, me.token);
  assert.equal(stored[stored.length - 1].content, 'Cut off');
  assert.equal(stored[stored.length - 1].status, 'incomplete');
  // a wrong key
  const badKey = await startApp({ env: { ...FAST, LLM_BASE_URL: llm.url, LLM_API_KEY: 'wrong' } });
  try {
    const u = await register(badKey);
    const c = await newChat(u.token, {}, badKey);
    assertError(assert, await call(badKey, 'POST', `/chats/${c.id}/messages`, u.token, { content: 'x' }), 502, 'upstream_auth');
    // nobody there at all
    const none = await startApp({ env: { ...FAST, LLM_BASE_URL: 'http://127.0.0.1:9/v1', LLM_RETRIES: '0' } });
    const u2 = await register(none);
    const c2 = await newChat(u2.token, {}, none);
    assertError(assert, await call(none, 'POST', `/chats/${c2.id}/messages`, u2.token, { content: 'x' }), 503, 'llm_unavailable');
    await none.stop();
  } finally {
    await badKey.stop();
  }
});

test('a silent model times out (LLM_IDLE_TIMEOUT_MS), and repeated failures open the circuit breaker', async (t) => {
  const a = await startApp({ t, env: { PASSWORD_ITERATIONS: '1000', LLM_BASE_URL: llm.url, LLM_API_KEY: llm.apiKey,
    LLM_IDLE_TIMEOUT_MS: '400', LLM_RETRIES: '0', LLM_BREAKER_FAILURES: '2', LLM_BREAKER_OPEN_MS: '60000' } });
  const me = await register(a);
  const chat = await newChat(me.token, {}, a);
  llm.reset();
  llm.next({ hang: true });
  const started = Date.now();
  assertError(assert, await call(a, 'POST', `/chats/${chat.id}/messages`, me.token, { content: 'hello?' }), 504, 'upstream_timeout');
  assert.ok(Date.now() - started < 3000);
  llm.next({ status: 500 });
  assertError(assert, await call(a, 'POST', `/chats/${chat.id}/messages`, me.token, { content: 'again' }), 502, 'upstream_error');
  const before = llm.requests.length;
  assertError(assert, await call(a, 'POST', `/chats/${chat.id}/messages`, me.token, { content: 'third' }), 503, 'llm_unavailable');
  assert.equal(llm.requests.length, before, 'the open breaker did not call the model');
  await a.stop();
});

test('streamed replies hold no worker thread; JSON replies in progress are capped below APP_THREADS', async (t) => {
  const a = await startApp({ t, env: { ...FAST, APP_THREADS: '8', LLM_BASE_URL: llm.url, LLM_API_KEY: llm.apiKey } });
  const me = await register(a);
  llm.reset();
  llm.setDefault({ chunks: Array.from({ length: 30 }, (_, i) => `s${i} `), delayMs: 200 });
  const streams = [];
  const waiting = [];
  try {
    // five times as many streams as worker threads: every one streams, and the API answers
    for (let i = 0; i < 40; i++) {
      const c = await newChat(me.token, {}, a);
      streams.push(post(c.id, me.token, `stream ${i}`, a));
    }
    await Promise.all(streams.map((s) => s.firstDelta));
    assert.equal((await request(`${a.url}/health`)).status, 200);
    // a JSON reply holds its worker until the model is done: 8 threads minus a reserve of 4
    for (let i = 0; i < 4; i++) {
      const c = await newChat(me.token, {}, a);
      waiting.push(call(a, 'POST', `/chats/${c.id}/messages`, me.token, { content: `json ${i}` }));
    }
    await sleep(500);
    const c = await newChat(me.token, {}, a);
    const r = await call(a, 'POST', `/chats/${c.id}/messages`, me.token, { content: 'one too many' });
    assertError(assert, r, 503, 'unavailable');
    assert.ok(r.headers.get('retry-after'));
    assert.equal((await request(`${a.url}/health`)).status, 200);
  } finally {
    for (const s of streams) s.destroy();
    llm.setDefault({ chunks: ['Hello', ', ', 'world', '!'] });
  }
  await Promise.allSettled(waiting);
  await a.stop();
});

test('history sent to the model is trimmed to LLM_CONTEXT_MESSAGES', async (t) => {
  const a = await startApp({ t, env: { ...FAST, LLM_BASE_URL: llm.url, LLM_API_KEY: llm.apiKey, LLM_CONTEXT_MESSAGES: '3' } });
  const me = await register(a);
  const chat = await newChat(me.token, { system_prompt: 'sys' }, a);
  llm.reset();
  for (const m of ['m1', 'm2', 'm3']) {
    llm.next({ chunks: [`r-${m}`] });
    assert.equal((await call(a, 'POST', `/chats/${chat.id}/messages`, me.token, { content: m })).status, 201);
  }
  assert.deepEqual(llm.requests[2].body.messages.map((m) => m.content), ['sys', 'm2', 'r-m2', 'm3']);
  await a.stop();
});

test('the daily message quota answers 429 quota_exceeded', async (t) => {
  const a = await startApp({ t, env: { ...FAST, LLM_BASE_URL: llm.url, LLM_API_KEY: llm.apiKey, CHAT_DAILY_LIMIT: '2' } });
  const me = await register(a);
  const chat = await newChat(me.token, {}, a);
  for (let i = 0; i < 2; i++) {
    llm.next({ chunks: ['ok'] });
    assert.equal((await call(a, 'POST', `/chats/${chat.id}/messages`, me.token, { content: `q${i}` })).status, 201);
  }
  const r = await call(a, 'POST', `/chats/${chat.id}/messages`, me.token, { content: 'one too many' });
  assertError(assert, r, 429, 'quota_exceeded');
  assert.ok(r.headers.get('retry-after'));
  const other = await register(a);
  const c2 = await newChat(other.token, {}, a);
  llm.next({ chunks: ['ok'] });
  assert.equal((await call(a, 'POST', `/chats/${c2.id}/messages`, other.token, { content: 'mine' })).status, 201, 'quotas are per user');
  assert.equal((await call(a, 'GET', `/chats/${chat.id}/messages`, me.token)).json.items.length, 4, 'the refused message was not stored');
  await a.stop();
});

test('chats: list, rename, archive, unarchive, hard delete; another user\'s chat is 404', async () => {
  const me = await register();
  const other = await register();
  const a = await newChat(me.token, { title: 'First' });
  const b = await newChat(me.token);
  assert.equal(b.title, '');
  assert.equal(a.archived, false);
  let list = (await call(app, 'GET', '/chats', me.token)).json;
  assert.deepEqual(list.items.map((c) => c.id), [b.id, a.id]);
  const renamed = await call(app, 'PUT', `/chats/${a.id}`, me.token, { title: 'Renamed', system_prompt: 'Be kind' });
  assert.equal(renamed.status, 200, renamed.text);
  assert.equal(renamed.json.title, 'Renamed');
  assert.equal(renamed.json.system_prompt, 'Be kind');
  assertError(assert, await call(app, 'PUT', `/chats/${a.id}`, me.token, { title: 7 }), 400, 'invalid_input');
  assert.equal((await call(app, 'DELETE', `/chats/${a.id}`, me.token)).status, 204);
  list = (await call(app, 'GET', '/chats', me.token)).json;
  assert.deepEqual(list.items.map((c) => c.id), [b.id]);
  const archived = (await call(app, 'GET', '/chats?archived=true', me.token)).json;
  assert.deepEqual(archived.items.map((c) => c.id), [a.id]);
  assert.equal(archived.items[0].archived, true);
  assertError(assert, await call(app, 'POST', `/chats/${a.id}/messages`, me.token, { content: 'hi' }), 409, 'conflict');
  const un = await call(app, 'PUT', `/chats/${a.id}`, me.token, { archived: false });
  assert.equal(un.json.archived, false);
  // someone else's chat does not exist for them
  for (const [m, p, body] of [['GET', `/chats/${a.id}`], ['PUT', `/chats/${a.id}`, { title: 'x' }], ['DELETE', `/chats/${a.id}`],
    ['GET', `/chats/${a.id}/messages`], ['POST', `/chats/${a.id}/messages`, { content: 'x' }]]) {
    assertError(assert, await call(app, m, p, other.token, body), 404, 'not_found');
  }
  assertError(assert, await request(`${app.url}/api/v1/stream/chat/${a.id}?message=x&access_token=${other.token}`), 404, 'not_found');
  assert.deepEqual((await call(app, 'GET', '/chats', other.token)).json.items, []);
  assertError(assert, await call(app, 'GET', '/chats/not-an-id', me.token), 404, 'not_found');
  assertError(assert, await call(app, 'GET', '/chats', null), 401, 'unauthorized');
  // hard delete removes it and its messages
  llm.next({ chunks: ['x'] });
  await call(app, 'POST', `/chats/${b.id}/messages`, me.token, { content: 'keep?' });
  assert.equal((await call(app, 'DELETE', `/chats/${b.id}?hard=true`, me.token)).status, 204);
  assertError(assert, await call(app, 'GET', `/chats/${b.id}`, me.token), 404, 'not_found');
  assertError(assert, await call(app, 'GET', `/chats/${b.id}/messages`, me.token), 404, 'not_found');
});

test('chats and messages come in pages: ?limit, then ?cursor until next_cursor is null', async () => {
  const me = await register();
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push((await newChat(me.token, { title: `c${i}` })).id);
  const p1 = (await call(app, 'GET', '/chats?limit=2', me.token)).json;
  assert.deepEqual(p1.items.map((c) => c.id), [ids[2], ids[1]], 'newest first');
  assert.equal(typeof p1.next_cursor, 'string');
  const p2 = (await call(app, 'GET', `/chats?limit=2&cursor=${encodeURIComponent(p1.next_cursor)}`, me.token)).json;
  assert.deepEqual(p2.items.map((c) => c.id), [ids[0]]);
  assert.equal(p2.next_cursor, null);
  assert.equal((await call(app, 'GET', '/chats?limit=3', me.token)).json.next_cursor, null, 'an exact fit has no next page');
  assert.deepEqual((await call(app, 'GET', '/chats?archived=true&limit=1', me.token)).json, { items: [], next_cursor: null });
  assertError(assert, await call(app, 'GET', '/chats?limit=0', me.token), 400, 'invalid_input');

  for (const text of ['one', 'two']) {
    llm.next({ chunks: [`re ${text}`], usage: { prompt_tokens: 4, completion_tokens: 2 } });
    assert.equal((await call(app, 'POST', `/chats/${ids[0]}/messages`, me.token, { content: text })).status, 201);
  }
  const m1 = (await call(app, 'GET', `/chats/${ids[0]}/messages?limit=3`, me.token)).json;
  assert.deepEqual(m1.items.map((m) => m.content), ['one', 're one', 'two'], 'oldest first');
  assert.deepEqual(m1.items[1].usage, { prompt_tokens: 4, completion_tokens: 2 });
  assert.equal(m1.items[0].usage, null);
  const m2 = (await call(app, 'GET', `/chats/${ids[0]}/messages?limit=3&cursor=${encodeURIComponent(m1.next_cursor)}`, me.token)).json;
  assert.deepEqual(m2.items.map((m) => [m.role, m.content, m.chat_id]), [['assistant', 're two', ids[0]]]);
  assert.equal(m2.next_cursor, null);
});

test('compatibility: POST /asistente/start {prompt} answers {thread_id, text}', async () => {
  const me = await register();
  llm.next({ chunks: ['Hola', ', ', 'mundo'] });
  const r = await request(`${app.url}/asistente/start`, {
    method: 'POST', headers: { ...auth(me.token), 'Content-Type': 'application/json' }, body: JSON.stringify({ prompt: 'Saluda' }),
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.text, 'Hola, mundo');
  const thread = (await call(app, 'GET', `/chats/${r.json.thread_id}`, me.token)).json;
  assert.equal(thread.title, 'Saluda');
  llm.next({ chunks: ['v1'] });
  const v1 = await call(app, 'POST', '/asistente/start', me.token, { prompt: 'again' });
  assert.equal(v1.json.text, 'v1');
  assertError(assert, await call(app, 'POST', '/asistente/start', me.token, { nope: 1 }), 400, 'invalid_input');
});

test('without LLM_BASE_URL the demo responder streams a reply labelled as a demo', async (t) => {
  const a = await startApp({ t, env: { PASSWORD_ITERATIONS: '1000', LLM_DEMO_DELAY_MS: '20' } });
  const me = await register(a);
  const chat = await newChat(me.token, {}, a);
  const r = await post(chat.id, me.token, 'Is anyone there?', a).ended;
  const deltas = r.events.filter((e) => e.event === 'delta');
  assert.ok(deltas.length > 10, 'word by word');
  assert.ok(deltas[deltas.length - 1].at - deltas[0].at > 200, 'at a reading pace');
  const text = texts(r.events);
  assert.match(text, /^\[Demo reply/);
  assert.match(text, /Is anyone there\?/);
  const done = r.events[r.events.length - 1];
  assert.equal(done.event, 'done');
  assert.equal(done.data.demo, true);
  await a.stop();
});
