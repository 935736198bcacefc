// Account deletion and export: DELETE /users/me wants the password (or, for an account
// without one, a sign-in within the last 5 minutes), then removes the account and what every
// domain keeps about it at once; its tokens stop working immediately. GET /users/me/export
// is a JSON file with one member per domain and never a hash, token or secret.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const path = require('node:path');
const { startApp, request, rawRequest, assertError, sqlite, header } = require('./lib/app');
const { startSms } = require('./lib/peers');

const FAST = { PASSWORD_ITERATIONS: '1000', LLM_DEMO_DELAY_MS: '0' };
let app;
let sms;
test.before(async () => {
  sms = await startSms();
  app = await startApp({ env: { ...FAST, SMS_URL: sms.url, SMS_ACCOUNT: sms.account, SMS_TOKEN: sms.token, SMS_FROM: '+15005550006' } });
});
test.after(async () => { if (app) await app.stop(); if (sms) await sms.stop(); });

let seq = 0;
const unique = (tag) => `${tag}-${process.pid}-${++seq}@example.test`;
const call = (method, p, token, body) => request(`${app.url}/api/v1${p}`, {
  method,
  body: body === undefined ? undefined : JSON.stringify(body),
  headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
});
const db = (sql) => {
  const r = sqlite(path.join(app.dataDir, 'app.db'), sql);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
};

async function register(name = 'Del') {
  const email = unique(name.toLowerCase());
  const r = await call('POST', '/auth/register', undefined, { email, password: 'correct horse', name });
  assert.equal(r.status, 201, r.text);
  return { email, password: 'correct horse', token: r.json.access_token, refresh: r.json.refresh_token, id: r.json.user.id };
}

async function uploadPng(token) {
  const boundary = `----e2e${crypto.randomBytes(8).toString('hex')}`;
  const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), crypto.randomBytes(64)]);
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="me.png"\r\n` +
      'Content-Type: image/png\r\n\r\n'), png, Buffer.from(`\r\n--${boundary}--\r\n`)]);
  const r = await rawRequest(`${app.url}/api/v1/media`, { method: 'POST', body,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': body.length } });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

// Something of the person in every domain: profile, contact both ways, media, gallery, an
// avatar, a chat with an answer, a copilot exchange, a mail in the outbox, sessions.
async function populate(u, friend) {
  assert.equal((await call('PUT', '/users/me', u.token, { bio: 'about me', country: 'AR' })).status, 200);
  assert.equal((await call('POST', '/users/contacts', u.token, { user_id: friend.id })).status, 201);
  assert.equal((await call('POST', '/users/contacts', friend.token, { user_id: u.id })).status, 201);
  const m = await uploadPng(u.token);
  assert.equal((await call('POST', '/gallery/media', u.token, { media_id: m.id, caption: 'me' })).status, 201);
  assert.equal((await call('PUT', '/users/me', u.token, { avatar_media_id: m.id })).status, 200);
  const chat = await call('POST', '/chats', u.token, { title: 'Plans' });
  assert.equal(chat.status, 201, chat.text);
  const msg = await call('POST', `/chats/${chat.json.id}/messages`, u.token, { content: 'hello there' });
  assert.equal(msg.status, 201, msg.text);
  const s = await call('POST', '/copilot/sessions', u.token, { topic: 'Retirement' });
  assert.equal(s.status, 201, s.text);
  const ex = await call('POST', `/copilot/sessions/${s.json.id}`, u.token, { input: 'where to start?' });
  assert.equal(ex.status, 200, ex.text);
  assert.equal((await call('POST', '/auth/password/forgot', undefined, { email: u.email })).status, 202);
  return { media: m, chat: chat.json, session: s.json };
}

test('export: one JSON file with a member per domain, and no hash, token or secret in it', async () => {
  const friend = await register('Friend');
  const u = await register('Exp');
  const kept = await populate(u, friend);
  // the reset mail is made on its own thread, a moment after the answer
  let outbox = '';
  for (let i = 0; i < 50 && !outbox; i++) {
    outbox = db(`SELECT count(*) FROM outbox WHERE recipient = '${u.email}' AND subject LIKE 'Reset%'`) === '1' ? 'y' : '';
    if (!outbox) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(outbox, 'the reset mail was queued');
  const r = await call('GET', '/users/me/export', u.token);
  assert.equal(r.status, 200, r.text);
  assert.match(header(r, 'content-type'), /^application\/json/);
  assert.equal(header(r, 'content-disposition'), 'attachment; filename="export.json"');
  const x = r.json;
  assert.ok(!Number.isNaN(Date.parse(x.exported_at)));
  assert.deepEqual(Object.keys(x), ['exported_at', 'account', 'auth', 'outbox', 'media', 'chats', 'copilot_sessions', 'relay']);
  assert.equal(x.account.profile.id, u.id);
  assert.equal(x.account.profile.bio, 'about me');
  assert.deepEqual(x.account.contacts.map((c) => c.user_id), [friend.id]);
  assert.equal(x.auth.sessions.length, 1);
  assert.equal(x.auth.refresh_tokens.length, 1);
  assert.deepEqual(x.media.files.map((f) => f.id), [kept.media.id]);
  assert.equal(x.media.gallery[0].caption, 'me');
  assert.equal(x.chats[0].chat.title, 'Plans');
  assert.ok(x.chats[0].messages.some((m) => m.content === 'hello there'));
  assert.equal(x.copilot_sessions[0].session.topic, 'Retirement');
  assert.ok(x.outbox.some((m) => /reset/i.test(m.subject)));
  // never a secret: no password hash, token or token hash, no mailed link token
  const text = r.text;
  assert.doesNotMatch(text, /pbkdf2|password_hash|token_hash|code_hash/);
  assert.ok(!text.includes(u.refresh), 'the refresh token');
  assert.ok(!text.includes(u.token), 'the access token');
  const secret = db(`SELECT secret FROM outbox WHERE recipient = '${u.email}' AND subject LIKE 'Reset%'`);
  assert.ok(secret.length > 20 && !text.includes(secret), 'the reset link token');
  // and nothing of anyone else
  assert.ok(!text.includes(friend.email));
  assertError(assert, await call('GET', '/users/me/export'), 401, 'unauthorized');
});

test('deletion wants the password: missing or wrong is 403 reauth_required on "password"', async () => {
  const u = await register();
  for (const body of [undefined, {}, { password: 'wrong horse' }, { password: '' }]) {
    const r = await call('DELETE', '/users/me', u.token, body);
    assertError(assert, r, 403, 'reauth_required');
    assert.equal(r.json.error.field, 'password');
  }
  assertError(assert, await call('DELETE', '/users/me', u.token, { password: 7 }), 400, 'invalid_input');
  assertError(assert, await call('DELETE', '/users/me', undefined, { password: u.password }), 401, 'unauthorized');
  assert.equal((await call('GET', '/users/me', u.token)).status, 200, 'still there');
});

test('deletion removes the account and every domain\'s rows at once; its tokens stop working', async () => {
  const friend = await register('Friend');
  const u = await register('Gone');
  const second = await call('POST', '/auth/login', undefined, { email: u.email, password: u.password });
  const kept = await populate(u, friend);
  const before = Number(db(`SELECT count(*) FROM media`));
  const r = await call('DELETE', '/users/me', u.token, { password: u.password });
  assert.equal(r.status, 204, r.text);
  assert.equal(r.text, '');
  for (const token of [u.token, second.json.access_token])
    assertError(assert, await call('GET', '/users/me', token), 401, 'unauthorized');
  assertError(assert, await call('POST', '/auth/refresh', undefined, { refresh_token: u.refresh }), 401, 'unauthorized');
  assertError(assert, await call('POST', '/auth/login', undefined, { email: u.email, password: u.password }), 401, 'unauthorized');
  // every table that held something of the person
  const id = u.id;
  const left = {
    users: `SELECT count(*) FROM users WHERE id = '${id}'`,
    sessions: `SELECT count(*) FROM sessions WHERE user_id = '${id}'`,
    refresh_tokens: `SELECT count(*) FROM refresh_tokens WHERE user_id = '${id}'`,
    email_tokens: `SELECT count(*) FROM email_tokens WHERE user_id = '${id}'`,
    contacts: `SELECT count(*) FROM contacts WHERE owner_id = '${id}' OR contact_id = '${id}'`,
    media: `SELECT count(*) FROM media WHERE owner_id = '${id}'`,
    gallery_items: `SELECT count(*) FROM gallery_items WHERE owner_id = '${id}'`,
    chats: `SELECT count(*) FROM chats WHERE owner_id = '${id}'`,
    chat_messages: `SELECT count(*) FROM chat_messages WHERE owner_id = '${id}'`,
    copilot_sessions: `SELECT count(*) FROM copilot_sessions WHERE owner_id = '${id}'`,
    copilot_details: `SELECT count(*) FROM copilot_details WHERE session_id = '${kept.session.id}'`,
    outbox: `SELECT count(*) FROM outbox WHERE recipient = '${u.email}'`,
  };
  for (const [table, sql] of Object.entries(left)) assert.equal(db(sql), '0', table);
  assert.equal(Number(db('SELECT count(*) FROM media')), before - 1, 'only the person\'s media row went');
  // others see it gone, and keep what is theirs
  assertError(assert, await call('GET', `/users/${id}`, friend.token), 404, 'not_found');
  assertError(assert, await call('GET', `/media/${kept.media.id}`, friend.token), 404, 'not_found');
  assert.deepEqual((await call('GET', '/users/contacts', friend.token)).json.items, []);
  assert.equal((await call('GET', '/users/me', friend.token)).status, 200);
  // the address is free again
  assert.equal((await call('POST', '/auth/register', undefined, { email: u.email, password: 'another one', name: 'New' })).status, 201);
});

async function phoneSignIn(phone) {
  assert.equal((await call('POST', '/auth/otp/request', undefined, { phone })).status, 202);
  const msg = await sms.waitFor((m) => m.to === phone && !m.used);
  msg.used = true;
  const r = await call('POST', '/auth/otp/verify', undefined, { phone, code: /(\d{6})/.exec(msg.body)[1] });
  assert.ok(r.status === 200 || r.status === 201, r.text);
  return { token: r.json.access_token, refresh: r.json.refresh_token, id: r.json.user.id };
}

test('an account without a password is deleted with {} only within 5 minutes of signing in', async () => {
  const phone = '+5491166660001';
  const u = await phoneSignIn(phone);
  const [s] = (await call('GET', '/auth/sessions', u.token)).json.items;
  // the sign-in was 10 minutes ago: a refresh renews the token, not the sign-in
  db(`UPDATE sessions SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-10 minutes') WHERE id = '${s.id}'`);
  const refreshed = await call('POST', '/auth/refresh', undefined, { refresh_token: u.refresh });
  assert.equal(refreshed.status, 200);
  const stale = await call('DELETE', '/users/me', refreshed.json.access_token, {});
  assertError(assert, stale, 403, 'reauth_required');
  assert.equal(stale.json.error.field, 'password');
  // a fresh sign-in (a new session) may delete, with {} or with no body at all
  const fresh = await phoneSignIn(phone);
  assert.equal(fresh.id, u.id);
  const del = await request(`${app.url}/api/v1/users/me`, { method: 'DELETE', headers: { Authorization: `Bearer ${fresh.token}` } });
  assert.equal(del.status, 204, del.text);
  assertError(assert, await call('GET', '/users/me', refreshed.json.access_token), 401, 'unauthorized');
  assert.equal(db(`SELECT count(*) FROM users WHERE phone = '${phone}'`), '0');
  // the number signs up anew as a new account
  const again = await phoneSignIn(phone);
  assert.notEqual(again.id, u.id);
  assert.equal((await call('DELETE', '/users/me', again.token, {})).status, 204);
});
