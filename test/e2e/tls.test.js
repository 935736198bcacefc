// HTTPS: --tls-auto makes a certificate once and serves with it; --tls-cert/--tls-key too.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const https = require('node:https');
const http = require('node:http');
const path = require('node:path');
const { startApp, tmpDataDir } = require('./lib/app');

function get(url, opts) {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https') ? https : http;
    const req = mod.get(url, opts, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.setTimeout(3000, () => req.destroy(new Error('timeout')));
  });
}

test('--tls-auto serves HTTPS with a certificate clients can verify', async () => {
  const app = await startApp({ args: ['--tls-auto'] });
  assert.match(app.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const certFile = path.join(app.dataDir, 'tls', 'cert.pem');
  const keyFile = path.join(app.dataDir, 'tls', 'key.pem');
  assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
  const ca = fs.readFileSync(certFile);
  const byIp = await get(`${app.url}/health`, { ca });
  assert.equal(byIp.status, 200);
  assert.equal(JSON.parse(byIp.body).status, 'ok');
  const byName = await get(`https://localhost:${app.port}/health`, { ca });
  assert.equal(byName.status, 200);
  await assert.rejects(get(`${app.url}/health`, {}), 'an unknown certificate is not trusted');
  await assert.rejects(get(`http://127.0.0.1:${app.port}/health`, {}), 'plain HTTP is not served');
  await app.stop();

  const again = await startApp({ dataDir: app.dataDir, args: ['--tls-auto'] });
  assert.deepEqual(fs.readFileSync(certFile), ca, 'the certificate is made once');
  assert.equal((await get(`${again.url}/health`, { ca })).status, 200);
  await again.stop();
});

test('--tls-cert and --tls-key serve a given certificate', async () => {
  const first = await startApp({ args: ['--tls-auto'] });
  await first.stop();
  const dir = path.dirname(first.dataDir);
  const cert = path.join(dir, 'given-cert.pem');
  const key = path.join(dir, 'given-key.pem');
  fs.copyFileSync(path.join(first.dataDir, 'tls', 'cert.pem'), cert);
  fs.copyFileSync(path.join(first.dataDir, 'tls', 'key.pem'), key);
  const app = await startApp({ dataDir: tmpDataDir(), args: ['--tls-cert', cert, '--tls-key', key] });
  assert.equal((await get(`${app.url}/health`, { ca: fs.readFileSync(cert) })).status, 200);
  await app.stop();
});

test('a key that does not match the certificate is refused at start', async () => {
  const a = await startApp({ args: ['--tls-auto'] });
  await a.stop();
  const b = await startApp({ args: ['--tls-auto'] });
  await b.stop();
  const err = await startApp({ dataDir: tmpDataDir(), args: [
    '--tls-cert', path.join(a.dataDir, 'tls', 'cert.pem'),
    '--tls-key', path.join(b.dataDir, 'tls', 'key.pem')] }).then(() => null, (e) => e);
  assert.ok(err);
  assert.match(err.message, /not the key/);
});
