// Drop-in routes for the clients of the original backends, driven the way those clients
// did: the Gin backend's GET /user-detail/{id}, the FastAPI copilot's /user/signup and
// /user/login, the E2EE chat's request-otp / verify-otp and POST /api/v1/media/upload.
// Each answers like its counterpart and runs the same code as the route it stands for.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { startApp, request, rawRequest, assertError } = require('./lib/app');
const { startSmtp, startSms } = require('./lib/peers');

const FAST = { PASSWORD_ITERATIONS: '1000', MAIL_RETRY_MS: '100' };
let smtp;
let sms;
let app;
test.before(async () => {
  smtp = await startSmtp();
  sms = await startSms();
  app = await startApp({
    env: {
      ...FAST, SMTP_URL: smtp.url, SMTP_FROM: 'app <noreply@app.test>',
      SMS_URL: sms.url, SMS_ACCOUNT: sms.account, SMS_TOKEN: sms.token, SMS_FROM: '+15005550006',
    },
  });
});
test.after(async () => { if (app) await app.stop(); if (smtp) smtp.stop(); if (sms) await sms.stop(); });

let seq = 0;
const unique = (tag) => `${tag}-${process.pid}-${++seq}@example.test`;
const json = { 'Content-Type': 'application/json' };
const bearer = (token) => (token ? { Authorization: `Bearer ${token}` } : {});
const post = (path, body, token) => request(`${app.url}${path}`, {
  method: 'POST', body: JSON.stringify(body), headers: { ...json, ...bearer(token) },
});
const get = (path, token) => request(`${app.url}${path}`, { headers: bearer(token) });

async function register(name) {
  const email = unique(name.toLowerCase());
  const r = await post('/api/v1/auth/register', { email, password: 'correct horse', name });
  assert.equal(r.status, 201, r.text);
  return { email, token: r.json.access_token, id: r.json.user.id };
}

test('Gin backend: GET /user-detail/{id} with a Bearer token answers the user\'s detail', async () => {
  const me = await register('Detail');
  const other = await register('Other');
  const mine = await get(`/user-detail/${me.id}`, me.token);
  assert.equal(mine.status, 200, mine.text);
  assert.equal(mine.json.id, me.id);
  assert.equal(mine.json.name, 'Detail');
  assert.equal(mine.json.email, me.email, 'oneself gets the whole record');
  // the same answer as the route it stands for
  assert.deepEqual(mine.json, (await get(`/api/v1/users/${me.id}`, me.token)).json);
  const theirs = await get(`/user-detail/${other.id}`, me.token);
  assert.equal(theirs.status, 200);
  assert.equal(theirs.json.name, 'Other');
  assert.equal(theirs.json.email, undefined, 'someone else gets the public card');
  assertError(assert, await get(`/user-detail/${me.id}`), 401, 'unauthorized');
  assertError(assert, await get('/user-detail/1', me.token), 404, 'not_found');
  assertError(assert, await get('/user-detail/01234567-89ab-7def-8123-456789abcdef', me.token), 404, 'not_found');
});

test('FastAPI copilot: /user/signup mails a set-password link (never a password); /user/login answers {access_token, token_type}', async () => {
  const email = unique('maverik');
  // the original client's UsuarioCrearRequest: email and a questionnaire, no password
  const signup = await post('/user/signup', {
    email, fecha_nacimiento: '1990-05-17', nivel_educativo_id: 2, conocimiento_alt_inversion_id: 1,
    experiencia_invirtiendo_id: 1, porcentaje_ahorro_mensual_id: 3, porcentaje_ahorro_invertir_id: 2,
    tiempo_mantener_inversion_id: 1, busca_invertir_en_id: 1, proporcion_inversion_mantener_id: 1,
  });
  assert.equal(signup.status, 200, signup.text);
  assert.equal(signup.json.email, email);
  assert.match(signup.json.id, /^[0-9a-f-]{36}$/);
  assert.equal(signup.json.name, email.split('@')[0], 'no name given: the part before the @');
  for (const k of ['clave', 'password', 'password_hash']) assert.equal(signup.json[k], undefined, k);

  const mail = await smtp.waitFor((m) => m.headers.to === email);
  assert.match(mail.headers.subject, /password/i);
  assert.doesNotMatch(mail.body, /clave/i);
  const token = /reset-password\?token=([A-Za-z0-9_-]+)/.exec(mail.body)[1];
  // no password exists until the link is used
  assertError(assert, await post('/user/login', { email, password: 'anything at all' }), 401, 'unauthorized');
  assert.equal((await post('/api/v1/auth/password/reset', { token, password: 'my own secret' })).status, 204);

  const login = await post('/user/login', { email, password: 'my own secret' });
  assert.equal(login.status, 200, login.text);
  assert.deepEqual(Object.keys(login.json).sort(), ['access_token', 'token_type']);
  assert.equal(login.json.token_type, 'bearer');
  const me = await get('/api/v1/users/me', login.json.access_token);
  assert.equal(me.status, 200);
  assert.equal(me.json.id, signup.json.id);
  assert.equal(me.json.email_verified, true, 'the link proved the address');
  // the original's clients named the password "clave"
  assert.equal((await post('/user/login', { email, clave: 'my own secret' })).status, 200);

  const wrong = await post('/user/login', { email, password: 'not my secret' });
  assertError(assert, wrong, 401, 'unauthorized');
  assert.ok('error' in wrong.json, 'clients that test for "error" still see one');
  assertError(assert, await post('/user/login', { email }), 400, 'invalid_input');
  assertError(assert, await post('/user/signup', { email }), 409, 'conflict');
  assertError(assert, await post('/user/signup', { email: 'not-an-email' }), 400, 'invalid_input');
  const named = await post('/user/signup', { email: unique('named'), name: 'Ana' });
  assert.equal(named.status, 200);
  assert.equal(named.json.name, 'Ana');
});

test('E2EE chat: request-otp sends the code by SMS, verify-otp signs in (and creates the account)', async () => {
  const phone = '+5491166660001';
  const req = await post('/api/v1/auth/request-otp', { phone });
  assert.equal(req.status, 202, req.text);
  assert.equal(req.json.sent, true);
  const msg = await sms.waitFor((m) => m.to === phone);
  const code = /(\d{6})/.exec(msg.body)[1];
  assertError(assert, await post('/api/v1/auth/verify-otp', { phone, code: code === '000000' ? '111111' : '000000' }), 401, 'unauthorized');
  const ok = await post('/api/v1/auth/verify-otp', { phone, code });
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.json.user.phone, phone);
  assert.equal(ok.json.token_type, 'Bearer');
  assertError(assert, await post('/api/v1/auth/verify-otp', { phone, code }), 401, 'unauthorized');
  // the rest of that client's flow: refresh, then the profile
  const fresh = await post('/api/v1/auth/refresh', { refresh_token: ok.json.refresh_token });
  assert.equal(fresh.status, 200);
  assert.equal((await get('/api/v1/users/me', fresh.json.access_token)).json.id, ok.json.user.id);
  assertError(assert, await post('/api/v1/auth/request-otp', { phone: '12345' }), 400, 'invalid_input');
  assert.deepEqual(sms.rejected, []);
});

test('E2EE chat: POST /api/v1/media/upload stores a file like POST /api/v1/media', async () => {
  const me = await register('Uploader');
  const data = crypto.randomBytes(3000);
  const boundary = `----e2ee${crypto.randomBytes(8).toString('hex')}`;
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="photo.bin"\r\n`
      + 'Content-Type: application/octet-stream\r\n\r\n'),
    data,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const send = (token) => rawRequest(`${app.url}/api/v1/media/upload`, {
    method: 'POST', body,
    headers: { ...bearer(token), 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': body.length },
  });
  const up = await send(me.token);
  assert.equal(up.status, 201, up.text);
  assert.equal(up.json.size, data.length);
  assert.equal(up.json.sha256, crypto.createHash('sha256').update(data).digest('hex'));
  assert.equal(up.json.url, `/api/v1/media/${up.json.id}`);
  assert.equal(up.json.visibility, 'private');
  const back = await rawRequest(`${app.url}${up.json.url}`, { headers: bearer(me.token) });
  assert.equal(back.status, 200);
  assert.ok(back.body.equals(data), 'the same bytes come back');
  assertError(assert, await send(null), 401, 'unauthorized');
});

test('the OpenAPI document lists the drop-in routes under the compat tag', async () => {
  const doc = (await get('/api/v1/openapi.json')).json;
  const tag = doc.tags.find((t) => t.name === 'compat');
  assert.ok(tag && tag.description.length > 0);
  for (const [p, m] of [['/user-detail/{id}', 'get'], ['/user/signup', 'post'], ['/user/login', 'post'],
    ['/api/v1/auth/request-otp', 'post'], ['/api/v1/auth/verify-otp', 'post'], ['/api/v1/media/upload', 'post']]) {
    assert.ok(doc.paths[p] && doc.paths[p][m], `${m} ${p}`);
    assert.deepEqual(doc.paths[p][m].tags, ['compat'], `${m} ${p}`);
  }
});
