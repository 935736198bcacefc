// The session and every call to the API. The access token lives only in memory; the
// refresh token in localStorage, so a reload keeps the session. Refreshing is done one at a
// time, across tabs too (Web Locks): a refresh token works once, and two tabs using the same
// one would look like theft and end the session.
const KEY = 'app.refresh';
let access = null;
let me = null;
let inflight = null;
const listeners = new Set();

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
export const accessToken = () => access;
export function onSession(fn) { listeners.add(fn); return () => listeners.delete(fn); }
function emit(why) { for (const fn of listeners) fn(me, why); }

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
  if (had) emit(why);
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
  return true;
}

export function refresh() {
  if (!inflight) {
    const run = navigator.locks ? navigator.locks.request('app.refresh', doRefresh) : doRefresh();
    inflight = run.finally(() => { inflight = null; });
  }
  return inflight;
}

// JSON in, JSON out. Refreshes an expired access token once and retries.
export async function api(path, { method = 'GET', body, signal, headers = {} } = {}) {
  if (!access && signedIn()) await refresh();
  const send = () => fetch(`/api/v1${path}`, {
    method, signal,
    headers: { ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...(access ? { Authorization: `Bearer ${access}` } : {}), ...headers },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  let r = await send();
  if (r.status === 401 && signedIn() && await refresh()) r = await send();
  if (r.status === 401 && signedIn()) endSession('expired');
  if (r.status === 204) return null;
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (!r.ok) throw new ApiError(r.status, json);
  return json;
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
const blobs = new Map();
export async function mediaUrl(url) {
  if (blobs.has(url)) return blobs.get(url);
  if (!access && signedIn()) await refresh();
  const r = await fetch(url, { headers: access ? { Authorization: `Bearer ${access}` } : {} });
  if (!r.ok) throw new ApiError(r.status, null);
  const u = URL.createObjectURL(await r.blob());
  blobs.set(url, u);
  return u;
}

// Multipart upload with progress (fetch cannot report upload progress).
export async function upload(file, visibility, onProgress) {
  if (!access && signedIn()) await refresh();
  const once = () => new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open('POST', '/api/v1/media');
    if (access) x.setRequestHeader('Authorization', `Bearer ${access}`);
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
  });
  let r = await once();
  if (r.status === 401 && await refresh()) r = await once();
  if (r.status === 401) endSession('expired');
  if (r.status !== 201) throw new ApiError(r.status, r.json);
  return r.json;
}

// POST with Accept: text/event-stream; calls onEvent(name, data) per event as it arrives.
export async function stream(path, body, onEvent, signal) {
  if (!access && signedIn()) await refresh();
  const send = () => fetch(`/api/v1${path}`, {
    method: 'POST', signal, body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream', Authorization: `Bearer ${access}` },
  });
  let r = await send();
  if (r.status === 401 && await refresh()) r = await send();
  if (r.status === 401) endSession('expired');
  if (!r.ok) {
    let json = null;
    try { json = await r.json(); } catch { json = null; }
    throw new ApiError(r.status, json);
  }
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
