// Home for visitors: what this is, the way in, and the server's health.
import { signedIn } from '../api.js';
import { h } from '../dom.js';

export async function render(main, { go }) {
  if (signedIn()) return go('/chats', { replace: true });
  const status = h('p', { class: 'state', id: 'health', 'data-state': 'warn' }, 'Checking the server…');
  main.append(
    h('section', { class: 'hero' },
      h('p', { class: 'eyebrow' }, 'Self-hosted backend appliance'),
      h('h1', {}, 'Accounts, media, assistants and more in one binary'),
      h('p', { class: 'lead' }, 'Sign in to chat with the assistant, ask the financial copilot, keep a gallery and manage your profile.'),
      h('p', { class: 'actions' },
        h('a', { class: 'button', href: '/signup' }, 'Create an account'),
        h('a', { class: 'button secondary', href: '/signin' }, 'Sign in'),
        h('a', { class: 'button secondary', href: '/docs' }, 'API reference'))),
    h('section', { class: 'panel', 'aria-labelledby': 'status-title' },
      h('h2', { id: 'status-title' }, 'Server status'), status,
      h('p', { class: 'small muted' }, 'From ', h('a', { href: '/health' }, '/health'), '.')));
  try {
    const r = await fetch('/health');
    const j = await r.json();
    status.dataset.state = r.ok ? 'ok' : 'error';
    status.textContent = r.ok ? `Up — version ${j.version}, database ${j.db}` : `Not healthy: ${j.status || r.status}`;
  } catch {
    status.dataset.state = 'error';
    status.textContent = 'The server cannot be reached.';
  }
  return null;
}
