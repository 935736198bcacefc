// The command line: version, help, usage errors (exit 2), migrate and backup.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { startApp, runCli, tmpDataDir, request } = require('./lib/app');

test('version prints the version', () => {
  const r = runCli(['version']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
});

test('--help prints usage', () => {
  for (const args of [['--help'], ['help'], ['-h']]) {
    const r = runCli(args);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /usage: app/);
    assert.match(r.stdout, /--tls-auto/);
  }
});

test('bad flags and values exit 2 with one line', () => {
  const cases = [
    ['--bogus'], ['--listen', 'nope'], ['--listen', '127.0.0.1:99999'], ['--listen', 'localhost:80'],
    ['--listen'], ['--tls-cert', '/x.pem'], ['--tls-key', '/x.pem'], ['frobnicate'], ['backup'],
    ['version', 'extra'], ['--tls-auto', '--tls-cert', '/a', '--tls-key', '/b'],
  ];
  for (const args of cases) {
    const dataDir = tmpDataDir();
    const r = runCli(['--data', dataDir, ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, `${args.join(' ')}: one line`);
    assert.match(r.stderr, /^app: /);
  }
});

test('migrate creates the database and is idempotent', () => {
  const dataDir = tmpDataDir();
  const r = runCli(['--data', dataDir, 'migrate']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(fs.existsSync(path.join(dataDir, 'app.db')));
  assert.match(r.stdout, /schema version \d+/);
  const again = runCli(['--data', dataDir, 'migrate']);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /0 applied/);
});

test('backup of a live database opens and holds the data', async () => {
  const app = await startApp();
  const id = (await request(`${app.url}/health`)).json.instance_id;
  const file = path.join(path.dirname(app.dataDir), 'backup.db');
  const r = runCli(['--data', app.dataDir, 'backup', file]);
  assert.equal(r.code, 0, r.stderr);
  const check = spawnSync('sqlite3', [file, 'PRAGMA integrity_check; SELECT instance_id FROM instance;'], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stderr);
  assert.deepEqual(check.stdout.trim().split('\n'), ['ok', id]);
  assert.ok(!fs.existsSync(`${file}.tmp`));
  // the server kept serving throughout
  assert.equal((await request(`${app.url}/health`)).status, 200);
  await app.stop();
});

test('backup of a missing database fails cleanly', () => {
  const r = runCli(['--data', tmpDataDir(), 'backup', '/tmp/never-written.db']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^app: /);
});
