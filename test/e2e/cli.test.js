// The command line: version, help, usage errors (status 2, one line), migrate, backup.
'use strict';

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const {
  startApp, runCli, runCliAsync, tmpDir, tmpDataDir, request, sqlite,
} = require('./lib/app');

// stderr is one non-empty line (with or without its final newline)
function assertOneLine(stderr, what) {
  const text = stderr.replace(/\n$/, '');
  assert.ok(text.length > 0, `${what}: says something on stderr`);
  assert.ok(!text.includes('\n'), `${what}: exactly one line on stderr, got:\n${stderr}`);
}

describe('informational commands', () => {
  test('`app version` prints the version and exits 0', () => {
    const r = runCli(['version']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\d+\.\d+\.\d+/);
    assert.equal(r.stdout.trim().split('\n').length, 1, 'just the version');
  });

  test('`app --help` prints usage and exits 0', () => {
    for (const args of [['--help'], ['help']]) {
      const r = runCli(args);
      assert.equal(r.code, 0, `${args}: ${r.stderr}`);
      assert.match(r.stdout, /usage/i, args.join(' '));
    }
  });
});

describe('usage errors', () => {
  const cases = [
    ['an unknown flag', ['--bogus']],
    ['a listen address that is not ADDR:PORT', ['--listen', 'nope']],
    ['a port out of range', ['--listen', '127.0.0.1:99999']],
    ['a flag without its value', ['--listen']],
    ['--tls-cert without --tls-key', ['--tls-cert', '/x.pem']],
    ['--tls-key without --tls-cert', ['--tls-key', '/x.pem']],
    ['an unknown command', ['frobnicate']],
    ['backup without a file', ['backup']],
  ];
  for (const [what, args] of cases) {
    test(`${what} exits 2 with one line on stderr (${args.join(' ')})`, () => {
      const r = runCli(['--data', tmpDataDir(), ...args], { timeout: 10000 });
      assert.equal(r.code, 2, `exit status (signal ${r.signal}); stderr:\n${r.stderr}`);
      assertOneLine(r.stderr, args.join(' '));
    });
  }

  test('a bad setting in the environment stops the start with one line naming it', () => {
    const r = runCli(['--data', tmpDataDir(), '--listen', '127.0.0.1:0'], { env: { LOG_FORMAT: 'xml' }, timeout: 10000 });
    assert.equal(r.code, 2, `exit status (signal ${r.signal}); stderr:\n${r.stderr}`);
    assertOneLine(r.stderr, 'LOG_FORMAT=xml');
    assert.match(r.stderr, /LOG_FORMAT/);
  });
});

describe('migrate', () => {
  test('`app --data DIR migrate` creates the database and can be run again', () => {
    const dataDir = tmpDataDir();
    const first = runCli(['--data', dataDir, 'migrate']);
    assert.equal(first.code, 0, first.stderr);
    const db = path.join(dataDir, 'app.db');
    assert.ok(fs.statSync(db).isFile(), 'app.db created');
    const applied = sqlite(db, 'SELECT count(*) FROM schema_migrations');
    assert.equal(applied.code, 0, applied.stderr);
    assert.ok(Number(applied.stdout.trim()) >= 1, 'migrations recorded');
    const again = runCli(['--data', dataDir, 'migrate']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(sqlite(db, 'SELECT count(*) FROM schema_migrations').stdout, applied.stdout, 'nothing applied twice');
  });
});

describe('backup', () => {
  test('`app backup FILE` copies the live database while the server runs', async (t) => {
    const app = await startApp({ t });
    const id = (await request(`${app.url}/health`)).json.instance_id;
    const file = path.join(tmpDir(), 'snapshot.db');
    const r = await runCliAsync(['--data', app.dataDir, 'backup', file], { timeout: 20000 });
    assert.equal(r.code, 0, `exit status (signal ${r.signal}); stderr:\n${r.stderr}`);
    const check = sqlite(file, 'PRAGMA integrity_check');
    assert.equal(check.code, 0, check.stderr);
    assert.equal(check.stdout.trim(), 'ok');
    assert.equal(sqlite(file, 'SELECT instance_id FROM instance').stdout.trim(), id);
    assert.equal((await request(`${app.url}/health`)).status, 200, 'the server kept serving');
    assert.equal((await app.stop()).code, 0);
  });
});

const json = (body) => ({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

describe('commands beside a running server', () => {
  test('admin create works while the server runs and prints a link to the address it serves on', async (t) => {
    const app = await startApp({ t });
    const r = await runCliAsync(['--data', app.dataDir, 'admin', 'create', 'boss@cli.test'], { timeout: 20000 });
    assert.equal(r.code, 0, `exit status (signal ${r.signal}); stderr:\n${r.stderr}`);
    const link = r.stdout.match(/https?:\/\/\S+/);
    assert.ok(link, r.stdout);
    assert.ok(link[0].startsWith(`${app.url}/reset-password?token=`), `${link[0]} reaches ${app.url}`);
    // the link works against the running server: it sets the password, and the admin signs in
    const token = new URL(link[0]).searchParams.get('token');
    const set = await request(`${app.url}/api/v1/auth/password/reset`, json({ token, password: 'a long admin password' }));
    assert.ok(set.status < 300, set.text);
    const login = await request(`${app.url}/api/v1/auth/login`, json({ email: 'boss@cli.test', password: 'a long admin password' }));
    assert.equal(login.status, 200, login.text);
    assert.equal(login.json.user.role, 'admin');
    const m = await runCliAsync(['--data', app.dataDir, 'migrate'], { timeout: 20000 });
    assert.equal(m.code, 0, `migrate with nothing to do runs beside the server: ${m.stderr}`);
    assert.equal((await app.stop()).code, 0);
  });

  test('the database files are readable by their owner only', async (t) => {
    const app = await startApp({ t });
    await request(`${app.url}/health`);
    for (const f of ['app.db', 'app.db-wal', 'app.db-shm', 'secret.key']) {
      const mode = fs.statSync(path.join(app.dataDir, f)).mode & 0o777;
      assert.equal(mode.toString(8), '600', f);
    }
    assert.equal((await app.stop()).code, 0);
  });
});
