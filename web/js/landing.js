// Fills the status box from GET /health. Text only: nothing from the network becomes HTML.
const box = document.getElementById('status');
const set = (id, text) => { document.getElementById(id).textContent = text; };

async function refresh() {
  try {
    const res = await fetch('/health', { cache: 'no-store' });
    const body = await res.json();
    set('status-server', res.ok ? 'running' : `degraded (${res.status})`);
    set('status-db', body.db === 'ok' ? 'ok' : 'error');
    set('status-version', String(body.version ?? '—'));
    box.dataset.state = res.ok ? 'ok' : 'error';
  } catch {
    set('status-server', 'unreachable');
    set('status-db', '—');
    box.dataset.state = 'error';
  }
}

refresh();
setInterval(refresh, 15000);
