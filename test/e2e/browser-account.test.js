// The account screen in a real browser against the real binary: the signed-in devices (one
// signed out, then all), a copy of my data downloaded as export.json, and deleting the
// account (the wrong password refused beside its field; the right one, or a fresh sign-in
// for a phone-only account, deletes it and lands the tab on the landing page).
// Needs GET/DELETE /api/v1/auth/sessions[/{id}], GET /api/v1/users/me/export and
// DELETE /api/v1/users/me on the server: until they exist these tests fail.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { startApp, request } = require('./lib/app');
const { startSms } = require('./lib/peers');
const { problems, launch, newPage, check, register, signIn } = require('./lib/browser');

let sms;
let app;
let browser;
test.before(async () => {
  sms = await startSms();
  app = await startApp({ env: { PASSWORD_ITERATIONS: '1000', SMS_URL: sms.url, SMS_ACCOUNT: sms.account,
    SMS_TOKEN: sms.token, SMS_FROM: '+15550000000' } });
  browser = await launch();
});
test.after(async () => {
  if (browser) await browser.close();
  if (app) await app.stop();
  if (sms) sms.stop();
});

const refreshWorks = async (token) => (await request(`${app.url}/api/v1/auth/refresh`, { method: 'POST',
  headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refresh_token: token }) })).status === 200;

async function openAccount(page) {
  await page.getByRole('link', { name: 'Account' }).click();
  await page.getByRole('heading', { name: 'Account', exact: true }).waitFor();
  await page.locator('table tbody tr', { hasText: 'this device' }).waitFor();
}

test('signed-in devices: listed, one signed out, then every one', async () => {
  const cleo = await register(app, 'cleo@example.test', 'Cleo Devices');
  const a = await newPage(browser);
  const b = await newPage(browser);
  await signIn(a, app, cleo);
  await signIn(b, app, cleo);
  await openAccount(a);
  const rows = a.locator('table tbody tr');
  assert.ok(await rows.count() >= 2, 'both browsers');
  assert.equal(await a.locator('table tbody tr', { hasText: 'this device' }).count(), 1);
  await check(a, 'account');

  // sign out every other device, one by one: the other tab is signed out at its next start
  const others = a.getByRole('button', { name: /^Sign out .*, last used/ });
  for (let n = await others.count(); n > 0; n--) {
    await others.first().click();
    await a.waitForFunction((k) => document.querySelectorAll('button[aria-label*=", last used"]').length === k, n - 1);
  }
  assert.equal(await rows.count(), 1);
  await b.reload();
  await b.getByRole('heading', { name: 'Sign in' }).waitFor();
  assert.equal(await b.evaluate(() => localStorage.getItem('app.refresh')), null);

  // sign out everywhere: this tab too, and its refresh token is dead
  await signIn(b, app, cleo);
  const token = await a.evaluate(() => localStorage.getItem('app.refresh'));
  await a.getByRole('button', { name: 'Sign out everywhere' }).click();
  await a.getByRole('link', { name: 'Create an account' }).waitFor();
  assert.equal(await a.evaluate(() => localStorage.getItem('app.refresh')), null);
  assert.equal(await refreshWorks(token), false);
  await b.reload();
  await b.getByRole('heading', { name: 'Sign in' }).waitFor();
  await a.context().close();
  await b.context().close();
  assert.deepEqual(problems, []);
});

test('a copy of my data downloads as export.json', async () => {
  const dan = await register(app, 'dan@example.test', 'Dan Export');
  const page = await newPage(browser);
  await signIn(page, app, dan);
  await openAccount(page);
  const [download] = await Promise.all([page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download my data' }).click()]);
  assert.equal(download.suggestedFilename(), 'export.json');
  const data = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
  const text = JSON.stringify(data);
  assert.ok(text.includes(dan.email) && text.includes(dan.id), 'my data is in it');
  await page.getByText('Your data is downloaded as export.json.').waitFor();
  await page.context().close();
  assert.deepEqual(problems, []);
});

test('deleting the account: every mistake at once, the wrong password beside its field, then gone', async () => {
  const eve = await register(app, 'eve@example.test', 'Eve Leaving');
  const page = await newPage(browser);
  await signIn(page, app, eve);
  await openAccount(page);
  const form = page.locator('form', { has: page.getByRole('button', { name: 'Delete my account' }) });
  await page.getByRole('button', { name: 'Delete my account' }).click();
  await form.getByRole('alert').filter({ hasText: '2 fields need fixing' }).waitFor();
  assert.equal(await form.locator('[aria-invalid="true"]').count(), 2, 'password and the box, together');

  await form.getByLabel('Your password').fill('not my password');
  await form.getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Delete my account' }).click();
  const pw = form.getByLabel('Your password');
  await form.locator(`#${await pw.getAttribute('id')}-error`).waitFor();
  assert.equal(await pw.getAttribute('aria-invalid'), 'true');
  await check(page, 'account-delete');

  await pw.fill(eve.password);
  await page.getByRole('button', { name: 'Delete my account' }).click();
  await page.getByRole('link', { name: 'Create an account' }).waitFor();
  await page.getByText('Your account is deleted').waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('app.refresh')), null);
  const again = await request(`${app.url}/api/v1/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: eve.email, password: eve.password }) });
  assert.equal(again.status, 401, 'the account is gone');
  await page.context().close();
  assert.deepEqual(problems, []);
});

test('a phone-only account deletes itself within minutes of signing in, without a password', async () => {
  const page = await newPage(browser);
  const phone = '+5491155556666';
  await page.goto(`${app.url}/phone`);
  await page.getByLabel('Phone number').fill(phone);
  await page.getByRole('button', { name: 'Send me a code' }).click();
  const text = await sms.waitFor((m) => m.to === phone);
  await page.getByLabel('The 6-digit code').fill(/\b(\d{6})\b/.exec(text.body)[1]);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'New chat' }).waitFor();
  const token = await page.evaluate(() => localStorage.getItem('app.refresh'));
  await openAccount(page);
  assert.equal(await page.getByLabel('Your password').count(), 0, 'no password to ask for');
  await page.getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Delete my account' }).click();
  await page.getByRole('link', { name: 'Create an account' }).waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('app.refresh')), null);
  assert.equal(await refreshWorks(token), false);
  await page.context().close();
  assert.deepEqual(problems, []);
});
