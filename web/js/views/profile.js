// My profile: name, bio, country, phone, language, avatar (a new picture previewed, uploaded,
// then set; or one picked from my gallery) and the finance profile the copilot uses.
import { api, mediaUrl, updateMe, upload } from '../api.js';
import { PHONE, busy, empty, field, h, toast, values } from '../dom.js';

const isImage = (m) => m.content_type.startsWith('image/') && m.content_type !== 'image/svg+xml';

// The images of my gallery as a choice of avatar: a radio button per picture.
function galleryPicker(items, current, onPick) {
  const images = items.filter((i) => isImage(i.media));
  const form = h('form', { class: 'stack', novalidate: true });
  if (!images.length) {
    form.append(h('fieldset', {}, h('legend', {}, 'From your gallery'),
      empty('No pictures in your gallery yet.'), h('a', { href: '/gallery' }, 'Add some to your gallery')));
    return form;
  }
  const choices = h('div', { class: 'picks' });
  for (const item of images) {
    const id = `pick-${item.media.id}`;
    const img = h('img', { alt: '', width: 64, height: 64 });
    mediaUrl(item.media.url).then((u) => { img.src = u; }).catch(() => { img.hidden = true; });
    choices.append(h('div', { class: 'pick' },
      h('input', { type: 'radio', name: 'avatar_media_id', id, value: item.media.id, required: true, checked: item.media.id === current }),
      h('label', { for: id }, img, h('span', {}, item.caption || item.media.name || 'Untitled picture'))));
  }
  form.append(h('fieldset', { class: 'field' }, h('legend', {}, 'Or pick one from your gallery'), choices),
    h('button', { class: 'button secondary', type: 'submit' }, 'Use the chosen picture'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, () => onPick(values(form).avatar_media_id));
  });
  return form;
}

const RISKS = [['', 'Not set'], ['conservative', 'Conservative'], ['moderate', 'Moderate'], ['aggressive', 'Aggressive']];

export async function render(main) {
  const [me, countries, gallery] = await Promise.all([api('/users/me'), api('/countries'), api('/gallery?limit=200')]);
  const fin = me.finance || {};
  const avatar = h('img', { class: 'avatar', alt: 'Your avatar', width: 96, height: 96, hidden: !me.avatar_url });
  let preview = null; // the object URL of a picked file, revoked when replaced or when the page goes
  const show = (u) => {
    if (!u.avatar_url) return;
    mediaUrl(u.avatar_url).then((src) => { avatar.src = src; avatar.hidden = false; }).catch(() => { avatar.hidden = true; });
  };
  const setAvatar = async (mediaId) => {
    const u = await api('/users/me', { method: 'PUT', body: { avatar_media_id: mediaId } });
    updateMe(u);
    show(u);
    toast('Your avatar is updated.');
  };
  show(me);
  const progress = h('progress', { max: 1, value: 0, hidden: true, 'aria-label': 'Avatar upload' });
  const file = h('input', { type: 'file', id: 'avatar-file', name: 'avatar', required: true, accept: 'image/png,image/jpeg,image/gif,image/webp' });
  const avatarForm = h('form', { class: 'stack', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'avatar-file' }, 'Choose a picture'), file),
    progress,
    h('button', { class: 'button secondary', type: 'submit' }, 'Use as avatar'));
  file.addEventListener('change', () => {
    const f = file.files[0];
    if (preview) URL.revokeObjectURL(preview);
    preview = f ? URL.createObjectURL(f) : null;
    if (preview) { avatar.src = preview; avatar.hidden = false; } // seen before it is sent
  });
  avatarForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = file.files[0];
    busy(avatarForm, async () => {
      progress.hidden = false;
      const m = await upload(f, 'private', (p) => { progress.value = p; });
      progress.hidden = true;
      await setAvatar(m.id);
    });
  });
  const picker = galleryPicker(gallery.items, me.avatar_media_id, setAvatar);

  const form = h('form', { class: 'stack', novalidate: true },
    field('Name', { name: 'name', value: me.name, autocomplete: 'name', required: true, maxlength: 100 }),
    field('About you', { name: 'bio', type: 'textarea', value: me.bio || '', maxlength: 1000, rows: 3 }),
    field('Country', { name: 'country', type: 'select', value: me.country || '',
      options: [['', 'Not set'], ...countries.map((c) => [c.code, `${c.name} (${c.dial_code})`])] }),
    field('Phone', { ...PHONE, name: 'phone', value: me.phone || '', autocomplete: 'tel', placeholder: '+5491122334455' }),
    field('Language', { name: 'locale', value: me.locale || '', placeholder: 'es-AR', maxlength: 35 }),
    h('fieldset', {}, h('legend', {}, 'Finance profile (for the copilot)'),
      field('Risk profile', { name: 'risk_profile', type: 'select', value: fin.risk_profile || '', options: RISKS }),
      field('Horizon (years)', { name: 'horizon_years', type: 'number', min: 0, max: 100, value: fin.horizon_years ?? '' }),
      field('Goals', { name: 'goals', type: 'textarea', value: fin.goals || '', rows: 2, maxlength: 2000 }),
      field('Monthly income', { name: 'monthly_income', type: 'number', min: 0, value: fin.monthly_income ?? '' })),
    h('button', { class: 'button', type: 'submit' }, 'Save profile'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = values(form);
    const finance = {};
    if (v.risk_profile) finance.risk_profile = v.risk_profile;
    if (v.horizon_years) finance.horizon_years = Number(v.horizon_years);
    if (v.goals) finance.goals = v.goals;
    if (v.monthly_income) finance.monthly_income = Number(v.monthly_income);
    const body = { name: v.name, bio: v.bio, country: v.country || null, phone: v.phone || null,
      locale: v.locale || null, finance: Object.keys(finance).length ? finance : null };
    busy(form, async () => {
      const u = await api('/users/me', { method: 'PUT', body });
      updateMe(u);
      toast('Your profile is saved.');
    });
  });

  main.append(h('h1', {}, 'Your profile'),
    h('p', { class: 'muted' }, me.email ? `${me.email} — ${me.email_verified ? 'confirmed' : 'not confirmed yet: follow the link we mailed you'}` : me.phone || ''),
    h('div', { class: 'columns' },
      h('section', { class: 'panel', 'aria-labelledby': 'avatar-title' }, h('h2', { id: 'avatar-title' }, 'Avatar'), avatar, avatarForm, picker),
      h('section', { class: 'panel', 'aria-labelledby': 'details-title' }, h('h2', { id: 'details-title' }, 'Details'), form)),
    h('p', {}, 'Signed-in devices, a copy of your data and closing your account: ', h('a', { href: '/account' }, 'Account')));
  return () => { if (preview) URL.revokeObjectURL(preview); };
}
