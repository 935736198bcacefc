// HTTPS: --tls-auto makes a self-signed certificate once and serves with it; a given
// certificate and key (--tls-cert/--tls-key) work too. Certificate checks stay on.
'use strict';

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startApp, rawRequest, tmpDir } = require('./lib/app');

const certOf = (app) => path.join(app.dataDir, 'tls', 'cert.pem');
const keyOf = (app) => path.join(app.dataDir, 'tls', 'key.pem');

function httpsGet(url, tlsOptions) {
  return rawRequest(url, { tlsOptions: { rejectUnauthorized: true, ...tlsOptions }, timeout: 5000 });
}

describe('HTTPS', () => {
  test('--tls-auto serves HTTPS with a certificate kept in DATA/tls/cert.pem', async (t) => {
    const app = await startApp({ tls: true, t });
    assert.match(app.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(fs.statSync(certOf(app)).isFile(), 'DATA/tls/cert.pem exists');
    const ca = fs.readFileSync(certOf(app));
    const r = await httpsGet(`${app.url}/health`, { ca, servername: 'localhost' });
    assert.equal(r.status, 200);
    assert.equal(r.json.status, 'ok');
    await app.stop();
  });

  test('the self-signed certificate also verifies for 127.0.0.1 and for https://localhost', async (t) => {
    const app = await startApp({ tls: true, t });
    const ca = fs.readFileSync(certOf(app));
    assert.equal((await httpsGet(`https://127.0.0.1:${app.port}/health`, { ca })).status, 200, 'by IP address');
    assert.equal((await httpsGet(`https://localhost:${app.port}/health`, { ca, family: 4 })).status, 200, 'by name');
    await app.stop();
  });

  test('a client that does not trust the certificate is refused', async (t) => {
    const app = await startApp({ tls: true, t });
    await assert.rejects(httpsGet(`${app.url}/health`, {}), (e) => /self.signed|certificate/i.test(`${e.code} ${e.message}`));
    await app.stop();
  });

  test('plain HTTP to the HTTPS port does not get an answer', async (t) => {
    const app = await startApp({ tls: true, t });
    let outcome;
    try {
      const r = await rawRequest(`http://127.0.0.1:${app.port}/health`, { timeout: 5000 });
      outcome = { status: r.status, text: r.text };
    } catch (e) {
      outcome = { error: e.code || e.message };
    }
    assert.ok(outcome.error || outcome.status !== 200, `plain HTTP got ${JSON.stringify(outcome).slice(0, 200)}`);
    assert.ok(!(outcome.text || '').includes('"status":"ok"'), 'no health answer in the clear');
    const ca = fs.readFileSync(certOf(app));
    assert.equal((await httpsGet(`${app.url}/health`, { ca, servername: 'localhost' })).status, 200, 'HTTPS still works');
    await app.stop();
  });

  test('a restart with --tls-auto keeps the same certificate', async (t) => {
    const first = await startApp({ tls: true, t });
    const before = fs.readFileSync(certOf(first));
    assert.equal((await first.stop()).code, 0);
    const second = await startApp({ dataDir: first.dataDir, tls: true, t });
    assert.deepEqual(fs.readFileSync(certOf(second)), before, 'cert.pem unchanged');
    assert.equal((await httpsGet(`${second.url}/health`, { ca: before, servername: 'localhost' })).status, 200);
    await second.stop();
  });

  test('--tls-cert and --tls-key serve the given certificate', async (t) => {
    const maker = await startApp({ tls: true, t });
    await maker.stop();
    const dir = tmpDir();
    const cert = path.join(dir, 'given-cert.pem');
    const key = path.join(dir, 'given-key.pem');
    fs.copyFileSync(certOf(maker), cert);
    fs.copyFileSync(keyOf(maker), key);
    fs.chmodSync(key, 0o600);
    const app = await startApp({ tls: { cert, key }, t });
    assert.match(app.url, /^https:\/\//);
    const r = await httpsGet(`${app.url}/health`, { ca: fs.readFileSync(cert), servername: 'localhost' });
    assert.equal(r.status, 200);
    assert.equal(r.json.status, 'ok');
    await app.stop();
  });
});
