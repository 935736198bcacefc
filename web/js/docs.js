// Renders /api/v1/openapi.json. The document is data, never markup: its strings go in as text nodes.
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const COMBINERS = [['allOf', 'all of'], ['oneOf', 'one of'], ['anyOf', 'any of']];
const FACETS = ['const', 'default', 'minimum', 'maximum', 'minLength', 'maxLength', 'minItems', 'maxItems', 'pattern', 'example'];
const $ = (id) => document.getElementById(id);
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const own = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
const str = (v) => typeof v === 'string';
const arr = (v) => (Array.isArray(v) ? v : []);
const hash = (id) => `#${encodeURIComponent(id)}`;
const short = (v, n = 100) => (v.length > n ? `${v.slice(0, n)}…` : v);
const json = (v) => short(String(JSON.stringify(v)));
let spec = {};
let ops = []; // {id, op, params, node, button, body, built, toc, search}
let groups = []; // {node, toc, ops}
const byId = new Map();

function el(tag, attrs, ...kids) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') n.className = v;
    else if (v !== undefined && v !== false) n.setAttribute(k, v === true ? '' : v);
  }
  for (const c of kids.flat(Infinity)) if (c || c === 0) n.append(c instanceof Node ? c : String(c));
  return n;
}

// Local JSON pointers only, e.g. #/components/schemas/Error.
function lookup(ref) {
  let cur = spec;
  if (!str(ref) || !ref.startsWith('#/')) return undefined;
  for (const key of ref.slice(2).split('/').map(unescapeKey)) {
    if (!cur || typeof cur !== 'object' || !own(cur, key)) return undefined;
    cur = cur[key];
  }
  return cur;
}
const unescapeKey = (k) => k.replace(/~1/g, '/').replace(/~0/g, '~');
const refName = (ref) => unescapeKey(ref.split('/').pop());
function deref(v) {
  for (let i = 0; i < 10 && isObj(v) && str(v.$ref); i++) v = lookup(v.$ref);
  return isObj(v) ? v : {};
}

function typeText(s) {
  if (!isObj(s)) return s === false ? 'nothing' : 'any';
  if (str(s.$ref)) return refName(s.$ref);
  let t = Array.isArray(s.type) ? s.type.join(' | ') : s.type;
  if (!t) {
    if (s.properties) t = 'object';
    else if (s.items) t = 'array';
    else if (arr(s.enum).length) t = s.enum[0] === null ? 'null' : typeof s.enum[0];
    else t = COMBINERS.find(([k]) => Array.isArray(s[k]))?.[1] ?? 'any';
  }
  if (t === 'array' && own(s, 'items')) t = `array of ${typeText(s.items)}`;
  return s.format ? `${t} (${s.format})` : String(t);
}

function facets(s) {
  if (!isObj(s)) return [];
  const out = Array.isArray(s.enum) ? [`one of: ${s.enum.map(json).join(', ')}`] : [];
  for (const k of FACETS) if (own(s, k)) out.push(`${k} ${k === 'pattern' ? short(String(s[k])) : json(s[k])}`);
  for (const k of ['nullable', 'readOnly', 'writeOnly', 'deprecated']) if (s[k] === true) out.push(k);
  return out;
}

const complex = (s) => isObj(s) && (str(s.$ref) || isObj(s.properties) || isObj(s.items) ||
  isObj(s.additionalProperties) || COMBINERS.some(([k]) => Array.isArray(s[k])));

// A schema as a tree; a $ref is expanded in place, once per branch, so cycles stop.
function schemaNode(s, head = [], seen = new Set(), depth = 0) {
  const line = el('div', { class: 'line' }, head);
  const node = el('div', {}, line);
  const note = (t) => line.append(el('span', { class: 'facet' }, t));
  if (depth > 30) { note('… (nested too deep)'); return node; }
  if (isObj(s) && str(s.$ref)) {
    const target = lookup(s.$ref);
    const name = refName(s.$ref);
    line.append(s.$ref.startsWith('#/components/schemas/') && target !== undefined
      ? el('a', { href: hash(`schema-${name}`), class: 'type' }, name) : el('span', { class: 'type' }, name));
    if (target === undefined) note('(not in this document)');
    else if (seen.has(s.$ref)) note('(recursive, see above)');
    else {
      const inner = schemaNode(target, [], new Set(seen).add(s.$ref), depth + 1);
      line.append(...inner.firstChild.childNodes);
      node.append(...[...inner.childNodes].slice(1));
    }
    return node;
  }
  line.append(el('span', { class: 'type' }, typeText(s)));
  facets(s).forEach(note);
  if (!isObj(s)) return node;
  if (str(s.description) || str(s.title)) node.append(el('p', { class: 'desc' }, s.description ?? s.title));
  const kids = el('ul', { class: 'kids' });
  const sub = (x, ...h) => kids.append(el('li', {}, schemaNode(x, h, seen, depth + 1)));
  const label = (t) => el('span', { class: 'label' }, t);
  const required = arr(s.required);
  for (const [name, p] of Object.entries(isObj(s.properties) ? s.properties : {})) {
    sub(p, el('code', { class: 'prop' }, name), required.includes(name) && el('span', { class: 'req' }, 'required'));
  }
  if (complex(s.items)) sub(s.items, label('items'));
  if (isObj(s.additionalProperties)) sub(s.additionalProperties, label('other properties'));
  for (const [k, text] of COMBINERS) arr(s[k]).forEach((x, i) => sub(x, label(`${text} (${i + 1})`)));
  if (kids.childElementCount) node.append(kids);
  return node;
}

const schemaView = (s) => el('div', { class: 'schema' }, schemaNode(s),
  el('details', { class: 'raw' }, el('summary', {}, 'JSON'), el('pre', {}, el('code', {}, JSON.stringify(s, null, 2)))));

const content = (map) => Object.entries(isObj(map) ? map : {}).map(([type, m]) =>
  [el('p', { class: 'ctype' }, el('code', {}, type)), isObj(m) && own(m, 'schema') && schemaView(m.schema)]);

const authText = (op) => arr(op.security ?? spec.security).filter(isObj)
  .map((r) => Object.keys(r).join(' + ') || 'none').join(' or ');

// An operation's details are built the first time it is opened.
function buildBody({ id, op, params }) {
  const rb = deref(op.requestBody);
  const responses = Object.entries(isObj(op.responses) ? op.responses : {}).map(([code, r]) =>
    el('li', {}, el('span', { class: `code s${code[0]}` }, code), deref(r).description, content(deref(r).content)));
  return [
    el('p', { class: 'meta' }, str(op.operationId) && el('span', {}, 'Operation ', el('code', {}, op.operationId)),
      el('span', {}, `Auth: ${authText(op) || 'none'}`), el('a', { href: hash(id) }, 'Link to this operation')),
    str(op.description) && el('p', { class: 'desc' }, op.description),
    params.length > 0 && [el('h4', {}, 'Parameters'), el('div', { class: 'table-wrap' }, el('table', {},
      el('thead', {}, el('tr', {}, ['Name', 'In', 'Type', 'Notes'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, params.map((p) => el('tr', {},
        el('td', {}, el('code', {}, p.name), p.required && el('span', { class: 'req' }, 'required')),
        el('td', {}, p.in), el('td', {}, el('code', {}, typeText(p.schema))),
        el('td', {}, [p.description, ...facets(p.schema)].filter(str).join(' · ')))))))],
    isObj(op.requestBody) && [el('h4', {}, 'Request body', rb.required && el('span', { class: 'req' }, 'required')),
      str(rb.description) && el('p', { class: 'desc' }, rb.description), content(rb.content)],
    responses.length > 0 && [el('h4', {}, 'Responses'), el('ul', { class: 'responses' }, responses)],
  ];
}

function setOpen(o, open) {
  if (open && !o.built) { o.body.append(el('div', {}, buildBody(o))); o.built = true; }
  o.body.hidden = !open;
  o.button.setAttribute('aria-expanded', open);
}

function operation(path, method, op, shared) {
  let id = str(op.operationId) && op.operationId ? op.operationId : `${method}-${path}`;
  while (byId.has(id) || /^(schema|tag)-/.test(id)) id += '-2';
  // Path-level parameters, unless the operation redefines them.
  const params = new Map();
  for (const p of [...shared, ...arr(op.parameters)].map(deref)) if (str(p.name)) params.set(`${p.in}:${p.name}`, p);
  const bodyId = `op-body-${ops.length}`;
  const badge = () => el('span', { class: `method ${method}` }, method.toUpperCase());
  const button = el('button', { type: 'button', class: 'op-toggle', 'aria-expanded': 'false', 'aria-controls': bodyId },
    badge(), el('code', { class: 'path' }, path), authText(op) && el('span', { class: 'chip' }, 'auth'),
    str(op.summary) && el('span', { class: 'summary' }, op.summary));
  const body = el('div', { class: 'op-body', id: bodyId, hidden: true });
  const o = { id, op, params: [...params.values()], button, body, built: false,
    node: el('article', { class: 'op', id }, el('h3', {}, button), body),
    toc: el('li', {}, el('a', { href: hash(id) }, badge(), el('span', {}, path))),
    search: `${path} ${op.summary ?? ''} ${op.operationId ?? ''}`.toLowerCase() };
  button.addEventListener('click', () => {
    const open = button.getAttribute('aria-expanded') !== 'true';
    setOpen(o, open);
    if (open) history.replaceState(null, '', hash(id));
  });
  ops.push(o);
  byId.set(id, o);
  return o;
}

function render(doc) {
  spec = doc;
  ops = [];
  groups = [];
  byId.clear();
  for (const id of ['doc-meta', 'operations', 'components', 'toc']) $(id).replaceChildren();
  const info = isObj(doc.info) ? doc.info : {};
  const title = str(info.title) && info.title ? info.title : 'API';
  $('doc-title').textContent = `${title} API reference`;
  document.title = `API reference — ${title}`;
  const chip = (t) => $('doc-meta').append(el('li', { class: 'chip' }, short(t, 60)));
  if (own(info, 'version')) chip(`version ${info.version}`);
  if (str(doc.openapi)) chip(`OpenAPI ${doc.openapi}`);
  $('doc-desc').textContent = str(info.description) ? info.description : '';

  // Groups: the top-level tags first; an operation sits under its first tag.
  const byTag = new Map(arr(doc.tags).filter((t) => isObj(t) && str(t.name)).map((t) => [t.name, []]));
  for (const [path, item] of Object.entries(doc.paths)) {
    if (!isObj(item)) continue;
    for (const m of METHODS.filter((x) => isObj(item[x]))) {
      const tag = str(arr(item[m].tags)[0]) ? item[m].tags[0] : 'other';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(operation(path, m, item[m], arr(item.parameters)));
    }
  }
  const toc = el('ul', {});
  for (const [tag, list] of byTag) {
    if (!list.length) continue;
    const hid = `group-${groups.length}`;
    const g = { ops: list,
      node: el('section', { class: 'group', id: `tag-${tag}`, 'aria-labelledby': hid }, el('h2', { id: hid }, tag), list.map((o) => o.node)),
      toc: el('li', {}, el('a', { href: hash(`tag-${tag}`) }, tag), el('ul', {}, list.map((o) => o.toc))) };
    $('operations').append(g.node);
    toc.append(g.toc);
    groups.push(g);
  }
  const comps = deref(doc.components);
  const schemas = Object.entries(isObj(comps.schemas) ? comps.schemas : {});
  if (schemas.length) {
    $('components').append(el('section', { class: 'group', id: 'tag-schemas', 'aria-labelledby': 'schemas-h' },
      el('h2', { id: 'schemas-h' }, 'Schemas'), schemas.map(([name, s]) =>
        el('article', { class: 'card', id: `schema-${name}` }, el('h3', {}, name), schemaView(s)))));
    toc.append(el('li', {}, el('a', { href: '#tag-schemas' }, 'Schemas'),
      el('ul', {}, schemas.map(([name]) => el('li', {}, el('a', { href: hash(`schema-${name}`) }, name))))));
  }
  const errs = arr(doc['x-error-codes']).filter((e) => isObj(e) && str(e.code));
  if (errs.length) {
    $('components').append(el('section', { class: 'group', id: 'tag-errors', 'aria-labelledby': 'errors-h' },
      el('h2', { id: 'errors-h' }, 'Error codes'),
      el('table', {}, el('thead', {}, el('tr', {}, ['code', 'status', 'meaning'].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, errs.map((e) => el('tr', {}, el('td', {}, el('code', {}, e.code)), el('td', {}, String(e.status)),
          el('td', {}, str(e.meaning) ? e.meaning : '')))))));
    toc.append(el('li', {}, el('a', { href: '#tag-errors' }, 'Error codes')));
  }
  $('toc').append(toc);
  $('toc').hidden = false;
  $('filter').disabled = false;
  applyFilter();
  if (location.hash) reveal(false);
}

function applyFilter() {
  const q = $('filter').value.trim().toLowerCase();
  const terms = q.split(/\s+/).filter(Boolean);
  let shown = 0;
  for (const o of ops) {
    o.node.hidden = o.toc.hidden = !terms.every((t) => o.search.includes(t));
    if (!o.node.hidden) shown++;
  }
  for (const g of groups) g.node.hidden = g.toc.hidden = g.ops.every((o) => o.node.hidden);
  $('components').hidden = terms.length > 0;
  $('message').className = '';
  $('message').textContent = !terms.length ? `${ops.length} operations in ${groups.length} groups.`
    : shown ? `${shown} of ${ops.length} operations match “${q}”.` : `No operation matches “${q}”.`;
}

// Opens and scrolls to the operation or schema that the #fragment names.
function reveal(focus) {
  let id;
  try { id = decodeURIComponent(location.hash.slice(1)); } catch { return; }
  const target = id && document.getElementById(id);
  if (!target) return;
  if (target.closest('[hidden]') && $('filter').value) { $('filter').value = ''; applyFilter(); }
  const o = byId.get(id);
  if (o) setOpen(o, true);
  target.scrollIntoView();
  if (focus && o) o.button.focus({ preventScroll: true });
}

let timer = 0;
$('filter').addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(applyFilter, 120); });
$('filter').addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && e.target.value) { e.preventDefault(); e.target.value = ''; applyFilter(); }
});
document.addEventListener('keydown', (e) => {
  const typing = e.target instanceof Element && e.target.closest('input, textarea, select, [contenteditable]');
  if (e.key === '/' && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
    e.preventDefault();
    $('filter').focus();
    $('filter').select();
  }
});
window.addEventListener('hashchange', () => reveal(true));

async function load() {
  $('message').textContent = 'Loading the API document…';
  $('retry').hidden = true;
  try {
    const res = await fetch('/api/v1/openapi.json', { headers: { Accept: 'application/json' }, cache: 'no-cache' })
      .catch(() => { throw new Error('the server could not be reached'); });
    if (!res.ok) throw new Error(`the server answered HTTP ${res.status}`);
    const doc = await res.json().catch(() => { throw new Error('the answer is not JSON'); });
    if (!isObj(doc) || !isObj(doc.paths)) throw new Error('the answer is not an OpenAPI document');
    render(doc);
  } catch (e) {
    $('message').className = 'error';
    $('message').textContent = `Could not load the API document: ${e.message}.`;
    $('retry').hidden = false;
  }
}
$('retry').addEventListener('click', load);
load();
