// GET /health, /api/v1/countries, /metrics and the request id on every response.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startApp, request } = require('./lib/app');

let app;
test.before(async () => { app = await startApp(); });
test.after(async () => { await app.stop(); });

test('health reports ok with the version and instance id', async () => {
  const r = await request(`${app.url}/health`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assert.equal(r.json.status, 'ok');
  assert.equal(r.json.db, 'ok');
  assert.match(r.json.version, /^\d+\.\d+\.\d+/);
  assert.match(r.json.instance_id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test('HEAD on health answers 200 without a body', async () => {
  const r = await request(`${app.url}/health`, { method: 'HEAD' });
  assert.equal(r.status, 200);
  assert.equal(r.text, '');
});

test('every response carries a request id; a plain client id is kept, others replaced', async () => {
  for (const [path, method] of [['/health', 'GET'], ['/nope', 'GET'], ['/health', 'POST'], ['/', 'GET']]) {
    const r = await request(`${app.url}${path}`, { method });
    assert.ok(r.headers.get('x-request-id'), `${method} ${path} has X-Request-Id`);
  }
  const kept = await request(`${app.url}/health`, { headers: { 'X-Request-Id': 'trace-42.a_b' } });
  assert.equal(kept.headers.get('x-request-id'), 'trace-42.a_b');
  for (const bad of ['has space', 'x'.repeat(200), 'semi;colon']) {
    const r = await request(`${app.url}/health`, { headers: { 'X-Request-Id': bad } });
    const id = r.headers.get('x-request-id');
    assert.ok(id && id !== bad, `"${bad.slice(0, 20)}" replaced`);
  }
});

test('request ids differ between requests', async () => {
  const ids = new Set();
  for (let i = 0; i < 20; i++) ids.add((await request(`${app.url}/health`)).headers.get('x-request-id'));
  assert.equal(ids.size, 20);
});

test('countries lists every ISO 3166-1 country with its calling code', async () => {
  const r = await request(`${app.url}/api/v1/countries`);
  assert.equal(r.status, 200);
  assert.ok(Array.isArray(r.json));
  assert.equal(r.json.length, 249);
  assert.equal(new Set(r.json.map((c) => c.code)).size, 249);
  assert.deepEqual(r.json.find((c) => c.code === 'AR'), { code: 'AR', name: 'Argentina', dial_code: '+54' });
  for (const c of r.json) {
    assert.match(c.code, /^[A-Z]{2}$/);
    assert.match(c.dial_code, /^\+\d{1,4}$/);
    assert.ok(c.name.length > 0);
  }
  assert.equal(r.json.find((c) => c.code === 'AX').name, 'Åland Islands');
});

test('metrics from loopback count requests by route and status', async () => {
  await request(`${app.url}/health`);
  await request(`${app.url}/nope`);
  const r = await request(`${app.url}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/plain/);
  assert.match(r.text, /http_requests_total\{[^}]*route="\/health"[^}]*status="200"[^}]*\} \d+/);
  assert.match(r.text, /http_requests_total\{[^}]*status="404"[^}]*\} \d+/);
  assert.match(r.text, /http_request_duration_seconds_bucket\{[^}]*le="\+Inf"\} \d+/);
  assert.match(r.text, /^process_resident_memory_bytes \d+$/m);
  assert.match(r.text, /^http_open_connections \d+$/m);
  const rss = Number(/^process_resident_memory_bytes (\d+)$/m.exec(r.text)[1]);
  assert.ok(rss > 100000, 'resident memory is a real reading');
});

test('the health counter grows with each call', async () => {
  const count = async () => {
    const t = (await request(`${app.url}/metrics`)).text;
    return Number(/http_requests_total\{route="\/health",method="GET",status="200"\} (\d+)/.exec(t)[1]);
  };
  const before = await count();
  for (let i = 0; i < 3; i++) await request(`${app.url}/health`);
  assert.equal(await count(), before + 3);
});
