// Media and galleries: streamed uploads stored by content, served like a CDN (ETag, 304,
// ranges, 416), sniffed types, attachments for markup, private media, deletes that keep
// shared files, the temporary-file sweep after kill -9, avatars, galleries, /media/<path>.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { startApp, tmpDataDir, request, rawRequest, assertError, sqlite, sleep } = require('./lib/app');

const FAST = { PASSWORD_ITERATIONS: '1000' };
let app;
test.before(async () => { app = await startApp({ env: FAST }); });
test.after(async () => { if (app) await app.stop(); });

let seq = 0;
const api = (a, p) => `${a.url}/api/v1${p}`;
const auth = (token) => (token ? { Authorization: `Bearer ${token}` } : {});

async function register(name = 'Ada', a = app) {
  const email = `${name.toLowerCase()}-${process.pid}-${++seq}@example.test`;
  const r = await request(api(a, '/auth/register'), {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password: 'correct horse', name }),
  });
  assert.equal(r.status, 201, r.text);
  return { token: r.json.access_token, id: r.json.user.id };
}

// A multipart/form-data body from [{name, filename?, type?, data}] with our own boundary.
function form(parts, boundary = `----e2e${crypto.randomBytes(8).toString('hex')}`) {
  const chunks = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    // quoted-string escapes, as curl sends them
    if (p.filename !== undefined) head += `; filename="${p.filename.replace(/[\\"]/g, '\\$&')}"`;
    head += '\r\n';
    if (p.type) head += `Content-Type: ${p.type}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`), Buffer.from(p.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
}

async function upload(token, data, { filename = 'file.bin', visibility, type, a = app } = {}) {
  const parts = [{ name: 'file', filename, type: type || 'application/octet-stream', data }];
  if (visibility) parts.push({ name: 'visibility', data: visibility });
  const f = form(parts);
  return rawRequest(api(a, '/media'), {
    method: 'POST', body: f.body,
    headers: { ...auth(token), 'Content-Type': f.type, 'Content-Length': f.body.length },
  });
}

async function uploadOk(token, data, opts) {
  const r = await upload(token, data, opts);
  assert.equal(r.status, 201, r.text);
  return r.json;
}

const getMedia = (id, token, headers = {}) => rawRequest(api(app, `/media/${id}`), { headers: { ...auth(token), ...headers } });

// The content-addressed files under DIR/media (not tmp/).
function storedFiles(dataDir) {
  const root = path.join(dataDir, 'media');
  const out = [];
  for (const a of fs.readdirSync(root)) {
    if (a === 'tmp') continue;
    for (const b of fs.readdirSync(path.join(root, a))) {
      for (const f of fs.readdirSync(path.join(root, a, b))) out.push(path.join(a, b, f));
    }
  }
  return out;
}
const tmpFiles = (dataDir) => fs.readdirSync(path.join(dataDir, 'media', 'tmp'));
const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), crypto.randomBytes(64)]);

test('binary round trip is byte for byte, with the hash, size and a sniffed type', async () => {
  const me = await register();
  const data = crypto.randomBytes(1024 * 1024 + 333);
  const m = await uploadOk(me.token, data, { filename: 'blob.bin' });
  assert.equal(m.size, data.length);
  assert.equal(m.sha256, crypto.createHash('sha256').update(data).digest('hex'));
  assert.equal(m.content_type, 'application/octet-stream');
  assert.equal(m.visibility, 'private');
  assert.equal(m.url, `/api/v1/media/${m.id}`);
  assert.equal(m.name, 'blob.bin');
  assert.match(m.created_at, /^\d{4}-\d\d-\d\dT/);
  const r = await getMedia(m.id, me.token);
  assert.equal(r.status, 200);
  assert.ok(r.body.equals(data), 'downloaded bytes equal the uploaded ones');
  assert.equal(r.headers.etag, `"${m.sha256}"`);
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  assert.equal(r.headers['cache-control'], 'private, no-cache');
  assert.equal(r.headers['accept-ranges'], 'bytes');
  const f = path.join(app.dataDir, 'media', m.sha256.slice(0, 2), m.sha256.slice(2, 4), m.sha256);
  assert.ok(fs.readFileSync(f).equals(data), 'stored at media/ab/cd/<sha256>');
  // the client's claimed type is ignored: PNG bytes claimed as HTML are an image
  const png = await uploadOk(me.token, PNG, { filename: 'x.html', type: 'text/html' });
  assert.equal(png.content_type, 'image/png');
  const served = await getMedia(png.id, me.token);
  assert.equal(served.headers['content-type'], 'image/png');
  assert.match(served.headers['content-disposition'], /^inline; filename="x.html"/);
});

test('the same bytes uploaded twice, even by two users, are stored once', async () => {
  const a = await register('Ann');
  const b = await register('Bob');
  const data = crypto.randomBytes(200000);
  const before = storedFiles(app.dataDir).length;
  const m1 = await uploadOk(a.token, data);
  const m2 = await uploadOk(a.token, data);
  const m3 = await uploadOk(b.token, data);
  assert.notEqual(m1.id, m2.id);
  assert.equal(m1.sha256, m3.sha256);
  assert.equal(storedFiles(app.dataDir).length, before + 1);
  // deleting one row keeps the file for the others; the last delete removes it
  const f = path.join(app.dataDir, 'media', m1.path);
  assert.equal((await request(api(app, `/media/${m1.id}`), { method: 'DELETE', headers: auth(a.token) })).status, 204);
  assert.equal((await request(api(app, `/media/${m2.id}`), { method: 'DELETE', headers: auth(a.token) })).status, 204);
  assert.ok(fs.existsSync(f), 'still used by the other user');
  assert.ok((await getMedia(m3.id, b.token)).body.equals(data));
  assert.equal((await request(api(app, `/media/${m3.id}`), { method: 'DELETE', headers: auth(b.token) })).status, 204);
  assert.ok(!fs.existsSync(f), 'the last delete removes the file');
});

test('If-None-Match answers 304; ranges answer 206; ranges past the end answer 416', async () => {
  const me = await register();
  const data = crypto.randomBytes(10000);
  const m = await uploadOk(me.token, data, { visibility: 'public' });
  const etag = `"${m.sha256}"`;
  const nm = await getMedia(m.id, null, { 'If-None-Match': etag });
  assert.equal(nm.status, 304);
  assert.equal(nm.body.length, 0);
  assert.equal(nm.headers.etag, etag);
  assert.equal((await getMedia(m.id, null, { 'If-None-Match': `W/${etag}, "other"` })).status, 304);
  assert.equal((await getMedia(m.id, null, { 'If-None-Match': '"other"' })).status, 200);

  const cases = [['bytes=0-99', 0, 99], ['bytes=9990-', 9990, 9999], ['bytes=-10', 9990, 9999],
    ['bytes=5000-99999', 5000, 9999], ['bytes=-20000', 0, 9999]];
  for (const [range, from, to] of cases) {
    const r = await getMedia(m.id, null, { Range: range });
    assert.equal(r.status, 206, range);
    assert.equal(r.headers['content-range'], `bytes ${from}-${to}/10000`, range);
    assert.equal(Number(r.headers['content-length']), to - from + 1, range);
    assert.ok(r.body.equals(data.subarray(from, to + 1)), range);
  }
  for (const range of ['bytes=10000-', 'bytes=20000-30000', 'bytes=-0']) {
    const r = await getMedia(m.id, null, { Range: range });
    assertError(assert, r, 416, 'range_not_satisfiable');
    assert.equal(r.headers['content-range'], 'bytes */10000', range);
  }
  // malformed or multiple ranges, and an If-Range that does not match, give the whole file
  for (const h of [{ Range: 'bytes=9-3' }, { Range: 'items=0-1' }, { Range: 'bytes=0-1,5-6' },
    { Range: 'bytes=0-1', 'If-Range': '"stale"' }]) {
    const r = await getMedia(m.id, null, h);
    assert.equal(r.status, 200, JSON.stringify(h));
    assert.equal(r.body.length, 10000);
  }
  assert.equal((await getMedia(m.id, null, { Range: 'bytes=0-1', 'If-Range': etag })).status, 206);
  const head = await rawRequest(api(app, `/media/${m.id}`), { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], '10000');
  assert.equal(head.body.length, 0);
  const pub = await getMedia(m.id);
  assert.equal(pub.headers['cache-control'], 'public, max-age=31536000, immutable');
});

test('an upload over MEDIA_MAX_BYTES is refused with 413 and leaves no file', async () => {
  const me = await register();
  const before = storedFiles(app.dataDir);
  const big = Buffer.alloc(30 * 1024 * 1024, 7);
  const r = await upload(me.token, big);
  assertError(assert, r, 413, 'payload_too_large');
  // without a declared length the limit is found while streaming
  const f = form([{ name: 'file', filename: 'big.bin', data: big }]);
  const chunks = [];
  for (let i = 0; i < f.body.length; i += 1 << 20) chunks.push(f.body.subarray(i, i + (1 << 20)));
  const c = await rawRequest(api(app, '/media'), {
    method: 'POST', chunks, headers: { ...auth(me.token), 'Content-Type': f.type }, timeout: 30000,
  });
  assertError(assert, c, 413, 'payload_too_large');
  // a huge field that is not the file counts against the limit too
  const g = form([{ name: 'note', data: big }, { name: 'file', filename: 'small.bin', data: 'x' }]);
  const gchunks = [];
  for (let i = 0; i < g.body.length; i += 1 << 20) gchunks.push(g.body.subarray(i, i + (1 << 20)));
  const gr = await rawRequest(api(app, '/media'), {
    method: 'POST', chunks: gchunks, headers: { ...auth(me.token), 'Content-Type': g.type }, timeout: 30000,
  });
  assertError(assert, gr, 413, 'payload_too_large');
  assert.deepEqual(storedFiles(app.dataDir), before);
  assert.deepEqual(tmpFiles(app.dataDir), []);
  assert.equal((await request(`${app.url}/health`)).status, 200);
});

test('malformed uploads: truncated body, no boundary, no file, two files, bad visibility, no token', async () => {
  const me = await register();
  const post = (body, type, headers = {}) => rawRequest(api(app, '/media'), {
    method: 'POST', body, headers: { ...auth(me.token), 'Content-Type': type, ...headers },
  });
  const whole = form([{ name: 'file', filename: 'a.bin', data: crypto.randomBytes(5000) }]);
  const cut = whole.body.subarray(0, 3000);
  assertError(assert, await post(cut, whole.type), 400, 'invalid_input');
  // the client stops sending without closing: the declared length is never reached
  const early = await rawRequest(api(app, '/media'), {
    method: 'POST', chunks: [cut], headers: { ...auth(me.token), 'Content-Type': whole.type },
  });
  assertError(assert, early, 400, 'invalid_input');
  assertError(assert, await post(whole.body, 'multipart/form-data'), 400, 'invalid_input');
  assertError(assert, await post(whole.body, 'application/json'), 400, 'invalid_input');
  assertError(assert, await post(Buffer.from('{}'), 'multipart/form-data; boundary="unterminated'), 400, 'invalid_input');
  const noFile = form([{ name: 'visibility', data: 'public' }]);
  const e1 = await post(noFile.body, noFile.type);
  assertError(assert, e1, 400, 'invalid_input');
  assert.equal(e1.json.error.field, 'file');
  const two = form([{ name: 'file', filename: 'a', data: 'x' }, { name: 'file', filename: 'b', data: 'y' }]);
  assertError(assert, await post(two.body, two.type), 400, 'invalid_input');
  const vis = form([{ name: 'file', filename: 'a', data: 'x' }, { name: 'visibility', data: 'everyone' }]);
  const e2 = await post(vis.body, vis.type);
  assertError(assert, e2, 400, 'invalid_input');
  assert.equal(e2.json.error.field, 'visibility');
  const garbage = Buffer.from('--b\r\nno disposition here\r\n\r\nxx\r\n--b--\r\n');
  assertError(assert, await post(garbage, 'multipart/form-data; boundary=b'), 400, 'invalid_input');
  assertError(assert, await rawRequest(api(app, '/media'), {
    method: 'POST', body: whole.body, headers: { 'Content-Type': whole.type },
  }), 401, 'unauthorized');
  assert.deepEqual(tmpFiles(app.dataDir), []);
  // a preamble, other fields, a quoted boundary and parts in any order are fine
  const data = crypto.randomBytes(70000);
  const ok2 = form([{ name: 'note', data: 'ignored' }, { name: 'visibility', data: 'public' },
    { name: 'file', filename: 'z.bin', data }], 'simple-boundary');
  const r2 = await post(Buffer.concat([Buffer.from('preamble\r\n'), ok2.body]), 'multipart/form-data; boundary="simple-boundary"');
  assert.equal(r2.status, 201, r2.text);
  assert.equal(r2.json.visibility, 'public');
  assert.ok((await getMedia(r2.json.id)).body.equals(data));
});

test('a file name with ../ is only a display name; a zero-byte file is fine', async () => {
  const me = await register();
  const before = fs.readdirSync(app.dataDir).sort();
  const m = await uploadOk(me.token, 'hello', { filename: '../../../etc/evil\u0001.txt' });
  assert.equal(m.name, 'evil.txt');
  assert.equal(m.content_type, 'text/plain; charset=utf-8');
  assert.deepEqual(fs.readdirSync(app.dataDir).sort(), before);
  const w = await uploadOk(me.token, 'x', { filename: '..\\..\\win.ini' });
  assert.equal(w.name, 'win.ini');
  const z = await uploadOk(me.token, Buffer.alloc(0), { filename: 'empty' });
  assert.equal(z.size, 0);
  assert.equal(z.sha256, crypto.createHash('sha256').digest('hex'));
  const r = await getMedia(z.id, me.token);
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-length'], '0');
  assertError(assert, await getMedia(z.id, me.token, { Range: 'bytes=0-' }), 416, 'range_not_satisfiable');
});

test('HTML and SVG are served as attachments in a sandbox', async () => {
  const me = await register();
  const html = await uploadOk(me.token, '<!DOCTYPE html><script>alert(1)</script>', { filename: 'page.png', type: 'image/png', visibility: 'public' });
  assert.equal(html.content_type, 'text/html');
  const r = await getMedia(html.id);
  assert.match(r.headers['content-disposition'], /^attachment; filename="page.png"; filename\*=UTF-8''page\.png$/);
  assert.match(r.headers['content-security-policy'], /sandbox/);
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  const svg = await uploadOk(me.token, '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', { filename: 'ä "q".svg' });
  assert.equal(svg.content_type, 'image/svg+xml');
  const s = await getMedia(svg.id, me.token);
  assert.equal(s.headers['content-disposition'], `attachment; filename="_ _q_.svg"; filename*=UTF-8''%C3%A4%20%22q%22.svg`);
});

test('private media is hidden (404) from others; public media is open to anyone', async () => {
  const owner = await register('Owner');
  const other = await register('Other');
  const m = await uploadOk(owner.token, crypto.randomBytes(100));
  assert.equal((await getMedia(m.id, owner.token)).status, 200);
  assertError(assert, await getMedia(m.id, other.token), 404, 'not_found');
  assertError(assert, await getMedia(m.id), 404, 'not_found');
  assertError(assert, await getMedia(m.id, 'not-a-token'), 401, 'unauthorized');
  assertError(assert, await getMedia('01234567-89ab-7def-8123-456789abcdef', owner.token), 404, 'not_found');
  assertError(assert, await getMedia('nope', owner.token), 404, 'not_found');
  // /media/<relative path> for older clients, with the same rules
  const legacy = (p, token) => rawRequest(`${app.url}/media/${p}`, { headers: auth(token) });
  assert.equal((await legacy(m.path, owner.token)).status, 200);
  assertError(assert, await legacy(m.path, other.token), 404, 'not_found');
  assertError(assert, await legacy('00/00/' + '0'.repeat(64)), 404, 'not_found');
  assertError(assert, await legacy('../../etc/passwd'), 404, 'not_found');
  const pub = await uploadOk(owner.token, crypto.randomBytes(100), { visibility: 'public' });
  const lr = await legacy(pub.path);
  assert.equal(lr.status, 200);
  assert.equal(lr.headers.etag, `"${pub.sha256}"`);
  // only the owner (or an admin) deletes
  assertError(assert, await request(api(app, `/media/${pub.id}`), { method: 'DELETE', headers: auth(other.token) }), 404, 'not_found');
  assertError(assert, await request(api(app, `/media/${pub.id}`), { method: 'DELETE' }), 401, 'unauthorized');
  assert.equal((await request(api(app, `/media/${pub.id}`), { method: 'DELETE', headers: auth(owner.token) })).status, 204);
  assertError(assert, await getMedia(pub.id), 404, 'not_found');
  assertError(assert, await request(api(app, `/media/${pub.id}`), { method: 'DELETE', headers: auth(owner.token) }), 404, 'not_found');
  // an admin deletes anyone's media
  const admin = await register('Admin');
  assert.equal(sqlite(path.join(app.dataDir, 'app.db'), `UPDATE users SET role = 'admin' WHERE id = '${admin.id}'`).code, 0, 'made an admin');
  assert.equal((await request(api(app, `/media/${m.id}`), { method: 'DELETE', headers: auth(admin.token) })).status, 204);
  assertError(assert, await getMedia(m.id, owner.token), 404, 'not_found');
});

test('avatars: only one\'s own media, shown on the card to others, cleared when deleted', async () => {
  const me = await register('Avi');
  const other = await register('Oli');
  const mine = await uploadOk(me.token, PNG, { filename: 'me.png' });
  const theirs = await uploadOk(other.token, PNG, { filename: 'them.png' });
  const put = (body, token = me.token) => request(api(app, '/users/me'), {
    method: 'PUT', headers: { ...auth(token), 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  const bad = await put({ avatar_media_id: theirs.id });
  assertError(assert, bad, 400, 'invalid_input');
  assert.equal(bad.json.error.field, 'avatar_media_id');
  assertError(assert, await put({ avatar_media_id: 'x' }), 400, 'invalid_input');
  const ok = await put({ avatar_media_id: mine.id });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.avatar_url, `/api/v1/media/${mine.id}`);
  const card = await request(api(app, `/users/${me.id}`), { headers: auth(other.token) });
  assert.equal(card.json.avatar_url, `/api/v1/media/${mine.id}`);
  // a private avatar is still part of the public card
  const img = await rawRequest(`${app.url}${card.json.avatar_url}`, { headers: auth(other.token) });
  assert.equal(img.status, 200);
  assert.equal(img.headers['content-type'], 'image/png');
  assert.equal((await request(api(app, `/media/${mine.id}`), { method: 'DELETE', headers: auth(me.token) })).status, 204);
  const after = await request(api(app, '/users/me'), { headers: auth(me.token) });
  assert.equal(after.json.avatar_url, null);
  assert.equal(after.json.avatar_media_id, null);
});

test('galleries: mine in full, others see public items, contacts see all', async () => {
  const me = await register('Gal');
  const friend = await register('Fri');
  const stranger = await register('Str');
  const pub = await uploadOk(me.token, crypto.randomBytes(50), { visibility: 'public' });
  const priv = await uploadOk(me.token, crypto.randomBytes(50));
  const theirs = await uploadOk(stranger.token, crypto.randomBytes(50));
  const add = (body, token = me.token) => request(api(app, '/gallery/media'), {
    method: 'POST', headers: { ...auth(token), 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  const i1 = await add({ media_id: pub.id, caption: 'sunset' });
  assert.equal(i1.status, 201, i1.text);
  assert.equal(i1.json.caption, 'sunset');
  assert.equal(i1.json.media.id, pub.id);
  const i2 = await add({ media_id: priv.id });
  assert.equal(i2.status, 201);
  assertError(assert, await add({ media_id: pub.id }), 409, 'conflict');
  assertError(assert, await add({ media_id: theirs.id }), 404, 'not_found');
  assertError(assert, await add({ media_id: 7 }), 400, 'invalid_input');
  assertError(assert, await add({ caption: 'x' }), 400, 'invalid_input');
  assertError(assert, await add({ media_id: pub.id, caption: 'x'.repeat(501) }), 400, 'invalid_input');

  const mine = await request(api(app, '/gallery'), { headers: auth(me.token) });
  assert.deepEqual(mine.json.items.map((i) => i.media_id), [priv.id, pub.id]);
  const anon = await request(api(app, `/users/${me.id}/gallery`));
  assert.deepEqual(anon.json.items.map((i) => i.media_id), [pub.id]);
  const strangerView = await request(api(app, `/users/${me.id}/gallery`), { headers: auth(stranger.token) });
  assert.deepEqual(strangerView.json.items.map((i) => i.media_id), [pub.id]);
  assertError(assert, await getMedia(priv.id, friend.token), 404, 'not_found');
  // I add my friend as a contact: they may see my whole gallery, and its private media
  const c = await request(api(app, '/users/contacts'), {
    method: 'POST', headers: { ...auth(me.token), 'Content-Type': 'application/json' }, body: JSON.stringify({ user_id: friend.id }),
  });
  assert.equal(c.status, 201, c.text);
  const friendView = await request(api(app, `/users/${me.id}/gallery`), { headers: auth(friend.token) });
  assert.deepEqual(friendView.json.items.map((i) => i.media_id), [priv.id, pub.id]);
  assert.equal((await getMedia(priv.id, friend.token)).status, 200);
  assertError(assert, await getMedia(priv.id, stranger.token), 404, 'not_found');
  // paging
  const p1 = await request(api(app, '/gallery?limit=1'), { headers: auth(me.token) });
  assert.equal(p1.json.items.length, 1);
  const p2 = await request(api(app, `/gallery?limit=1&cursor=${p1.json.next_cursor}`), { headers: auth(me.token) });
  assert.deepEqual(p2.json.items.map((i) => i.media_id), [pub.id]);
  assert.equal(p2.json.next_cursor, null);
  // removing: someone else's item is 404; mine goes (by item id or media id), the media stays
  const del = (id, token = me.token) => request(api(app, `/gallery/media/${id}`), { method: 'DELETE', headers: auth(token) });
  assertError(assert, await del(i1.json.id, stranger.token), 404, 'not_found');
  assert.equal((await del(i1.json.id)).status, 204);
  assert.equal((await del(priv.id)).status, 204);
  assertError(assert, await del(priv.id), 404, 'not_found');
  assert.deepEqual((await request(api(app, '/gallery'), { headers: auth(me.token) })).json.items, []);
  assert.equal((await getMedia(pub.id)).status, 200);
  assertError(assert, await request(api(app, '/users/01234567-89ab-7def-8123-456789abcdef/gallery')), 404, 'not_found');
});

test('/media/<path> reads any row with those bytes the caller may see: a contact\'s gallery item, an avatar', async () => {
  const stranger = await register('Shr');
  const me = await register('Own');
  const friend = await register('Frd');
  const bytes = crypto.randomBytes(80);
  // the stranger's private copy comes first; mine (in my gallery) second
  const first = await uploadOk(stranger.token, bytes);
  const second = await uploadOk(me.token, bytes);
  assert.equal(first.path, second.path);
  const legacy = (token) => rawRequest(`${app.url}/media/${second.path}`, { headers: auth(token) });
  const json = { 'Content-Type': 'application/json' };
  assert.equal((await request(api(app, '/gallery/media'), {
    method: 'POST', headers: { ...auth(me.token), ...json }, body: JSON.stringify({ media_id: second.id }),
  })).status, 201);
  assertError(assert, await legacy(friend.token), 404, 'not_found');
  assert.equal((await request(api(app, '/users/contacts'), {
    method: 'POST', headers: { ...auth(me.token), ...json }, body: JSON.stringify({ user_id: friend.id }),
  })).status, 201);
  const seen = await legacy(friend.token);
  assert.equal(seen.status, 200);
  assert.ok(seen.body.equals(bytes));
  assertError(assert, await legacy(null), 404, 'not_found');
  // an avatar is part of the public card: anyone reads it, by id or by path
  const avatar = await uploadOk(me.token, PNG, { filename: 'a.png' });
  assert.equal((await request(api(app, '/users/me'), {
    method: 'PUT', headers: { ...auth(me.token), ...json }, body: JSON.stringify({ avatar_media_id: avatar.id }),
  })).status, 200);
  assert.equal((await rawRequest(`${app.url}/media/${avatar.path}`)).status, 200);
  assert.equal((await getMedia(avatar.id)).status, 200);
});

test('kill -9 during an upload leaves no row, and the restart sweeps the temporary file', async (t) => {
  const dataDir = tmpDataDir();
  const a = await startApp({ dataDir, env: FAST, t });
  const me = await register('Kim', a);
  const boundary = 'killboundary';
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="k.bin"\r\n\r\n`);
  const http = require('node:http');
  const req = http.request({
    host: '127.0.0.1', port: a.port, path: '/api/v1/media', method: 'POST', agent: false,
    headers: { ...auth(me.token), 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': 10 * 1024 * 1024 },
  });
  req.on('error', () => { /* the server dies under it */ });
  req.write(head);
  req.write(crypto.randomBytes(2 * 1024 * 1024));
  let parts = [];
  for (let i = 0; i < 100 && parts.length === 0; i++) {
    await sleep(50);
    parts = tmpFiles(dataDir);
  }
  assert.equal(parts.length, 1, 'the upload is being written to media/tmp');
  assert.match(parts[0], /\.part$/);
  await a.kill9();
  req.destroy();
  const b = await startApp({ dataDir, env: FAST, t });
  assert.deepEqual(tmpFiles(dataDir), []);
  assert.equal(sqlite(path.join(dataDir, 'app.db'), 'SELECT count(*) FROM media').stdout.trim(), '0');
  assert.deepEqual(storedFiles(dataDir), []);
  assert.match(b.stderr(), /removed unfinished uploads/);
  await b.stop();
});

test('a media row whose file is gone answers 404 without caching headers, keeping CORS', async (t) => {
  const a = await startApp({ t, env: { ...FAST, CORS_ORIGINS: 'http://web.test' } });
  const me = await register('Cors', a);
  const m = await uploadOk(me.token, crypto.randomBytes(1000), { visibility: 'public', a });
  fs.unlinkSync(path.join(a.dataDir, 'media', m.path));
  const r = await rawRequest(`${a.url}/api/v1/media/${m.id}`, { headers: { Origin: 'http://web.test' } });
  assertError(assert, r, 404, 'not_found');
  assert.equal(r.headers['access-control-allow-origin'], 'http://web.test');
  assert.equal(r.headers.etag, undefined);
  assert.equal(r.headers['content-disposition'], undefined);
  assert.notEqual(r.headers['cache-control'], 'public, max-age=31536000, immutable');
  await a.stop();
});

test('over HTTPS (where bytes cannot bypass TLS) downloads and ranges are the same bytes', async (t) => {
  const a = await startApp({ t, tls: true, env: FAST });
  const ca = fs.readFileSync(path.join(a.dataDir, 'tls', 'cert.pem'));
  const tlsOptions = { ca, rejectUnauthorized: true };
  const reg = await rawRequest(`${a.url}/api/v1/auth/register`, { method: 'POST', tlsOptions,
    headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email: 'tls@example.test', password: 'correct horse', name: 'T' }) });
  assert.equal(reg.status, 201, reg.text);
  const data = crypto.randomBytes(3 * 1024 * 1024 + 17);
  const f = form([{ name: 'file', filename: 'big.bin', data }, { name: 'visibility', data: 'public' }]);
  const up = await rawRequest(`${a.url}/api/v1/media`, { method: 'POST', tlsOptions, body: f.body, timeout: 30000,
    headers: { Authorization: `Bearer ${reg.json.access_token}`, 'Content-Type': f.type, 'Content-Length': f.body.length } });
  assert.equal(up.status, 201, up.text);
  const whole = await rawRequest(`${a.url}/api/v1/media/${up.json.id}`, { tlsOptions, timeout: 30000 });
  assert.equal(whole.status, 200);
  assert.ok(whole.body.equals(data));
  const part = await rawRequest(`${a.url}/api/v1/media/${up.json.id}`, { tlsOptions, headers: { Range: 'bytes=1000000-1000099' } });
  assert.equal(part.status, 206);
  assert.ok(part.body.equals(data.subarray(1000000, 1000100)));
  await a.stop();
});

test('many downloads on one keep-alive connection, whole and ranged, stay in step', async () => {
  const me = await register();
  const data = crypto.randomBytes(300000);
  const m = await uploadOk(me.token, data, { visibility: 'public' });
  const agent = new (require('node:http').Agent)({ keepAlive: true, maxSockets: 1 });
  const get = (headers) => new Promise((resolve, reject) => {
    const req = require('node:http').get(`${app.url}/api/v1/media/${m.id}`, { agent, headers }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(parts), socket: req.socket }));
    });
    req.on('error', reject);
  });
  let socket = null;
  for (let i = 0; i < 20; i++) {
    const ranged = i % 3 === 1;
    const r = await get(ranged ? { Range: `bytes=${i}-${i + 999}` } : {});
    assert.equal(r.status, ranged ? 206 : 200);
    assert.ok(r.body.equals(ranged ? data.subarray(i, i + 1000) : data), `response ${i}`);
    socket = socket || r.socket;
    assert.equal(r.socket, socket, 'the same connection');
  }
  agent.destroy();
});

test('the OpenAPI document describes the upload as multipart', async () => {
  const doc = (await request(api(app, '/openapi.json'))).json;
  assert.ok(doc.paths['/api/v1/media'].post.requestBody.content['multipart/form-data']);
  assert.ok(doc.paths['/api/v1/gallery'].get);
  assert.ok(doc.paths['/api/v1/users/{id}/gallery'].get);
});
