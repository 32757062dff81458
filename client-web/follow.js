// Follow the presenter: the banner that says where the presenter is, the presenter's
// controls (present, laser pointer) and the rules between them.
//
// A follower turns with every `presentation.changed`, zoom included. Paging away by hand
// stops following (and tells the chair, through presence); one tap brings the tablet
// back. The presenter's page turns and zoom become `presentation.show`.
import { h } from './dom.js';
import { icon } from './icons.js';

const VIEW_DELAY_MS = 200; // zoom and scroll settle before they are presented
const POINTER_INTERVAL_MS = 40; // the server forwards at most 30 a second

export class FollowController {
  #i18n;
  #me;
  #role;
  #names;
  #viewer;
  #send;
  #navigate;
  #state = null;
  #following = true;
  #presenting = false;
  #laser = false;
  #applying = 0;
  #viewTimer = 0;
  #lastPointer = 0;
  #pointerAt = null;
  #pointerTimer = 0;
  #followers = null; // {n, of}, for the presenter's banner
  #els = {};

  /**
   * `send(cmd, args)` → Promise of a command; `navigate(documentId, page, view)` opens a
   * page for the follower; `names` maps user ids to full names.
   */
  constructor({ i18n, me, role, names, viewer, send, navigate, following = true }) {
    this.#i18n = i18n;
    this.#me = me;
    this.#role = role;
    this.#names = names;
    this.#viewer = viewer;
    this.#send = send;
    this.#navigate = navigate;
    this.#following = following;
    const t = (key) => i18n.t(key);
    this.#els.text = h('span', { class: 'follow-text', 'data-testid': 'follow-text' });
    this.#els.back = h('button', { type: 'button', class: 'btn btn-primary follow-back', 'data-testid': 'follow-back',
      onclick: () => this.follow() }, icon('follow'), h('span', {}, t('follow.back')));
    this.#els.count = h('span', { class: 'follow-count', 'data-testid': 'follow-count' });
    this.banner = h('div', { class: 'follow-banner', role: 'status', 'aria-live': 'polite', hidden: true,
      'data-testid': 'follow-banner' }, h('span', { class: 'follow-dot', 'aria-hidden': 'true' }),
    this.#els.text, this.#els.count, this.#els.back);
    this.#els.present = h('button', { type: 'button', class: 'btn btn-present', 'aria-pressed': 'false',
      'data-testid': 'present', onclick: () => this.togglePresenting() },
    icon('present'), h('span', { class: 'btn-present-text' }));
    this.#els.laser = h('button', { type: 'button', class: 'btn btn-icon', 'aria-pressed': 'false',
      'aria-label': t('follow.laser'), title: t('follow.laser'), 'data-testid': 'laser',
      onclick: () => this.#setLaser(!this.#laser) }, icon('laser'));
    this.controls = h('div', { class: 'tool-group presenter-controls', hidden: true },
      this.#els.present, this.#els.laser);
    this.#els.dot = h('div', { class: 'laser-dot', hidden: true, 'aria-hidden': 'true' });
    viewer.frame.append(this.#els.dot);
    viewer.frame.addEventListener('pointermove', (event) => this.#movePointer(event));
    viewer.frame.addEventListener('pointerleave', () => this.#hidePointer());
    this.#render();
  }

  get state() { return this.#state; }
  get following() { return this.#following; }
  get presenting() { return this.#presenting; }
  /** While the program turns the page for the presenter, page changes are not the user's. */
  get applying() { return this.#applying > 0; }

  /** Can I present right now? The chair always can (and takes the role back). */
  get canPresent() {
    if (this.#role === 'chair') return true;
    return this.#state?.presenter_id === this.#me;
  }

  #isPresenterNow() {
    const state = this.#state;
    if (!state) return this.#role === 'chair';
    return state.presenter_id === this.#me || (state.presenter_id === null && this.#role === 'chair');
  }

  /** A new presentation state, from a join or an event. */
  async apply(state, { initial = false } = {}) {
    this.#state = state;
    if (this.#presenting && !this.#isPresenterNow()) this.#presenting = false; // handed over
    this.#render();
    if (this.#presenting || !this.#following || !state?.document_id) return;
    if (initial || !this.#onPresentersPage()) await this.#goToPresenter();
    else this.#applyView();
  }

  async follow() {
    this.#following = true;
    this.#render();
    this.#sendPresence();
    await this.#goToPresenter();
    this.#viewer.focus();
  }

  /** The user turned the page (or opened another document) by hand. */
  pageChanged(document, page) {
    if (this.#applying) return;
    if (this.#presenting) {
      this.#present();
      return;
    }
    if (this.#following && this.#state?.document_id && !this.#onPresentersPage()) {
      this.#following = false;
      this.#render();
    }
    this.#sendPresence(document?.id, page);
  }

  /** The user zoomed or fitted the page. */
  viewChanged() {
    if (this.#applying || !this.#presenting) return;
    clearTimeout(this.#viewTimer);
    this.#viewTimer = setTimeout(() => this.#present(), VIEW_DELAY_MS);
  }

  async togglePresenting() {
    if (this.#presenting) {
      this.#presenting = false;
      this.#setLaser(false);
      this.#render();
      return;
    }
    this.#presenting = true;
    this.#following = true;
    this.#render();
    await this.#present();
  }

  /** How many of the others follow (the presenter's banner says so). */
  setFollowers(count) {
    this.#followers = count;
    this.#render();
  }

  /** The laser pointer of the presenter, as others see it. */
  showPointer({ document_id: documentId, page, x, y, user_id: userId }) {
    const dot = this.#els.dot;
    const here = this.#viewer.document?.id === documentId && this.#viewer.page === page;
    if (userId === this.#me || !here || x === null || y === null) {
      dot.hidden = true;
      return;
    }
    dot.hidden = false;
    dot.style.left = `${x * 100}%`;
    dot.style.top = `${y * 100}%`;
  }

  relabel() { this.#render(); }

  destroy() {
    clearTimeout(this.#viewTimer);
  }

  // ---- inside ---------------------------------------------------------------------

  #onPresentersPage() {
    const state = this.#state;
    return this.#viewer.document?.id === state?.document_id && this.#viewer.page === state?.page;
  }

  async #goToPresenter() {
    const state = this.#state;
    if (!state?.document_id) return;
    this.#applying += 1;
    try {
      await this.#navigate(state.document_id, state.page);
      this.#applyView();
    } finally {
      this.#applying -= 1;
    }
    this.#render();
  }

  #applyView() {
    const state = this.#state;
    this.#applying += 1;
    try {
      this.#viewer.setView(state.zoom ?? 1, state.viewport ?? null);
    } finally {
      this.#applying -= 1;
    }
  }

  async #present() {
    const viewer = this.#viewer;
    if (!viewer.document) return;
    const zoom = Math.round(Math.min(8, Math.max(0.25, viewer.zoom)) * 100) / 100;
    const args = { document_id: viewer.document.id, page: viewer.page, zoom,
      viewport: Math.abs(zoom - 1) < 0.01 ? null : viewer.viewport };
    try {
      const result = await this.#send('presentation.show', args);
      if (result?.presentation) {
        this.#state = result.presentation;
        this.#render();
      }
    } catch (error) {
      this.#presenting = false;
      this.#render();
      throw error;
    }
  }

  #sendPresence(documentId = this.#viewer.document?.id, page = this.#viewer.page) {
    this.#send('presence.update', { following: this.#following, document_id: documentId ?? null,
      page: documentId ? page : null }).catch(() => {});
  }

  #setLaser(on) {
    this.#laser = on && this.#presenting;
    this.#els.laser.setAttribute('aria-pressed', String(this.#laser));
    this.#viewer.frame.classList.toggle('is-laser', this.#laser);
    if (!this.#laser) this.#hidePointer();
  }

  #movePointer(event) {
    if (!this.#laser || !this.#viewer.document) return;
    const rect = this.#viewer.frame.getBoundingClientRect();
    this.#pointerAt = [clamp01((event.clientX - rect.left) / rect.width),
      clamp01((event.clientY - rect.top) / rect.height)];
    this.#schedulePointer();
  }

  /** Throttled, but the last position always goes out (trailing edge, and again if dropped). */
  #schedulePointer() {
    if (this.#pointerTimer) return;
    const wait = Math.max(0, POINTER_INTERVAL_MS - (performance.now() - this.#lastPointer));
    this.#pointerTimer = setTimeout(async () => {
      this.#pointerTimer = 0;
      if (!this.#laser || !this.#viewer.document || !this.#pointerAt) return;
      this.#lastPointer = performance.now();
      const at = this.#pointerAt;
      let result = null;
      try {
        result = await this.#send('presentation.pointer', { document_id: this.#viewer.document.id,
          page: this.#viewer.page, x: at[0], y: at[1] });
      } catch { /* ephemeral: the next move sends again */ }
      if (result?.dropped || (this.#pointerAt && this.#pointerAt !== at)) this.#schedulePointer();
    }, wait);
  }

  #hidePointer() {
    clearTimeout(this.#pointerTimer);
    this.#pointerTimer = 0;
    if (!this.#pointerAt || !this.#viewer.document) return;
    this.#pointerAt = null;
    this.#send('presentation.pointer', { document_id: this.#viewer.document.id,
      page: this.#viewer.page, x: null, y: null }).catch(() => {});
  }

  #presenterName() {
    const t = (key) => this.#i18n.t(key);
    const id = this.#state?.presenter_id;
    if (id === null || id === undefined) return t('follow.chair');
    if (id === this.#me) return t('follow.you');
    return this.#names.get(id) ?? t('follow.presenter');
  }

  #render() {
    const t = (key, vars) => this.#i18n.t(key, vars);
    const state = this.#state;
    const els = this.#els;
    const mine = this.#isPresenterNow();
    this.controls.hidden = !(this.#role === 'chair' || mine);
    els.present.setAttribute('aria-pressed', String(this.#presenting));
    els.present.querySelector('.btn-present-text').textContent =
      t(this.#presenting ? 'follow.stopPresenting' : 'follow.present');
    els.laser.hidden = !this.#presenting;
    els.laser.disabled = !this.#presenting;

    const banner = this.banner;
    if (this.#presenting) {
      banner.hidden = false;
      banner.dataset.mode = 'presenting';
      els.text.textContent = t('follow.youPresent', { page: state?.page ?? this.#viewer.page });
      els.back.hidden = true;
      els.count.hidden = !this.#followers;
      if (this.#followers) els.count.textContent = t('follow.followers', this.#followers);
      return;
    }
    els.count.hidden = true;
    if (!state?.document_id) {
      banner.hidden = true;
      return;
    }
    banner.hidden = false;
    const who = this.#presenterName();
    const sameDocument = this.#viewer.document?.id === state.document_id;
    if (this.#following) {
      banner.dataset.mode = 'following';
      els.text.textContent = t('follow.following', { who, page: state.page });
      els.back.hidden = true;
    } else {
      banner.dataset.mode = 'away';
      els.text.textContent = t(sameDocument ? 'follow.away' : 'follow.awayOther',
        { who, page: state.page });
      els.back.hidden = false;
    }
    banner.dataset.page = String(state.page);
  }
}

function clamp01(value) {
  return Math.round(Math.min(1, Math.max(0, value)) * 1e4) / 1e4;
}
