// Messages: my contacts with their live presence and typing, the "show my presence" switch,
// and my devices (the Signal-protocol apps that hold my keys), each of which can be removed.
//
// Which of the two ways the issue allowed, and why: this page does not send or read messages.
// They are encrypted end to end with the Signal protocol, and the browser has no libsignal;
// being a "linked device" honestly would mean generating and keeping identity and prekeys in
// the page and running the whole protocol here, which this app does not do. A device that
// registered and then showed nothing, or showed ciphertext, would be a fake one. So the page
// says plainly where messages are read and written (a native Signal-protocol client) and
// shows what the server itself knows: who is online or typing, and which devices exist.
// Must never register a device, fetch keys or touch a message.
import { api, updateMe, user } from '../api.js';
import { clear, empty, h, loading, toast, when } from '../dom.js';
import { onLive, presenceOf, presenceChanging } from '../live.js';
import { face } from './contacts.js';

const TYPING_MS = 6000; // a typing frame says "now": it shows this long after the last one

// One contact's line; update() sets its presence text from what was heard and my setting.
function contactRow(c, typingUntil, shown) {
  const name = c.name || 'Someone';
  const status = h('span', { class: 'presence' });
  const update = () => {
    const p = presenceOf(c.id);
    let state = 'off';
    let text = 'Offline';
    if (typingUntil.get(c.id) > Date.now()) {
      state = 'typing';
      text = 'Typing…';
    } else if (!shown()) {
      state = 'hidden';
      text = 'Presence hidden';
    } else if (p && p.status === 'online') {
      state = 'on';
      text = 'Online';
    } else if (p && p.last_seen) {
      text = `Last seen ${when(p.last_seen)}`;
    }
    status.dataset.state = state;
    status.textContent = text;
    return text;
  };
  update();
  const li = h('li', { class: 'person', dataset: { userId: c.id } }, face(c), h('a', { href: `/users/${c.id}` }, name), status);
  return { li, update, name };
}

function devicesPanel() {
  const list = h('ul', { class: 'people', 'aria-labelledby': 'devices-title' });
  const note = h('div');
  const load = async () => {
    clear(note);
    clear(list).append(h('li', {}, loading()));
    let page;
    try {
      page = await api('/devices');
    } catch (e) {
      clear(list);
      note.append(h('p', { class: 'form-error', role: 'alert' }, `Your devices could not be loaded: ${e.message}`));
      return;
    }
    clear(list);
    for (const d of page.items) list.append(deviceItem(d, load));
    if (!page.items.length) list.append(h('li', {}, empty('No devices yet. One appears here when a Signal-protocol app signs in to your account and registers.')));
  };
  const section = h('section', { class: 'panel stack devices', 'aria-labelledby': 'devices-title' },
    h('h2', { id: 'devices-title' }, 'My devices'),
    h('p', {}, 'A device is one Signal-protocol app signed in to your account, on a phone or a computer. Each has its own keys, ' +
      'and whoever writes to you encrypts each message once for each of your devices.'),
    h('p', { class: 'hint' }, 'Remove a device you no longer use. Messages waiting for it that it has not fetched yet are deleted ' +
      'with it and cannot be read by any other device.'),
    note, list);
  return { section, load };
}

// A device's card. Removing asks first, in the card: the question names what is lost.
function deviceItem(d, reload) {
  const name = d.name || 'Unnamed device';
  const label = `${name} (device ${d.device_id})`;
  const actions = h('div', { class: 'actions' });
  const ask = () => {
    const yes = h('button', { type: 'button', class: 'button danger small', 'aria-label': `Yes, remove ${label}` }, 'Yes, remove');
    const no = h('button', { type: 'button', class: 'button secondary small' }, 'Keep');
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      no.disabled = true;
      try {
        await api(`/devices/${encodeURIComponent(d.device_id)}`, { method: 'DELETE' });
        toast(`${name} is removed.`);
        await reload();
      } catch (e) {
        toast(e.message);
        idle().focus();
      }
    });
    no.addEventListener('click', () => idle().focus());
    clear(actions).append(h('span', {}, 'Remove it, and the messages waiting for it?'), yes, no);
    yes.focus();
  };
  const idle = () => {
    const remove = h('button', { type: 'button', class: 'button secondary small', 'aria-label': `Remove ${label}` }, 'Remove');
    remove.addEventListener('click', ask);
    clear(actions).append(remove);
    return remove;
  };
  idle();
  const fact = (term, value) => h('div', {}, h('dt', {}, term), h('dd', {}, value));
  return h('li', { class: 'device' }, h('h3', {}, name),
    h('dl', { class: 'facts' }, fact('Device id', String(d.device_id)), fact('Registration id', String(d.registration_id)),
      fact('Added', when(d.created_at)), fact('Last seen', d.last_seen_at ? when(d.last_seen_at) : 'Never')),
    actions);
}

// The switch. onChange(shown) runs after the server took the new value.
function presenceSwitch(me, onChange) {
  const input = h('input', { type: 'checkbox', role: 'switch', id: 'show-presence', checked: me.show_presence !== false,
    'aria-describedby': 'show-presence-hint' });
  input.addEventListener('change', async () => {
    const want = input.checked;
    input.disabled = true;
    presenceChanging();
    try {
      const u = await api('/users/me', { method: 'PUT', body: { show_presence: want } });
      if (u && u.id) updateMe(u);
      toast(want ? 'Your contacts see when you are online.' : 'Your presence is hidden.');
      onChange(want);
    } catch (e) {
      input.checked = !want;
      toast(e.message);
    } finally {
      input.disabled = false;
    }
  });
  return h('section', { class: 'panel stack', 'aria-labelledby': 'presence-title' },
    h('h2', { id: 'presence-title' }, 'Your presence'),
    h('div', { class: 'field' }, h('label', { class: 'check', for: 'show-presence' }, input, ' Show my presence'),
      h('p', { class: 'hint', id: 'show-presence-hint' },
        'Your contacts see when you are online and when you were last seen. Hiding it also hides theirs from you.')));
}

export async function render(main) {
  const [me, contacts] = await Promise.all([api('/users/me'), api('/users/contacts?limit=200')]);
  let shown = me.show_presence !== false;
  const typingUntil = new Map(); // user id → until when (ms) they show as typing
  const timers = new Map(); // user id → the timer that ends their typing
  const rows = new Map(); // user id → contactRow()
  const said = h('p', { class: 'sr-only', role: 'status' }); // changes, for screen readers

  const list = h('ul', { class: 'people', 'aria-labelledby': 'people-title' });
  for (const c of contacts.items) {
    const row = contactRow(c, typingUntil, () => shown);
    rows.set(c.id, row);
    list.append(row.li);
  }
  if (!contacts.items.length) list.append(h('li', {}, empty('No contacts yet. '), h('a', { href: '/contacts' }, 'Add someone')));
  const updateAll = () => { for (const row of rows.values()) row.update(); };
  const tell = (row) => { said.textContent = `${row.name}: ${row.update()}`; };

  const devices = devicesPanel();
  main.append(h('h1', {}, 'Messages'),
    h('p', { class: 'lead' }, 'Your messages are encrypted end to end with the Signal protocol. You read and write them in a ' +
      'Signal-protocol app on your phone or computer, which holds the keys. This server only passes on encrypted messages it ' +
      'cannot read, and neither can this page.'),
    h('section', { class: 'panel stack', 'aria-labelledby': 'people-title' }, h('h2', { id: 'people-title' }, 'Contacts'),
      h('p', { class: 'hint' }, 'You see someone online or typing when you are in each other’s contacts and both of you show your presence.'),
      list, said),
    presenceSwitch(me, (on) => { shown = on; updateAll(); }),
    devices.section);

  const stop = onLive((ev) => {
    if (ev.type === 'presence.reset') {
      updateAll();
    } else if (ev.type === 'presence' && rows.has(ev.user_id)) {
      if (ev.status !== 'online') typingUntil.delete(ev.user_id); // gone: no longer typing
      tell(rows.get(ev.user_id));
    } else if (ev.type === 'typing' && ev.to === (user() && user().id) && rows.has(ev.from)) {
      const id = ev.from;
      typingUntil.set(id, Date.now() + TYPING_MS);
      clearTimeout(timers.get(id));
      timers.set(id, setTimeout(() => { typingUntil.delete(id); rows.get(id).update(); }, TYPING_MS));
      tell(rows.get(id));
    }
  });
  // a device registered on a phone meanwhile shows when one comes back to this tab
  const back = () => { if (document.visibilityState === 'visible') devices.load(); };
  document.addEventListener('visibilitychange', back);
  await devices.load();
  return () => {
    stop();
    document.removeEventListener('visibilitychange', back);
    for (const t of timers.values()) clearTimeout(t);
  };
}
