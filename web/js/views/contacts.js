// My contacts: the list (each opens that person's card and gallery), adding someone by phone
// number or by user id, removing. Adding is one way: what a contact may see of me is mine to
// give, so the page says so rather than implying the other person agreed.
import { api, mediaUrl, user } from '../api.js';
import { PHONE, busy, clear, empty, field, h, loading, toast } from '../dom.js';

const UUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';

// A person's small picture, or their initial when they have none.
export function face(u, size = 40) {
  const cls = size > 48 ? 'face big' : 'face';
  if (!u.avatar_url) return h('span', { class: cls, 'aria-hidden': 'true' }, (u.name || '?').slice(0, 1).toUpperCase());
  const img = h('img', { class: cls, alt: '', width: size, height: size });
  mediaUrl(u.avatar_url).then((src) => { img.src = src; }).catch(() => { img.hidden = true; });
  return img;
}

export async function render(main) {
  const list = h('ul', { class: 'people', 'aria-labelledby': 'contacts-title' });
  const load = async () => {
    clear(list).append(h('li', {}, loading()));
    const page = await api('/users/contacts?limit=200');
    clear(list);
    for (const c of page.items) {
      list.append(h('li', { class: 'person' }, face(c),
        h('a', { href: `/users/${c.id}` }, c.name || 'Someone'),
        h('button', { type: 'button', class: 'button secondary small', 'aria-label': `Remove ${c.name || 'this contact'}`,
          onclick: async (e) => {
            e.target.disabled = true;
            try {
              await api(`/users/contacts/${c.id}`, { method: 'DELETE' });
              toast(`${c.name || 'The contact'} is no longer a contact.`);
              await load();
            } catch (err) {
              e.target.disabled = false;
              toast(err.message);
            }
          } }, 'Remove')));
    }
    if (!page.items.length) list.append(h('li', {}, empty('No contacts yet: add someone below.')));
  };

  // One small form per way of adding, so a server error names the field it is about.
  const adder = (label, attrs, hint, key) => {
    const form = h('form', { class: 'inline-form', novalidate: true },
      field(label, { ...attrs, name: key, required: true }, hint),
      h('button', { class: 'button', type: 'submit' }, 'Add'));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const input = form.elements[key];
      busy(form, async () => {
        const u = await api('/users/contacts', { method: 'POST', body: { [key]: input.value.trim() } });
        toast(`Added ${u.name || 'them'} to your contacts.`);
        form.reset();
        await load();
      });
    });
    return form;
  };
  const me = user();
  main.append(h('h1', {}, 'Contacts'),
    h('p', { class: 'lead' }, 'The people you add see the pictures you keep for “me and my contacts” in your gallery. ' +
      'Open someone to see their card and what they share.'),
    h('section', { 'aria-labelledby': 'contacts-title' }, h('h2', { id: 'contacts-title' }, 'Your contacts'), list),
    h('section', { class: 'panel stack', 'aria-labelledby': 'add-title' }, h('h2', { id: 'add-title' }, 'Add a contact'),
      adder('By phone number', { ...PHONE, autocomplete: 'off', placeholder: '+5491122334455' },
        'In international form, with the country code.', 'phone'),
      adder('By user id', { pattern: UUID, 'data-message': 'A user id looks like 0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b.',
        autocomplete: 'off', spellcheck: 'false' }, null, 'user_id'),
      me ? h('p', { class: 'small muted' }, 'Your own user id, to give to others: ', h('code', { class: 'select' }, me.id)) : null));
  await load();
}
