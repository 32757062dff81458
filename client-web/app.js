// The application: the shell (top bar, view area, status line), the hash router and the
// session. Everything mutable lives in the App object; modules only export classes.
import { Api } from './api.js';
import { Connection } from './connection.js';
import { h, replace } from './dom.js';
import { I18n } from './i18n/index.js';
import { icon } from './icons.js';
import { OfflineCache } from './offline.js';
import { StatusLine, describeError } from './status.js';
import { LoginView } from './views/login.js';
import { MeetingsView } from './views/meetings.js';
import { PrepareView } from './views/prepare.js';
import { RoomView } from './views/room.js';

const ROUTES = Object.freeze([
  { path: /^\/login$/, View: LoginView, public: true },
  { path: /^\/meetings$/, View: MeetingsView },
  { path: /^\/meetings\/(\d+)$/, View: RoomView },
  { path: /^\/meetings\/(\d+)\/prepare$/, View: PrepareView },
]);
const HOME = '#/meetings';

export class App {
  #view = null;
  #rendering = 0;
  #connection = null;

  constructor(root, { storage = window.localStorage } = {}) {
    this.root = root;
    this.i18n = new I18n(storage);
    this.api = new Api({ onUnauthenticated: () => this.#sessionEnded() });
    this.user = null;
    this.context = h('div', { class: 'topbar-context' });
    this.actions = h('div', { class: 'topbar-actions' });
    this.main = h('main', { class: 'view', id: 'view', tabindex: '-1' });
    this.status = new StatusLine(this.i18n);
    this.topbar = h('header', { class: 'topbar' });
    replace(root, this.topbar, this.main, this.status.element);
  }

  async start() {
    window.addEventListener('hashchange', () => this.render());
    OfflineCache.register();
    this.i18n.onChange(() => this.render());
    try {
      this.user = (await this.api.me()).user;
    } catch (error) {
      if (error.status !== 401) this.status.error(error);
    }
    await this.render();
  }

  /** The current route: {path, query} from the location hash. */
  location() {
    const hash = window.location.hash.replace(/^#/, '') || '/';
    const [path, search = ''] = hash.split('?');
    return { path, query: new URLSearchParams(search) };
  }

  navigate(hash) {
    if (window.location.hash === hash) this.render();
    else window.location.hash = hash;
  }

  /** Change the query of the current route without re-rendering (e.g. the page shown). */
  replaceQuery(values) {
    const { path, query } = this.location();
    for (const [key, value] of Object.entries(values)) {
      if (value === null || value === undefined) query.delete(key);
      else query.set(key, String(value));
    }
    const search = query.toString();
    history.replaceState(history.state, '', `#${path}${search ? `?${search}` : ''}`);
  }

  /** The meeting websocket of the signed-in user, opened on first use. */
  get connection() {
    if (!this.#connection && this.user) {
      this.#connection = new Connection({ userKey: String(this.user.id) });
      this.#connection.open();
    }
    return this.#connection;
  }

  #closeConnection() {
    this.#connection?.close();
    this.#connection = null;
  }

  setTitle(text) {
    const name = this.i18n.t('app.name');
    document.title = text ? `${text} · ${name}` : name;
  }

  /** Put view-specific content (a back link, the meeting's title) into the top bar. */
  setContext(...nodes) {
    replace(this.context, nodes);
  }

  async signIn(username, password) {
    this.user = (await this.api.login(username, password)).user;
    const next = this.location().query.get('next');
    this.navigate(next && next.startsWith('/') ? `#${next}` : HOME);
  }

  async signOut() {
    try {
      await this.api.logout();
    } catch (error) {
      if (error.status !== 401) this.status.error(error);
    }
    this.user = null;
    this.#closeConnection();
    await OfflineCache.forgetSession();
    this.navigate('#/login');
  }

  async render() {
    const ticket = ++this.#rendering;
    const { path, query } = this.location();
    const match = ROUTES.map((route) => ({ route, found: route.path.exec(path) }))
      .find(({ found }) => found);
    if (!match) {
      this.navigate(this.user ? HOME : '#/login');
      return;
    }
    if (!match.route.public && !this.user) {
      this.navigate(`#/login?next=${encodeURIComponent(path + (query.size ? `?${query}` : ''))}`);
      return;
    }
    if (match.route.public && this.user) {
      this.navigate(HOME);
      return;
    }
    document.documentElement.lang = this.i18n.lang;
    this.#view?.destroy();
    this.#view = null;
    this.setContext();
    this.#renderTopbar();
    this.status.relabel();
    const view = new match.route.View(this, match.found.slice(1), query);
    this.#view = view;
    replace(this.main);
    this.main.className = `view view-${view.name}`;
    try {
      await view.mount(this.main);
    } catch (error) {
      if (error.name === 'AbortError' || ticket !== this.#rendering) return;
      this.status.error(error);
      // The view could not be built (a meeting that is gone, the network down): say so
      // in place of a page that would otherwise say "loading" for ever.
      replace(this.main, h('div', { class: 'page' }, h('div', { class: 'empty-state', role: 'alert' },
        icon('alert'), h('p', {}, describeError(this.i18n, error)),
        h('a', { class: 'btn btn-secondary', href: HOME }, this.i18n.t('room.back')))));
      return;
    }
    // Keyboard and screen-reader users start at the top of the new screen.
    if (ticket === this.#rendering && !this.main.contains(document.activeElement)) {
      this.main.focus({ preventScroll: true });
    }
  }

  #renderTopbar() {
    const t = (key, vars) => this.i18n.t(key, vars);
    const other = this.i18n.other;
    const language = h('button', {
      type: 'button', class: 'btn btn-topbar', lang: other, 'data-testid': 'language',
      'aria-label': t('lang.switchLabel'), title: t('lang.switchLabel'),
      onclick: () => this.i18n.setLang(other),
    }, icon('globe'), h('span', {}, t('lang.switch')));
    const user = this.user ? h('span', { class: 'topbar-user' },
      h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(this.user.full_name || this.user.username)),
      h('span', { class: 'topbar-user-name' }, this.user.full_name || this.user.username)) : null;
    const signOut = this.user ? h('button', {
      type: 'button', class: 'btn btn-topbar', 'aria-label': t('auth.signOut'), title: t('auth.signOut'),
      onclick: () => this.signOut(),
    }, icon('logout'), h('span', { class: 'btn-topbar-text' }, t('auth.signOut'))) : null;
    replace(this.actions, user, language, signOut);
    replace(this.topbar,
      h('a', { class: 'brand', href: this.user ? HOME : '#/login', 'aria-label': t('app.home') },
        h('span', { class: 'emblem' }, icon('star', { filled: true })),
        h('span', { class: 'brand-text' }, h('strong', {}, t('app.name')),
          h('small', {}, t('app.tagline')))),
      this.context, this.actions);
  }

  #sessionEnded() {
    if (!this.user) return;
    this.user = null;
    this.#closeConnection();
    this.status.show(this.i18n.t('auth.expired'), 'error');
    this.navigate(`#/login?next=${encodeURIComponent(this.location().path)}`);
  }
}

function initials(name) {
  const words = name.trim().split(/\s+/);
  const letters = words.length > 1 ? [words[words.length - 2], words[words.length - 1]] : words;
  return letters.map((word) => word.charAt(0)).join('').toUpperCase();
}
