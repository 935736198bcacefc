// Accounts: register, verify by the mailed link (real SMTP server), login, tokens
// (expiry, rotation, reuse), profile, admin, invitations, password reset, contacts, rate
// limits, phone sign-in with a fake SMS provider, and the outbox surviving kill -9.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startApp, runCli, tmpDataDir, request, assertError, sleep } = require('./lib/app');
const { startSmtp, startSms, freePort } = require('./lib/peers');

const FAST = { PASSWORD_ITERATIONS: '1000', MAIL_RETRY_MS: '100' };
let smtp;
let app;
test.before(async () => {
  smtp = await startSmtp();
  app = await startApp({ env: { ...FAST, SMTP_URL: smtp.url, SMTP_FROM: 'app <noreply@app.test>' } });
});
test.after(async () => { if (app) await app.stop(); if (smtp) smtp.stop(); });

let seq = 0;
const unique = (tag) => `${tag}-${process.pid}-${++seq}@example.test`;
const api = (path) => `${app.url}/api/v1${path}`;
const post = (path, body, token) => request(api(path), {
  method: 'POST', body: JSON.stringify(body),
  headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
});
const send = (method, path, body, token) => request(api(path), {
  method, body: body === undefined ? undefined : JSON.stringify(body),
  headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
});
const get = (path, token) => request(api(path), { headers: token ? { Authorization: `Bearer ${token}` } : {} });
const tokenFrom = (mail) => /token=([A-Za-z0-9_-]+)/.exec(mail.body)[1];

async function register(name = 'Ada') {
  const email = unique(name.toLowerCase());
  const r = await post('/auth/register', { email, password: 'correct horse', name });
  assert.equal(r.status, 201, r.text);
  return { email, password: 'correct horse', ...r.json };
}

test('register returns the user and a token pair, and mails a link that verifies the address', async () => {
  const u = await register('Grace');
  assert.equal(u.user.name, 'Grace');
  assert.equal(u.user.email, u.email);
  assert.equal(u.user.role, 'user');
  assert.equal(u.user.email_verified, false);
  assert.equal(u.token_type, 'Bearer');
  assert.equal(u.expires_in, 900);
  assert.equal(u.access_token.split('.').length, 3);
  assert.match(u.refresh_token, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(u.user.password_hash, undefined);
  const mail = await smtp.waitFor((m) => m.headers.to === u.email);
  assert.match(mail.headers.subject, /confirm/i);
  assert.match(mail.headers.from, /noreply@app\.test/);
  const token = tokenFrom(mail);
  assert.equal((await post('/auth/verify-email', { token })).status, 204);
  const verified = (await get('/users/me', u.access_token)).json;
  assert.equal(verified.email_verified, true);
  assert.equal(verified.has_password, true);
  assertError(assert, await post('/auth/verify-email', { token }), 400, 'invalid_input');
  assertError(assert, await post('/auth/verify-email', { token: 'nope' }), 400, 'invalid_input');
});

test('register refuses bad input with the field at fault', async () => {
  const email = unique('dup');
  assert.equal((await post('/auth/register', { email, password: 'long enough', name: 'A' })).status, 201);
  const dup = await post('/auth/register', { email: email.toUpperCase(), password: 'long enough', name: 'B' });
  assertError(assert, dup, 409, 'conflict');
  assert.equal(dup.json.error.field, 'email');
  const cases = [
    [{ email: 'not-an-email', password: 'long enough', name: 'A' }, 'email'],
    [{ email: unique('x'), password: 'short', name: 'A' }, 'password'],
    [{ email: unique('x'), password: 'long enough', name: '' }, 'name'],
    [{ email: unique('x'), password: 12345678, name: 'A' }, 'password'],
    [{ email: unique('x'), password: 'long enough' }, 'name'],
    [{ email: `${'a'.repeat(250)}@x.test`, password: 'long enough', name: 'A' }, 'email'],
    [{ email: "x' OR 1=1 --@x.test", password: 'long enough', name: 'A' }, 'email'],
    [{ email: unique('x'), password: 'p'.repeat(1025), name: 'A' }, 'password'],
  ];
  for (const [body, field] of cases) {
    const r = await post('/auth/register', body);
    assertError(assert, r, 400, 'invalid_input');
    assert.equal(r.json.error.field, field, JSON.stringify(body).slice(0, 80));
  }
  assertError(assert, await request(api('/auth/register'), { method: 'POST', body: '{"email":' }), 400, 'invalid_json');
  assertError(assert, await request(api('/auth/register'), { method: 'POST', body: 'x'.repeat(5000) }), 413, 'payload_too_large');
});

test('login: right password signs in; a wrong one and an unknown email get the same 401', async () => {
  const u = await register('Linus');
  const ok = await post('/auth/login', { email: u.email, password: u.password });
  assert.equal(ok.status, 200);
  assert.equal(ok.json.user.id, u.user.id);
  const wrong = await post('/auth/login', { email: u.email, password: 'wrong password' });
  const unknown = await post('/auth/login', { email: unique('nobody'), password: 'wrong password' });
  assertError(assert, wrong, 401, 'unauthorized');
  assertError(assert, unknown, 401, 'unauthorized');
  assert.equal(wrong.json.error.message, unknown.json.error.message);
  const upper = await post('/auth/login', { email: u.email.toUpperCase(), password: u.password });
  assert.equal(upper.status, 200, 'emails compare without case');
});

test('protected routes want a valid access token', async () => {
  const u = await register('Tok');
  assertError(assert, await get('/users/me'), 401, 'unauthorized');
  assertError(assert, await get('/users/me', 'garbage'), 401, 'unauthorized');
  const [h, p] = u.access_token.split('.');
  assertError(assert, await get('/users/me', `${h}.${p}.AAAA`), 401, 'unauthorized');
  const none = Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url');
  assertError(assert, await get('/users/me', `${none}.${p}.`), 401, 'unauthorized');
  const me = await get('/users/me', u.access_token);
  assert.equal(me.status, 200);
  assert.equal(me.json.id, u.user.id);
  // a token in the query string is for EventSource and WebSocket only, never for /users/me
  assertError(assert, await get(`/users/me?access_token=${u.access_token}`), 401, 'unauthorized');
});

test('refresh rotates; a reused refresh token signs the whole session out', async () => {
  const u = await register('Rot');
  const first = await post('/auth/refresh', { refresh_token: u.refresh_token });
  assert.equal(first.status, 200);
  assert.notEqual(first.json.refresh_token, u.refresh_token);
  assert.equal((await get('/users/me', first.json.access_token)).status, 200);
  const reuse = await post('/auth/refresh', { refresh_token: u.refresh_token });
  assertError(assert, reuse, 401, 'unauthorized');
  // the family is revoked: the newest token is dead too
  assertError(assert, await post('/auth/refresh', { refresh_token: first.json.refresh_token }), 401, 'unauthorized');
  assertError(assert, await post('/auth/refresh', { refresh_token: 'made-up' }), 401, 'unauthorized');
  assertError(assert, await post('/auth/refresh', {}), 400, 'invalid_input');
});

test('logout ends the refresh family', async () => {
  const u = await register('Out');
  assert.equal((await post('/auth/logout', { refresh_token: u.refresh_token })).status, 204);
  assertError(assert, await post('/auth/refresh', { refresh_token: u.refresh_token }), 401, 'unauthorized');
  assert.equal((await post('/auth/logout', { refresh_token: u.refresh_token })).status, 204);
});

test('the profile can be read and updated, field by field, with checks', async () => {
  const u = await register('Prof');
  const r = await send('PUT', '/users/me', { name: 'Prof X', bio: 'hello', country: 'AR', locale: 'es-AR',
    finance: { risk_profile: 'moderate', horizon_years: 10, goals: 'retire', monthly_income: 5000 } }, u.access_token);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.name, 'Prof X');
  assert.equal(r.json.country, 'AR');
  assert.deepEqual(r.json.finance, { risk_profile: 'moderate', horizon_years: 10, goals: 'retire', monthly_income: 5000 });
  const partial = await send('PUT', '/users/me', { bio: 'changed' }, u.access_token);
  assert.equal(partial.json.name, 'Prof X', 'fields not given stay');
  assert.equal(partial.json.bio, 'changed');
  for (const [body, field] of [[{ country: 'Argentina' }, 'country'], [{ name: '' }, 'name'],
    [{ finance: { risk_profile: 'yolo' } }, 'finance.risk_profile'], [{ finance: { horizon_years: -1 } }, 'horizon_years'],
    [{ phone: '12345' }, 'phone'], [{ name: 7 }, 'name'], [{ avatar_media_id: '../../etc' }, 'avatar_media_id']]) {
    const bad = await send('PUT', '/users/me', body, u.access_token);
    assertError(assert, bad, 400, 'invalid_input');
    assert.equal(bad.json.error.field, field);
  }
  const other = await register('Other');
  const card = await get(`/users/${u.user.id}`, other.access_token);
  assert.equal(card.status, 200);
  assert.deepEqual(Object.keys(card.json).sort(), ['avatar_url', 'id', 'name']);
  assertError(assert, await get('/users/00000000-0000-7000-8000-000000000000', other.access_token), 404, 'not_found');
  // a phone number belongs to one account
  assert.equal((await send('PUT', '/users/me', { phone: '+5491100000001' }, u.access_token)).status, 200);
  assertError(assert, await send('PUT', '/users/me', { phone: '+5491100000001' }, other.access_token), 409, 'conflict');
});

test('contacts: add by id or phone, list, remove; others see nothing', async () => {
  const a = await register('Ca');
  const b = await register('Cb');
  assert.equal((await send('PUT', '/users/me', { phone: '+5491100000002' }, b.access_token)).status, 200);
  const c = await register('Cc');
  assert.equal((await post('/users/contacts', { user_id: b.user.id }, a.access_token)).status, 201);
  assert.equal((await post('/users/contacts', { phone: '+5491100000002' }, a.access_token)).status, 200);
  assert.equal((await post('/users/contacts', { user_id: c.user.id }, a.access_token)).status, 201);
  const list = await get('/users/contacts', a.access_token);
  assert.deepEqual(list.json.items.map((x) => x.id).sort(), [b.user.id, c.user.id].sort());
  assert.equal(list.json.items[0].email, undefined, 'contacts are public cards');
  assertError(assert, await post('/users/contacts', { user_id: a.user.id }, a.access_token), 400, 'invalid_input');
  assertError(assert, await post('/users/contacts', { user_id: '00000000-0000-7000-8000-000000000000' }, a.access_token), 404, 'not_found');
  assertError(assert, await post('/users/contacts', {}, a.access_token), 400, 'invalid_input');
  assert.deepEqual((await get('/users/contacts', c.access_token)).json.items, []);
  assertError(assert, await send('DELETE', `/users/contacts/${b.user.id}`, undefined, c.access_token), 404, 'not_found');
  assert.equal((await send('DELETE', `/users/contacts/${b.user.id}`, undefined, a.access_token)).status, 204);
  assertError(assert, await send('DELETE', `/users/contacts/${b.user.id}`, undefined, a.access_token), 404, 'not_found');
  const page = await get('/users/contacts?limit=1', a.access_token);
  assert.equal(page.json.items.length, 1);
  assertError(assert, await get('/users/contacts?limit=0', a.access_token), 400, 'invalid_input');
});

test('forgot/reset: the mailed link sets a new password and ends other sessions', async () => {
  const u = await register('Reset');
  const unknown = await post('/auth/password/forgot', { email: unique('ghost') });
  assert.equal(unknown.status, 202);
  const known = await post('/auth/password/forgot', { email: u.email });
  assert.equal(known.status, 202);
  assert.deepEqual(known.json, unknown.json);
  const mail = await smtp.waitFor((m) => m.headers.to === u.email && /reset/i.test(m.headers.subject));
  const token = tokenFrom(mail);
  assertError(assert, await post('/auth/password/reset', { token, password: 'short' }), 400, 'invalid_input');
  assert.equal((await post('/auth/password/reset', { token, password: 'brand new secret' })).status, 204);
  assertError(assert, await post('/auth/password/reset', { token, password: 'another secret' }), 400, 'invalid_input');
  assertError(assert, await post('/auth/refresh', { refresh_token: u.refresh_token }), 401, 'unauthorized');
  assertError(assert, await post('/auth/login', { email: u.email, password: u.password }), 401, 'unauthorized');
  assert.equal((await post('/auth/login', { email: u.email, password: 'brand new secret' })).status, 200);
});

test('hostile bodies: invalid UTF-8, very long emails, wrong types, nested junk', async () => {
  const utf8 = Buffer.concat([Buffer.from('{"email":"a@b.test","password":"'), Buffer.from([0xff, 0xfe]), Buffer.from('long enough","name":"x"}')]);
  assertError(assert, await request(api('/auth/register'), { method: 'POST', body: utf8 }), 400, 'invalid_json');
  const long = await post('/auth/login', { email: `${'a'.repeat(300)}@x.test`, password: 'x' });
  assertError(assert, long, 400, 'invalid_input');
  assert.equal(long.json.error.field, 'email');
  assertError(assert, await post('/auth/login', { email: `${'a'.repeat(5000)}@x.test`, password: 'x' }), 413, 'payload_too_large');
  assertError(assert, await post('/auth/login', { email: ['a@b.test'], password: 'x' }), 400, 'invalid_input');
  assertError(assert, await post('/auth/login', [1, 2]), 400, 'invalid_input');
  assertError(assert, await post('/auth/login', { email: "' OR '1'='1", password: "' OR '1'='1" }), 401, 'unauthorized');
  assertError(assert, await post('/auth/refresh', { refresh_token: "x'; DROP TABLE users; --" }), 401, 'unauthorized');
  assert.equal((await request(`${app.url}/health`)).status, 200);
});

test('login is rate limited per account with Retry-After', async () => {
  const u = await register('Limit');
  let last;
  for (let i = 0; i < 12; i++) {
    last = await post('/auth/login', { email: u.email, password: 'wrong password' });
    if (last.status === 429) break;
  }
  assertError(assert, last, 429, 'rate_limited');
  assert.ok(Number(last.headers.get('retry-after')) >= 1);
});

test('every rate limit is a setting: a tighter one bites sooner, off lets everything through', async () => {
  const tight = await startApp({ env: { ...FAST, RATE_REGISTER_IP: '2/h', RATE_LOGIN_IP: 'off', RATE_LOGIN_ACCOUNT: 'off' } });
  try {
    const reg = (i) => request(`${tight.url}/api/v1/auth/register`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: unique(`rate${i}`), password: 'password123', name: 'R' }) });
    assert.equal((await reg(1)).status, 201);
    const second = await reg(2);
    assert.equal(second.status, 201);
    assertError(assert, await reg(3), 429, 'rate_limited');
    const email = JSON.parse(second.text).user.email;
    for (let i = 0; i < 15; i++) {
      const r = await request(`${tight.url}/api/v1/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email, password: 'wrong password' }) });
      assert.equal(r.status, 401, `attempt ${i}: off never limits`);
    }
  } finally {
    await tight.stop();
  }
  const bad = runCli(['--data', tmpDataDir(), 'migrate'], { env: { RATE_LOGIN_IP: 'lots' } });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /RATE_LOGIN_IP/);
});

test('admins: created by the CLI, invite by mail, list, change roles, disable at once', async () => {
  const dataDir = tmpDataDir();
  const email = unique('root');
  const cli = runCli(['--data', dataDir, 'admin', 'create', email], { env: FAST });
  assert.equal(cli.code, 0, cli.stderr);
  const link = /(https?:\/\/\S+token=([A-Za-z0-9_-]+))/.exec(cli.stdout);
  assert.ok(link, cli.stdout);
  assert.equal(runCli(['--data', dataDir, 'admin', 'create', 'not-an-email'], { env: FAST }).code, 1);
  const smtp2 = await startSmtp();
  const a2 = await startApp({ dataDir, env: { ...FAST, SMTP_URL: smtp2.url } });
  try {
    const call = (method, path, body, token) => request(`${a2.url}/api/v1${path}`, {
      method, body: body === undefined ? undefined : JSON.stringify(body),
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) } });
    assert.equal((await call('POST', '/auth/password/reset', { token: link[2], password: 'admin password' })).status, 204);
    const admin = (await call('POST', '/auth/login', { email, password: 'admin password' })).json;
    assert.equal(admin.user.role, 'admin');
    assert.equal(admin.user.email_verified, true);

    const inv = await call('POST', '/auth/invite', { email: unique('guest'), name: 'Guest' }, admin.access_token);
    assert.equal(inv.status, 201, inv.text);
    const mail = await smtp2.waitFor((m) => m.headers.to === inv.json.email);
    assert.doesNotMatch(mail.body, /password:/i);
    assert.equal((await call('POST', '/auth/password/reset', { token: tokenFrom(mail), password: 'guest password' })).status, 204);
    const guest = (await call('POST', '/auth/login', { email: inv.json.email, password: 'guest password' })).json;
    assert.ok(guest.access_token);

    assertError(assert, await call('GET', '/admin/users', undefined, guest.access_token), 403, 'forbidden');
    assertError(assert, await call('POST', '/auth/invite', { email: unique('x'), name: 'X' }, guest.access_token), 403, 'forbidden');
    const found = await call('GET', `/admin/users?q=${encodeURIComponent(inv.json.email)}`, undefined, admin.access_token);
    assert.deepEqual(found.json.items.map((x) => x.id), [guest.user.id]);
    const admins = await call('GET', '/admin/users?role=admin', undefined, admin.access_token);
    assert.deepEqual(admins.json.items.map((x) => x.email), [email]);
    const wild = await call('GET', '/admin/users?q=%25', undefined, admin.access_token);
    assert.equal(wild.json.items.length, 0, '% is matched literally');

    const promoted = await call('PATCH', `/admin/users/${guest.user.id}`, { role: 'agent' }, admin.access_token);
    assert.equal(promoted.json.role, 'agent');
    assert.equal((await call('GET', '/users/me', undefined, guest.access_token)).json.role, 'agent');
    assertError(assert, await call('PATCH', `/admin/users/${admin.user.id}`, { disabled: true }, admin.access_token), 409, 'conflict');
    assertError(assert, await call('PATCH', `/admin/users/${guest.user.id}`, { role: 'root' }, admin.access_token), 400, 'invalid_input');

    const off = await call('PATCH', `/admin/users/${guest.user.id}`, { disabled: true }, admin.access_token);
    assert.equal(off.json.disabled, true);
    assertError(assert, await call('GET', '/users/me', undefined, guest.access_token), 401, 'unauthorized');
    assertError(assert, await call('POST', '/auth/refresh', { refresh_token: guest.refresh_token }), 401, 'unauthorized');
    assertError(assert, await call('POST', '/auth/login', { email: inv.json.email, password: 'guest password' }), 401, 'unauthorized');

    const outbox = await call('GET', '/admin/outbox', undefined, admin.access_token);
    assert.ok(outbox.json.items.some((m) => m.recipient === inv.json.email && m.state === 'sent'));
  } finally {
    await a2.stop();
    smtp2.stop();
  }
});

test('access tokens expire after ACCESS_TTL', async () => {
  const a3 = await startApp({ env: { ...FAST, ACCESS_TTL: '1' } });
  try {
    const r = await request(`${a3.url}/api/v1/auth/register`, { method: 'POST',
      body: JSON.stringify({ email: unique('ttl'), password: 'long enough', name: 'T' }) });
    assert.equal(r.status, 201);
    assert.equal(r.json.expires_in, 1);
    await sleep(2100);
    const me = await request(`${a3.url}/api/v1/users/me`, { headers: { Authorization: `Bearer ${r.json.access_token}` } });
    assertError(assert, me, 401, 'unauthorized');
    assert.match(me.json.error.message, /expired/);
    const fresh = await request(`${a3.url}/api/v1/auth/refresh`, { method: 'POST', body: JSON.stringify({ refresh_token: r.json.refresh_token }) });
    assert.equal(fresh.status, 200);
  } finally {
    await a3.stop();
  }
});

test('phone sign-in: the code goes out in Twilio format; first use creates the account', async () => {
  const sms = await startSms();
  const a4 = await startApp({ env: { ...FAST, SMS_URL: sms.url, SMS_ACCOUNT: sms.account, SMS_TOKEN: sms.token, SMS_FROM: '+15005550006' } });
  try {
    const call = (path, body) => request(`${a4.url}/api/v1${path}`, { method: 'POST', body: JSON.stringify(body) });
    const phone = '+5491155550001';
    const req = await call('/auth/otp/request', { phone });
    assert.equal(req.status, 202);
    assert.equal(req.json.sent, true);
    const msg = await sms.waitFor((m) => m.to === phone);
    assert.equal(msg.from, '+15005550006');
    const code = /(\d{6})/.exec(msg.body)[1];
    assertError(assert, await call('/auth/otp/verify', { phone, code: code === '000000' ? '111111' : '000000' }), 401, 'unauthorized');
    const ok = await call('/auth/otp/verify', { phone, code });
    assert.equal(ok.status, 201);
    assert.equal(ok.json.user.phone, phone);
    assert.equal(ok.json.user.has_password, false, 'a phone account has no password');
    assertError(assert, await call('/auth/otp/verify', { phone, code }), 401, 'unauthorized');
    // the second sign-in finds the same account
    await call('/auth/otp/request', { phone });
    await sleep(100);
    const again = await sms.waitFor((m) => m.to === phone && m !== msg);
    const second = await call('/auth/otp/verify', { phone, code: /(\d{6})/.exec(again.body)[1] });
    assert.equal(second.status, 200);
    assert.equal(second.json.user.id, ok.json.user.id);
    // five wrong tries kill the code
    await call('/auth/otp/request', { phone: '+5491155550002' });
    const third = await sms.waitFor((m) => m.to === '+5491155550002');
    for (let i = 0; i < 5; i++) await call('/auth/otp/verify', { phone: '+5491155550002', code: '999999' === /(\d{6})/.exec(third.body)[1] ? '888888' : '999999' });
    assertError(assert, await call('/auth/otp/verify', { phone: '+5491155550002', code: /(\d{6})/.exec(third.body)[1] }), 401, 'unauthorized');
    assertError(assert, await call('/auth/otp/request', { phone: '12345' }), 400, 'invalid_input');
    // per phone: a few codes, then 429 with Retry-After
    let limited;
    for (let i = 0; i < 5; i++) {
      limited = await call('/auth/otp/request', { phone: '+5491155550003' });
      if (limited.status === 429) break;
    }
    assertError(assert, limited, 429, 'rate_limited');
    assert.ok(Number(limited.headers.get('retry-after')) > 60);
    assert.deepEqual(sms.rejected, []);
  } finally {
    await a4.stop();
    await sms.stop();
  }
});

test('without SMTP, mail waits in the outbox; secrets stay out of logs and the admin view in production', async () => {
  const dataDir = tmpDataDir();
  const email = unique('prod');
  const cli = runCli(['--data', dataDir, 'admin', 'create', email], { env: { ...FAST, APP_ENV: 'production' } });
  const token = /token=([A-Za-z0-9_-]+)/.exec(cli.stdout)[1];
  const a5 = await startApp({ dataDir, env: { ...FAST, APP_ENV: 'production' } });
  try {
    const call = (method, path, body, tok) => request(`${a5.url}/api/v1${path}`, { method, body: body && JSON.stringify(body),
      headers: tok ? { Authorization: `Bearer ${tok}` } : {} });
    await call('POST', '/auth/password/reset', { token, password: 'admin password' });
    const admin = (await call('POST', '/auth/login', { email, password: 'admin password' })).json;
    const user = await call('POST', '/auth/register', { email: unique('waits'), password: 'long enough', name: 'W' });
    assert.equal(user.status, 201);
    const outbox = await call('GET', '/admin/outbox?state=queued', undefined, admin.access_token);
    const mail = outbox.json.items.find((m) => m.recipient === user.json.user.email);
    assert.ok(mail, 'queued');
    assert.match(mail.body, /\[redacted\]/);
    assert.doesNotMatch(mail.body, /token=[A-Za-z0-9_-]{20}/);
    assert.match(a5.stderr(), /no SMTP_URL/);
    assert.doesNotMatch(a5.stderr(), /token=[A-Za-z0-9_-]{20}/);
    assert.match(a5.stderr(), /PASSWORD_ITERATIONS is below/);
  } finally {
    await a5.stop();
  }
});

test('kill -9 with mail queued: after restart each message is sent exactly once', async () => {
  const port = await freePort();
  const dataDir = tmpDataDir();
  const env = { ...FAST, SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_RETRY_MS: '200' };
  const a6 = await startApp({ dataDir, env });
  const emails = [];
  for (let i = 0; i < 5; i++) {
    const email = unique('crash');
    emails.push(email);
    const r = await request(`${a6.url}/api/v1/auth/register`, { method: 'POST',
      body: JSON.stringify({ email, password: 'long enough', name: `C${i}` }) });
    assert.equal(r.status, 201);
  }
  await sleep(300); // the worker tries, fails (nothing listens), and schedules retries
  assert.equal((await a6.kill9()).signal, 'SIGKILL');
  const late = await startSmtp({ port });
  const a7 = await startApp({ dataDir, env });
  try {
    for (const email of emails) await late.waitFor((m) => m.headers.to === email, 15000);
    await sleep(1000); // time for a duplicate to show up, if there were one
    for (const email of emails) {
      assert.equal(late.messages().filter((m) => m.headers.to === email).length, 1, email);
    }
  } finally {
    await a7.stop();
    late.stop();
  }
});
