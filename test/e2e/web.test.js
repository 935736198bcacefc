// The embedded web app, the OpenAPI document and CORS.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startApp, request } = require('./lib/app');

let app;
test.before(async () => { app = await startApp({ env: { CORS_ORIGINS: 'http://allowed.test, http://other.test' } }); });
test.after(async () => { await app.stop(); });

test('the landing page is served with an ETag, a strict CSP, and 304 on revalidation', async () => {
  const r = await request(`${app.url}/`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/html/);
  const etag = r.headers.get('etag');
  assert.match(etag, /^"[^"]+"$/);
  assert.match(r.headers.get('content-security-policy'), /default-src 'self'/);
  assert.doesNotMatch(r.headers.get('content-security-policy'), /unsafe-inline|unsafe-eval/);
  assert.match(r.text, /<html/i);
  const again = await request(`${app.url}/`, { headers: { 'If-None-Match': etag } });
  assert.equal(again.status, 304);
  assert.equal(again.text, '');
  assert.equal(again.headers.get('etag'), etag);
  const other = await request(`${app.url}/`, { headers: { 'If-None-Match': '"nope"' } });
  assert.equal(other.status, 200);
});

test('the landing page links the docs and health', async () => {
  const r = await request(`${app.url}/`);
  assert.match(r.text, /href="\/docs"/);
  assert.match(r.text, /\/health/);
});

test('the docs page is served', async () => {
  const r = await request(`${app.url}/docs`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/html/);
  assert.match(r.headers.get('content-security-policy'), /script-src 'self'/);
});

test('every script and stylesheet a page references is served', async () => {
  for (const page of ['/', '/docs']) {
    const html = (await request(`${app.url}${page}`)).text;
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, `${page} has no inline script`);
    const refs = [...html.matchAll(/(?:src|href)="(\/[^"]+\.(?:js|css|svg))"/g)].map((m) => m[1]);
    for (const ref of refs) {
      const r = await request(`${app.url}${ref}`);
      assert.equal(r.status, 200, ref);
      assert.ok(r.headers.get('etag'), `${ref} has an ETag`);
    }
  }
});

test('the OpenAPI document lists every route with a summary', async () => {
  const r = await request(`${app.url}/api/v1/openapi.json`);
  assert.equal(r.status, 200);
  assert.match(r.json.openapi, /^3\.1/);
  for (const p of ['/health', '/metrics', '/api/v1/countries', '/api/v1/openapi.json', '/api/v1/csp-report']) {
    assert.ok(r.json.paths[p], `${p} documented`);
  }
  for (const [p, item] of Object.entries(r.json.paths)) {
    const ops = Object.values(item);
    assert.ok(ops.length > 0, p);
    for (const op of ops) {
      assert.ok(op.summary, `${p} has a summary`);
      assert.ok(op.operationId, `${p} has an operationId`);
      assert.ok(Object.keys(op.responses).length > 0, `${p} has responses`);
    }
  }
  assert.ok(r.json.paths['/api/v1/csp-report'].post.requestBody);
  assert.ok(r.json.components.schemas.Error);
});

test('the document matches what the server answers', async () => {
  const doc = (await request(`${app.url}/api/v1/openapi.json`)).json;
  for (const [p, item] of Object.entries(doc.paths)) {
    if (p.includes('{')) continue;
    for (const method of Object.keys(item)) {
      const r = await request(`${app.url}${p}`, { method: method.toUpperCase(),
        headers: { 'Content-Type': 'application/json' }, body: method === 'post' ? '{}' : undefined });
      assert.notEqual(r.status, 404, `${method} ${p}`);
      assert.notEqual(r.status, 405, `${method} ${p}`);
    }
  }
});

test('CORS: an allowed origin is echoed, others get nothing', async () => {
  const ok = await request(`${app.url}/health`, { headers: { Origin: 'http://allowed.test' } });
  assert.equal(ok.headers.get('access-control-allow-origin'), 'http://allowed.test');
  assert.match(ok.headers.get('vary') || '', /Origin/);
  const second = await request(`${app.url}/health`, { headers: { Origin: 'http://other.test' } });
  assert.equal(second.headers.get('access-control-allow-origin'), 'http://other.test');
  const evil = await request(`${app.url}/health`, { headers: { Origin: 'http://evil.test' } });
  assert.equal(evil.headers.get('access-control-allow-origin'), null);
  const prefix = await request(`${app.url}/health`, { headers: { Origin: 'http://allowed.tes' } });
  assert.equal(prefix.headers.get('access-control-allow-origin'), null);
});

test('CORS preflight names the allowed methods', async () => {
  const r = await request(`${app.url}/api/v1/csp-report`, { method: 'OPTIONS',
    headers: { Origin: 'http://allowed.test', 'Access-Control-Request-Method': 'POST' } });
  assert.equal(r.status, 204);
  assert.equal(r.headers.get('access-control-allow-origin'), 'http://allowed.test');
  assert.match(r.headers.get('access-control-allow-methods'), /POST/);
  const evil = await request(`${app.url}/api/v1/csp-report`, { method: 'OPTIONS',
    headers: { Origin: 'http://evil.test', 'Access-Control-Request-Method': 'POST' } });
  assert.equal(evil.headers.get('access-control-allow-origin'), null);
  assert.equal(evil.headers.get('access-control-allow-methods'), null);
});
