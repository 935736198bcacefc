// The web app in a real browser (Debian's chromium driven by playwright-core) against the
// real binary, a real SMTP server and the fake model server: sign up, confirm by the mailed
// link, sign in, profile and avatar, gallery, a streamed chat reply and a stopped one, the
// copilot, sign out; an admin disables a user whose open tab is then signed out. Every main
// screen is checked with axe-core and photographed at desktop and phone width into
// test/e2e/screenshots/ (or SCREENSHOT_DIR).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { startApp, request, sqlite, sleep } = require('./lib/app');
const { startSmtp, startSms } = require('./lib/peers');
const { startLlm } = require('./lib/llm');
const { PNG, problems: cspViolations, launch, newPage: openPage, check, tabReaches, register, signIn } = require('./lib/browser');

let smtp;
let llm;
let app;
let browser;
test.before(async () => {
  smtp = await startSmtp();
  llm = await startLlm();
  app = await startApp({ env: { PASSWORD_ITERATIONS: '1000', SMTP_URL: smtp.url, MAIL_RETRY_MS: '100',
    LLM_BASE_URL: llm.url, LLM_API_KEY: llm.apiKey } });
  browser = await launch();
});
test.after(async () => {
  if (browser) await browser.close();
  if (app) await app.stop();
  if (llm) await llm.stop();
  if (smtp) smtp.stop();
});

const newPage = (width, height) => openPage(browser, width, height);

test('a person uses the whole app from the browser', async () => {
  const page = await newPage();
  const email = `browser-${process.pid}@example.test`;
  const started = Date.now();
  await page.goto(app.url);
  await page.getByRole('link', { name: 'Create an account' }).waitFor();
  const tti = Date.now() - started;
  console.log(`# first load: interactive after ${tti} ms`);
  await check(page, 'home');

  // sign up; errors show next to their field
  await page.getByRole('link', { name: 'Create an account' }).click();
  await page.getByLabel('Name').fill('Ada Browser');
  await page.getByLabel('Email').fill('not-an-email');
  await page.getByLabel('Password').fill('correct horse');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.locator('.field-error').waitFor();
  assert.equal(await page.getByLabel('Email').getAttribute('aria-invalid'), 'true');
  await check(page, 'signup');
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: 'Your profile' }).waitFor();

  // confirm the address by the mailed link
  const mail = await smtp.waitFor((m) => m.headers.to === email);
  const link = /https?:\/\/\S+\/verify-email\?token=[A-Za-z0-9_-]+/.exec(mail.body)[0];
  await page.goto(link);
  await page.getByText('Your email address is confirmed').waitFor();

  // the session survives a reload
  await page.goto(`${app.url}/profile`);
  await page.getByRole('heading', { name: 'Your profile' }).waitFor();
  await page.getByText(/— confirmed/).waitFor();

  // profile: details, country from /countries, avatar with a preview
  await page.getByLabel('Name').fill('Ada Lovelace');
  await page.getByLabel('Country').selectOption('AR');
  await page.getByLabel('Risk profile').selectOption('aggressive');
  await page.getByLabel('Phone').fill('12');
  await page.getByRole('button', { name: 'Save profile' }).click();
  await page.locator('#' + (await page.getByLabel('Phone').getAttribute('id')) + '-error').waitFor();
  await page.getByLabel('Phone').fill('');
  await page.getByRole('button', { name: 'Save profile' }).click();
  await page.getByText('Your profile is saved.').waitFor();
  await page.setInputFiles('#avatar-file', { name: 'me.png', mimeType: 'image/png', buffer: PNG });
  assert.match(await page.locator('img.avatar').getAttribute('src'), /^blob:/, 'preview before upload');
  await page.getByRole('button', { name: 'Use as avatar' }).click();
  await page.getByText('Your avatar is updated.').waitFor();
  await check(page, 'profile');

  // gallery: upload with progress, then the tile
  await page.getByRole('link', { name: 'Gallery', exact: true }).click();
  await page.getByRole('heading', { name: 'Gallery', exact: true }).waitFor();
  await page.setInputFiles('#gallery-file', { name: 'sunset.png', mimeType: 'image/png', buffer: PNG });
  await page.getByLabel('Caption').fill('Sunset');
  await page.getByRole('button', { name: 'Upload' }).click();
  await page.locator('.tile', { hasText: 'Sunset' }).waitFor();
  await check(page, 'gallery');

  // chat: the reply arrives in pieces
  llm.reset();
  llm.next({ chunks: ['**Hello**', ' there,', ' this', ' reply', ' streams', ' in', ' pieces.'], delayMs: 250 });
  await page.getByRole('link', { name: 'Chats' }).click();
  await page.getByRole('button', { name: 'New chat' }).click();
  await page.getByLabel('Your message').fill('Hi!');
  await page.getByLabel('Your message').press('Enter');
  const reply = page.locator('.msg.assistant .text').last();
  const seen = new Set();
  for (let i = 0; i < 60 && !(await reply.textContent()).endsWith('pieces.'); i++) {
    seen.add(await reply.textContent());
    await sleep(60);
  }
  const partial = [...seen].filter((t) => t && !t.endsWith('pieces.'));
  assert.ok(partial.length >= 3, `the reply grew in pieces: ${JSON.stringify(partial)}`);
  await page.locator('.msg.assistant strong', { hasText: 'Hello' }).waitFor(); // Markdown once whole
  await page.getByText('Reply complete.').waitFor();
  // stop a reply midway
  llm.next({ chunks: Array.from({ length: 40 }, (_, i) => `word${i} `), delayMs: 150 });
  await page.getByLabel('Your message').fill('Tell me a long story');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.getByRole('button', { name: 'Stop' }).waitFor();
  await sleep(700);
  await page.getByRole('button', { name: 'Stop' }).click();
  await page.getByText('Reply stopped.').waitFor();
  const chatId = new URL(page.url()).pathname.split('/')[2];
  const token = await page.evaluate(() => localStorage.getItem('app.refresh'));
  assert.ok(token);
  await check(page, 'chats');
  assert.ok(await tabReaches(page, '#composer'), 'the composer is reachable by keyboard');

  // copilot (answered by the fake model, with the profile as context)
  llm.next({ chunks: ['Diversify.'] });
  await page.getByRole('link', { name: 'Copilot' }).click();
  await page.getByLabel('Topic').fill('Retirement');
  await page.getByRole('button', { name: 'New session' }).click();
  await page.getByLabel('Your question').fill('How should I invest?');
  await page.getByRole('button', { name: 'Ask' }).click();
  await page.getByText('Diversify.').waitFor();
  await page.getByRole('table').getByText('Suggested allocation (aggressive; builtin)').waitFor();
  await check(page, 'copilot');

  // the stopped reply was kept as incomplete
  const api = async (p) => {
    const r = await page.evaluate(async (u) => {
      const t = await fetch('/api/v1/auth/refresh', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: localStorage.getItem('app.refresh') }) }).then((x) => x.json());
      localStorage.setItem('app.refresh', t.refresh_token);
      return fetch(u, { headers: { Authorization: `Bearer ${t.access_token}` } }).then((x) => x.json());
    }, `/api/v1${p}`);
    return r;
  };
  const msgs = await api(`/chats/${chatId}/messages`);
  assert.equal(msgs.items[msgs.items.length - 1].status, 'incomplete');

  // sign out
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('link', { name: 'Create an account' }).waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('app.refresh')), null);
  await page.goto(`${app.url}/signin`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('wrong password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').waitFor();
  await check(page, 'signin');
  await page.getByLabel('Password').fill('correct horse');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'New chat' }).waitFor();
  await page.context().close();
  assert.deepEqual(cspViolations, [], 'no Content-Security-Policy violation, no page error');
});

test('an admin disables a user; the user\'s open tab is signed out on its next request', async () => {
  const victim = await newPage();
  await victim.goto(`${app.url}/signup`);
  const email = `victim-${process.pid}@example.test`;
  await victim.getByLabel('Name').fill('Vic Tim');
  await victim.getByLabel('Email').fill(email);
  await victim.getByLabel('Password').fill('correct horse');
  await victim.getByRole('button', { name: 'Create account' }).click();
  await victim.getByRole('heading', { name: 'Your profile' }).waitFor();

  const admin = await newPage();
  const adminEmail = `admin-${process.pid}@example.test`;
  const r = await request(`${app.url}/api/v1/auth/register`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: adminEmail, password: 'correct horse', name: 'Ad Min' }) });
  assert.equal(sqlite(path.join(app.dataDir, 'app.db'), `UPDATE users SET role = 'admin' WHERE id = '${r.json.user.id}'`).code, 0, 'made an admin');
  await admin.goto(`${app.url}/signin`);
  await admin.getByLabel('Email').fill(adminEmail);
  await admin.getByLabel('Password').fill('correct horse');
  await admin.getByRole('button', { name: 'Sign in' }).click();
  await admin.getByRole('link', { name: 'Admin' }).click();
  await admin.getByRole('heading', { name: 'People' }).waitFor();
  await admin.getByLabel('Search people').fill(email);
  await admin.getByRole('button', { name: 'Search' }).click();
  await admin.getByLabel(`Disable ${email}`).check();
  await admin.getByText(/disabled\./).waitFor();
  await check(admin, 'admin');

  await victim.getByRole('link', { name: 'Gallery', exact: true }).click();
  await victim.getByRole('heading', { name: 'Sign in' }).waitFor();
  await victim.getByText('Your session ended').waitFor();
  assert.equal(await victim.evaluate(() => localStorage.getItem('app.refresh')), null);
  assert.deepEqual(cspViolations, []);
});

test('a forgotten password is reset from the mailed link; a phone number signs in with a texted code', async (t) => {
  const page = await newPage(390, 844);
  const email = `forgot-${process.pid}@example.test`;
  const r = await request(`${app.url}/api/v1/auth/register`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password: 'old password', name: 'For Got' }) });
  assert.equal(r.status, 201);
  await page.goto(`${app.url}/signin`);
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Send me a link' }).click();
  await page.getByText('a link to set a new password is on its way').waitFor();
  const mail = await smtp.waitFor((m) => m.headers.to === email && /reset-password/.test(m.body));
  const link = /https?:\/\/\S+\/reset-password\?token=[A-Za-z0-9_-]+/.exec(mail.body)[0];
  await page.goto(link);
  await page.getByLabel('New password').fill('brand new password');
  await page.getByRole('button', { name: 'Set the password' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('brand new password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'New chat' }).waitFor();
  await page.context().close();

  const sms = await startSms();
  t.after(() => sms.stop());
  const a = await startApp({ t, env: { PASSWORD_ITERATIONS: '1000', SMS_URL: sms.url, SMS_ACCOUNT: sms.account,
    SMS_TOKEN: sms.token, SMS_FROM: '+15550000000', MAIL_RETRY_MS: '100' } });
  const p2 = await newPage();
  await p2.goto(`${a.url}/signin`);
  await p2.getByRole('link', { name: 'Sign in with a code by SMS instead' }).click();
  await p2.getByLabel('Phone number').fill('+5491122334455');
  await p2.getByRole('button', { name: 'Send me a code' }).click();
  const text = await sms.waitFor((m) => m.to === '+5491122334455');
  const code = /\b(\d{6})\b/.exec(text.body)[1];
  await p2.getByLabel('The 6-digit code').fill(code);
  await check(p2, 'phone');
  await p2.getByRole('button', { name: 'Sign in', exact: true }).click();
  await p2.getByRole('button', { name: 'New chat' }).waitFor();
  await p2.context().close();
  await a.stop();
  assert.deepEqual(cspViolations, []);
});

test('the first load of / is small', async () => {
  const page = await newPage();
  let bytes = 0;
  page.on('response', async (res) => {
    try { bytes += (await res.body()).length; } catch { /* redirects have none */ }
  });
  await page.goto(app.url);
  await page.waitForLoadState('networkidle');
  console.log(`# first load of /: ${bytes} bytes over ${'HTTP'} (uncompressed)`);
  assert.ok(bytes < 300 * 1024, `${bytes} bytes`);
  await page.context().close();
});

// Registers someone through the API and signs them in through the form.
async function person(page, tag) {
  const p = await register(app, `${tag}-${process.pid}@example.test`, `${tag[0].toUpperCase()}${tag.slice(1)} Person`);
  await signIn(page, app, p);
  return p;
}

test('one token refresh for api, upload and stream; no Authorization header without a token; media URLs revoked at sign-out', async () => {
  const page = await newPage();
  const headers = []; // [url, Authorization or null] of every API and media request
  page.on('request', (r) => { if (/\/api\/v1\//.test(r.url())) headers.push([r.url(), r.headers().authorization || null]); });
  const refreshes = () => headers.filter(([u]) => u.endsWith('/auth/refresh')).length;
  await person(page, 'session');

  // a picture in the gallery, shown through an object URL
  await page.getByRole('link', { name: 'Gallery', exact: true }).click();
  await page.setInputFiles('#gallery-file', { name: 'dawn.png', mimeType: 'image/png', buffer: PNG });
  await page.getByLabel('Caption').fill('Dawn');
  await page.getByRole('button', { name: 'Upload' }).click();
  const img = page.locator('.tile img[alt="Dawn"]');
  await img.waitFor();
  await page.waitForFunction(() => /^blob:/.test(document.querySelector('.tile img').src));
  const blobUrl = await img.getAttribute('src');
  // (loaded as a picture: the page's CSP lets pictures, not fetch, read blob: URLs)
  const readable = (u) => page.evaluate((x) => new Promise((resolve) => {
    const i = new Image();
    i.onload = () => resolve(true);
    i.onerror = () => resolve(false);
    i.src = x;
  }), u);
  assert.equal(await readable(blobUrl), true, 'the object URL works while signed in');

  // an access token the server refuses: each kind of call refreshes once and goes through.
  // (The page's own api.js module, at the hashed asset path the page loaded it from.)
  await page.evaluate(() => { window.apiModule = () => import(document.querySelector('script[type=module]').src.replace(/app\.js$/, 'api.js')); });
  const { id: chatId } = await page.evaluate(() => window.apiModule().then((m) => m.api('/chats', { method: 'POST', body: {} })));
  llm.next({ chunks: ['Fine', ' thanks.'] });
  const before = refreshes();
  const got = await page.evaluate(async ({ chat, png }) => {
    const m = await window.apiModule();
    const spoil = () => m.setSession({ access_token: 'not.a.token', refresh_token: localStorage.getItem('app.refresh') });
    spoil();
    const me = await m.api('/users/me');
    spoil();
    const file = new File([Uint8Array.from(atob(png), (c) => c.charCodeAt(0))], 'x.png', { type: 'image/png' });
    const media = await m.upload(file, 'private');
    spoil();
    const events = [];
    await m.stream(`/chats/${chat}/messages`, { content: 'How are you?' }, (name) => events.push(name));
    return { me: me.id, media: media.id, events };
  }, { chat: chatId, png: PNG.toString('base64') });
  assert.ok(got.me && got.media, JSON.stringify(got));
  assert.ok(got.events.includes('done'), JSON.stringify(got.events));
  assert.equal(refreshes() - before, 3, 'one refresh per refused call');
  assert.equal(await page.evaluate(() => Boolean(localStorage.getItem('app.refresh'))), true, 'still signed in');

  // sign out: the object URLs die with the session
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('link', { name: 'Create an account' }).waitFor();
  assert.equal(await readable(blobUrl), false, 'the object URL is revoked at sign-out');

  // signed out, no call carries an Authorization header at all
  const from = headers.length;
  const answers = await page.evaluate(async (chat) => {
    const m = await window.apiModule();
    const status = (p) => p.then(() => 'ok', (e) => e.status);
    return Promise.all([status(m.api('/users/me')), status(m.stream(`/chats/${chat}/messages`, { content: 'x' }, () => {})),
      status(m.upload(new File(['x'], 'x.txt'), 'private'))]);
  }, chatId);
  assert.deepEqual(answers, [401, 401, 401]);
  const sent = headers.slice(from);
  assert.ok(sent.length >= 3, JSON.stringify(sent));
  assert.deepEqual(sent.filter(([, a]) => a !== null), [], 'no Authorization header when signed out');
  assert.deepEqual(headers.filter(([, a]) => /Bearer (null|undefined)?$/.test(a || '')), [], 'never a Bearer null');
  await page.context().close();
  assert.deepEqual(cspViolations, []);
});

test('the chat list names a chat after its first message without a reload, as plain text', async () => {
  const page = await newPage();
  await person(page, 'titles');
  llm.next({ chunks: ['Sure.'] });
  await page.getByRole('button', { name: 'New chat' }).click();
  const current = page.locator('.chat-list a[aria-current="page"]');
  await current.waitFor();
  assert.match(await current.textContent(), /^New chat/);
  await page.getByLabel('Your message').fill('**bold** title for [my plans](https://example.test)');
  await page.getByLabel('Your message').press('Enter');
  await page.getByText('Reply complete.').waitFor();
  await page.waitForFunction(() => /^bold title/.test(document.querySelector('.chat-list a[aria-current="page"]').textContent));
  const shown = async () => ({ side: await current.textContent(), head: await page.locator('#chat-title').textContent(),
    marks: await page.locator('.chat-list strong, .chat-list a a, #chat-title strong').count() });
  let s = await shown();
  assert.match(s.side, /^bold title for my plans/);
  assert.equal(s.head, 'bold title for my plans');
  assert.equal(s.marks, 0, 'no Markdown turned into elements');
  await check(page, 'chat-title');

  // the same after a reload; and markup in a first message stays text
  await page.reload();
  await current.waitFor();
  s = await shown();
  assert.equal(s.head, 'bold title for my plans');
  assert.doesNotMatch(s.side, /\*\*|\]\(/);
  llm.next({ chunks: ['Ok.'] });
  await page.getByRole('button', { name: 'New chat' }).click();
  await page.locator('#chat-title', { hasText: 'New chat' }).waitFor();
  await page.getByLabel('Your message').fill('# <img src=x id=injected> and *this*');
  await page.getByLabel('Your message').press('Enter');
  await page.getByText('Reply complete.').waitFor();
  await page.waitForFunction(() => document.querySelector('.chat-list a[aria-current="page"]').textContent.startsWith('<img'));
  assert.equal(await page.locator('#injected').count(), 0);
  assert.equal(await page.locator('#chat-title').textContent(), '<img src=x id=injected> and this');
  await page.context().close();
  assert.deepEqual(cspViolations, []);
});

test('a form shows every mistake at once; the server\'s mistakes beside their field', async () => {
  const page = await newPage();
  const taken = await register(app, `taken-${process.pid}@example.test`, 'Tak En');
  const posts = [];
  page.on('request', (r) => { if (r.method() === 'POST' && r.url().includes('/auth/register')) posts.push(r.url()); });
  await page.goto(`${app.url}/signup`);
  await page.getByLabel('Email').fill('not-an-email');
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('alert').filter({ hasText: '3 fields need fixing' }).waitFor();
  // every bad field is marked, and names its own message
  const marks = await page.evaluate(() => [...document.querySelectorAll('form [aria-invalid="true"]')].map((c) => ({
    name: c.name, said: (c.getAttribute('aria-describedby') || '').split(' ').map((id) => document.getElementById(id)?.textContent).join(' | '),
  })));
  assert.deepEqual(marks.map((m) => m.name), ['name', 'email', 'password']);
  assert.match(marks[0].said, /required/);
  assert.match(marks[1].said, /email address/);
  assert.match(marks[2].said, /At least 8 characters.*at least 8 characters/i);
  assert.equal(await page.evaluate(() => document.activeElement.name), 'name', 'the first bad field has the focus');
  assert.equal(posts.length, 0, 'nothing was sent');
  await check(page, 'signup-errors');

  // fixing some leaves the rest marked
  await page.getByLabel('Name').fill('New Comer');
  await page.getByLabel('Password').fill('long enough now');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('alert').filter({ hasText: 'One field needs fixing' }).waitFor();
  assert.equal(await page.locator('[aria-invalid="true"]').count(), 1);
  assert.equal(await page.getByLabel('Email').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.getByLabel('Name').getAttribute('aria-describedby'), null, 'a fixed field is described by nothing stale');

  // the server's answer goes beside the field it names
  await page.getByLabel('Email').fill(taken.email);
  await page.getByRole('button', { name: 'Create account' }).click();
  const emailId = await page.getByLabel('Email').getAttribute('id');
  await page.locator(`#${emailId}-error`).waitFor();
  assert.equal(posts.length, 1);
  assert.equal(await page.getByLabel('Email').getAttribute('aria-invalid'), 'true');
  assert.match(await page.getByLabel('Email').getAttribute('aria-describedby'), new RegExp(`${emailId}-error`));
  await page.context().close();
  assert.deepEqual(cspViolations, []);
});

test('an admin invites someone from the console; they set a password from the mailed link and sign in', async () => {
  const page = await newPage();
  const admin = await register(app, `inviter-${process.pid}@example.test`, 'In Viter');
  assert.equal(sqlite(path.join(app.dataDir, 'app.db'), `UPDATE users SET role = 'admin' WHERE id = '${admin.id}'`).code, 0);
  await signIn(page, app, admin);
  await page.getByRole('link', { name: 'Admin' }).click();
  const form = page.locator('form', { has: page.getByRole('button', { name: 'Send invitation' }) });
  await page.getByRole('button', { name: 'Send invitation' }).click();
  await form.getByRole('alert').filter({ hasText: '2 fields need fixing' }).waitFor();
  assert.equal(await form.locator('[aria-invalid="true"]').count(), 2);

  const email = `ivy-${process.pid}@example.test`;
  await form.getByLabel('Name').fill('Ivy Invited');
  await form.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Send invitation' }).click();
  await page.getByText(`Invitation sent to ${email}.`).waitFor();
  await page.getByRole('cell', { name: email }).first().waitFor(); // in the people list, and in the outbox
  await check(page, 'admin-invite');
  // inviting the same address again: the server's conflict beside the email field
  await form.getByLabel('Name').fill('Ivy Again');
  await form.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Send invitation' }).click();
  await form.locator('.field-error', { hasText: 'exists' }).waitFor();
  assert.equal(await form.getByLabel('Email').getAttribute('aria-invalid'), 'true');
  await page.context().close();

  const mail = await smtp.waitFor((m) => m.headers.to === email);
  const link = /https?:\/\/\S+\/reset-password\?token=[A-Za-z0-9_-]+/.exec(mail.body)[0];
  const ivy = await newPage();
  await ivy.goto(link);
  await ivy.getByLabel('New password').fill('ivy password');
  await ivy.getByRole('button', { name: 'Set the password' }).click();
  await ivy.getByRole('heading', { name: 'Sign in' }).waitFor();
  await signIn(ivy, app, { email, password: 'ivy password' });
  await ivy.context().close();
  assert.deepEqual(cspViolations, []);
});
