// `app --data DIR seed users N [PREFIX]`: N verified accounts PREFIX-<i>@seed.test with an
// access token each (email TAB user_id TAB token per line), without the public doors and
// their rate limits, with or without a server running on DIR.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { startApp, runCli, runCliAsync, tmpDataDir, request, sqlite } = require('./lib/app');

const lines = (stdout) => stdout.split('\n').filter((l) => l).map((l) => l.split('\t'));
const me = (app, token) => request(`${app.url}/api/v1/users/me`, { headers: { Authorization: `Bearer ${token}` } });

test('seeds verified accounts whose tokens the server accepts; a second run reuses them', async (t) => {
  const dataDir = tmpDataDir();
  const t0 = Date.now();
  const r = runCli(['--data', dataDir, 'seed', 'users', '1200', 'bench'], { timeout: 60000 });
  const took = Date.now() - t0;
  assert.equal(r.code, 0, r.stderr);
  const rows = lines(r.stdout);
  assert.equal(rows.length, 1200);
  assert.ok(took < 20000, `1200 accounts took ${took} ms`);
  rows.forEach(([email, id, token], i) => {
    assert.equal(email, `bench-${i + 1}@seed.test`);
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.equal(token.split('.').length, 3);
  });
  assert.equal(new Set(rows.map((x) => x[1])).size, 1200);
  // nothing but the account lines on stdout
  assert.ok(r.stdout.split('\n').filter((l) => l).every((l) => /^[^\t]+\t[^\t]+\t[^\t]+$/.test(l)));
  const app = await startApp({ t, dataDir, env: { PASSWORD_ITERATIONS: '1000' } });
  for (const [email, id, token] of [rows[0], rows[599], rows[1199]]) {
    const got = await me(app, token);
    assert.equal(got.status, 200, got.text);
    assert.equal(got.json.id, id);
    assert.equal(got.json.email, email);
    assert.equal(got.json.email_verified, true);
    assert.equal(got.json.role, 'user');
  }
  // nobody knows the password: it is not empty, not the email, not the prefix
  for (const password of ['', 'bench', rows[0][0], 'password', 'seed'])
    assert.equal((await request(`${app.url}/api/v1/auth/login`, { method: 'POST',
      body: JSON.stringify({ email: rows[0][0], password }) })).status, password ? 401 : 400);
  // beside the running server: the same accounts again (reused), and new ones
  const again = await runCliAsync(['--data', dataDir, 'seed', 'users', '1202', 'bench'], { timeout: 60000 });
  assert.equal(again.code, 0, again.stderr);
  const rows2 = lines(again.stdout);
  assert.equal(rows2.length, 1202);
  assert.deepEqual(rows2.slice(0, 1200).map((x) => x[1]), rows.map((x) => x[1]), 'existing accounts are reused');
  const added = await me(app, rows2[1201][2]);
  assert.equal(added.status, 200, added.text);
  assert.equal(added.json.email, 'bench-1202@seed.test');
  assert.equal((await me(app, rows2[0][2])).status, 200);
  assert.equal((await app.stop()).code, 0);
  const count = sqlite(path.join(dataDir, 'app.db'), "SELECT count(*) FROM users WHERE email LIKE '%@seed.test'");
  assert.equal(count.stdout.trim(), '1202');
});

test('the default prefix is "seed"; bad arguments are usage errors', () => {
  const dataDir = tmpDataDir();
  const r = runCli(['--data', dataDir, 'seed', 'users', '2']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(lines(r.stdout).map((x) => x[0]), ['seed-1@seed.test', 'seed-2@seed.test']);
  for (const args of [['seed'], ['seed', 'users'], ['seed', 'users', '0'], ['seed', 'users', '-3'], ['seed', 'users', 'ten'],
    ['seed', 'admins', '3'], ['seed', 'users', '3', 'p', 'extra'], ['seed', 'users', '3', 'bad prefix'],
    ['seed', 'users', '3', 'a/b'], ['seed', 'users', '3', 'x'.repeat(41)]]) {
    const bad = runCli(['--data', dataDir, ...args]);
    assert.equal(bad.code, 2, `${args.join(' ')}: ${bad.stderr}`);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr, /^app: /);
  }
});
