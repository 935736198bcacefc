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

// The rules for a phone number (E.164, as the server checks it), for field() attributes.
export const PHONE = { type: 'tel', pattern: '\\+[1-9][0-9]{7,14}',
  'data-message': 'Use the international form: + and the country code, then the number, e.g. +5491122334455.' };

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

// Marks one control as wrong: the message goes beside it, named by aria-describedby.
function markField(input, text) {
  if (!input.id) input.id = `f${++fieldSeq}`;
  const p = h('p', { class: 'field-error', id: `${input.id}-error` }, text);
  input.setAttribute('aria-invalid', 'true');
  input.setAttribute('aria-describedby', [input.getAttribute('aria-describedby'), p.id].filter(Boolean).join(' '));
  (input.closest('.field') || input.parentElement).append(p);
}

// Shows an API error next to the field it names, or at the top of the form.
export function showError(form, err) {
  clearErrors(form);
  const name = err && err.field;
  const input = name ? form.querySelector(`[name="${CSS.escape(name)}"]`) : null;
  const text = (err && err.message) || 'Something went wrong.';
  if (input) {
    markField(input, text);
    input.focus();
  } else {
    form.prepend(h('p', { class: 'form-error', role: 'alert' }, text));
  }
}

export function clearErrors(form) {
  form.querySelectorAll('.field-error').forEach((e) => {
    const input = form.querySelector(`[aria-describedby~="${CSS.escape(e.id)}"]`);
    if (input) {
      const rest = input.getAttribute('aria-describedby').split(' ').filter((id) => id !== e.id).join(' ');
      if (rest) input.setAttribute('aria-describedby', rest);
      else input.removeAttribute('aria-describedby');
    }
    e.remove();
  });
  form.querySelectorAll('.form-error').forEach((e) => e.remove());
  form.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
}

// What is wrong with one control by its own rules (required, type, length, pattern, range),
// or null. Lengths are counted here: the browser counts them only after typing.
function problem(c) {
  const v = c.validity;
  const typed = !['checkbox', 'radio', 'file'].includes(c.type);
  const value = typed ? String(c.value || '').trim() : '';
  if (v.badInput) return 'Enter a number.'; // what was typed is not one (the value reads as empty)
  if (v.valueMissing || (c.required && typed && !value)) {
    if (c.type === 'file') return 'Choose a file.';
    if (c.type === 'checkbox') return 'Tick this box to go on.';
    if (c.type === 'radio' || c.tagName === 'SELECT') return 'Choose one.';
    return 'This is required.';
  }
  if (!value) return null;
  if (v.typeMismatch && c.type === 'email') return 'Enter an email address, like name@example.com.';
  if (v.typeMismatch) return 'This is not in the expected form.';
  if (v.stepMismatch) return 'Enter a whole number.';
  if (c.minLength > 0 && value.length < c.minLength) return `Use at least ${c.minLength} characters.`;
  if (c.maxLength > 0 && value.length > c.maxLength) return `Use at most ${c.maxLength} characters.`;
  if (v.patternMismatch) return c.dataset.message || 'This is not in the expected form.';
  if (v.rangeUnderflow) return `The least is ${c.min}.`;
  if (v.rangeOverflow) return `The most is ${c.max}.`;
  return null;
}

// Checks every control of the form at once and marks each bad one, so a person sees all
// there is to fix in one go; true when all is well.
export function validate(form) {
  clearErrors(form);
  const bad = [];
  const radios = new Set(); // a group of radio buttons is one question: one mark
  for (const c of form.querySelectorAll('input, select, textarea')) {
    if (c.disabled || !c.name || c.closest('[hidden]')) continue;
    if (c.type === 'radio') {
      if (radios.has(c.name)) continue;
      radios.add(c.name);
    }
    const text = problem(c);
    if (text) { markField(c, text); bad.push(c); }
  }
  if (!bad.length) return true;
  form.prepend(h('p', { class: 'form-error', role: 'alert' },
    bad.length === 1 ? 'One field needs fixing.' : `${bad.length} fields need fixing.`));
  bad[0].focus();
  return false;
}

// Checks the form, then runs fn while the form's submit button shows it is busy; errors go
// next to their field.
export async function busy(form, fn) {
  if (!validate(form)) return undefined;
  const button = form.querySelector('[type=submit]');
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
