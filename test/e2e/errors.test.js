// The error contract: 400 invalid_json, 404, 405 with Allow, 413 (length and chunked),
// hostile bodies; the server stays up through all of it.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { startApp, request } = require('./lib/app');

let app;
test.before(async () => { app = await startApp(); });
test.after(async () => { await app.stop(); });

const report = `${'/api/v1/csp-report'}`;

function assertError(r, status, code) {
  assert.equal(r.status, status);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assert.equal(typeof r.json?.error?.message, 'string', r.text);
  assert.equal(r.json.error.code, code);
  assert.ok(r.headers.get('x-request-id'));
}

function post(body, headers = { 'Content-Type': 'application/json' }) {
  return request(`${app.url}${report}`, { method: 'POST', headers, body });
}

// Sends a body with Transfer-Encoding: chunked (no Content-Length).
function postChunked(chunks) {
  return new Promise((resolve, reject) => {
    const u = new URL(`${app.url}${report}`);
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text, json: JSON.parse(text || 'null') }));
    });
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

test('unknown paths answer 404 not_found', async () => {
  assertError(await request(`${app.url}/api/v1/nope`), 404, 'not_found');
  assertError(await request(`${app.url}/health/`), 404, 'not_found');
  assertError(await request(`${app.url}/api/v1/nope`, { method: 'DELETE' }), 404, 'not_found');
});

test('a known path with another method answers 405 with Allow', async () => {
  const r = await request(`${app.url}/health`, { method: 'POST' });
  assertError(r, 405, 'method_not_allowed');
  assert.equal(r.headers.get('allow'), 'GET, HEAD');
  const r2 = await request(`${app.url}${report}`, { method: 'GET' });
  assertError(r2, 405, 'method_not_allowed');
  assert.equal(r2.headers.get('allow'), 'POST');
});

test('a valid report is accepted with 204', async () => {
  const r = await post(JSON.stringify({ 'csp-report': { 'document-uri': 'http://x/', 'violated-directive': 'script-src' } }));
  assert.equal(r.status, 204);
  assert.equal(r.text, '');
  const arr = await post(JSON.stringify([{ type: 'csp-violation', body: { effectiveDirective: 'img-src' } }]),
    { 'Content-Type': 'application/reports+json' });
  assert.equal(arr.status, 204);
});

test('malformed JSON answers 400 invalid_json', async () => {
  for (const body of ['{', '{"a":}', '[1,]', "{'a':1}", '{"a":1} x', '', 'nul', '{"a":1,"a":2}']) {
    assertError(await post(body), 400, 'invalid_json');
  }
});

test('JSON that is not an object or array answers 400 invalid_input', async () => {
  for (const body of ['1', '"text"', 'null', 'true']) assertError(await post(body), 400, 'invalid_input');
});

test('invalid UTF-8 inside a string answers 400 invalid_json', async () => {
  const bytes = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc0, 0xaf, 0xff]), Buffer.from('"}')]);
  assertError(await post(bytes), 400, 'invalid_json');
  assertError(await post('{"a":"\\ud800"}'), 400, 'invalid_json');
});

test('deep nesting is refused and the server stays up', async () => {
  const r = await post('['.repeat(10000) + ']'.repeat(10000));
  assert.ok(r.status === 400 || r.status === 413, `status ${r.status}`);
  assert.equal((await request(`${app.url}/health`)).status, 200);
});

test('a body over the limit answers 413 payload_too_large (Content-Length)', async () => {
  const body = '{"a":"' + 'x'.repeat(64 * 1024) + '"}';
  assertError(await post(body), 413, 'payload_too_large');
  const exact = '{"a":"' + 'x'.repeat(64 * 1024 - 8) + '"}';
  assert.equal(Buffer.byteLength(exact), 64 * 1024);
  assert.equal((await post(exact)).status, 204);
});

test('a chunked body over the limit answers 413 too', async () => {
  const chunk = 'x'.repeat(16 * 1024);
  const r = await postChunked(['{"a":"', chunk, chunk, chunk, chunk, chunk, '"}']);
  assert.equal(r.status, 413);
  assert.equal(r.json.error.code, 'payload_too_large');
  const ok = await postChunked(['{"csp-report":', '{"violated-directive":"x"}', '}']);
  assert.equal(ok.status, 204);
});

test('SQL metacharacters and odd bytes in paths are just unknown paths', async () => {
  for (const p of ["/api/v1/countries'%20OR%201=1--", '/api/v1/%00', '/..%2f..%2fetc%2fpasswd', '/%ff%fe']) {
    const r = await request(`${app.url}${p}`);
    assert.ok([400, 404].includes(r.status), `${p}: ${r.status}`);
  }
  assert.equal((await request(`${app.url}/health`)).status, 200);
});

test('OPTIONS lists the methods of a path', async () => {
  const r = await request(`${app.url}/health`, { method: 'OPTIONS' });
  assert.equal(r.status, 204);
  assert.equal(r.headers.get('allow'), 'GET, HEAD');
  assertError(await request(`${app.url}/nope`, { method: 'OPTIONS' }), 404, 'not_found');
});
