// Helpers for the browser tests: Debian's chromium driven by playwright-core, a page that
// records every Content-Security-Policy violation and page error, axe-core on a screen in
// light and dark, screenshots, and people signed up through the API and in through the form.
// Must never hide a failure: whatever a page reports is kept for the test to assert on.
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { request, repoRoot } = require('./app');

const CHROMIUM = ['/usr/bin/chromium', '/usr/lib/chromium/chromium'].find((p) => fs.existsSync(p));
const SHOTS = process.env.SCREENSHOT_DIR || path.join(repoRoot, 'test', 'e2e', 'screenshots');
// a 1x1 PNG
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
  '1f15c4890000000d49444154789c6360f8cf00000301010018dd8db00000000049454e44ae426082', 'hex');
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

// Content-Security-Policy violations and page errors of every page made by newPage().
const problems = [];

async function launch() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const { chromium } = require('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-quic',
    '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
}

// A page in a context of its own (its own localStorage, so its own session).
async function newPage(browser, width = 1280, height = 860) {
  // reduced motion: a toast caught half-faded would fail the contrast check by timing alone
  const context = await browser.newContext({ viewport: { width, height }, reducedMotion: 'reduce' });
  const page = await context.newPage();
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return page;
}

// axe-core on the current screen: no serious or critical violations (labels, contrast,
// names, roles), in light and dark; and the screen photographed at desktop and phone width.
async function check(page, name) {
  await page.waitForLoadState('networkidle');
  for (const colorScheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme });
    const result = await page.evaluate(`${axeSource}; axe.run(document, { resultTypes: ['violations'] })`);
    const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')})`), [],
      `accessibility of ${name} (${colorScheme})`);
  }
  await page.emulateMedia({ colorScheme: 'light' });
  const size = page.viewportSize();
  await page.screenshot({ path: path.join(SHOTS, `${name}-desktop.png`), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: path.join(SHOTS, `${name}-phone.png`), fullPage: true });
  await page.setViewportSize(size);
}

// Tab order reaches the main content's first control after the skip link and the navigation.
async function tabReaches(page, selector, max = 30) {
  await page.keyboard.press('Escape');
  await page.locator('body').focus();
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement && document.activeElement.matches(s), selector)) return true;
  }
  return false;
}

// Registers someone through the API; resolves to {id, email, password, name, access_token}.
async function register(app, email, name, password = 'correct horse') {
  const r = await request(`${app.url}/api/v1/auth/register`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password, name }) });
  assert.equal(r.status, 201, r.text);
  return { id: r.json.user.id, email, password, name, access_token: r.json.access_token };
}

// Signs someone in through the sign-in form and waits for the app behind it.
async function signIn(page, app, person) {
  await page.goto(`${app.url}/signin`);
  await page.getByLabel('Email').fill(person.email);
  await page.getByLabel('Password').fill(person.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'New chat' }).waitFor();
}

// One API call from node with someone's access token; resolves to request()'s answer.
function call(app, person, method, p, body) {
  return request(`${app.url}/api/v1${p}`, { method, headers: { Authorization: `Bearer ${person.access_token}`,
    ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) }, body: body !== undefined ? JSON.stringify(body) : undefined });
}

module.exports = { CHROMIUM, PNG, problems, launch, newPage, check, tabReaches, register, signIn, call };
