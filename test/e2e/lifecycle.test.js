// The process's life: the data directory across restarts and crashes, the single-instance
// lock, graceful shutdown on SIGTERM/SIGINT, a database from a newer binary, app.env.
'use strict';

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const {
  startApp, runCliAsync, tmpDataDir, request, rawRequest, rawSocket, sqlite, sleep, assertError, header,
} = require('./lib/app');

const instanceId = async (app) => {
  const r = await request(`${app.url}/health`);
  assert.equal(r.status, 200);
  return r.json.instance_id;
};

describe('data directory', () => {
  test('the data directory is created private, with a secret key and a database', async (t) => {
    const app = await startApp({ t });
    assert.equal(fs.statSync(app.dataDir).mode & 0o777, 0o700, 'data directory mode');
    const keyFile = path.join(app.dataDir, 'secret.key');
    const key = fs.statSync(keyFile);
    assert.ok(key.isFile(), 'secret.key is a file');
    assert.equal(key.mode & 0o777, 0o600, 'secret.key mode');
    assert.ok(key.size >= 32, `secret.key holds ${key.size} bytes`);
    assert.ok(fs.statSync(path.join(app.dataDir, 'app.db')).isFile(), 'app.db exists');
    assert.equal((await app.stop()).code, 0);
  });

  test('instance id and secret key are kept across a clean restart', async (t) => {
    const first = await startApp({ t });
    const id = await instanceId(first);
    const key = fs.readFileSync(path.join(first.dataDir, 'secret.key'));
    const exit = await first.stop('SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null }, 'SIGTERM exits with status 0');
    const second = await startApp({ dataDir: first.dataDir, t });
    assert.equal(await instanceId(second), id);
    assert.deepEqual(fs.readFileSync(path.join(first.dataDir, 'secret.key')), key, 'the key is not remade');
    assert.equal((await second.stop()).code, 0);
  });

  test('data survives kill -9 and the next start is healthy', async (t) => {
    const first = await startApp({ t });
    const id = await instanceId(first);
    const killed = await first.kill9();
    assert.equal(killed.signal, 'SIGKILL');
    const second = await startApp({ dataDir: first.dataDir, t });
    const r = await request(`${second.url}/health`);
    assert.equal(r.status, 200);
    assert.equal(r.json.status, 'ok');
    assert.equal(r.json.db, 'ok');
    assert.equal(r.json.instance_id, id);
    assert.equal((await second.stop()).code, 0);
  });

  test('second instance on the same data directory is refused', async (t) => {
    const first = await startApp({ t });
    const began = Date.now();
    const second = await runCliAsync(['--data', first.dataDir, '--listen', '127.0.0.1:0'], { timeout: 10000 });
    const took = Date.now() - began;
    assert.equal(second.code, 1, `exit status (signal ${second.signal}); stderr:\n${second.stderr}`);
    assert.ok(took < 5000, `refused promptly (${took} ms)`);
    assert.match(second.stderr, /in use/);
    assert.equal((await request(`${first.url}/health`)).status, 200, 'the first instance is unaffected');
    assert.equal((await first.stop()).code, 0);
  });
});

describe('shutdown', () => {
  test('SIGTERM lets a slow request in flight finish with 204, then exits 0', async (t) => {
    const app = await startApp({ t });
    const body = JSON.stringify({ 'csp-report': { 'document-uri': 'http://x/', 'violated-directive': 'script-src' } });
    const half = Math.floor(body.length / 2);
    const slow = await rawSocket(app.port);
    t.after(() => slow.close());
    await slow.write(`POST /api/v1/csp-report HTTP/1.1\r\nHost: 127.0.0.1:${app.port}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, half)}`);
    await sleep(200);
    app.proc.kill('SIGTERM');
    await sleep(300);
    assert.equal(app.proc.exitCode, null, 'still running while a request is in flight');

    // A new request meanwhile is turned away: 503, or the connection is refused.
    let fresh;
    try {
      fresh = await rawRequest(`${app.url}/health`, { timeout: 3000 });
    } catch (e) {
      fresh = { error: e };
    }
    t.diagnostic(`request during shutdown: ${fresh.error ? fresh.error.code || fresh.error.message : fresh.status}`);
    if (fresh.error) {
      assert.equal(fresh.error.code, 'ECONNREFUSED', `a new request failed with ${fresh.error.code || fresh.error.message}`);
    } else {
      assert.equal(fresh.status, 503, 'a new request during shutdown');
      assertError(assert, fresh, 503, 'unavailable');
      assert.ok(header(fresh, 'retry-after'), '503 carries Retry-After');
    }

    await slow.write(body.slice(half));
    const r = await slow.readResponse(5000);
    assert.equal(r.status, 204, `the request in flight was answered:\n${r.head}`);
    slow.close();
    const exit = await app.waitExit(10000);
    assert.ok(exit, 'the process exits within 10 s after its last request');
    assert.deepEqual(exit, { code: 0, signal: null });
  });

  test('an idle keep-alive connection does not hold up shutdown', async (t) => {
    const app = await startApp({ t });
    const idle = await rawSocket(app.port);
    t.after(() => idle.close());
    await idle.write(`GET /health HTTP/1.1\r\nHost: 127.0.0.1:${app.port}\r\nConnection: keep-alive\r\n\r\n`);
    assert.equal((await idle.readResponse(5000)).status, 200);
    const began = Date.now();
    app.proc.kill('SIGTERM');
    const exit = await app.waitExit(5000);
    assert.ok(exit, 'exited within 5 s with a client connection left open');
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(Date.now() - began < 5000);
  });

  test('SIGINT also exits with status 0', async (t) => {
    const app = await startApp({ t });
    await instanceId(app);
    assert.deepEqual(await app.stop('SIGINT'), { code: 0, signal: null });
  });
});

describe('schema version', () => {
  const FUTURE = "INSERT INTO schema_migrations(version,name,applied_at) VALUES(9999,'9999_future.sql','2030-01-01T00:00:00Z')";

  async function dataDirFromTheFuture(t) {
    const app = await startApp({ t });
    assert.equal((await app.stop()).code, 0);
    const r = sqlite(path.join(app.dataDir, 'app.db'), FUTURE);
    assert.equal(r.code, 0, r.stderr);
    return app.dataDir;
  }

  test('a database written by a newer binary is refused at start', async (t) => {
    const dataDir = await dataDirFromTheFuture(t);
    const r = await runCliAsync(['--data', dataDir, '--listen', '127.0.0.1:0'], { timeout: 10000 });
    assert.equal(r.code, 1, `exit status (signal ${r.signal}); stderr:\n${r.stderr}`);
    assert.match(r.stderr, /newer/);
  });

  test('migrate also refuses a database written by a newer binary', async (t) => {
    const dataDir = await dataDirFromTheFuture(t);
    const r = await runCliAsync(['--data', dataDir, 'migrate'], { timeout: 10000 });
    assert.equal(r.code, 1, `exit status; stderr:\n${r.stderr}`);
    assert.match(r.stderr, /newer/);
    const rows = sqlite(path.join(dataDir, 'app.db'), 'SELECT max(version) FROM schema_migrations');
    assert.equal(rows.stdout.trim(), '9999', 'the database is left as it was');
  });
});

describe('settings file', () => {
  test('settings are read from DATA/app.env, and the environment overrides them', async (t) => {
    const dataDir = tmpDataDir();
    fs.mkdirSync(dataDir, { mode: 0o700 });
    fs.writeFileSync(path.join(dataDir, 'app.env'), '# written by the e2e test\nLOG_FORMAT=json\n');
    const fromFile = await startApp({ dataDir, t });
    assert.equal((await fromFile.stop()).code, 0);
    for (const line of fromFile.stderrLines()) assert.doesNotThrow(() => JSON.parse(line), `JSON line: ${line}`);

    const fromEnv = await startApp({ dataDir, env: { LOG_FORMAT: 'text' }, t });
    assert.equal((await fromEnv.stop()).code, 0);
    assert.throws(() => JSON.parse(fromEnv.stderrLines()[0]), 'the environment wins: text lines');
  });
});
