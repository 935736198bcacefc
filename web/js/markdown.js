// A small, safe Markdown renderer for model replies: it builds DOM nodes and sets only
// text, so nothing in a reply can become HTML. Supports paragraphs, # headings, - and 1.
// lists, ``` code blocks, `code`, **bold**, *italic* and [links](https://…) (http and https
// only, opened without a referrer). plain() turns Markdown into one line of plain text, for
// titles.
import { h } from './dom.js';

const INLINE = /(`[^`\n]+`)|(\*\*[^*\n]+\*\*)|(\*[^*\n]+\*)|(\[[^\]\n]+\]\((https?:\/\/[^\s)]+)\))/;

function inline(text) {
  const out = [];
  let rest = text;
  for (let m = INLINE.exec(rest); m; m = INLINE.exec(rest)) {
    if (m.index) out.push(rest.slice(0, m.index));
    const t = m[0];
    if (m[1]) out.push(h('code', {}, t.slice(1, -1)));
    else if (m[2]) out.push(h('strong', {}, inline(t.slice(2, -2))));
    else if (m[3]) out.push(h('em', {}, inline(t.slice(1, -1))));
    else {
      const label = t.slice(1, t.indexOf(']('));
      out.push(h('a', { href: m[5], rel: 'noopener noreferrer nofollow', target: '_blank' }, label));
    }
    rest = rest.slice(m.index + t.length);
  }
  if (rest) out.push(rest);
  return out;
}

export function markdown(text) {
  const root = document.createDocumentFragment();
  const lines = String(text).replace(/\r\n?/g, '\n').split('\n');
  let para = [];
  let list = null;
  const flush = () => {
    if (para.length) root.append(h('p', {}, inline(para.join(' '))));
    para = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('```')) {
      flush();
      list = null;
      const code = [];
      for (i++; i < lines.length && !lines[i].startsWith('```'); i++) code.push(lines[i]);
      root.append(h('pre', {}, h('code', {}, code.join('\n'))));
      continue;
    }
    const heading = /^(#{1,3})\s+(.*)$/.exec(line);
    const item = /^\s*(?:[-*]|(\d+)\.)\s+(.*)$/.exec(line);
    if (heading) {
      flush();
      list = null;
      root.append(h(`h${heading[1].length + 2}`, {}, inline(heading[2])));
    } else if (item) {
      flush();
      const tag = item[1] ? 'ol' : 'ul';
      if (!list || list.tagName.toLowerCase() !== tag) {
        list = h(tag);
        root.append(list);
      }
      list.append(h('li', {}, inline(item[2])));
    } else if (!line.trim()) {
      flush();
      list = null;
    } else {
      list = null;
      para.push(line.trim());
    }
  }
  flush();
  return root;
}

// Markdown to one line of plain text, for places such as chat titles that show text only:
// the markup goes (heading, quote and list marks, emphasis, code ticks, link targets), the
// words stay. A title is cut at a length, so an emphasis left unclosed loses its marks too.
export function plain(text) {
  return String(text)
    .replace(/!?\[([^\]\n]*)\]\([^)\n]*\)/g, '$1')
    .replace(/^[ \t]*(?:#{1,6}[ \t]+|>[ \t]?|[-*+][ \t]+|\d+\.[ \t]+)/gm, '')
    .replace(/(\*\*|__|~~)(?=\S)(.*?\S)\1/g, '$2')
    .replace(/\*(?=\S)(.*?\S)\*/g, '$1')
    .replace(/(^|\W)_(?=\S)(.*?\S)_(?!\w)/g, '$1$2')
    .replace(/`+([^`]*)`+/g, '$1')
    .replace(/\*\*+|__+|~~+|`+/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}
