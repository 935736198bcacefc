// Landing page: fills the live status box from GET /health.
// Values from the network only ever go in as text (textContent), never as HTML.
const EVERY_MS = 15000;
const TIMEOUT_MS = 5000;
const $ = (id) => document.getElementById(id);
let timer = 0;
let busy = false;

// Changes a text only when it differs, so the live region does not repeat itself.
function put(id, value, good) {
  const node = $(id);
  const text = value === undefined || value === null || value === '' ? '—' : String(value).slice(0, 80);
  if (node.textContent !== text) node.textContent = text;
  if (good === undefined) delete node.dataset.state;
  else node.dataset.state = good ? 'good' : 'bad';
}

function show(kind, message, data) {
  $('status-state').dataset.state = kind;
  put('status-text', message);
  put('status-status', data.status, data.status === undefined ? undefined : data.status === 'ok');
  put('status-db', data.db, data.db === undefined ? undefined : data.db === 'ok');
  put('status-version', data.version);
  put('status-time', new Date().toLocaleTimeString());
}

async function check() {
  if (busy) return;
  busy = true;
  clearTimeout(timer);
  const abort = new AbortController();
  const stop = setTimeout(() => abort.abort(), TIMEOUT_MS);
  try {
    const res = await fetch('/health', { cache: 'no-store', signal: abort.signal });
    const body = await res.json().catch(() => null);
    const data = body && typeof body === 'object' ? body : {};
    if (res.ok && data.status === 'ok' && data.db === 'ok') show('ok', 'Running normally', data);
    else if (res.ok) show('warn', 'Running, but degraded', data);
    else {
      show('error', res.status === 503 ? 'Unavailable: the server answered 503' : `Unexpected answer: HTTP ${res.status}`,
        { status: data.status ?? `HTTP ${res.status}`, db: data.db ?? 'unknown', version: data.version });
    }
  } catch (e) {
    show('error', `Unreachable: ${e.name === 'AbortError' ? 'no answer within 5 seconds' : 'the server could not be reached'}`,
      { status: 'unreachable', db: 'unknown' });
  } finally {
    clearTimeout(stop);
    busy = false;
    if (!document.hidden) timer = setTimeout(check, EVERY_MS);
  }
}

$('status-refresh').addEventListener('click', check);
// No polling while the tab is hidden; check at once when it comes back.
document.addEventListener('visibilitychange', () => {
  clearTimeout(timer);
  if (!document.hidden) check();
});
check();
