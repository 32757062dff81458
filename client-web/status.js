// The status line at the bottom of the screen: errors stay until dismissed or replaced,
// short confirmations fade by themselves.
import { h, replace } from './dom.js';
import { iconButton } from './icons.js';

const INFO_MS = 4000;

export class StatusLine {
  #i18n;
  #timer = 0;
  #text;
  #close;

  constructor(i18n) {
    this.#i18n = i18n;
    this.#text = h('span', { class: 'status-text', 'data-testid': 'status' });
    this.#close = iconButton('close', i18n.t('status.dismiss'), { onclick: () => this.clear() });
    this.element = h('footer', { class: 'statusline', role: 'status', 'aria-live': 'polite', hidden: true },
      this.#text, this.#close);
  }

  /** Labels follow the language. */
  relabel() {
    const label = this.#i18n.t('status.dismiss');
    this.#close.setAttribute('aria-label', label);
    this.#close.title = label;
  }

  show(message, kind = 'info') {
    clearTimeout(this.#timer);
    this.element.hidden = false;
    this.element.dataset.kind = kind;
    this.element.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    replace(this.#text, message);
    if (kind === 'info') this.#timer = setTimeout(() => this.clear(), INFO_MS);
  }

  /** An error from the API: our lead-in, then the server's own sentence as it is. */
  error(error, leadKey = 'error.lead') {
    this.show(describeError(this.#i18n, error, leadKey), 'error');
  }

  clear() {
    clearTimeout(this.#timer);
    this.element.hidden = true;
    replace(this.#text);
  }
}

export function describeError(i18n, error, leadKey = 'error.lead') {
  if (error?.isNetwork) return i18n.t('error.network');
  if (error?.name === 'ApiError') {
    const message = error.message || i18n.t('error.http', { status: error.status });
    return `${i18n.t(leadKey)} ${message}`;
  }
  console.error(error);
  return i18n.t('error.unexpected');
}
