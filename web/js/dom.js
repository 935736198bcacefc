// DOM helpers. Everything from the network or the user goes in as text (textContent or
// attribute values), never as HTML.

// h('button', {class: 'x', onclick: fn, 'aria-label': '…'}, 'text', child, [more])
export function h(tag, attrs = {}, ...children) {
  const el = tag.includes(':') ? document.createElementNS('http://www.w3.org/2000/svg', tag.split(':')[1]) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.setAttribute('class', v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' || k === 'checked' || k === 'selected' || k === 'disabled' || k === 'hidden') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

let fieldSeq = 0;
// A labelled input: field('Email', {name: 'email', type: 'email', required: true})
export function field(label, attrs = {}, hint) {
  const id = attrs.id || `f${++fieldSeq}`;
  const control = attrs.type === 'textarea' ? h('textarea', { ...attrs, id, type: undefined })
    : attrs.type === 'select' ? h('select', { ...attrs, id, type: undefined, options: undefined },
      (attrs.options || []).map(([value, text]) => h('option', { value, selected: String(attrs.value ?? '') === String(value) }, text)))
      : h('input', { ...attrs, id });
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl);
}

// Shows an API error next to the field it names, or at the top of the form.
export function showError(form, err) {
  clearErrors(form);
  const name = err && err.field;
  const input = name ? form.querySelector(`[name="${CSS.escape(name)}"]`) : null;
  const text = (err && err.message) || 'Something went wrong.';
  if (input) {
    const p = h('p', { class: 'field-error', id: `${input.id}-error` }, text);
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', [input.getAttribute('aria-describedby'), p.id].filter(Boolean).join(' '));
    input.closest('.field').append(p);
    input.focus();
  } else {
    form.prepend(h('p', { class: 'form-error', role: 'alert' }, text));
  }
}

export function clearErrors(form) {
  form.querySelectorAll('.field-error, .form-error').forEach((e) => e.remove());
  form.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
}

// Runs fn while the form's submit button shows it is busy; errors go next to their field.
export async function busy(form, fn) {
  const button = form.querySelector('[type=submit]');
  clearErrors(form);
  if (button) { button.disabled = true; button.setAttribute('aria-busy', 'true'); }
  try {
    return await fn();
  } catch (e) {
    showError(form, e);
    return undefined;
  } finally {
    if (button) { button.disabled = false; button.removeAttribute('aria-busy'); }
  }
}

export function values(form) {
  const out = {};
  for (const [k, v] of new FormData(form).entries()) if (typeof v === 'string') out[k] = v.trim();
  return out;
}

export function toast(text) {
  const t = document.getElementById('toast');
  t.textContent = text;
  t.classList.add('show');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove('show'), 4000);
}

export const loading = (what = 'Loading…') => h('p', { class: 'muted loading', role: 'status' }, what);
export const empty = (what) => h('p', { class: 'empty muted' }, what);

export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}
