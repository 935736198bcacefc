// My gallery: upload with progress, a grid of pictures and files, delete. tile() also
// shows other people's items (without the delete button).
import { api, mediaUrl, upload } from '../api.js';
import { busy, clear, empty, field, h, loading, toast, values } from '../dom.js';

export function tile(item, onDelete) {
  const m = item.media;
  const visual = m.content_type.startsWith('image/') && m.content_type !== 'image/svg+xml'
    ? h('img', { alt: item.caption || m.name || 'Picture', loading: 'lazy' })
    : h('div', { class: 'file-chip' }, m.content_type);
  if (visual.tagName === 'IMG') mediaUrl(m.url).then((u) => { visual.src = u; }).catch(() => { visual.alt = 'Could not load'; });
  return h('li', { class: 'tile' },
    h('figure', {}, visual, h('figcaption', {}, item.caption || m.name || 'Untitled',
      h('span', { class: 'chip' }, m.visibility))),
    onDelete ? h('button', { type: 'button', class: 'button secondary small', 'aria-label': `Delete ${item.caption || m.name || 'this item'}`,
      onclick: () => onDelete(item) }, 'Delete') : null);
}

export async function render(main) {
  const grid = h('ul', { class: 'grid', 'aria-label': 'Gallery items' });
  const progress = h('progress', { max: 1, value: 0, hidden: true, 'aria-label': 'Upload progress' });
  const file = h('input', { type: 'file', id: 'gallery-file', name: 'file', required: true });
  const form = h('form', { class: 'stack row-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'gallery-file' }, 'File'), file),
    field('Caption', { name: 'caption', maxlength: 500 }),
    field('Who can see it', { name: 'visibility', type: 'select', value: 'private', options: [['private', 'Only me and my contacts'], ['public', 'Everyone']] }),
    progress,
    h('button', { class: 'button', type: 'submit' }, 'Upload'));

  async function load() {
    clear(grid).append(loading());
    const page = await api('/gallery?limit=200');
    clear(grid);
    if (!page.items.length) grid.append(h('li', {}, empty('Nothing here yet: upload a picture above.')));
    for (const item of page.items) grid.append(tile(item, remove));
  }
  async function remove(item) {
    if (!window.confirm(`Delete "${item.caption || item.media.name || 'this item'}" for good?`)) return;
    await api(`/media/${item.media.id}`, { method: 'DELETE' });
    toast('Deleted.');
    await load();
  }
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = file.files[0];
    const v = values(form);
    return busy(form, async () => {
      progress.hidden = false;
      progress.value = 0;
      const m = await upload(f, v.visibility, (p) => { progress.value = p; });
      await api('/gallery/media', { method: 'POST', body: { media_id: m.id, caption: v.caption } });
      progress.hidden = true;
      form.reset();
      toast('Uploaded.');
      await load();
    });
  });
  main.append(h('h1', {}, 'Gallery'),
    h('section', { class: 'panel', 'aria-labelledby': 'up-title' }, h('h2', { id: 'up-title' }, 'Add to your gallery'), form),
    h('section', { 'aria-labelledby': 'items-title' }, h('h2', { id: 'items-title' }, 'Your items'), grid));
  await load();
}
