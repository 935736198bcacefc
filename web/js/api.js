// The session and every call to the API. The access token lives only in memory; the
// refresh token in localStorage, so a reload keeps the session. Refreshing is done one at a
// time, across tabs too (Web Locks): a refresh token works once, and two tabs using the same
// one would look like theft and end the session. Must never send a token it does not have
// (no "Bearer null") nor keep a media object URL alive past the session's end.
const KEY = 'app.refresh';
let access = null;
let me = null;
let inflight = null;
const listeners = new Set();
const tokenListeners = new Set();

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `request failed (${status})`);
    this.status = status;
    this.code = e.code || 'error';
    this.field = e.field;
  }
}

export const user = () => me;
export const signedIn = () => Boolean(localStorage.getItem(KEY));
export function onSession(fn) { listeners.add(fn); return () => listeners.delete(fn); }
function emit(why) { for (const fn of listeners) fn(me, why); }
// The access token, for the one caller that cannot send it as a header: the live socket.
export const accessToken = () => access;
// fn(token) after each successful refresh, so an open socket can renew its token.
export function onToken(fn) { tokenListeners.add(fn); return () => tokenListeners.delete(fn); }

export function setSession(tokens) {
  access = tokens.access_token;
  localStorage.setItem(KEY, tokens.refresh_token);
  if (tokens.user) { me = tokens.user; emit('signin'); }
}

export function endSession(why = 'signout') {
  const had = access || localStorage.getItem(KEY);
  access = null;
  me = null;
  localStorage.removeItem(KEY);
  revokeMedia();
  if (had) emit(why);
}

// Signs this tab out, and its refresh token on the server (if the server can be reached).
export async function signOut(why = 'signout') {
  const token = localStorage.getItem(KEY);
  try { if (token) await api('/auth/logout', { method: 'POST', body: { refresh_token: token } }); } catch { /* signed out anyway */ }
  endSession(why);
}

async function doRefresh() {
  const token = localStorage.getItem(KEY); // another tab may have rotated it meanwhile
  if (!token) return false;
  let r;
  try {
    r = await fetch('/api/v1/auth/refresh', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ refresh_token: token }) });
  } catch {
    return false; // offline: keep the session for later
  }
  if (!r.ok) {
    if (r.status === 400 || r.status === 401) endSession('expired');
    return false;
  }
  const tokens = await r.json();
  access = tokens.access_token;
  localStorage.setItem(KEY, tokens.refresh_token);
  for (const fn of tokenListeners) fn(access);
  return true;
}

export function refresh() {
  if (!inflight) {
    const run = navigator.locks ? navigator.locks.request('app.refresh', doRefresh) : doRefresh();
    inflight = run.finally(() => { inflight = null; });
  }
  return inflight;
}

// The one place a request gets its token: send(headers) makes the request with the given
// Authorization header (none without a token) and resolves to anything with a status. A
// missing or expired access token is refreshed once and the request sent again; a 401 after
// that ends the session.
async function authed(send) {
  if (!access && signedIn()) await refresh();
  const auth = () => (access ? { Authorization: `Bearer ${access}` } : {});
  let r = await send(auth());
  if (r.status === 401 && signedIn() && await refresh()) r = await send(auth());
  if (r.status === 401 && signedIn()) endSession('expired');
  return r;
}

async function failure(r) {
  let json = null;
  try { json = JSON.parse(await r.text()); } catch { json = null; }
  return new ApiError(r.status, json);
}

// JSON in, JSON out (as: 'blob' gives the body as a Blob, for downloads).
export async function api(path, { method = 'GET', body, signal, headers = {}, as = 'json' } = {}) {
  const r = await authed((auth) => fetch(`/api/v1${path}`, {
    method, signal,
    headers: { ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...auth, ...headers },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  }));
  if (!r.ok) throw await failure(r);
  if (as === 'blob') return r.blob();
  if (r.status === 204) return null;
  const text = await r.text();
  try { return text ? JSON.parse(text) : null; } catch { return null; }
}

// The signed-in user, loaded once per session.
export async function loadMe() {
  if (!signedIn()) return null;
  if (!me) {
    me = await api('/users/me');
    emit('signin');
  }
  return me;
}

export function updateMe(u) { me = u; emit('profile'); }

// A media file as an object URL (private media needs the token, which <img> cannot send).
// Each is fetched once per session and revoked when the session ends, so neither the bytes
// nor a URL to them outlive a sign-out.
const blobs = new Map(); // media URL → promise of its object URL
export function mediaUrl(url) {
  let p = blobs.get(url);
  if (!p) {
    p = authed((auth) => fetch(url, { headers: auth })).then(async (r) => {
      if (!r.ok) throw new ApiError(r.status, null);
      return URL.createObjectURL(await r.blob());
    });
    blobs.set(url, p);
    p.catch(() => { if (blobs.get(url) === p) blobs.delete(url); });
  }
  return p;
}

function revokeMedia() {
  for (const p of blobs.values()) p.then((u) => URL.revokeObjectURL(u), () => {}); // in flight: once it lands
  blobs.clear();
}

// Multipart upload with progress (fetch cannot report upload progress).
export async function upload(file, visibility, onProgress) {
  const r = await authed((auth) => new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open('POST', '/api/v1/media');
    for (const [k, v] of Object.entries(auth)) x.setRequestHeader(k, v);
    x.upload.onprogress = (e) => { if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total); };
    x.onload = () => {
      let json = null;
      try { json = JSON.parse(x.responseText); } catch { json = null; }
      resolve({ status: x.status, json });
    };
    x.onerror = () => reject(new ApiError(0, { error: { message: 'the upload failed: network error' } }));
    const form = new FormData();
    form.append('visibility', visibility);
    form.append('file', file, file.name);
    x.send(form);
  }));
  if (r.status !== 201) throw new ApiError(r.status, r.json);
  return r.json;
}

// POST with Accept: text/event-stream; calls onEvent(name, data) per event as it arrives.
export async function stream(path, body, onEvent, signal) {
  const r = await authed((auth) => fetch(`/api/v1${path}`, {
    method: 'POST', signal, body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream', ...auth },
  }));
  if (!r.ok) throw await failure(r);
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  let pending = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    pending += value;
    let i;
    while ((i = pending.indexOf('\n\n')) >= 0) {
      const block = pending.slice(0, i);
      pending = pending.slice(i + 2);
      let name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length) onEvent(name, JSON.parse(data.join('\n')));
    }
  }
}
