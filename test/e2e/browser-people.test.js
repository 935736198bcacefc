// People in the web app, in a real browser against the real binary: contacts (added by phone
// and by user id, removed), another person's card and gallery at /users/{id} (their items for
// contacts appear once they add me, and go when they remove me), and picking my avatar from
// my gallery. Every new screen is checked with axe-core, light and dark.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startApp, request } = require('./lib/app');
const { PNG, problems, launch, newPage, check, register, signIn, call } = require('./lib/browser');

let app;
let browser;
let ann; // the gallery owner
let ben; // the one who looks at it
const media = {}; // caption → Ann's media id
test.before(async () => {
  app = await startApp({ env: { PASSWORD_ITERATIONS: '1000' } });
  browser = await launch();
  ann = await register(app, 'ann@example.test', 'Ann Owner');
  ben = await register(app, 'ben@example.test', 'Ben Viewer');
  ben.phone = '+5491100000001';
  assert.equal((await call(app, ben, 'PUT', '/users/me', { phone: ben.phone })).status, 200);
  for (const [caption, visibility] of [['Secret garden', 'private'], ['Open sky', 'public']]) {
    const form = new FormData();
    form.append('visibility', visibility);
    form.append('file', new Blob([PNG], { type: 'image/png' }), `${caption}.png`);
    const up = await request(`${app.url}/api/v1/media`, { method: 'POST', headers: { Authorization: `Bearer ${ann.access_token}` }, body: form });
    assert.equal(up.status, 201, up.text);
    media[caption] = up.json.id;
    assert.equal((await call(app, ann, 'POST', '/gallery/media', { media_id: up.json.id, caption })).status, 201);
  }
});
test.after(async () => {
  if (browser) await browser.close();
  if (app) await app.stop();
});

// The captions of the gallery tiles on the page, once they are there, and whether each
// picture actually loaded.
async function tiles(page) {
  await page.locator('.grid li').first().waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('.tile img')].every((i) => i.complete && i.naturalWidth > 0));
  return page.locator('.tile figcaption').evaluateAll((els) => els.map((e) => e.firstChild.textContent).sort());
}

test('contacts: add by user id and by phone, open their card and gallery, remove', async () => {
  const b = await newPage(browser);
  await signIn(b, app, ben);
  await b.getByRole('link', { name: 'Contacts' }).click();
  await b.getByRole('heading', { name: 'Contacts', exact: true }).waitFor();
  await b.getByText('No contacts yet').waitFor();
  await b.getByText(ben.id).waitFor(); // my own id, to give to others

  // a malformed id is caught at once; an unknown phone number by the server, beside its field
  await b.getByLabel('By user id').fill('not-an-id');
  await b.getByRole('button', { name: 'Add' }).last().click();
  await b.getByText('A user id looks like').waitFor();
  assert.equal(await b.getByLabel('By user id').getAttribute('aria-invalid'), 'true');
  await b.getByLabel('By phone number').fill('+5491199999999');
  await b.getByRole('button', { name: 'Add' }).first().click();
  await b.locator('.field-error', { hasText: 'no such user' }).waitFor();
  assert.equal(await b.getByLabel('By phone number').getAttribute('aria-invalid'), 'true');

  await b.getByLabel('By user id').fill(ann.id);
  await b.getByRole('button', { name: 'Add' }).last().click();
  await b.getByText('Added Ann Owner to your contacts.').waitFor();
  await b.getByRole('link', { name: 'Ann Owner' }).waitFor();
  await check(b, 'contacts');

  // Ann has not added Ben: he sees her public items only
  await b.getByRole('link', { name: 'Ann Owner' }).click();
  await b.getByRole('heading', { name: 'Ann Owner', level: 1 }).waitFor();
  assert.equal(new URL(b.url()).pathname, `/users/${ann.id}`);
  assert.deepEqual(await tiles(b), ['Open sky']);
  assert.equal(await b.getByRole('button', { name: 'Delete' }).count(), 0, 'nothing of hers to delete');
  await b.getByRole('button', { name: 'Remove from contacts' }).waitFor();

  // Ann adds Ben by his phone number: now her items for contacts reach him
  const a = await newPage(browser);
  await signIn(a, app, ann);
  await a.goto(`${app.url}/contacts`);
  await a.getByLabel('By phone number').fill(ben.phone);
  await a.getByRole('button', { name: 'Add' }).first().click();
  await a.getByRole('link', { name: 'Ben Viewer' }).waitFor();
  await b.reload();
  assert.deepEqual(await tiles(b), ['Open sky', 'Secret garden']);
  await check(b, 'person');

  // Ann removes Ben from her list: her private item is gone from his view
  await a.getByRole('button', { name: 'Remove Ben Viewer' }).click();
  await a.getByText('No contacts yet').waitFor();
  await b.reload();
  assert.deepEqual(await tiles(b), ['Open sky']);

  // Ben removes Ann from her page, and she is no longer in his list
  await b.getByRole('button', { name: 'Remove from contacts' }).click();
  await b.getByRole('button', { name: 'Add to contacts' }).waitFor();
  assert.equal((await call(app, ben, 'GET', '/users/contacts')).json.items.length, 0);
  await b.getByRole('button', { name: 'Add to contacts' }).click();
  await b.getByRole('button', { name: 'Remove from contacts' }).waitFor();
  await b.getByRole('link', { name: '← Contacts' }).click();
  await b.getByRole('button', { name: 'Remove Ann Owner' }).click();
  await b.getByText('No contacts yet').waitFor();

  // an unknown person
  await b.goto(`${app.url}/users/00000000-0000-7000-8000-000000000000`);
  await b.getByRole('heading', { name: 'No such person' }).waitFor();
  await a.context().close();
  await b.context().close();
  assert.deepEqual(problems, []);
});

test('my avatar is picked from my gallery, and others see it', async () => {
  const a = await newPage(browser);
  await signIn(a, app, ann);
  await a.getByRole('link', { name: 'Profile' }).click();
  await a.getByRole('heading', { name: 'Your profile' }).waitFor();
  const pick = a.getByRole('button', { name: 'Use the chosen picture' });
  await pick.click();
  await a.locator('.field-error', { hasText: 'Choose one.' }).waitFor();
  await a.getByRole('radio', { name: 'Open sky' }).check();
  await pick.click();
  await a.getByText('Your avatar is updated.').waitFor();
  assert.equal((await call(app, ann, 'GET', '/users/me')).json.avatar_media_id, media['Open sky']);
  await a.waitForFunction(() => /^blob:/.test(document.querySelector('img.avatar').src));
  await check(a, 'profile-avatar');
  // after a reload the choice is the current one
  await a.reload();
  await a.getByRole('heading', { name: 'Your profile' }).waitFor();
  assert.equal(await a.getByRole('radio', { name: 'Open sky' }).isChecked(), true);
  await a.getByRole('radio', { name: 'Secret garden' }).check();
  await pick.click();
  await a.getByText('Your avatar is updated.').waitFor();
  assert.equal((await call(app, ann, 'GET', '/users/me')).json.avatar_media_id, media['Secret garden']);
  await a.context().close();

  // the avatar is part of her public card, whoever looks
  const b = await newPage(browser);
  await signIn(b, app, ben);
  await b.goto(`${app.url}/users/${ann.id}`);
  await b.getByRole('heading', { name: 'Ann Owner', level: 1 }).waitFor();
  await b.waitForFunction(() => { const i = document.querySelector('img.face'); return i && i.complete && i.naturalWidth > 0; });
  await b.context().close();
  assert.deepEqual(problems, []);
});
