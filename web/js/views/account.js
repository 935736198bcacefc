// My account: the devices signed in (sign one out, or all), a copy of all my data as
// export.json, and deleting the account. Deleting asks for the password again (or, for a
// phone-only account, a sign-in less than 5 minutes old); must never delete on one click.
import { api, endSession, signOut } from '../api.js';
import { busy, clear, empty, field, h, loading, toast, when } from '../dom.js';

function sessionsPanel() {
  const body = h('tbody');
  const note = h('div');
  const load = async () => {
    clear(note);
    clear(body).append(h('tr', {}, h('td', { colspan: 4 }, loading())));
    let page;
    try {
      page = await api('/auth/sessions?limit=200');
    } catch (e) {
      clear(body);
      note.append(h('p', { class: 'form-error', role: 'alert' }, `The list of devices could not be loaded: ${e.message}`));
      return;
    }
    clear(body);
    for (const s of page.items) {
      const device = s.device || 'Unknown device';
      const out = h('button', { type: 'button', class: 'button secondary small',
        'aria-label': s.current ? 'Sign out this device' : `Sign out ${device}, last used ${when(s.last_used_at)}` }, 'Sign out');
      out.addEventListener('click', async () => {
        out.disabled = true;
        try {
          await api(`/auth/sessions/${encodeURIComponent(s.id)}`, { method: 'DELETE' });
          if (s.current) return endSession('signout');
          toast(`${device} is signed out.`);
          await load();
        } catch (e) {
          out.disabled = false;
          toast(e.message);
        }
        return null;
      });
      body.append(h('tr', {}, h('td', {}, device, s.current ? h('span', { class: 'chip' }, 'this device') : null),
        h('td', {}, when(s.created_at)), h('td', {}, when(s.last_used_at)), h('td', {}, out)));
    }
    if (!page.items.length) body.append(h('tr', {}, h('td', { colspan: 4 }, empty('No signed-in devices.'))));
  };
  const all = h('form', { class: 'actions', novalidate: true },
    h('button', { class: 'button secondary', type: 'submit' }, 'Sign out everywhere'));
  all.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(all, async () => {
      await api('/auth/sessions', { method: 'DELETE' });
      toast('Every device is signed out, this one too.');
      endSession('signout');
    });
  });
  const section = h('section', { class: 'panel stack', 'aria-labelledby': 'devices-title' },
    h('h2', { id: 'devices-title' }, 'Signed-in devices'), note,
    h('div', { class: 'scroll' }, h('table', { class: 'table' },
      h('thead', {}, h('tr', {}, ['Device', 'Signed in', 'Last used', 'Action'].map((t) => h('th', { scope: 'col' }, t)))), body)),
    all);
  return { section, load };
}

function exportPanel() {
  const form = h('form', { class: 'actions', novalidate: true },
    h('button', { class: 'button secondary', type: 'submit' }, 'Download my data'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, async () => {
      const blob = await api('/users/me/export', { as: 'blob' });
      const href = URL.createObjectURL(blob);
      const a = h('a', { href, download: 'export.json', hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(href), 30000); // the download has started by then
      toast('Your data is downloaded as export.json.');
    });
  });
  return h('section', { class: 'panel stack', 'aria-labelledby': 'export-title' }, h('h2', { id: 'export-title' }, 'Your data'),
    h('p', {}, 'A copy of everything the app keeps about you (profile, chats, copilot sessions, gallery, contacts), as JSON.'),
    form);
}

// hasPassword (the profile's has_password): such an account confirms with its password; one
// without (phone sign-in, an invitation never accepted) confirms by a recent sign-in instead.
function deletePanel(hasPassword, go) {
  const again = h('div', { role: 'status' });
  const form = h('form', { class: 'stack', novalidate: true },
    hasPassword ? field('Your password', { name: 'password', type: 'password', autocomplete: 'current-password', required: true },
      'To be sure it is you.') : h('p', { class: 'hint' }, 'Your account has no password: it can be deleted within 5 minutes of signing in.'),
    h('div', { class: 'field' }, h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'understood', required: true }),
      ' I understand that my account and everything in it will be deleted for good.')),
    h('button', { class: 'button danger', type: 'submit' }, 'Delete my account'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clear(again);
    busy(form, async () => {
      const body = hasPassword ? { password: form.elements.password.value } : {};
      try {
        await api('/users/me', { method: 'DELETE', body });
      } catch (err) {
        if (err.code !== 'reauth_required' || hasPassword) throw err;
        const button = h('button', { type: 'button', class: 'button' }, 'Sign in again');
        button.addEventListener('click', async () => {
          await signOut('reauth');
          go('/phone?next=/account', { replace: true });
        });
        again.append(h('p', { class: 'form-error' }, 'For your safety, sign in again, then delete your account within 5 minutes.'), button);
        button.focus();
        return;
      }
      endSession('deleted');
    });
  });
  return h('section', { class: 'panel stack danger-zone', 'aria-labelledby': 'delete-title' }, h('h2', { id: 'delete-title' }, 'Delete your account'),
    h('p', {}, 'This deletes your profile, chats, copilot sessions, gallery and contacts, and signs out every device. It cannot be undone.'),
    form, again);
}

export async function render(main, { go }) {
  const me = await api('/users/me');
  const sessions = sessionsPanel();
  main.append(h('h1', {}, 'Account'),
    h('p', { class: 'muted' }, me.email || me.phone || '', ' · ', h('a', { href: '/profile' }, 'Edit your profile')),
    sessions.section, exportPanel(), deletePanel(me.has_password === true, go));
  await sessions.load();
}
