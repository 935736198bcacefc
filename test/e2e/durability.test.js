// The write path under kill -9: many clients write at once (their transactions share commits:
// group commit), the process is killed at a random moment, and after each restart every write
// that was acknowledged is there, nothing half-done is, and the database checks out. Bounded:
// a few rounds of about a second each.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startApp, tmpDataDir, request, sqlite, sleep } = require('./lib/app');

const ROUNDS = 4;
const CLIENTS = 16;

test('every acknowledged write survives kill -9 in the middle of group commits', async () => {
  const dataDir = tmpDataDir();
  const env = { PASSWORD_ITERATIONS: '1000', DB_SYNCHRONOUS: 'full' };
  let app = await startApp({ dataDir, env });
  const reg = await request(`${app.url}/api/v1/auth/register`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: `crash-${process.pid}@example.test`, password: 'password123', name: 'Crash' }),
  });
  assert.equal(reg.status, 201, reg.text);
  const email = JSON.parse(reg.text).user.email;
  const acked = new Set();
  let attempts = 0;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const login = await request(`${app.url}/api/v1/auth/login`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email, password: 'password123' }),
      });
      assert.equal(login.status, 200, login.text);
      const token = JSON.parse(login.text).access_token;
      let stop = false;
      const client = async (c) => {
        for (let i = 0; !stop; i++) {
          attempts++;
          try {
            const r = await request(`${app.url}/api/v1/chats`, {
              method: 'POST',
              headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
              body: JSON.stringify({ title: `r${round}-c${c}-${i}` }),
            });
            if (r.status === 201) acked.add(JSON.parse(r.text).id);
          } catch {
            return; // the server died under this request: it was never acknowledged
          }
        }
      };
      const clients = Array.from({ length: CLIENTS }, (_, c) => client(c));
      await sleep(300 + Math.floor(Math.random() * 700));
      await app.kill9();
      stop = true;
      await Promise.all(clients);
      app = await startApp({ dataDir, env });
    }
  } finally {
    await app.stop();
  }
  const db = `${dataDir}/app.db`;
  const check = sqlite(db, 'PRAGMA integrity_check');
  assert.equal(check.stdout.trim(), 'ok', check.stderr);
  const stored = new Set(sqlite(db, 'SELECT id FROM chats').stdout.split('\n').filter(Boolean));
  const lost = [...acked].filter((id) => !stored.has(id));
  assert.ok(acked.size > ROUNDS * 20, `writes were acknowledged (${acked.size} of ${attempts})`);
  assert.deepEqual(lost, [], `${lost.length} acknowledged writes lost of ${acked.size}`);
  // nothing half-done: every stored chat is whole (a title and its owner)
  const bad = sqlite(db, "SELECT count(*) FROM chats WHERE title NOT LIKE 'r%-c%-%' OR owner_id IS NULL").stdout.trim();
  assert.equal(bad, '0');
});
