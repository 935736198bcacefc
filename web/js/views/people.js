// Another person's page: their public card and their gallery as the server lets me see it
// (public items, or all of them when they have added me as a contact), and adding or
// removing them as my contact. Must never offer their items as mine (no delete here).
import { api, user } from '../api.js';
import { empty, h, toast } from '../dom.js';
import { tile } from './gallery.js';
import { face } from './contacts.js';

// Whether id is among my contacts (the list is short; it is read whole).
async function isContact(id) {
  for (let cursor = ''; ;) {
    const page = await api(`/users/contacts?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    if (page.items.some((c) => c.id === id)) return true;
    if (!page.next_cursor) return false;
    cursor = page.next_cursor;
  }
}

export async function render(main, { params, go }) {
  const mine = user() && user().id === params.id;
  if (mine) return go('/gallery', { replace: true });
  let card, gallery, contact;
  try {
    [card, gallery, contact] = await Promise.all([api(`/users/${encodeURIComponent(params.id)}`),
      api(`/users/${encodeURIComponent(params.id)}/gallery?limit=200`), isContact(params.id)]);
  } catch (e) {
    if (e.status !== 404) throw e;
    main.append(h('h1', {}, 'No such person'), h('p', {}, 'Nobody has this user id. ', h('a', { href: '/contacts' }, 'Back to contacts')));
    return null;
  }
  const name = card.name || 'Someone';

  const toggle = h('button', { type: 'button', class: 'button secondary' });
  let added = contact;
  const label = () => { toggle.textContent = added ? 'Remove from contacts' : 'Add to contacts'; };
  label();
  toggle.addEventListener('click', async () => {
    toggle.disabled = true;
    try {
      if (added) await api(`/users/contacts/${card.id}`, { method: 'DELETE' });
      else await api('/users/contacts', { method: 'POST', body: { user_id: card.id } });
      added = !added;
      label();
      toast(added ? `Added ${name} to your contacts.` : `${name} is no longer a contact.`);
    } catch (e) {
      toast(e.message);
    } finally {
      toggle.disabled = false;
    }
  });

  const grid = h('ul', { class: 'grid', 'aria-labelledby': 'their-items' });
  for (const item of gallery.items) grid.append(tile(item, null));
  if (!gallery.items.length) grid.append(h('li', {}, empty(`${name} shares no pictures with you yet.`)));

  main.append(
    h('p', {}, h('a', { href: '/contacts' }, '← Contacts')),
    h('section', { class: 'card-head', 'aria-labelledby': 'person-name' }, face(card, 96),
      h('div', {}, h('h1', { id: 'person-name' }, name), h('p', { class: 'small muted' }, 'User id ', h('code', {}, card.id)), toggle)),
    h('section', { 'aria-labelledby': 'their-items' }, h('h2', { id: 'their-items' }, `${name}’s gallery`),
      h('p', { class: 'muted' }, 'Their public pictures, and the ones they keep for their contacts if they have added you.'),
      grid));
  return null;
}
