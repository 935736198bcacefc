// Drop-in routes for the clients of the original assistants, driven the way those clients
// called them: the FastAPI copilot's unversioned /copilot/sessions paths (against fake RAG and
// optimiser services), and the Gin backend's POST /asistente/start (against a fake model) and
// GET /countries. Each answers exactly like its /api/v1 counterpart and is listed under the
// OpenAPI tag "compat". (Signing in through the originals' own login routes is auth's part.)
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startApp, request, assertError, header } = require('./lib/app');
const { startLlm } = require('./lib/llm');
const { service } = require('./lib/service');

const rag = { current: (req, body) => ({ body: { response: `RAG on: ${body.input}` } }) };
const opt = { current: () => ({ body: { assets: ['BONDS', 'STOCKS'], weights: [0.6, 0.4] } }) };
let ragSvc;
let optSvc;
let llm;
let app;
test.before(async () => {
  ragSvc = await service(rag);
  optSvc = await service(opt);
  llm = await startLlm();
  app = await startApp({
    env: {
      PASSWORD_ITERATIONS: '1000', RAG_URL: ragSvc.url, PORTFOLIO_URL: optSvc.url,
      LLM_BASE_URL: llm.url, LLM_API_KEY: llm.apiKey, LLM_MODEL: 'fake-model', LLM_RETRIES: '1',
    },
  });
});
test.after(async () => {
  if (app) await app.stop();
  await ragSvc.stop();
  await optSvc.stop();
  await llm.stop();
});

let seq = 0;
async function register(finance) {
  const email = `compat-${process.pid}-${++seq}@example.test`;
  const r = await request(`${app.url}/api/v1/auth/register`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password: 'correct horse', name: 'Cliente' }),
  });
  assert.equal(r.status, 201, r.text);
  const token = r.json.access_token;
  if (finance) {
    const p = await request(`${app.url}/api/v1/users/me`, {
      method: 'PUT', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ finance }),
    });
    assert.equal(p.status, 200, p.text);
  }
  return token;
}
// A request as the original clients sent it: a path at the root, a Bearer token, JSON.
const legacy = (method, path, token, body) => request(`${app.url}${path}`, {
  method,
  headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
  body: body === undefined ? undefined : JSON.stringify(body),
});
const v1 = (method, path, token) => legacy(method, `/api/v1${path}`, token);

test('FastAPI copilot client: create a session, chat in it, read its history', async () => {
  const token = await register({ risk_profile: 'conservative' });
  const created = await legacy('POST', '/copilot/sessions', token, { topic: 'Jubilación' });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.json.topic, 'Jubilación');
  assert.equal(created.json.portfolio, null);
  const id = created.json.id;

  ragSvc.calls.length = 0;
  optSvc.calls.length = 0;
  const first = await legacy('POST', `/copilot/sessions/${id}`, token, { input: '¿Por dónde empiezo?' });
  assert.equal(first.status, 200, first.text);
  assert.equal(first.json.output, 'RAG on: ¿Por dónde empiezo?');
  assert.equal(first.json.source, 'rag');
  assert.deepEqual(first.json.portfolio, { assets: ['BONDS', 'STOCKS'], weights: [0.6, 0.4], risk_profile: 'conservative', source: 'optimizer' });
  assert.equal(ragSvc.calls[0].url, '/api/chat');
  assert.deepEqual(Object.keys(ragSvc.calls[0].body).sort(), ['chatHistory', 'input', 'userProfile']);
  assert.equal(optSvc.calls[0].url, '/portfolio/generate/conservative');

  const second = await legacy('POST', `/copilot/sessions/${id}`, token, { input: '¿Y después?' });
  assert.equal(second.status, 200, second.text);
  assert.equal(second.json.portfolio, undefined, 'only the first answer carries the allocation');
  assert.deepEqual(ragSvc.calls[1].body.chatHistory, [
    { role: 'user', content: '¿Por dónde empiezo?' }, { role: 'assistant', content: 'RAG on: ¿Por dónde empiezo?' }]);

  const history = await legacy('GET', `/copilot/sessions/${id}`, token);
  assert.equal(history.status, 200, history.text);
  assert.deepEqual(history.json.details.map((d) => [d.input, d.output, typeof d.created_at]), [
    ['¿Por dónde empiezo?', 'RAG on: ¿Por dónde empiezo?', 'string'], ['¿Y después?', 'RAG on: ¿Y después?', 'string']]);
  assert.equal(history.json.session.portfolio.source, 'optimizer');
  // one store behind both paths: the versioned API answers the same
  assert.deepEqual((await v1('GET', `/copilot/sessions/${id}`, token)).json, history.json);
  assert.deepEqual((await v1('GET', '/copilot/sessions', token)).json.items.map((s) => s.id), [id]);
});

test('FastAPI copilot paths keep the owner check, sign-in and input rules of /api/v1', async () => {
  const me = await register();
  const other = await register();
  const s = (await legacy('POST', '/copilot/sessions', me, {})).json;
  assertError(assert, await legacy('GET', `/copilot/sessions/${s.id}`, other), 404, 'not_found');
  assertError(assert, await legacy('POST', `/copilot/sessions/${s.id}`, other, { input: 'x' }), 404, 'not_found');
  assertError(assert, await legacy('GET', `/copilot/sessions/${s.id}`, null), 401, 'unauthorized');
  assertError(assert, await legacy('POST', '/copilot/sessions', null, {}), 401, 'unauthorized');
  assertError(assert, await legacy('POST', `/copilot/sessions/${s.id}`, me, {}), 400, 'invalid_input');
  assertError(assert, await legacy('POST', `/copilot/sessions/${s.id}`, me, { input: '' }), 400, 'invalid_input');
  assertError(assert, await legacy('POST', '/copilot/sessions', me, { topic: 7 }), 400, 'invalid_input');
  assertError(assert, await legacy('GET', '/copilot/sessions/not-a-session', me), 404, 'not_found');
  // a failed call is stored as failed, on either path
  rag.current = () => ({ status: 503, body: {} });
  assertError(assert, await legacy('POST', `/copilot/sessions/${s.id}`, me, { input: 'down?' }), 503, 'upstream_unavailable');
  rag.current = (req, body) => ({ body: { response: `RAG on: ${body.input}` } });
  const got = (await legacy('GET', `/copilot/sessions/${s.id}`, me)).json;
  assert.deepEqual(got.details.map((d) => [d.input, d.status, d.error]), [['down?', 'failed', 'upstream_unavailable']]);
});

test('Gin client: POST /asistente/start {prompt} answers {thread_id, text} from the model', async () => {
  const token = await register();
  llm.next({ chunks: ['Hola', ', ', '¿en qué te ayudo?'] });
  const r = await legacy('POST', '/asistente/start', token, { prompt: 'hola' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(Object.keys(r.json).sort(), ['text', 'thread_id']);
  assert.equal(r.json.text, 'Hola, ¿en qué te ayudo?');
  assert.equal(llm.requests.at(-1).body.messages.at(-1).content, 'hola');
  // the thread is a chat of the caller's, with both messages
  const msgs = (await v1('GET', `/chats/${r.json.thread_id}/messages`, token)).json.items;
  assert.deepEqual(msgs.map((m) => [m.role, m.content]), [['user', 'hola'], ['assistant', 'Hola, ¿en qué te ayudo?']]);
  assertError(assert, await legacy('POST', '/asistente/start', null, { prompt: 'hola' }), 401, 'unauthorized');
  assertError(assert, await legacy('POST', '/asistente/start', token, { prompt: '' }), 400, 'invalid_input');
});

test('Gin client: GET /countries is the country list of /api/v1/countries, cacheable, without a token', async () => {
  const r = await legacy('GET', '/countries');
  assert.equal(r.status, 200, r.text);
  assert.match(header(r, 'content-type'), /^application\/json/);
  assert.match(header(r, 'cache-control'), /max-age=86400/);
  assert.equal(r.json.length, 249);
  assert.deepEqual(r.json.find((c) => c.code === 'AR'), { code: 'AR', name: 'Argentina', dial_code: '+54' });
  assert.equal(r.text, (await v1('GET', '/countries')).text);
});

test('the drop-in routes are listed in the OpenAPI document under the tag compat', async () => {
  const doc = (await v1('GET', '/openapi.json')).json;
  const tagOf = (p, m) => doc.paths[p] && doc.paths[p][m] && doc.paths[p][m].tags;
  for (const [p, m] of [['/copilot/sessions', 'post'], ['/copilot/sessions/{id}', 'post'],
    ['/copilot/sessions/{id}', 'get'], ['/countries', 'get'], ['/asistente/start', 'post']]) {
    assert.deepEqual(tagOf(p, m), ['compat'], `${m.toUpperCase()} ${p}`);
  }
  assert.deepEqual(tagOf('/api/v1/copilot/sessions', 'post'), ['copilot']);
  assert.deepEqual(tagOf('/api/v1/countries', 'get'), ['system']);
  const compat = doc.tags.filter((t) => t.name === 'compat');
  assert.equal(compat.length, 1);
  assert.ok(compat[0].description.length > 0);
});
