// The financial-advice copilot against fake RAG and portfolio-optimiser services (their
// real request shapes: POST {RAG_URL}/api/chat {userProfile, chatHistory, input} and GET
// {PORTFOLIO_URL}/portfolio/generate/{risk_profile}), including timeouts, 503s and
// malformed JSON, failed exchanges stored and retried, and the offline fallbacks.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startApp, request, assertError } = require('./lib/app');
const { startLlm } = require('./lib/llm');
const { service } = require('./lib/service');

const rag = { current: (req, body) => ({ body: { output: `Advice about: ${body.input}` } }) };
const opt = { current: (req) => ({ body: { assets: ['AAA', 'BBB', 'CCC'], weights: [0.5, 0.3, 0.2], echo: req.url } }) };
let ragSvc;
let optSvc;
let app;
test.before(async () => {
  ragSvc = await service(rag);
  optSvc = await service(opt);
  app = await startApp({ env: { PASSWORD_ITERATIONS: '1000', RAG_URL: ragSvc.url, PORTFOLIO_URL: optSvc.url, COPILOT_TIMEOUT_MS: '700' } });
});
test.after(async () => { if (app) await app.stop(); await ragSvc.stop(); await optSvc.stop(); });

let seq = 0;
const auth = (token) => (token ? { Authorization: `Bearer ${token}` } : {});
const call = (a, method, path, token, body) => request(`${a.url}/api/v1${path}`, {
  method, headers: { ...auth(token), 'Content-Type': 'application/json' },
  body: body === undefined ? undefined : JSON.stringify(body),
});
async function register(a = app, finance) {
  const email = `cop-${process.pid}-${++seq}@example.test`;
  const r = await request(`${a.url}/api/v1/auth/register`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password: 'correct horse', name: 'Investor' }),
  });
  assert.equal(r.status, 201, r.text);
  const token = r.json.access_token;
  if (finance) assert.equal((await call(a, 'PUT', '/users/me', token, { country: 'AR', finance })).status, 200);
  return { token, id: r.json.user.id };
}
async function session(a, token, topic) {
  const r = await call(a, 'POST', '/copilot/sessions', token, topic ? { topic } : {});
  assert.equal(r.status, 201, r.text);
  return r.json;
}

test('an exchange goes to the RAG service with the profile and history; the first one carries the allocation', async () => {
  const me = await register(app, { risk_profile: 'aggressive', horizon_years: 20, goals: 'retire early', monthly_income: 5000 });
  const s = await session(app, me.token, 'Retirement');
  assert.equal(s.topic, 'Retirement');
  assert.equal(s.portfolio, null);
  ragSvc.calls.length = 0;
  optSvc.calls.length = 0;
  const a1 = await call(app, 'POST', `/copilot/sessions/${s.id}`, me.token, { input: 'Where do I start?' });
  assert.equal(a1.status, 200, a1.text);
  assert.equal(a1.json.output, 'Advice about: Where do I start?');
  assert.equal(a1.json.source, 'rag');
  assert.deepEqual(a1.json.portfolio, { assets: ['AAA', 'BBB', 'CCC'], weights: [0.5, 0.3, 0.2], risk_profile: 'aggressive', source: 'optimizer' });
  assert.equal(optSvc.calls[0].url, '/portfolio/generate/aggressive');
  const sent = ragSvc.calls[0];
  assert.equal(sent.method, 'POST');
  assert.equal(sent.url, '/api/chat');
  assert.deepEqual(Object.keys(sent.body).sort(), ['chatHistory', 'input', 'userProfile']);
  assert.equal(sent.body.input, 'Where do I start?');
  assert.deepEqual(sent.body.chatHistory, []);
  assert.equal(sent.body.userProfile.name, 'Investor');
  assert.equal(sent.body.userProfile.country, 'AR');
  assert.deepEqual(sent.body.userProfile.finance, { risk_profile: 'aggressive', horizon_years: 20, goals: 'retire early', monthly_income: 5000 });
  // the second exchange sends the first as history and no new allocation
  rag.current = () => ({ type: 'text/plain', body: 'Plain text <b>kept as text</b>' });
  const a2 = await call(app, 'POST', `/copilot/sessions/${s.id}`, me.token, { input: 'And then?' });
  rag.current = (req, body) => ({ body: { output: `Advice about: ${body.input}` } });
  assert.equal(a2.json.output, 'Plain text <b>kept as text</b>');
  assert.equal(a2.json.portfolio, undefined);
  assert.deepEqual(ragSvc.calls[1].body.chatHistory, [
    { role: 'user', content: 'Where do I start?' }, { role: 'assistant', content: 'Advice about: Where do I start?' }]);
  assert.equal(optSvc.calls.length, 1);
  const got = (await call(app, 'GET', `/copilot/sessions/${s.id}`, me.token)).json;
  assert.equal(got.session.portfolio.source, 'optimizer');
  assert.deepEqual(got.details.map((d) => [d.input, d.status]), [['Where do I start?', 'answered'], ['And then?', 'answered']]);
  assert.equal(got.details[1].output, 'Plain text <b>kept as text</b>');
  const list = (await call(app, 'GET', '/copilot/sessions', me.token)).json;
  assert.deepEqual(list.items.map((x) => x.id), [s.id]);
});

test('a failed call is stored as failed with its reason and can be retried: 503, timeout, malformed JSON', async () => {
  const me = await register(app, { risk_profile: 'conservative' });
  const s = await session(app, me.token);
  rag.current = () => ({ status: 503, body: { error: 'down' } });
  const e1 = await call(app, 'POST', `/copilot/sessions/${s.id}`, me.token, { input: 'first' });
  assertError(assert, e1, 503, 'upstream_unavailable'); // one code, one status: a 503 upstream is unavailable
  rag.current = () => ({ delayMs: 2000, body: { output: 'too late' } });
  const t0 = Date.now();
  assertError(assert, await call(app, 'POST', `/copilot/sessions/${s.id}`, me.token, { input: 'second' }), 504, 'upstream_timeout');
  assert.ok(Date.now() - t0 < 1800, 'COPILOT_TIMEOUT_MS bounds the wait');
  rag.current = () => ({ body: '{"output": "unterminated' });
  assertError(assert, await call(app, 'POST', `/copilot/sessions/${s.id}`, me.token, { input: 'third' }), 502, 'upstream_malformed');
  rag.current = () => ({ body: { nothing: 'useful' } });
  assertError(assert, await call(app, 'POST', `/copilot/sessions/${s.id}`, me.token, { input: 'fourth' }), 502, 'upstream_malformed');
  let got = (await call(app, 'GET', `/copilot/sessions/${s.id}`, me.token)).json;
  assert.deepEqual(got.details.map((d) => [d.input, d.status, d.error]), [
    ['first', 'failed', 'upstream_unavailable'], ['second', 'failed', 'upstream_timeout'],
    ['third', 'failed', 'upstream_malformed'], ['fourth', 'failed', 'upstream_malformed']]);
  assert.equal(got.session.portfolio, null, 'no allocation before a first answer');
  // the service is back: retry the first input
  rag.current = (req, body) => ({ body: { output: `Advice about: ${body.input}` } });
  const id = got.details[0].id;
  const r = await call(app, 'POST', `/copilot/sessions/${s.id}/details/${id}/retry`, me.token);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.detail_id, id);
  assert.equal(r.json.output, 'Advice about: first');
  assert.equal(r.json.portfolio.risk_profile, 'conservative');
  got = (await call(app, 'GET', `/copilot/sessions/${s.id}`, me.token)).json;
  assert.equal(got.details[0].status, 'answered');
  assert.equal(got.details[0].error, null);
  assertError(assert, await call(app, 'POST', `/copilot/sessions/${s.id}/details/${id}/retry`, me.token), 409, 'conflict');
  assertError(assert, await call(app, 'POST', `/copilot/sessions/${s.id}/details/01234567-89ab-7def-8123-456789abcdef/retry`, me.token), 404, 'not_found');
});

test('a failing or malformed optimiser gives way to the built-in allocation, labelled so', async () => {
  const me = await register(app, { risk_profile: 'moderate' });
  for (const bad of [{ status: 503, body: {} }, { body: '{"assets": [' }, { body: { assets: ['A'], weights: [0.2] } },
    { body: { assets: ['A', 'B'], weights: [0.5] } }, { body: { assets: ['A'], weights: ['1'] } }]) {
    opt.current = () => bad;
    const s = await session(app, me.token);
    const r = await call(app, 'POST', `/copilot/sessions/${s.id}`, me.token, { input: 'allocation?' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.portfolio.source, 'builtin (the optimizer did not answer)', JSON.stringify(bad));
    assert.equal(r.json.portfolio.risk_profile, 'moderate');
    assert.equal(r.json.portfolio.assets.length, r.json.portfolio.weights.length);
    const sum = r.json.portfolio.weights.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-9);
  }
  opt.current = (req) => ({ body: { assets: ['AAA', 'BBB', 'CCC'], weights: [0.5, 0.3, 0.2], echo: req.url } });
});

test('sessions are their owner\'s only; bad input is refused', async () => {
  const me = await register();
  const other = await register();
  const s = await session(app, me.token);
  assertError(assert, await call(app, 'GET', `/copilot/sessions/${s.id}`, other.token), 404, 'not_found');
  assertError(assert, await call(app, 'POST', `/copilot/sessions/${s.id}`, other.token, { input: 'x' }), 404, 'not_found');
  assert.deepEqual((await call(app, 'GET', '/copilot/sessions', other.token)).json.items, []);
  assertError(assert, await call(app, 'GET', '/copilot/sessions', null), 401, 'unauthorized');
  assertError(assert, await call(app, 'POST', `/copilot/sessions/${s.id}`, me.token, {}), 400, 'invalid_input');
  assertError(assert, await call(app, 'POST', `/copilot/sessions/${s.id}`, me.token, { input: '' }), 400, 'invalid_input');
  assertError(assert, await call(app, 'POST', `/copilot/sessions/${s.id}`, me.token, { input: 'x'.repeat(8001) }), 400, 'invalid_input');
  assertError(assert, await call(app, 'POST', '/copilot/sessions', me.token, { topic: 3 }), 400, 'invalid_input');
});

test('sessions come in pages, newest first', async () => {
  const me = await register();
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push((await session(app, me.token, `t${i}`)).id);
  const p1 = (await call(app, 'GET', '/copilot/sessions?limit=2', me.token)).json;
  assert.deepEqual(p1.items.map((s) => [s.id, s.topic]), [[ids[2], 't2'], [ids[1], 't1']]);
  const p2 = (await call(app, 'GET', `/copilot/sessions?limit=2&cursor=${encodeURIComponent(p1.next_cursor)}`, me.token)).json;
  assert.deepEqual(p2.items.map((s) => s.id), [ids[0]]);
  assert.equal(p2.next_cursor, null);
});

test('without RAG_URL the model answers with the profile as context; without anything, the demo and the built-in allocation', async (t) => {
  const llm = await startLlm();
  t.after(() => llm.stop());
  const withLlm = await startApp({ t, env: { PASSWORD_ITERATIONS: '1000', LLM_BASE_URL: llm.url, LLM_API_KEY: llm.apiKey } });
  const me = await register(withLlm, { risk_profile: 'conservative', goals: 'a house' });
  const s = await session(withLlm, me.token);
  llm.reset();
  llm.next({ chunks: ['Save ', 'first.'] });
  const r = await call(withLlm, 'POST', `/copilot/sessions/${s.id}`, me.token, { input: 'How do I buy a house?' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.output, 'Save first.');
  assert.equal(r.json.source, 'llm');
  assert.equal(r.json.portfolio.source, 'builtin');
  assert.equal(r.json.portfolio.risk_profile, 'conservative');
  const sent = llm.requests[0].body.messages;
  assert.equal(sent[0].role, 'system');
  assert.match(sent[0].content, /"goals":"a house"/);
  assert.deepEqual(sent[sent.length - 1], { role: 'user', content: 'How do I buy a house?' });
  await withLlm.stop();

  const offline = await startApp({ t, env: { PASSWORD_ITERATIONS: '1000', LLM_DEMO_DELAY_MS: '0' } });
  const u = await register(offline);
  const s2 = await session(offline, u.token);
  const d = await call(offline, 'POST', `/copilot/sessions/${s2.id}`, u.token, { input: 'Hello?' });
  assert.equal(d.status, 200, d.text);
  assert.equal(d.json.source, 'demo');
  assert.match(d.json.output, /^\[Demo reply/);
  assert.equal(d.json.portfolio.source, 'builtin');
  assert.equal(d.json.portfolio.risk_profile, 'moderate', 'no profile: moderate');
  await offline.stop();
});
