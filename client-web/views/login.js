// Sign in: user name and password (POST /api/auth/login).
import { h } from '../dom.js';
import { icon } from '../icons.js';
import { describeError } from '../status.js';

export class LoginView {
  name = 'login';

  constructor(app) {
    this.app = app;
  }

  async mount(root) {
    const t = (key) => this.app.i18n.t(key);
    this.app.setTitle(t('login.title'));
    const username = h('input', { id: 'login-username', name: 'username', autocomplete: 'username',
      autocapitalize: 'none', spellcheck: 'false', required: true });
    const password = h('input', { id: 'login-password', name: 'password', type: 'password',
      autocomplete: 'current-password', required: true });
    const message = h('p', { class: 'form-error', role: 'alert', hidden: true });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, t('login.submit'));
    const form = h('form', { class: 'login-form', novalidate: true },
      field('login-username', t('login.username'), username),
      field('login-password', t('login.password'), password),
      message, submit);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (!username.value.trim() || !password.value) {
        message.textContent = t('login.missing');
        message.hidden = false;
        return;
      }
      submit.disabled = true;
      message.hidden = true;
      try {
        await this.app.signIn(username.value.trim(), password.value);
        this.app.status.clear();
      } catch (error) {
        message.textContent = describeError(this.app.i18n, error, 'login.failed');
        message.hidden = false;
        submit.disabled = false;
        password.select();
      }
    });
    root.append(h('div', { class: 'login-page' },
      h('section', { class: 'login-card', 'aria-labelledby': 'login-heading' },
        h('div', { class: 'login-emblem' }, icon('star', { filled: true })),
        h('p', { class: 'login-kicker' }, t('app.tagline')),
        h('h1', { id: 'login-heading' }, t('login.heading')),
        h('p', { class: 'login-lead' }, t('login.lead')),
        form),
      h('p', { class: 'login-foot' }, t('login.foot'))));
    username.focus();
  }

  destroy() {}
}

export function field(id, label, control, hint) {
  return h('div', { class: 'field' },
    h('label', { for: id }, label), control, hint ? h('p', { class: 'field-hint' }, hint) : null);
}
