// Signing up and in (email and password, or a code by SMS), and the pages the mailed links
// open: verify the address, set a new password.
import { api, setSession, signedIn } from '../api.js';
import { PHONE, busy, field, h, toast, values } from '../dom.js';

function page(main, title, intro, form, ...after) {
  main.append(h('section', { class: 'narrow' }, h('h1', {}, title), intro ? h('p', { class: 'lead' }, intro) : null, form, ...after));
  const first = form && form.querySelector('input, textarea, select');
  if (first) first.focus();
}

function nextPath(query) {
  const next = query.get('next');
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/chats';
}

export function signin(main, { query, go }) {
  const form = h('form', { class: 'stack', novalidate: true },
    field('Email', { name: 'email', type: 'email', autocomplete: 'email', required: true }),
    field('Password', { name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    h('button', { class: 'button', type: 'submit' }, 'Sign in'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, async () => {
      const tokens = await api('/auth/login', { method: 'POST', body: values(form) });
      setSession(tokens);
      go(nextPath(query), { replace: true });
    });
  });
  page(main, 'Sign in', null, form,
    h('p', {}, h('a', { href: '/phone' }, 'Sign in with a code by SMS instead')),
    h('p', {}, h('a', { href: '/forgot' }, 'Forgot your password?'), ' · ', h('a', { href: '/signup' }, 'Create an account')));
}

export function signup(main, { go }) {
  const form = h('form', { class: 'stack', novalidate: true },
    field('Name', { name: 'name', autocomplete: 'name', required: true, maxlength: 100 }),
    field('Email', { name: 'email', type: 'email', autocomplete: 'email', required: true }),
    field('Password', { name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8 },
      'At least 8 characters.'),
    h('button', { class: 'button', type: 'submit' }, 'Create account'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, async () => {
      const tokens = await api('/auth/register', { method: 'POST', body: values(form) });
      setSession(tokens);
      toast('Welcome! We sent you a link to confirm your email address.');
      go('/profile', { replace: true });
    });
  });
  page(main, 'Create an account', null, form, h('p', {}, 'Already have one? ', h('a', { href: '/signin' }, 'Sign in')));
}

export function phone(main, { query, go }) {
  const ask = h('form', { class: 'stack', novalidate: true },
    field('Phone number', { ...PHONE, name: 'phone', autocomplete: 'tel', required: true, placeholder: '+5491122334455' },
      'In international form, with the country code.'),
    h('button', { class: 'button', type: 'submit' }, 'Send me a code'));
  const check = h('form', { class: 'stack', novalidate: true, hidden: true },
    field('The 6-digit code', { name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', required: true, maxlength: 6,
      pattern: '[0-9]{6}', 'data-message': 'The code is 6 digits.' }),
    h('button', { class: 'button', type: 'submit' }, 'Sign in'));
  const note = h('p', { class: 'muted', role: 'status' });
  let number = '';
  ask.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(ask, async () => {
      number = values(ask).phone;
      const r = await api('/auth/otp/request', { method: 'POST', body: { phone: number } });
      note.textContent = r && r.sent ? `We sent a code to ${number}.` : (r && r.note) || 'A code is on its way.';
      check.hidden = false;
      check.querySelector('input').focus();
    });
  });
  check.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(check, async () => {
      const tokens = await api('/auth/otp/verify', { method: 'POST', body: { phone: number, code: values(check).code } });
      setSession(tokens);
      go(nextPath(query), { replace: true });
    });
  });
  page(main, 'Sign in with your phone', 'We text you a code; the first sign-in creates your account.', ask, note, check);
}

export function forgot(main) {
  const form = h('form', { class: 'stack', novalidate: true },
    field('Email', { name: 'email', type: 'email', autocomplete: 'email', required: true }),
    h('button', { class: 'button', type: 'submit' }, 'Send me a link'));
  const done = h('p', { role: 'status' });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, async () => {
      await api('/auth/password/forgot', { method: 'POST', body: values(form) });
      done.textContent = 'If that address has an account, a link to set a new password is on its way.';
    });
  });
  page(main, 'Forgot your password?', null, form, done);
}

export function reset(main, { query, go }) {
  const token = query.get('token') || '';
  const form = h('form', { class: 'stack', novalidate: true },
    field('New password', { name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8 }),
    h('button', { class: 'button', type: 'submit' }, 'Set the password'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, async () => {
      await api('/auth/password/reset', { method: 'POST', body: { token, password: values(form).password } });
      toast('Your password is set. Sign in with it.');
      go('/signin', { replace: true });
    });
  });
  page(main, 'Set a new password', token ? null : 'This link has no token in it; ask for a new one.', form);
}

export async function verify(main) {
  const token = new URL(location.href).searchParams.get('token') || '';
  const status = h('p', { role: 'status' }, 'Confirming your address…');
  main.append(h('section', { class: 'narrow' }, h('h1', {}, 'Confirm your email'), status));
  try {
    await api('/auth/verify-email', { method: 'POST', body: { token } });
    status.textContent = 'Your email address is confirmed. ';
    status.append(h('a', { href: signedIn() ? '/profile' : '/signin' }, 'Continue'));
  } catch (e) {
    status.textContent = `This link does not work any more (${e.message}). `;
    status.append(h('a', { href: '/profile' }, 'Ask for a new one from your profile'));
  }
}
