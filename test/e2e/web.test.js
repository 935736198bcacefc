// The embedded web front end, the API document and CORS.
'use strict';

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { startApp, request, rawRequest, header } = require('./lib/app');

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

describe('web front end and API document', () => {
  let app;
  before(async () => { app = await startApp({ env: { CORS_ORIGINS: 'http://allowed.test' } }); });
  after(async () => { if (app) await app.stop(); });

  test('GET / serves the web app as HTML with an ETag and a Content-Security-Policy', async () => {
    const r = await request(`${app.url}/`);
    assert.equal(r.status, 200);
    assert.match(header(r, 'content-type'), /^text\/html/);
    assert.ok(header(r, 'etag'), 'ETag present');
    assert.match(header(r, 'content-security-policy') || '', /default-src 'self'/);
    assert.match(r.text, /<html/i);
  });

  test('GET / with the current ETag in If-None-Match answers 304 with an empty body', async () => {
    const etag = header(await request(`${app.url}/`), 'etag');
    assert.ok(etag);
    const r = await rawRequest(`${app.url}/`, { headers: { 'If-None-Match': etag } });
    assert.equal(r.status, 304);
    assert.equal(r.body.length, 0);
    const stale = await request(`${app.url}/`, { headers: { 'If-None-Match': '"not-the-etag"' } });
    assert.equal(stale.status, 200, 'another ETag gets the page');
  });

  test('GET /docs serves an HTML page under the same policy', async () => {
    const r = await request(`${app.url}/docs`);
    assert.equal(r.status, 200);
    assert.match(header(r, 'content-type'), /^text\/html/);
    assert.match(header(r, 'content-security-policy') || '', /default-src 'self'/);
  });

  test('the scripts and stylesheets the pages load are served', async () => {
    let seen = 0;
    for (const page of ['/', '/docs']) {
      const html = (await request(`${app.url}${page}`)).text;
      const refs = [...html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="(\/[^"#?]*)"/gi)].map((m) => m[1]);
      for (const ref of refs) {
        const r = await request(`${app.url}${ref}`);
        assert.equal(r.status, 200, `${page} loads ${ref}`);
        seen += 1;
      }
    }
    assert.ok(seen > 0, 'the pages reference their assets by absolute path');
  });

  test('scripts and styles live under /assets/<hash>/ and may be cached for a year; pages revalidate', async () => {
    const html = (await request(`${app.url}/`)).text;
    const m = /src="\/assets\/([0-9a-f]{16})\/js\/app\.js"/.exec(html);
    assert.ok(m, 'the page names its script under a hashed path');
    const asset = await request(`${app.url}/assets/${m[1]}/js/app.js`);
    assert.equal(asset.status, 200);
    assert.equal(header(asset, 'cache-control'), 'public, max-age=31536000, immutable');
    assert.match(header(asset, 'content-type'), /^text\/javascript/);
    // modules import each other relatively, so they stay under the same hashed path
    assert.equal((await request(`${app.url}/assets/${m[1]}/js/api.js`)).status, 200);
    const stale = await request(`${app.url}/assets/0123456789abcdef/js/app.js`);
    assert.equal(stale.status, 200);
    assert.equal(header(stale, 'cache-control'), 'no-cache', 'another build\'s hash is not kept');
    assert.equal(header(await request(`${app.url}/`), 'cache-control'), 'no-cache');
    const shell = await request(`${app.url}/chats/some-id`, { headers: { Accept: 'text/html' } });
    assert.equal(shell.status, 200, 'app pages are the HTML shell');
    assert.match(shell.text, /\/assets\/[0-9a-f]{16}\/js\/app\.js/);
    assert.equal((await request(`${app.url}/chats/some-id`)).status, 404, 'but not for API clients');
  });

  test('GET /api/v1/openapi.json is an OpenAPI 3.1 document of the system routes', async () => {
    const r = await request(`${app.url}/api/v1/openapi.json`);
    assert.equal(r.status, 200);
    assert.match(header(r, 'content-type'), /^application\/json/);
    assert.equal(typeof r.json.openapi, 'string');
    assert.ok(r.json.openapi.startsWith('3.1'), `openapi ${r.json.openapi}`);
    for (const p of ['/health', '/api/v1/countries', '/api/v1/csp-report']) {
      assert.ok(r.json.paths && r.json.paths[p], `${p} is documented`);
    }
  });

  test('the document lists the one error table, and @redocly/cli lints it with no error', async () => {
    const doc = (await request(`${app.url}/api/v1/openapi.json`)).json;
    // the description promises only what this build answers (no helpdesk or messaging yet)
    const paths = Object.keys(doc.paths).join(' ');
    if (!/tickets|messages\/\{user_id\}/.test(paths)) assert.doesNotMatch(doc.info.description, /helpdesk|messaging/i);
    const table = doc['x-error-codes'];
    assert.ok(Array.isArray(table) && table.length >= 20, 'x-error-codes lists the table');
    const codes = table.map((e) => e.code);
    for (const c of ['invalid_json', 'invalid_input', 'unauthorized', 'not_found', 'rate_limited',
      'payload_too_large', 'range_not_satisfiable', 'insufficient_storage', 'quota_exceeded',
      'llm_unavailable', 'upstream_timeout', 'upstream_unavailable', 'internal']) {
      assert.ok(codes.includes(c), `${c} is in the table`);
    }
    for (const e of table) assert.ok(e.status >= 400 && e.status < 600 && e.meaning, JSON.stringify(e));
    assert.deepEqual(doc.components.schemas.Error.properties.error.properties.code.enum, codes);
    for (const item of Object.values(doc.paths)) {
      for (const op of HTTP_METHODS.filter((m) => item[m]).map((m) => item[m])) {
        assert.ok(Array.isArray(op.security), `${op.operationId} declares its security`);
      }
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openapi-'));
    const file = path.join(dir, 'openapi.json');
    fs.writeFileSync(file, JSON.stringify(doc));
    const cli = require.resolve('@redocly/cli/bin/cli.js');
    const out = spawnSync(process.execPath, [cli, 'lint', file, '--format=json'],
      { encoding: 'utf8', timeout: 60000, env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' } });
    fs.rmSync(dir, { recursive: true, force: true });
    const report = JSON.parse(out.stdout.slice(out.stdout.indexOf('{')));
    const errors = report.problems.filter((p) => p.severity === 'error');
    assert.deepEqual(errors.map((p) => `${p.ruleId}: ${p.message}`), [], 'no lint error');
  });

  test('every documented route has an operation with a summary', async () => {
    const doc = (await request(`${app.url}/api/v1/openapi.json`)).json;
    for (const [p, item] of Object.entries(doc.paths)) {
      const ops = HTTP_METHODS.filter((m) => item[m]).map((m) => item[m]);
      assert.ok(ops.length > 0, `${p} has an operation`);
      assert.ok(ops.some((op) => typeof op.summary === 'string' && op.summary.length > 0), `${p} has a summary`);
    }
  });

  test('every documented operation on a fixed path is answered by the server', async () => {
    const doc = (await request(`${app.url}/api/v1/openapi.json`)).json;
    for (const [p, item] of Object.entries(doc.paths)) {
      if (p.includes('{')) continue;
      for (const m of HTTP_METHODS.filter((x) => item[x])) {
        const r = await request(`${app.url}${p}`, {
          method: m.toUpperCase(),
          headers: { 'Content-Type': 'application/json' },
          body: ['post', 'put', 'patch'].includes(m) ? '{}' : undefined,
        });
        assert.notEqual(r.status, 404, `${m.toUpperCase()} ${p}`);
        assert.notEqual(r.status, 405, `${m.toUpperCase()} ${p}`);
        assert.ok(r.status < 500, `${m.toUpperCase()} ${p}: ${r.status}`);
      }
    }
  });

  test('CORS: an allowed origin is named in Access-Control-Allow-Origin, with Vary: Origin', async () => {
    const r = await request(`${app.url}/health`, { headers: { Origin: 'http://allowed.test' } });
    assert.equal(r.status, 200);
    assert.equal(header(r, 'access-control-allow-origin'), 'http://allowed.test');
    assert.ok((header(r, 'vary') || '').split(',').map((s) => s.trim().toLowerCase()).includes('origin'),
      `Vary: ${header(r, 'vary')}`);
  });

  test('CORS: another origin gets no Access-Control-Allow-Origin', async () => {
    for (const origin of ['http://evil.test', 'http://allowed.test.evil.test', 'http://allowed.tes', 'null']) {
      const r = await request(`${app.url}/health`, { headers: { Origin: origin } });
      assert.equal(r.status, 200);
      assert.equal(header(r, 'access-control-allow-origin'), null, origin);
    }
  });

  test('CORS: a preflight from an allowed origin answers 204 and allows POST', async () => {
    const r = await request(`${app.url}/api/v1/csp-report`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://allowed.test', 'Access-Control-Request-Method': 'POST' },
    });
    assert.equal(r.status, 204);
    assert.equal(header(r, 'access-control-allow-origin'), 'http://allowed.test');
    assert.match(header(r, 'access-control-allow-methods') || '', /\bPOST\b/);
  });

  test('CORS: a preflight from another origin is not granted', async () => {
    const r = await request(`${app.url}/api/v1/csp-report`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://evil.test', 'Access-Control-Request-Method': 'POST' },
    });
    assert.equal(header(r, 'access-control-allow-origin'), null);
  });
});

describe('CORS off by default', () => {
  test('without CORS_ORIGINS no origin is granted', async (t) => {
    const app = await startApp({ t });
    const r = await request(`${app.url}/health`, { headers: { Origin: 'http://allowed.test' } });
    assert.equal(r.status, 200);
    assert.equal(header(r, 'access-control-allow-origin'), null);
    await app.stop();
  });
});
