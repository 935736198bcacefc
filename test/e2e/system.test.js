// System routes: /health, request ids, /api/v1/countries, /metrics, and the JSON log.
'use strict';

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const os = require('node:os');
const {
  startApp, runCli, request, rawRequest, header,
} = require('./lib/app');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const LIMIT = 64 * 1024;

// Sum of the http_requests_total samples whose labels include all of `want`.
function requestCount(metricsText, want) {
  let sum = 0;
  for (const line of metricsText.split('\n')) {
    const m = /^http_requests_total\{([^}]*)\} (\d+(?:\.\d+)?(?:e[+-]?\d+)?)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(want).every(([k, v]) => labels[k] === v)) sum += Number(m[2]);
  }
  return sum;
}

describe('system routes', () => {
  let app;
  before(async () => { app = await startApp(); });
  after(async () => { if (app) await app.stop(); });

  test('GET /health answers ok with the database state, version and instance id', async () => {
    const r = await request(`${app.url}/health`);
    assert.equal(r.status, 200);
    assert.match(header(r, 'content-type'), /^application\/json/);
    assert.equal(r.json.status, 'ok');
    assert.equal(r.json.db, 'ok');
    assert.equal(typeof r.json.version, 'string');
    assert.ok(r.json.version.length > 0, 'version is not empty');
    assert.match(r.json.instance_id, UUID);
  });

  test('the instance id is a UUIDv7, like every public id', async () => {
    const r = await request(`${app.url}/health`);
    assert.match(r.json.instance_id, UUID_V7);
  });

  test('/health reports the same version as `app version`', async () => {
    const r = await request(`${app.url}/health`);
    const cli = runCli(['version']);
    assert.equal(cli.code, 0);
    assert.equal(r.json.version, cli.stdout.trim());
  });

  test('HEAD /health answers 200 with an empty body', async () => {
    const r = await rawRequest(`${app.url}/health`, { method: 'HEAD' });
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 0);
    assert.ok(r.headers['x-request-id'], 'HEAD has a request id too');
  });

  // One request per status the brief names: [label, expected status, () => response]
  function everyKindOfResponse(extraHeaders) {
    const big = `{"a":"${'x'.repeat(LIMIT + 1 - 8)}"}`;
    return [
      ['200 GET /health', 200, () => request(`${app.url}/health`, { headers: extraHeaders })],
      ['304 GET / revalidated', 304, async () => {
        const etag = header(await request(`${app.url}/`), 'etag');
        assert.ok(etag, 'GET / has an ETag');
        return request(`${app.url}/`, { headers: { ...extraHeaders, 'If-None-Match': etag } });
      }],
      ['400 malformed report', 400, () => request(`${app.url}/api/v1/csp-report`, {
        method: 'POST', headers: { ...extraHeaders, 'Content-Type': 'application/json' }, body: '{',
      })],
      ['404 unknown path', 404, () => request(`${app.url}/api/v1/nope`, { headers: extraHeaders })],
      ['405 POST /health', 405, () => request(`${app.url}/health`, { method: 'POST', headers: extraHeaders })],
      ['413 report too large', 413, () => rawRequest(`${app.url}/api/v1/csp-report`, {
        method: 'POST', body: big,
        headers: { ...extraHeaders, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(big) },
      })],
      ['204 valid report', 204, () => request(`${app.url}/api/v1/csp-report`, {
        method: 'POST', headers: { ...extraHeaders, 'Content-Type': 'application/csp-report' },
        body: JSON.stringify({ 'csp-report': { 'document-uri': 'http://x/', 'violated-directive': 'script-src' } }),
      })],
    ];
  }

  test('every response carries a non-empty X-Request-Id', async () => {
    for (const [label, status, send] of everyKindOfResponse({})) {
      const r = await send();
      assert.equal(r.status, status, label);
      const id = header(r, 'x-request-id');
      assert.ok(id && id.length > 0, `${label}: X-Request-Id present`);
    }
  });

  test('a client request id of safe characters is echoed back on every response', async () => {
    for (const [label, status, send] of everyKindOfResponse({ 'X-Request-Id': 'e2e.Trace-id_42' })) {
      const r = await send();
      assert.equal(r.status, status, label);
      assert.equal(header(r, 'x-request-id'), 'e2e.Trace-id_42', label);
    }
    const longest = 'a'.repeat(64);
    const r = await request(`${app.url}/health`, { headers: { 'X-Request-Id': longest } });
    assert.equal(header(r, 'x-request-id'), longest, 'a 64-character id is kept');
  });

  test('an unsafe client request id is replaced by a generated one', async () => {
    const unsafe = ['has spaces in it', 'x'.repeat(200), 'y'.repeat(65), 'semi;colon', '<script>', 'a/b', 'q"uote'];
    for (const bad of unsafe) {
      const r = await request(`${app.url}/health`, { headers: { 'X-Request-Id': bad } });
      assert.equal(r.status, 200);
      const id = header(r, 'x-request-id');
      assert.ok(id && id.length > 0, `replacement for ${JSON.stringify(bad.slice(0, 20))} is not empty`);
      assert.notEqual(id, bad, `${JSON.stringify(bad.slice(0, 20))} is not echoed`);
      assert.match(id, /^[A-Za-z0-9._-]{1,64}$/, 'the generated id is itself safe');
    }
  });

  test('generated request ids are unique', async () => {
    const ids = new Set();
    await Promise.all(Array.from({ length: 30 }, async () => {
      ids.add(header(await request(`${app.url}/health`), 'x-request-id'));
    }));
    assert.equal(ids.size, 30);
  });

  test('GET /api/v1/countries lists the 249 ISO 3166-1 countries with calling codes', async () => {
    const r = await request(`${app.url}/api/v1/countries`);
    assert.equal(r.status, 200);
    assert.match(header(r, 'content-type'), /^application\/json/);
    assert.ok(Array.isArray(r.json), 'an array');
    assert.equal(r.json.length, 249);
    for (const c of r.json) {
      assert.deepEqual(Object.keys(c).sort(), ['code', 'dial_code', 'name'], JSON.stringify(c));
      assert.match(c.code, /^[A-Z]{2}$/, JSON.stringify(c));
      assert.equal(typeof c.name, 'string');
      assert.ok(c.name.length > 0, JSON.stringify(c));
      assert.match(c.dial_code, /^\+\d[\d ]*$/, JSON.stringify(c));
    }
    assert.equal(new Set(r.json.map((c) => c.code)).size, 249, 'codes are unique');
    assert.deepEqual(r.json.find((c) => c.code === 'AR'), { code: 'AR', name: 'Argentina', dial_code: '+54' });
  });

  test('GET /metrics from loopback serves Prometheus text with request counts and latency', async () => {
    assert.equal((await request(`${app.url}/health`)).status, 200);
    const r = await request(`${app.url}/metrics`);
    assert.equal(r.status, 200);
    assert.match(header(r, 'content-type'), /^text\/plain/);
    assert.match(r.text, /http_requests_total\{/);
    assert.match(r.text, /http_requests_total\{[^}]*route="\/health"[^}]*status="200"[^}]*\} \d+/);
    assert.match(r.text, /http_request_duration_seconds_bucket\{/);
    assert.match(r.text, /^process_resident_memory_bytes \d/m);
    assert.match(r.text, /^http_open_connections \d/m);
  });

  test('the /health request counter grows by one per call', async () => {
    const count = async () => requestCount((await request(`${app.url}/metrics`)).text, { route: '/health', status: '200' });
    const before = await count();
    for (let i = 0; i < 3; i++) await request(`${app.url}/health`);
    assert.equal(await count(), before + 3);
  });

  test('/metrics counts error answers by code, for every code of the error table', async () => {
    const errors = (text) => Object.fromEntries([...text.matchAll(/^http_errors_total\{code="([a-z_]+)",status="(\d+)"\} (\d+)$/gm)]
      .map((m) => [m[1], { status: Number(m[2]), n: Number(m[3]) }]));
    const doc = (await request(`${app.url}/api/v1/openapi.json`)).json;
    const before = errors((await request(`${app.url}/metrics`)).text);
    assert.deepEqual(Object.keys(before), doc['x-error-codes'].map((e) => e.code), 'the whole table, in its order');
    for (const e of doc['x-error-codes']) assert.equal(before[e.code].status, e.status, e.code);
    assert.equal((await request(`${app.url}/no/such/thing`, { headers: { Accept: 'application/json' } })).status, 404);
    assert.equal((await request(`${app.url}/api/v1/users/me`)).status, 401);
    const after = errors((await request(`${app.url}/metrics`)).text);
    assert.equal(after.not_found.n, before.not_found.n + 1);
    assert.equal(after.unauthorized.n, before.unauthorized.n + 1);
  });

  test('GET /metrics from another address without a token is refused', async (t) => {
    const ext = Object.values(os.networkInterfaces()).flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal);
    if (!ext) { t.skip('this machine has no non-loopback IPv4 address'); return; }
    const wide = await startApp({ listen: '0.0.0.0:0', t });
    const base = `http://${ext.address}:${wide.port}`;
    assert.equal((await request(`${base}/health`)).status, 200, 'reachable from that address');
    const r = await request(`${base}/metrics`);
    assert.ok(r.status === 401 || r.status === 403, `status ${r.status}`);
    assert.doesNotMatch(r.text, /http_requests_total/);
    assert.equal((await request(`http://127.0.0.1:${wide.port}/metrics`)).status, 200, 'loopback still allowed');
    await wide.stop();
  });
});

describe('JSON logs', () => {
  test('LOG_FORMAT=json writes one JSON object per line and keeps query strings out of the log', async (t) => {
    const app = await startApp({ env: { LOG_FORMAT: 'json' }, t });
    const r = await request(`${app.url}/health?token=secret123`);
    assert.equal(r.status, 200);
    const id = header(r, 'x-request-id');
    const exit = await app.stop();
    assert.equal(exit.code, 0);
    const lines = app.stderrLines();
    assert.ok(lines.length >= 2, 'something was logged');
    const objs = lines.map((l, i) => {
      try { return JSON.parse(l); } catch { assert.fail(`stderr line ${i + 1} is not JSON: ${l}`); }
      return null;
    });
    for (const o of objs) assert.equal(typeof o, 'object', 'each line is an object');
    const line = objs.find((o) => o.path === '/health' && o.status === 200);
    assert.ok(line, `a request line for /health:\n${app.stderr()}`);
    assert.equal(typeof line.request_id, 'string');
    assert.ok(line.request_id.length > 0);
    assert.equal(line.request_id, id, 'the log line names the id the client got');
    assert.ok(!app.stderr().includes('secret123'), 'the query string value is not logged');
  });
});
