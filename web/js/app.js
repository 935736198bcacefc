// The web app: a router over history paths (mailed links such as /verify-email?token=…
// land here too), the navigation, and the session's comings and goings.
import { endSession, loadMe, onSession, signOut, signedIn, user } from './api.js';
import { clear, h, toast } from './dom.js';
import './live.js'; // the live connection follows the session by itself
import * as auth from './views/auth.js';
import * as home from './views/home.js';
import * as profile from './views/profile.js';
import * as gallery from './views/gallery.js';
import * as chats from './views/chats.js';
import * as copilot from './views/copilot.js';
import * as admin from './views/admin.js';
import * as contacts from './views/contacts.js';
import * as people from './views/people.js';
import * as account from './views/account.js';
import * as messages from './views/messages.js';

const routes = [
  ['/', home.render, 'public'],
  ['/signin', auth.signin, 'guest'],
  ['/signup', auth.signup, 'guest'],
  ['/phone', auth.phone, 'guest'],
  ['/forgot', auth.forgot, 'guest'],
  ['/reset-password', auth.reset, 'public'],
  ['/verify-email', auth.verify, 'public'],
  ['/profile', profile.render, 'user'],
  ['/account', account.render, 'user'],
  ['/contacts', contacts.render, 'user'],
  ['/messages', messages.render, 'user'],
  ['/users/:id', people.render, 'user'],
  ['/gallery', gallery.render, 'user'],
  ['/chats', chats.render, 'user'],
  ['/chats/:id', chats.render, 'user'],
  ['/copilot', copilot.render, 'user'],
  ['/copilot/:id', copilot.render, 'user'],
  ['/admin', admin.render, 'admin'],
];

const main = document.getElementById('main');
let cleanup = null;
let seq = 0;

function match(path) {
  for (const [pattern, view, access] of routes) {
    const names = [];
    const re = new RegExp(`^${pattern.replace(/:(\w+)/g, (_, n) => { names.push(n); return '([^/]+)'; })}$`);
    const m = re.exec(path);
    if (m) return { view, access, params: Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])])) };
  }
  return null;
}

export function go(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  return show();
}

async function show() {
  const mine = ++seq;
  if (cleanup) { try { cleanup(); } catch { /* a view's own business */ } cleanup = null; }
  const url = new URL(location.href);
  const route = match(url.pathname);
  nav();
  clear(main);
  if (!route) {
    main.append(h('h1', {}, 'Not found'), h('p', {}, 'There is no such page. ', h('a', { href: '/' }, 'Go home')));
    return;
  }
  if ((route.access === 'user' || route.access === 'admin') && !signedIn()) return go(`/signin?next=${encodeURIComponent(url.pathname)}`, { replace: true });
  if (route.access === 'guest' && signedIn()) return go('/chats', { replace: true });
  try {
    if (signedIn()) await loadMe();
    if (route.access === 'admin' && (!user() || user().role !== 'admin')) {
      main.append(h('h1', {}, 'Admins only'), h('p', {}, 'Your role does not allow this page.'));
      return;
    }
    if (mine !== seq) return;
    nav();
    const done = await route.view(main, { params: route.params, query: url.searchParams, go });
    if (mine === seq) cleanup = typeof done === 'function' ? done : null;
  } catch (e) {
    if (mine !== seq || !signedIn()) return;
    main.append(h('p', { class: 'form-error', role: 'alert' }, e.message || 'This page could not be loaded.'));
  }
  const heading = main.querySelector('h1');
  if (heading) document.title = `${heading.textContent} — app`;
}

function link(href, text) {
  const here = location.pathname === href || (href !== '/' && location.pathname.startsWith(`${href}/`));
  return h('li', {}, h('a', { href, 'aria-current': here ? 'page' : undefined }, text));
}

function nav() {
  const ul = document.querySelector('#nav ul');
  clear(ul);
  const u = user();
  if (signedIn()) {
    ul.append(link('/chats', 'Chats'), link('/copilot', 'Copilot'), link('/gallery', 'Gallery'), link('/contacts', 'Contacts'),
      link('/messages', 'Messages'), link('/profile', 'Profile'), link('/account', 'Account'));
    if (u && u.role === 'admin') ul.append(link('/admin', 'Admin'));
    ul.append(h('li', {}, h('button', { type: 'button', class: 'linkish', onclick: () => signOut() }, 'Sign out')));
  } else {
    ul.append(link('/signin', 'Sign in'), link('/signup', 'Sign up'), link('/docs', 'API reference'));
  }
}

// Why a session ends, and where the tab goes then: signed out or deleted, to the landing
// page; ended by the server, to sign in again and come back. Any other reason (a view that
// signs out to have the person sign in again) leaves the going to the view.
onSession((_, why) => {
  const back = `?next=${encodeURIComponent(location.pathname)}`;
  if (why === 'signout') go('/', { replace: true });
  else if (why === 'deleted') { toast('Your account is deleted. Goodbye.'); go('/', { replace: true }); }
  else if (why === 'expired') { toast('Your session ended. Please sign in again.'); go(`/signin${back}`, { replace: true }); }
  else {
    nav();
  }
});

// Another tab signed out: follow it.
window.addEventListener('storage', (e) => { if (e.key === 'app.refresh' && !e.newValue) endSession('signout'); });
window.addEventListener('popstate', show);
document.addEventListener('click', (e) => {
  const a = e.target.closest('a[href]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || a.target) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !match(url.pathname)) return;
  e.preventDefault();
  go(url.pathname + url.search);
  main.focus();
});
show();
