// The admin area: people (search, role, disable, invite) and the mail outbox. An invitation
// mails a set-password link; no password ever passes through this page.
import { api } from '../api.js';
import { busy, clear, empty, field, h, toast, values, when } from '../dom.js';

function userRow(u) {
  const role = h('select', { 'aria-label': `Role of ${u.email || u.phone || u.name}` },
    ['user', 'agent', 'admin'].map((r) => h('option', { value: r, selected: u.role === r }, r)));
  const disabled = h('input', { type: 'checkbox', checked: u.disabled, 'aria-label': `Disable ${u.email || u.phone || u.name}` });
  const save = async (body) => {
    try {
      const n = await api(`/admin/users/${u.id}`, { method: 'PATCH', body });
      toast(`${n.email || n.name}: ${n.role}${n.disabled ? ', disabled' : ''}.`);
    } catch (e) {
      toast(e.message);
    }
  };
  role.addEventListener('change', () => save({ role: role.value }));
  disabled.addEventListener('change', () => save({ disabled: disabled.checked }));
  return h('tr', {}, h('td', {}, u.name), h('td', {}, u.email || u.phone || ''), h('td', {}, role),
    h('td', {}, h('label', { class: 'check' }, disabled, ' disabled')), h('td', {}, when(u.created_at)));
}

export async function render(main) {
  const body = h('tbody');
  const search = h('form', { class: 'inline-form', role: 'search', novalidate: true },
    field('Search people', { name: 'q', type: 'search', placeholder: 'email, name or phone' }),
    field('Role', { name: 'role', type: 'select', value: '', options: [['', 'Any'], ['user', 'user'], ['agent', 'agent'], ['admin', 'admin']] }),
    h('button', { class: 'button', type: 'submit' }, 'Search'));
  const load = async () => {
    const v = values(search);
    const qs = new URLSearchParams({ limit: '100', ...(v.q ? { q: v.q } : {}), ...(v.role ? { role: v.role } : {}) });
    const page = await api(`/admin/users?${qs}`);
    clear(body);
    for (const u of page.items) body.append(userRow(u));
    if (!page.items.length) body.append(h('tr', {}, h('td', { colspan: 5 }, empty('Nobody matches.'))));
  };
  search.addEventListener('submit', (e) => { e.preventDefault(); busy(search, load); });

  const invite = h('form', { class: 'inline-form', novalidate: true },
    field('Name', { name: 'name', autocomplete: 'off', required: true, maxlength: 100 }),
    field('Email', { name: 'email', type: 'email', autocomplete: 'off', required: true, maxlength: 254 }),
    h('button', { class: 'button', type: 'submit' }, 'Send invitation'));
  invite.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(invite, async () => {
      const u = await api('/auth/invite', { method: 'POST', body: values(invite) });
      invite.reset();
      toast(`Invitation sent to ${u.email}.`);
      await Promise.all([load(), loadOutbox()]);
    });
  });

  const outbox = h('tbody');
  const loadOutbox = async () => {
    const out = await api('/admin/outbox?limit=50');
    clear(outbox);
    for (const m of out.items) {
      outbox.append(h('tr', {}, h('td', {}, m.channel), h('td', {}, m.recipient), h('td', {}, m.subject || ''),
        h('td', {}, m.state), h('td', {}, String(m.attempts)), h('td', {}, when(m.created_at))));
    }
    if (!out.items.length) outbox.append(h('tr', {}, h('td', { colspan: 6 }, empty('The outbox is empty.'))));
  };

  main.append(h('h1', {}, 'Admin'),
    h('section', { class: 'panel', 'aria-labelledby': 'invite-title' }, h('h2', { id: 'invite-title' }, 'Invite someone'),
      h('p', { class: 'small muted' }, 'They get an email with a link to choose their password.'), invite),
    h('section', { 'aria-labelledby': 'people' }, h('h2', { id: 'people' }, 'People'), search,
      h('div', { class: 'scroll' }, h('table', { class: 'table' },
        h('thead', {}, h('tr', {}, ['Name', 'Email or phone', 'Role', 'State', 'Joined'].map((t) => h('th', { scope: 'col' }, t)))), body))),
    h('section', { 'aria-labelledby': 'outbox' }, h('h2', { id: 'outbox' }, 'Mail outbox'),
      h('div', { class: 'scroll' }, h('table', { class: 'table' },
        h('thead', {}, h('tr', {}, ['Channel', 'To', 'Subject', 'State', 'Attempts', 'Queued'].map((t) => h('th', { scope: 'col' }, t)))), outbox))));
  await Promise.all([load(), loadOutbox()]);
}
