// The error contract (404, 405, 400, 413) and the CSP report endpoint's handling of
// hostile and oversized bodies; the server must stay up through all of it.
'use strict';

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const {
  startApp, request, rawRequest, rawSocket, assertError, header,
} = require('./lib/app');

const LIMIT = 64 * 1024;
const REPORT = '/api/v1/csp-report';
const VALID_REPORT = JSON.stringify({ 'csp-report': { 'document-uri': 'http://x/', 'violated-directive': 'script-src' } });

// A valid JSON object of exactly n bytes.
function jsonOfSize(n) {
  const s = `{"a":"${'x'.repeat(n - 8)}"}`;
  assert.equal(Buffer.byteLength(s), n);
  return s;
}

describe('error responses and the CSP report endpoint', () => {
  let app;
  before(async () => { app = await startApp(); });
  after(async () => { if (app) await app.stop(); });

  const post = (body, type = 'application/json') => rawRequest(`${app.url}${REPORT}`, {
    method: 'POST', body, headers: { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) },
  });
  const stillUp = async () => {
    const r = await request(`${app.url}/health`);
    assert.equal(r.status, 200, 'the server still answers /health');
  };

  test('an unknown API path answers 404 not_found as a JSON error', async () => {
    assertError(assert, await request(`${app.url}/api/v1/nope`), 404, 'not_found');
    assertError(assert, await request(`${app.url}/api/v1/nope`, { method: 'DELETE' }), 404, 'not_found');
    assertError(assert, await request(`${app.url}/api/v2/countries`), 404, 'not_found');
  });

  test('a known path with a method it does not answer gives 405 with Allow', async () => {
    const r = await request(`${app.url}/health`, { method: 'POST' });
    assertError(assert, r, 405, 'method_not_allowed');
    assert.equal(header(r, 'allow'), 'GET, HEAD');
    const put = await request(`${app.url}/health`, { method: 'PUT', body: '{}' });
    assertError(assert, put, 405, 'method_not_allowed');
    assert.equal(header(put, 'allow'), 'GET, HEAD');
  });

  test('GET on the report endpoint gives 405 and allows POST', async () => {
    const r = await request(`${app.url}${REPORT}`);
    assertError(assert, r, 405, 'method_not_allowed');
    assert.match(header(r, 'allow') || '', /\bPOST\b/);
  });

  test('a valid CSP report is accepted with 204 and no body', async () => {
    for (const type of ['application/csp-report', 'application/json', 'application/reports+json']) {
      const r = await post(VALID_REPORT, type);
      assert.equal(r.status, 204, type);
      assert.equal(r.body.length, 0, type);
    }
  });

  test('a Reporting API batch (a JSON array) is accepted with 204', async () => {
    const batch = JSON.stringify([{
      type: 'csp-violation', age: 10, url: 'http://x/', user_agent: 'e2e',
      body: { documentURL: 'http://x/', effectiveDirective: 'img-src', blockedURL: 'http://evil/' },
    }]);
    assert.equal((await post(batch, 'application/reports+json')).status, 204);
  });

  test('malformed JSON answers 400 invalid_json', async () => {
    const bad = ['{', '{"a":}', '[1,]', "{'a':1}", '{"a":1}}', '{"a" 1}', 'nul', '{"a":"unterminated}',
      '{"a":01}', '{"a":1e}', '\u0000'];
    for (const body of bad) {
      const r = await post(body);
      assert.equal(r.status, 400, `${JSON.stringify(body)} -> ${r.status}`);
      assertError(assert, r, 400, 'invalid_json');
    }
  });

  test('JSON that is neither an object nor an array answers 400 invalid_input', async () => {
    for (const body of ['1', '"text"', 'null', 'true', '-2.5']) {
      const r = await post(body);
      assert.equal(r.status, 400, `${body} -> ${r.status}`);
      assertError(assert, r, 400, 'invalid_input');
    }
  });

  test('invalid UTF-8 inside a JSON string answers 400 invalid_json', async () => {
    const sequences = [[0xff], [0xc0, 0xaf], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]];
    for (const seq of sequences) {
      const body = Buffer.concat([Buffer.from('{"csp-report":{"document-uri":"http://x/'), Buffer.from(seq), Buffer.from('"}}')]);
      const r = await rawRequest(`${app.url}${REPORT}`, {
        method: 'POST', body, headers: { 'Content-Type': 'application/json', 'Content-Length': body.length },
      });
      assert.equal(r.status, 400, `bytes ${seq.map((b) => b.toString(16)).join(' ')} -> ${r.status}`);
      assertError(assert, r, 400, 'invalid_json');
    }
  });

  test('deeply nested JSON is refused and the server stays up', async () => {
    for (const body of ['['.repeat(10000), '['.repeat(10000) + ']'.repeat(10000), '{"a":'.repeat(10000) + '1' + '}'.repeat(10000)]) {
      const r = await post(body);
      assert.ok(r.status === 400 || r.status === 413, `status ${r.status}`);
      if (r.status === 400) assertError(assert, r, 400, 'invalid_json');
      else assertError(assert, r, 413, 'payload_too_large');
    }
    await stillUp();
  });

  test('a body of exactly 64 KiB is accepted', async () => {
    assert.equal((await post(jsonOfSize(LIMIT))).status, 204);
  });

  test('a body of 64 KiB + 1 byte with Content-Length answers 413 payload_too_large', async () => {
    assertError(assert, await post(jsonOfSize(LIMIT + 1)), 413, 'payload_too_large');
    await stillUp();
  });

  test('a Content-Length far over the limit is refused without waiting for the body', async () => {
    const s = await rawSocket(app.port);
    await s.write(`POST ${REPORT} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      'Content-Length: 1073741824\r\n\r\n{"a":"');
    const r = await s.readResponse(5000);
    s.close();
    assert.equal(r.status, 413);
    assert.match(r.body, /payload_too_large/);
  });

  test('a chunked body over 64 KiB answers 413 payload_too_large', async () => {
    const body = jsonOfSize(LIMIT + 1);
    const chunks = [];
    for (let i = 0; i < body.length; i += 8192) chunks.push(body.slice(i, i + 8192));
    const r = await rawRequest(`${app.url}${REPORT}`, {
      method: 'POST', chunks, headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' },
    });
    assertError(assert, r, 413, 'payload_too_large');
    await stillUp();
  });

  test('a small chunked report is accepted', async () => {
    const r = await rawRequest(`${app.url}${REPORT}`, {
      method: 'POST', chunks: [VALID_REPORT.slice(0, 10), VALID_REPORT.slice(10)],
      headers: { 'Content-Type': 'application/csp-report', 'Transfer-Encoding': 'chunked' },
    });
    assert.equal(r.status, 204);
  });

  test('odd and hostile paths answer 400 or 404, never 5xx', async () => {
    const paths = ["/api/v1/countries'%20OR%201=1--", '/api/v1/%00', '/..%2f..%2fetc%2fpasswd',
      '/%ff%fe', `/${'a'.repeat(4000)}`];
    for (const p of paths) {
      const r = await rawRequest(`${app.url}${p}`);
      assert.ok(r.status === 400 || r.status === 404 || r.status === 414, `${p.slice(0, 40)}: ${r.status}`);
      assert.ok(header(r, 'x-request-id'), `${p.slice(0, 40)}: X-Request-Id`);
    }
    await stillUp();
  });

  test('an encoded NUL in a path is not cut off there (/health%00 is not /health)', async () => {
    for (const p of ['/health%00', '/health%00.json', '/api/v1/countries%00x']) {
      const r = await rawRequest(`${app.url}${p}`);
      assert.ok(r.status === 400 || r.status === 404, `${p}: ${r.status}`);
    }
  });
});
