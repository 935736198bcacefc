// Renders /api/v1/openapi.json. Every string from the document goes in as text, never HTML.
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

// Follows #/components/... references (one level at a time, guarded against cycles).
function resolve(doc, schema, seen = new Set()) {
  if (!schema || typeof schema !== 'object' || !schema.$ref) return schema;
  if (seen.has(schema.$ref)) return { description: `(recursive ${schema.$ref})` };
  seen.add(schema.$ref);
  const target = schema.$ref.replace(/^#\//, '').split('/').reduce((o, k) => (o ? o[k] : undefined), doc);
  return resolve(doc, target, seen) ?? { description: `(missing ${schema.$ref})` };
}

function expand(doc, value, depth = 0) {
  if (depth > 12 || !value || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => expand(doc, v, depth + 1));
  const v = resolve(doc, value);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, expand(doc, x, depth + 1)]));
}

function schemaBlock(doc, title, schema) {
  if (!schema) return null;
  return el('details', {}, el('summary', {}, title),
    el('pre', { class: 'schema' }, JSON.stringify(expand(doc, schema), null, 2)));
}

function operation(doc, path, method, op) {
  const id = op.operationId || `${method}-${path}`;
  const head = el('h3', {},
    el('span', { class: `method ${method}` }, method.toUpperCase()), ' ',
    el('code', { class: 'path' }, path), ' ',
    el('a', { href: `#${id}`, class: 'anchor', 'aria-label': `Link to ${method.toUpperCase()} ${path}` }, '#'));
  const body = el('article', { class: 'op', id, 'data-search': `${path} ${op.summary || ''}`.toLowerCase() }, head);
  if (op.summary) body.append(el('p', {}, op.summary));
  if (op.security && op.security.length) body.append(el('p', { class: 'muted' }, 'Needs a bearer access token.'));
  if (op.parameters && op.parameters.length) {
    const rows = op.parameters.map((p) => el('tr', {},
      el('td', {}, el('code', {}, p.name)), el('td', {}, p.in), el('td', {}, p.required ? 'required' : 'optional'),
      el('td', {}, (resolve(doc, p.schema) || {}).type || '')));
    body.append(el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'Parameter'), el('th', {}, 'In'),
      el('th', {}, 'Required'), el('th', {}, 'Type'))), el('tbody', {}, ...rows)));
  }
  const req = op.requestBody && op.requestBody.content;
  if (req) for (const [type, media] of Object.entries(req)) body.append(schemaBlock(doc, `Request body (${type})`, media.schema || {}));
  const list = el('ul', { class: 'responses' });
  for (const [status, res] of Object.entries(op.responses || {})) {
    const item = el('li', {}, el('strong', {}, status), ' ', res.description || '');
    for (const [type, media] of Object.entries(res.content || {})) {
      item.append(media.schema ? schemaBlock(doc, type, media.schema) : el('span', { class: 'muted' }, ` (${type})`));
    }
    list.append(item);
  }
  body.append(list);
  return body;
}

function render(doc) {
  $('title').textContent = `${doc.info?.title || 'API'} ${doc.info?.version || ''} — API reference`;
  $('description').textContent = doc.info?.description || '';
  const groups = new Map();
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags && op.tags[0]) || 'other';
      if (!groups.has(tag)) groups.set(tag, []);
      groups.get(tag).push(operation(doc, path, method, op));
    }
  }
  const root = $('operations');
  root.replaceChildren();
  for (const [tag, ops] of groups) root.append(el('section', { class: 'group' }, el('h2', {}, tag), ...ops));
  const count = [...groups.values()].reduce((n, ops) => n + ops.length, 0);
  $('message').textContent = `${count} operations.`;
  if (location.hash) document.getElementById(decodeURIComponent(location.hash.slice(1)))?.scrollIntoView();
}

$('filter').addEventListener('input', (e) => {
  const q = e.target.value.trim().toLowerCase();
  let shown = 0;
  for (const op of document.querySelectorAll('.op')) {
    const hit = !q || op.dataset.search.includes(q);
    op.hidden = !hit;
    if (hit) shown++;
  }
  for (const g of document.querySelectorAll('.group')) g.hidden = !g.querySelector('.op:not([hidden])');
  $('message').textContent = q ? `${shown} matching operations.` : `${shown} operations.`;
});

fetch('/api/v1/openapi.json')
  .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))))
  .then(render)
  .catch((e) => { $('message').textContent = `Could not load the API document: ${e.message}`; });
