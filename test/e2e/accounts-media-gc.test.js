// The collector of orphaned media files: every MEDIA_GC_INTERVAL_S it removes files under
// DIR/media/ab/cd/<sha256> that no media row references and that are older than
// MEDIA_ORPHAN_AGE_S; fresh files, referenced ones and anything it did not name itself stay.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { startApp, request, rawRequest, sleep } = require('./lib/app');

const FAST = { PASSWORD_ITERATIONS: '1000', MEDIA_GC_INTERVAL_S: '1' };
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');

async function register(app) {
  const r = await request(`${app.url}/api/v1/auth/register`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: `gc-${process.pid}-${crypto.randomUUID()}@example.test`, password: 'correct horse', name: 'G' }) });
  assert.equal(r.status, 201, r.text);
  return { token: r.json.access_token, password: 'correct horse' };
}

async function upload(app, token, data) {
  const boundary = `----e2e${crypto.randomBytes(8).toString('hex')}`;
  const body = Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n\r\n`),
    data, Buffer.from(`\r\n--${boundary}--\r\n`)]);
  const r = await rawRequest(`${app.url}/api/v1/media`, { method: 'POST', body,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': body.length } });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

// Where the app keeps bytes, and a file planted there with the given age.
const fileOf = (dataDir, hex) => path.join(dataDir, 'media', hex.slice(0, 2), hex.slice(2, 4), hex);
function plant(file, data, age) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
  if (age) {
    const r = spawnSync('touch', ['-d', age, file]);
    assert.equal(r.status, 0, String(r.stderr));
  }
}

// Waits for a collection that started after now (its interval is 1 s) to have finished.
async function nextSweep() {
  await sleep(2600);
}

test('old orphans go; fresh orphans, referenced files and strangers stay', async (t) => {
  const app = await startApp({ t, env: FAST });
  const u = await register(app);
  const keptBytes = crypto.randomBytes(100);
  const kept = await upload(app, u.token, keptBytes);
  const keptFile = fileOf(app.dataDir, kept.sha256);
  assert.ok(fs.existsSync(keptFile));
  // a referenced file that has not been written for days stays
  assert.equal(spawnSync('touch', ['-d', '3 days ago', keptFile]).status, 0);
  const oldOrphan = crypto.randomBytes(64);
  const freshOrphan = crypto.randomBytes(64);
  const oldFile = fileOf(app.dataDir, sha(oldOrphan));
  const freshFile = fileOf(app.dataDir, sha(freshOrphan));
  plant(oldFile, oldOrphan, '2 hours ago');
  plant(freshFile, freshOrphan, null);
  // not named like our files, or in the wrong place, or in tmp/: never ours to judge
  const strangers = [
    path.join(app.dataDir, 'media', 'ab', 'cd', 'notes.txt'),
    path.join(app.dataDir, 'media', 'ab', 'cd', `ef${sha(Buffer.from('x')).slice(2)}`),
    path.join(app.dataDir, 'media', 'tmp', 'left.part'),
    path.join(app.dataDir, 'media', 'README'),
  ];
  for (const f of strangers) plant(f, 'x', '2 hours ago');
  await nextSweep();
  assert.equal(fs.existsSync(oldFile), false, 'the old orphan was collected');
  assert.equal(fs.existsSync(freshFile), true, 'a fresh orphan stays (an upload may be about to reference it)');
  assert.equal(fs.existsSync(keptFile), true, 'a referenced file stays, however old');
  for (const f of strangers) assert.equal(fs.existsSync(f), true, f);
  const get = await rawRequest(`${app.url}/api/v1/media/${kept.id}`, { headers: { Authorization: `Bearer ${u.token}` } });
  assert.equal(get.status, 200);
  assert.ok(get.body.equals(keptBytes), 'the referenced file still serves its bytes');
  assert.match(app.stderr(), /removed media files no longer referenced/);
  assert.equal((await app.stop()).code, 0);
});

test('an upload of bytes an old orphan holds makes them young and referenced again', async (t) => {
  const app = await startApp({ t, env: { ...FAST, MEDIA_GC_INTERVAL_S: '3600' } });
  const u = await register(app);
  const bytes = crypto.randomBytes(80);
  const file = fileOf(app.dataDir, sha(bytes));
  plant(file, bytes, '2 hours ago');
  const m = await upload(app, u.token, bytes);
  assert.equal(m.sha256, sha(bytes));
  assert.ok(Date.now() - fs.statSync(file).mtimeMs < 60000, 'the shared file was touched');
  assert.equal((await app.stop()).code, 0);
});

test('a deleted account\'s files go once they are old; bytes someone else also uploaded stay', async (t) => {
  const app = await startApp({ t, env: FAST });
  const gone = await register(app);
  const other = await register(app);
  const own = await upload(app, gone.token, crypto.randomBytes(90));
  const sharedBytes = crypto.randomBytes(90);
  const shared = await upload(app, gone.token, sharedBytes);
  await upload(app, other.token, sharedBytes);
  const del = await request(`${app.url}/api/v1/users/me`, { method: 'DELETE',
    headers: { Authorization: `Bearer ${gone.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ password: gone.password }) });
  assert.equal(del.status, 204, del.text);
  const ownFile = fileOf(app.dataDir, own.sha256);
  const sharedFile = fileOf(app.dataDir, shared.sha256);
  await nextSweep();
  assert.equal(fs.existsSync(ownFile), true, 'young files wait for MEDIA_ORPHAN_AGE_S');
  for (const f of [ownFile, sharedFile]) assert.equal(spawnSync('touch', ['-d', '2 hours ago', f]).status, 0);
  await nextSweep();
  assert.equal(fs.existsSync(ownFile), false, 'the deleted account\'s file was collected');
  assert.equal(fs.existsSync(sharedFile), true, 'bytes another row references stay');
  assert.equal((await app.stop()).code, 0);
});
