// The financial copilot: sessions, questions and answers, and the suggested allocation as a
// table and a bar chart (SVG built from numbers; no HTML from the answers).
import { api } from '../api.js';
import { busy, clear, empty, field, h, toast, values, when } from '../dom.js';
import { markdown } from '../markdown.js';

function allocation(p) {
  const rows = p.assets.map((a, i) => [a, p.weights[i]]);
  const table = h('table', { class: 'table' },
    h('caption', {}, `Suggested allocation (${p.risk_profile}; ${p.source})`),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Asset'), h('th', { scope: 'col' }, 'Weight'))),
    h('tbody', {}, rows.map(([a, w]) => h('tr', {}, h('td', {}, a), h('td', {}, `${(w * 100).toFixed(1)} %`)))));
  const bar = 28;
  const svg = h('svg:svg', { viewBox: `0 0 400 ${rows.length * bar}`, role: 'img', class: 'chart',
    'aria-label': rows.map(([a, w]) => `${a} ${(w * 100).toFixed(0)}%`).join(', ') });
  rows.forEach(([a, w], i) => {
    svg.append(h('svg:rect', { x: 150, y: i * bar + 4, width: Math.max(1, w * 240), height: bar - 8, rx: 3, class: `c${i % 6}` }));
    svg.append(h('svg:text', { x: 144, y: i * bar + bar / 2 + 5, 'text-anchor': 'end' }, a.length > 22 ? `${a.slice(0, 21)}…` : a));
    svg.append(h('svg:text', { x: 156 + w * 240, y: i * bar + bar / 2 + 5 }, `${(w * 100).toFixed(0)}%`));
  });
  return h('section', { class: 'panel', 'aria-label': 'Suggested allocation' }, table, svg);
}

function exchange(d) {
  const answer = h('div', { class: 'text' });
  if (d.output) answer.append(markdown(d.output));
  else answer.append(h('p', { class: 'error' }, d.status === 'failed' ? `Failed (${d.error}). ` : 'Waiting…'));
  return h('li', { class: 'qa' }, h('p', { class: 'q' }, h('strong', {}, 'You: '), d.input), answer);
}

export async function render(main, { params, go }) {
  main.append(h('h1', {}, 'Financial copilot'));
  if (!params.id) {
    const form = h('form', { class: 'inline-form', novalidate: true },
      field('Topic', { name: 'topic', maxlength: 200, placeholder: 'e.g. Saving for a house' }),
      h('button', { class: 'button', type: 'submit' }, 'New session'));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      busy(form, async () => {
        const s = await api('/copilot/sessions', { method: 'POST', body: values(form) });
        go(`/copilot/${s.id}`);
      });
    });
    const list = h('ul', { class: 'cards' });
    const sessions = await api('/copilot/sessions?limit=100');
    for (const s of sessions.items) {
      list.append(h('li', {}, h('h2', { class: 'h3' }, h('a', { href: `/copilot/${s.id}` }, s.topic || 'Untitled session')),
        h('p', {}, when(s.created_at))));
    }
    main.append(h('p', { class: 'lead' }, 'Ask about budgets, saving and investing; answers adapt to the finance profile in ',
      h('a', { href: '/profile' }, 'your profile'), '.'), form,
    sessions.items.length ? list : empty('No sessions yet.'));
    return;
  }
  const data = await api(`/copilot/sessions/${params.id}`);
  const log = h('ol', { class: 'qa-list', 'aria-label': 'Questions and answers' });
  const chart = h('div');
  const draw = (p) => { clear(chart); if (p) chart.append(allocation(p)); };
  draw(data.session.portfolio);
  for (const d of data.details) log.append(exchange(d));
  const form = h('form', { class: 'stack', novalidate: true },
    field('Your question', { name: 'input', type: 'textarea', rows: 3, required: true, maxlength: 8000 }),
    h('button', { class: 'button', type: 'submit' }, 'Ask'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const input = values(form).input;
    busy(form, async () => {
      const r = await api(`/copilot/sessions/${params.id}`, { method: 'POST', body: { input } });
      log.append(exchange({ input, output: r.output, status: 'answered' }));
      if (r.portfolio) draw(r.portfolio);
      form.reset();
      toast('Answered.');
    });
  });
  main.append(h('p', {}, h('a', { href: '/copilot' }, '← All sessions'), ' · ', data.session.topic || 'Untitled session'),
    chart, log, form);
}
