// The data directory across restarts and crashes, the lock, graceful shutdown, and a
// database from a newer binary.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { startApp, tmpDataDir, request, runCli } = require('./lib/app');

const instanceId = async (app) => (await request(`${app.url}/health`)).json.instance_id;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('the data directory is private and keeps a secret key', async () => {
  const app = await startApp();
  const st = fs.statSync(app.dataDir);
  assert.equal(st.mode & 0o777, 0o700);
  const key = fs.statSync(path.join(app.dataDir, 'secret.key'));
  assert.equal(key.mode & 0o777, 0o600);
  assert.equal(key.size, 32);
  assert.ok(fs.existsSync(path.join(app.dataDir, 'app.db')));
  const first = fs.readFileSync(path.join(app.dataDir, 'secret.key'));
  assert.deepEqual(await app.stop(), { code: 0, signal: null });
  const again = await startApp({ dataDir: app.dataDir });
  assert.deepEqual(fs.readFileSync(path.join(app.dataDir, 'secret.key')), first);
  await again.stop();
});

test('data is kept across a restart and across kill -9', async () => {
  const app = await startApp();
  const id = await instanceId(app);
  assert.deepEqual(await app.stop(), { code: 0, signal: null });
  const second = await startApp({ dataDir: app.dataDir });
  assert.equal(await instanceId(second), id);
  const killed = await second.kill9();
  assert.equal(killed.signal, 'SIGKILL');
  const third = await startApp({ dataDir: app.dataDir });
  assert.equal(await instanceId(third), id);
  assert.equal((await request(`${third.url}/health`)).json.db, 'ok');
  await third.stop();
});

test('a second instance on the same data directory is refused', async () => {
  const app = await startApp();
  const second = await startApp({ dataDir: app.dataDir }).then(
    (a) => { a.kill9(); return null; }, (e) => e);
  assert.ok(second instanceof Error, 'second instance must not start');
  assert.match(second.message, /in use/);
  assert.match(second.message, new RegExp(`pid ${app.proc.pid}`));
  const r = runCli(['--data', app.dataDir, '--listen', '127.0.0.1:0']);
  assert.equal(r.code, 1);
  assert.equal((await request(`${app.url}/health`)).status, 200);
  await app.stop();
});

test('SIGTERM lets a slow request in flight finish, refuses new ones, and exits 0', async () => {
  const app = await startApp();
  const body = JSON.stringify({ 'csp-report': { 'violated-directive': 'script-src' } });
  const sock = net.connect(app.port, '127.0.0.1');
  await new Promise((r) => sock.on('connect', r));
  let reply = '';
  sock.on('data', (d) => { reply += d; });
  sock.write(`POST /api/v1/csp-report HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`);
  await sleep(200);
  app.proc.kill('SIGTERM');
  await sleep(300);
  // meanwhile a new request is turned away (503) or cannot connect at all
  const fresh = await request(`${app.url}/health`).catch(() => ({ status: 'refused' }));
  assert.ok(fresh.status === 503 || fresh.status === 'refused', `new request got ${fresh.status}`);
  sock.write(body.slice(10));
  const deadline = Date.now() + 5000;
  while (!/\r\n\r\n/.test(reply) && Date.now() < deadline) await sleep(20);
  assert.match(reply, /^HTTP\/1\.1 204 /);
  sock.destroy();
  const exit = await Promise.race([app.exited, sleep(10000).then(() => 'timeout')]);
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.match(app.stderr(), /shutting down/);
});

test('SIGINT also exits 0', async () => {
  const app = await startApp();
  assert.deepEqual(await app.stop('SIGINT'), { code: 0, signal: null });
});

test('a database from a newer binary is refused', async () => {
  const dataDir = tmpDataDir();
  assert.equal(runCli(['--data', dataDir, 'migrate']).code, 0);
  const sql = "INSERT INTO schema_migrations(version,name,applied_at) VALUES(9999,'9999_future.sql','2030-01-01T00:00:00Z')";
  const r = spawnSync('sqlite3', [path.join(dataDir, 'app.db'), sql], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const err = await startApp({ dataDir }).then(() => null, (e) => e);
  assert.ok(err, 'must not start');
  assert.match(err.message, /newer/);
  const cli = runCli(['--data', dataDir, 'migrate']);
  assert.equal(cli.code, 1);
  assert.match(cli.stderr, /newer/);
});

test('JSON logs: one object per line, the access line without the query string', async () => {
  const app = await startApp({ env: { LOG_FORMAT: 'json' } });
  await request(`${app.url}/health?token=secret123`);
  await app.stop();
  const lines = app.stderr().trim().split('\n');
  const objs = lines.map((l) => JSON.parse(l));
  const access = objs.find((o) => o.msg === 'request' && o.path === '/health');
  assert.ok(access, 'access line logged');
  assert.equal(access.status, 200);
  assert.equal(access.method, 'GET');
  assert.ok(access.request_id);
  assert.equal(typeof access.us, 'number');
  assert.equal(typeof access.bytes, 'number');
  assert.doesNotMatch(app.stderr(), /secret123/);
});

test('settings come from DATA/app.env, and the environment wins over it', async () => {
  const dataDir = tmpDataDir();
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(dataDir, 'app.env'), '# test\nLOG_FORMAT=json\nCORS_ORIGINS=http://file.test\n');
  const app = await startApp({ dataDir, env: { CORS_ORIGINS: 'http://env.test' } });
  assert.doesNotThrow(() => JSON.parse(app.stderr().trim().split('\n')[0]));
  const fromEnv = await request(`${app.url}/health`, { headers: { Origin: 'http://env.test' } });
  assert.equal(fromEnv.headers.get('access-control-allow-origin'), 'http://env.test');
  const fromFile = await request(`${app.url}/health`, { headers: { Origin: 'http://file.test' } });
  assert.equal(fromFile.headers.get('access-control-allow-origin'), null);
  await app.stop();
  fs.writeFileSync(path.join(dataDir, 'app.env'), 'APP_THREADS=lots\n');
  const bad = runCli(['--data', dataDir]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /APP_THREADS/);
});
