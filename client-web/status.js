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

/**
 * The truth about the meeting connection, in a few words: connecting, connected,
 * reconnecting in n s (counting down), offline. Also how many notes wait to be sent.
 */
export class ConnectionIndicator {
  #i18n;
  #connection;
  #timer = 0;
  #unsubscribe;
  #text;
  #outbox = 0;

  constructor(i18n, connection) {
    this.#i18n = i18n;
    this.#connection = connection;
    this.#text = h('span', { class: 'conn-text' });
    this.element = h('span', { class: 'conn-status', role: 'status', 'aria-live': 'polite',
      'data-testid': 'connection' }, h('span', { class: 'conn-dot', 'aria-hidden': 'true' }), this.#text);
    this.#unsubscribe = connection.onStatus(() => this.#render());
  }

  setOutbox(count) {
    this.#outbox = count;
    this.#render();
  }

  #render() {
    clearTimeout(this.#timer);
    const t = (key, vars) => this.#i18n.t(key, vars);
    const state = this.#connection.state;
    this.element.dataset.state = state;
    let text;
    if (state === 'reconnecting') {
      const n = this.#connection.retryIn;
      text = n > 0 ? t('conn.reconnecting', { n }) : t('conn.reconnectingNow');
      this.#timer = setTimeout(() => this.#render(), 1000);
    } else {
      text = t(`conn.${state === 'idle' ? 'connecting' : state}`);
    }
    if (this.#outbox) text = `${text} · ${t('conn.outbox', { n: this.#outbox })}`;
    this.#text.textContent = text;
    this.element.title = text;
  }

  destroy() {
    clearTimeout(this.#timer);
    this.#unsubscribe();
  }
}
