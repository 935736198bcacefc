// My profile: name, bio, country, phone, language, avatar (previewed, uploaded, then set)
// and the finance profile the copilot uses.
import { api, mediaUrl, updateMe, upload } from '../api.js';
import { PHONE, busy, field, h, toast, values } from '../dom.js';

const RISKS = [['', 'Not set'], ['conservative', 'Conservative'], ['moderate', 'Moderate'], ['aggressive', 'Aggressive']];

export async function render(main) {
  const [me, countries] = await Promise.all([api('/users/me'), api('/countries')]);
  const fin = me.finance || {};
  const avatar = h('img', { class: 'avatar', alt: 'Your avatar', width: 96, height: 96, hidden: !me.avatar_url });
  if (me.avatar_url) mediaUrl(me.avatar_url).then((u) => { avatar.src = u; }).catch(() => { avatar.hidden = true; });
  const progress = h('progress', { max: 1, value: 0, hidden: true, 'aria-label': 'Avatar upload' });
  const file = h('input', { type: 'file', id: 'avatar-file', name: 'avatar', required: true, accept: 'image/png,image/jpeg,image/gif,image/webp' });
  const avatarForm = h('form', { class: 'stack', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'avatar-file' }, 'Choose a picture'), file),
    progress,
    h('button', { class: 'button secondary', type: 'submit' }, 'Use as avatar'));
  file.addEventListener('change', () => {
    const f = file.files[0];
    if (f) { avatar.src = URL.createObjectURL(f); avatar.hidden = false; } // preview before it is sent
  });
  avatarForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = file.files[0];
    busy(avatarForm, async () => {
      progress.hidden = false;
      const m = await upload(f, 'private', (p) => { progress.value = p; });
      const u = await api('/users/me', { method: 'PUT', body: { avatar_media_id: m.id } });
      updateMe(u);
      progress.hidden = true;
      toast('Your avatar is updated.');
    });
  });

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
      h('section', { class: 'panel', 'aria-labelledby': 'avatar-title' }, h('h2', { id: 'avatar-title' }, 'Avatar'), avatar, avatarForm),
      h('section', { class: 'panel', 'aria-labelledby': 'details-title' }, h('h2', { id: 'details-title' }, 'Details'), form)));
}
