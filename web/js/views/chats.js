// Chats with the assistant: a list, and one chat whose replies appear word by word as they
// stream; Stop cancels a reply (what came is kept). Messages written elsewhere (another tab,
// another device) arrive over the live connection and the list reorders itself; a message is
// shown once, by its id, however many ways it comes. Replies are rendered as safe Markdown;
// titles (named by the server after a chat's first message) only ever as plain text.
import { api, stream } from '../api.js';
import { busy, clear, empty, field, h, loading, toast, validate, values, when } from '../dom.js';
import { onLive } from '../live.js';
import { markdown, plain } from '../markdown.js';

const titleText = (c) => plain(c.title || '') || 'New chat';

function bubble(m) {
  const body = h('div', { class: 'text' });
  if (m.role === 'assistant') body.append(markdown(m.content));
  else body.textContent = m.content;
  return h('li', { class: `msg ${m.role}`, dataset: { id: m.id || '' } },
    h('p', { class: 'who' }, m.role === 'user' ? 'You' : 'Assistant',
      m.status === 'incomplete' ? h('span', { class: 'chip' }, 'stopped') : null),
    body);
}

export async function render(main, { params, go }) {
  const list = h('ul', { class: 'chat-list', 'aria-label': 'Your chats' });
  const side = h('aside', { class: 'side', 'aria-label': 'Chats' },
    h('button', { type: 'button', class: 'button', onclick: async () => {
      const c = await api('/chats', { method: 'POST', body: {} });
      go(`/chats/${c.id}`);
    } }, 'New chat'), list);
  const pane = h('section', { class: 'chat-pane', 'aria-label': 'Conversation' });
  main.append(h('h1', { class: 'sr-only-sm' }, 'Chats'), h('div', { class: 'chat' }, side, pane));

  // Read again after each reply, here or elsewhere: the first one names the chat and every
  // one moves it up (the server lists the newest chats first; here the last talked to come
  // first). The open chat's heading follows its entry (named, once shown).
  let named = null;
  const heard = new Map(); // chat id → the time of its latest message heard live
  const last = (c) => Math.max(Date.parse(c.updated_at) || 0, heard.get(c.id) || 0);
  const drawList = async () => {
    const chats = await api('/chats?limit=100');
    chats.items.sort((x, y) => last(y) - last(x));
    const focused = list.contains(document.activeElement) ? document.activeElement.getAttribute('href') : null;
    clear(list);
    for (const c of chats.items) {
      list.append(h('li', {}, h('a', { href: `/chats/${c.id}`, 'aria-current': c.id === params.id ? 'page' : undefined },
        titleText(c), h('span', { class: 'small muted' }, when(c.updated_at)))));
    }
    if (!chats.items.length) list.append(h('li', {}, empty('No chats yet.')));
    if (focused) list.querySelector(`a[href="${CSS.escape(focused)}"]`)?.focus(); // redrawn under the keyboard
    if (named) named(chats.items.find((c) => c.id === params.id) || await api(`/chats/${params.id}`));
  };
  // One drawing at a time; what comes meanwhile makes one more.
  let drawing = null;
  let again = false;
  const redraw = () => {
    if (drawing) { again = true; return; }
    drawing = drawList().catch(() => {}).finally(() => {
      drawing = null;
      if (again) { again = false; redraw(); }
    });
  };

  // Live events: any chat's message redraws the list; the open chat's wait in `early` until
  // its messages are shown. The subscription ends with the view (or with its page, if the
  // view is left before it is done loading).
  let opened = null;
  const early = [];
  const unlisten = onLive((ev) => {
    if (!list.isConnected) { unlisten(); return; }
    if (ev.type !== 'chat.message' && ev.type !== 'resync') return;
    redraw();
    if (ev.type === 'chat.message') {
      const at = Date.parse(ev.message && ev.message.created_at) || 0;
      heard.set(ev.chat_id, Math.max(at, heard.get(ev.chat_id) || 0));
    }
    if (ev.type === 'resync' || ev.chat_id === params.id) {
      if (opened) opened(ev);
      else early.push(ev);
    }
  });
  await drawList();
  if (!params.id) {
    pane.append(empty('Choose a chat, or start a new one.'));
    return unlisten;
  }

  const chat = await api(`/chats/${params.id}`);
  const title = h('h2', { id: 'chat-title' }, titleText(chat));
  const log = h('ol', { class: 'messages', 'aria-labelledby': 'chat-title' });
  const live = h('p', { class: 'sr-only', role: 'status', 'aria-live': 'polite' });
  const input = h('textarea', { id: 'composer', name: 'content', rows: 3, required: true, maxlength: 32000,
    placeholder: 'Ask anything… (Enter sends, Shift+Enter adds a line)' });
  const send = h('button', { class: 'button', type: 'submit' }, 'Send');
  const stop = h('button', { class: 'button secondary', type: 'button', hidden: true }, 'Stop');
  const composer = h('form', { class: 'composer', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'composer', class: 'sr-only' }, 'Your message'), input), send, stop);
  const rename = h('form', { class: 'inline-form', hidden: true, novalidate: true },
    field('Chat title', { name: 'title', value: chat.title, maxlength: 200 }),
    h('button', { class: 'button small', type: 'submit' }, 'Save'));
  const tools = h('div', { class: 'toolbar' },
    h('button', { type: 'button', class: 'button secondary small', onclick: () => { rename.hidden = !rename.hidden; if (!rename.hidden) rename.querySelector('input').focus(); } }, 'Rename'),
    h('button', { type: 'button', class: 'button secondary small', onclick: async () => {
      await api(`/chats/${chat.id}`, { method: 'DELETE' });
      toast('Chat archived.');
      go('/chats');
    } }, 'Archive'));
  rename.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(rename, async () => {
      const c = await api(`/chats/${chat.id}`, { method: 'PUT', body: { title: values(rename).title } });
      chat.title = c.title;
      title.textContent = titleText(c);
      rename.hidden = true;
      await drawList();
    });
  });
  pane.append(h('div', { class: 'chat-head' }, title, tools), rename, log, live, composer);

  named = (c) => {
    chat.title = c.title;
    title.textContent = titleText(c);
    if (rename.hidden) rename.querySelector('input').value = c.title;
  };
  const loadMessages = async () => {
    const msgs = await api(`/chats/${chat.id}/messages?limit=200`);
    clear(log);
    for (const m of msgs.items) log.append(bubble(m));
    if (!msgs.items.length) log.append(h('li', { class: 'hint-item' }, empty('Say hello to start.')));
  };
  log.append(loading('Loading messages…'));
  await loadMessages();

  let controller = null;
  // This tab's last exchange, shown before the server named its messages: each bubble takes
  // its id from the stream or from the live connection, whichever comes first; the other
  // then finds it known.
  let ours = null;
  const shown = (id) => log.querySelector(`li.msg[data-id="${CSS.escape(id)}"]`);
  const adopt = (li, id) => {
    const twin = shown(id);
    if (twin && twin !== li) twin.remove();
    li.dataset.id = id;
  };
  opened = (ev) => {
    if (ev.type === 'resync') {
      if (!controller) loadMessages().catch(() => {});
      return;
    }
    const m = ev.message;
    if (!m || !m.id || shown(m.id)) return;
    const own = ours && (m.role === 'user' ? ours.user : ours.reply);
    if (own && !own.dataset.id && own.isConnected && (m.role !== 'user' || own.querySelector('.text').textContent === m.content)) {
      if (m.role === 'user' || own.getAttribute('aria-busy')) adopt(own, m.id); // the stream is still writing it
      else own.replaceWith(bubble(m)); // a reply stopped here before its id came: what the server kept
      return;
    }
    const li = bubble(m);
    const last = log.lastElementChild;
    const atEnd = !last || last.getBoundingClientRect().top < window.innerHeight;
    log.querySelector('.hint-item')?.remove();
    log.append(li);
    live.textContent = m.role === 'user' ? 'New message.' : 'New reply.';
    if (atEnd) li.scrollIntoView({ block: 'end' });
  };
  early.splice(0).forEach(opened);
  composer.addEventListener('submit', (e) => {
    e.preventDefault();
    const content = input.value.trim();
    if (!content || controller || !validate(composer)) return;
    const hint = log.querySelector('.hint-item');
    if (hint) hint.remove();
    const mine = bubble({ role: 'user', content });
    log.append(mine);
    const reply = bubble({ role: 'assistant', content: '' });
    ours = { user: mine, reply };
    const text = reply.querySelector('.text');
    text.classList.add('streaming');
    reply.setAttribute('aria-busy', 'true');
    log.append(reply);
    controller = new AbortController();
    send.disabled = true;
    stop.hidden = false;
    let whole = '';
    let ended = 'stopped';
    busy(composer, async () => {
      input.value = ''; // not before: busy() checks the form first
      try {
        await stream(`/chats/${chat.id}/messages`, { content }, (name, data) => {
          if (name === 'message' && data.id) {
            adopt(mine, data.id);
          } else if (name === 'delta') {
            whole += data.text;
            text.textContent = whole; // plain while it streams; Markdown once whole
            reply.scrollIntoView({ block: 'end' });
          } else if (name === 'done') {
            ended = 'done';
            if (data.message_id) adopt(reply, data.message_id);
          } else if (name === 'error') {
            ended = 'error';
            if (data.message_id) adopt(reply, data.message_id);
            throw Object.assign(new Error(data.message), { code: data.code });
          }
        }, controller.signal);
      } catch (err) {
        if (err.name !== 'AbortError') throw err;
      } finally {
        clear(text).append(markdown(whole));
        text.classList.remove('streaming');
        reply.removeAttribute('aria-busy');
        if (ended !== 'done') reply.querySelector('.who').append(h('span', { class: 'chip' }, 'stopped'));
        live.textContent = ended === 'done' ? 'Reply complete.' : 'Reply stopped.';
        controller = null;
        send.disabled = false;
        stop.hidden = true;
        input.focus();
        redraw();
      }
    });
  });
  stop.addEventListener('click', () => { if (controller) controller.abort(); });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); composer.requestSubmit(); }
  });
  input.focus();
  return () => {
    unlisten();
    if (controller) controller.abort();
  };
}
