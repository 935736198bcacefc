// The live connection: one WebSocket to /ws per tab while someone is signed in. It comes back
// by itself after a loss (backoff with jitter) and resumes after the last seq it saw, renews
// its token on the open socket whenever the app refreshes it, and shows its state in the bar.
// It also keeps what it has heard of contacts' presence, which the server tells a connection
// only as it opens and as it changes. Must never open without a token, put one in a URL, or
// stay open past the session's end.
import { accessToken, api, onSession, onToken, refresh } from './api.js';

const FIRST_MS = 500;
const MAX_MS = 15000;
const LABELS = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…' };

let who = null; // the signed-in user's id; null when signed out
let ws = null; // the socket, from its opening until it closes
let opening = false; // between deciding to connect and having a socket (a refresh may come first)
let seq = null; // the last seq seen in this session; null before the first `ready`
let tries = 0; // connections lost or refused since the last `ready`
let timer = null; // the next try
let renewal = null; // the timer that refreshes the token before it expires
let held = false; // drop(): stay down until resume()
let token = { value: null, at: 0, ttl: 0 }; // the last token seen, when it was seen, its lifetime (s)
let refused = false; // the server closed with 1008: the token must be refreshed before the next try
const handlers = new Set();
// user id → {status: 'online'|'offline', last_seen}: the presence frames heard this session
const heard = new Map();

// fn(event) for each frame the server sends (chat.message, presence, …), {type: 'resync'}
// when what a view shows may have missed events and should be read again, and
// {type: 'presence.reset'} when what presenceOf() says changed without a frame of its own.
export function onLive(fn) { handlers.add(fn); return () => handlers.delete(fn); }

// What this tab has heard of someone's presence ({status, last_seen}), or undefined.
export const presenceOf = (id) => heard.get(id);

function dispatch(ev) {
  for (const fn of handlers) {
    try { fn(ev); } catch (e) { queueMicrotask(() => { throw e; }); } // one view's fault stops no other
  }
}

function show(state) {
  const el = document.getElementById('live');
  if (!el) return;
  el.hidden = !LABELS[state];
  el.dataset.state = state;
  el.lastChild.textContent = LABELS[state] || '';
}

// A JWT's lifetime in seconds (exp - iat), or 0 when it cannot be read.
function lifetime(t) {
  try {
    const claims = JSON.parse(atob(t.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return Number.isFinite(claims.exp - claims.iat) ? Math.max(0, claims.exp - claims.iat) : 0;
  } catch {
    return 0;
  }
}

// How long a token of this lifetime is used before it is refreshed (ms): a minute before it
// runs out, or a third of it for short ones (exp and iat are whole seconds on the server).
const useFor = (ttl) => Math.max(1000, (ttl - Math.min(60, ttl / 3)) * 1000);

// Notes a token as seen now and refreshes it a little before it runs out. Times are this
// tab's own (when it got the token, how long it lasts), so a wrong clock cannot make it loop.
function seen(t) {
  if (t === token.value) return;
  token = { value: t, at: Date.now(), ttl: lifetime(t) };
  clearTimeout(renewal);
  renewal = null;
  if (token.ttl) renewal = setTimeout(() => { if (who) refresh(); }, useFor(token.ttl));
}

// The token this tab has held for (nearly) its whole lifetime.
const stale = (t) => t === token.value && token.ttl > 0 && Date.now() - token.at > useFor(token.ttl);

function later() {
  if (!who || held || timer || ws || opening) return;
  const base = Math.min(MAX_MS, FIRST_MS * 2 ** tries);
  tries += 1;
  show('reconnecting');
  timer = setTimeout(() => { timer = null; connect(); }, base / 2 + Math.random() * (base / 2));
}

async function connect() {
  if (!who || held || ws || opening) return;
  opening = true;
  const mine = who;
  let t = accessToken();
  try {
    if (!t || refused || stale(t)) {
      refused = false;
      await refresh();
      t = accessToken();
    }
  } finally {
    opening = false;
  }
  if (who !== mine || held || ws) return;
  if (!t) { later(); return; }
  seen(t);
  const url = new URL('/ws', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const resume = seq !== null;
  if (resume) url.searchParams.set('since', String(seq));
  const sock = new WebSocket(url, ['bearer', t]);
  let opened = false;
  ws = sock;
  sock.onopen = () => { opened = true; };
  sock.onmessage = (e) => { if (ws === sock) receive(e.data, resume); };
  sock.onclose = (e) => {
    if (ws !== sock) return;
    ws = null;
    if (!who) return;
    if (e.code === 1008) refused = true;
    if (!opened && tries >= 1) api('/users/me').catch(() => {}); // refused twice: a revoked token refreshes here, or the session ends
    later();
  };
}

function receive(text, resumed) {
  let ev;
  try { ev = JSON.parse(text); } catch { return; }
  if (!ev || typeof ev.type !== 'string') return;
  if (ev.type === 'ready') {
    // a first connection that came only after failures may have missed what the views loaded
    const missed = !resumed && tries > 0;
    seq = Number.isInteger(ev.seq) ? ev.seq : seq;
    tries = 0;
    show('live');
    if (missed) dispatch({ type: 'resync' });
    // who is online comes again right after `ready`: one who left meanwhile would stay online
    if (forget()) dispatch({ type: 'presence.reset' });
    return;
  }
  if (ev.type === 'presence' && typeof ev.user_id === 'string') heard.set(ev.user_id, { status: ev.status, last_seen: ev.last_seen || null });
  if (ev.type === 'resync') {
    seq = Number.isInteger(ev.seq) ? ev.seq : null;
    dispatch({ type: 'resync' });
    return;
  }
  if (Number.isInteger(ev.seq)) {
    if (seq !== null && ev.seq <= seq) return; // seen already
    seq = ev.seq;
  }
  dispatch(ev);
}

// Forgets who was online (when others left is kept); true when anyone was.
function forget() {
  let any = false;
  for (const [id, p] of heard) {
    if (p.status === 'online') { heard.delete(id); any = true; }
  }
  return any;
}

function start(id) {
  if (who === id) return;
  stop();
  who = id;
  show('connecting');
  connect();
}

function stop() {
  who = null;
  seq = null;
  tries = 0;
  clearTimeout(timer);
  timer = null;
  clearTimeout(renewal);
  renewal = null;
  token = { value: null, at: 0, ttl: 0 };
  refused = false;
  heard.clear();
  const sock = ws;
  ws = null;
  if (sock) sock.close(1000);
  show('off');
}

onSession((me) => { if (me) start(me.id); else stop(); });
onToken((t) => {
  if (!who) return;
  seen(t);
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'auth', access_token: t }));
});

// Back online, or back to a tab that was hidden: no need to wait for the next try.
function now() {
  if (!timer) return;
  clearTimeout(timer);
  timer = null;
  connect();
}
window.addEventListener('online', now);
document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') now(); });

// For the browser tests only: cut the connection as a network loss would, and keep it down
// until resume(), so that what happens meanwhile can only come by the replay after `since`.
export function drop() {
  held = true;
  clearTimeout(timer);
  timer = null;
  const sock = ws;
  ws = null;
  if (sock) sock.close(1000);
  if (who) show('reconnecting');
}

export function resume() {
  held = false;
  connect();
}

// My "show my presence" is about to change: the server then sends who of my contacts is
// online (shown) or nothing more (hidden), so what this tab heard no longer holds. Called
// before the change is sent, so that what the server sends after it is kept.
export function presenceChanging() {
  if (forget()) dispatch({ type: 'presence.reset' });
}

// The state shown, and the last seq seen (for tests and for the curious).
export const status = () => ({ state: document.getElementById('live')?.dataset.state || 'off', seq });
