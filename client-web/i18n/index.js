// Message catalogues and the formatting that depends on the language. The language is
// Vietnamese unless the user switched, and the choice is remembered in localStorage.
import en from './en.js';
import vi from './vi.js';

/** The time zone meeting times are shown in (Vietnam, UTC+7, no daylight saving). */
export const MEETING_TIME_ZONE = 'Asia/Ho_Chi_Minh';

const STORAGE_KEY = 'phonghop.lang';
export const LANGUAGES = Object.freeze(['vi', 'en']);
const LOCALES = Object.freeze({ vi: 'vi-VN', en: 'en-GB' });

// Catalogues are stored in NFC so that a string typed with combining marks (as some
// Vietnamese keyboards produce) still compares and renders as the composed form.
const CATALOGUES = Object.freeze({ vi: normalized(vi), en: normalized(en) });

export class I18n {
  #lang;
  #storage;
  #listeners = new Set();
  // Names are Vietnamese whatever the interface language: always collate them as such.
  #names = new Intl.Collator('vi', { sensitivity: 'base', numeric: true });

  constructor(storage) {
    this.#storage = storage;
    const saved = readStorage(storage);
    this.#lang = LANGUAGES.includes(saved) ? saved : 'vi';
  }

  get lang() { return this.#lang; }
  get locale() { return LOCALES[this.#lang]; }
  get other() { return this.#lang === 'vi' ? 'en' : 'vi'; }

  setLang(lang) {
    if (!LANGUAGES.includes(lang) || lang === this.#lang) return;
    this.#lang = lang;
    try { this.#storage.setItem(STORAGE_KEY, lang); } catch { /* private mode: not remembered */ }
    for (const listener of this.#listeners) listener(lang);
  }

  /** Subscribe to language changes; returns the function that unsubscribes. */
  onChange(listener) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The message `key`, with `{name}` placeholders filled from `vars`. */
  t(key, vars) {
    const text = CATALOGUES[this.#lang][key] ?? CATALOGUES.vi[key];
    if (text === undefined) {
      console.warn('missing message', key);
      return key;
    }
    if (!vars) return text;
    return text.replace(/\{(\w+)\}/g, (all, name) => (name in vars ? String(vars[name]) : all));
  }

  /** Compare two personal names in Vietnamese order (D < Đ < E, a < ă < â). */
  compareNames(a, b) {
    return this.#names.compare(a, b);
  }

  /**
   * Order people as a Vietnamese list does: by given name (the last word), then by the
   * whole name — "Lê Thị Hoa" comes before "Nguyễn Văn Minh".
   */
  comparePeople(a, b) {
    return this.#names.compare(givenName(a), givenName(b)) || this.#names.compare(a, b);
  }

  /**
   * Meetings happen in Vietnam: their times read in Vietnam's time on every device,
   * whatever zone a tablet (or a test browser) is set to.
   */
  dateTime(iso, options = { dateStyle: 'full', timeStyle: 'short' }) {
    if (!iso) return '';
    return new Intl.DateTimeFormat(this.locale, { ...options, timeZone: MEETING_TIME_ZONE })
      .format(new Date(iso));
  }

  /** When a meeting takes place: "Thứ Năm, 10 tháng 12, 2026 · 08:00 – 11:30". */
  meetingTime(startsAt, endsAt) {
    if (!startsAt) return '';
    const date = this.dateTime(startsAt, { dateStyle: 'full' });
    const day = (iso) => this.dateTime(iso, { dateStyle: 'short' });
    const sameDay = endsAt && day(endsAt) === day(startsAt);
    if (!endsAt) return `${date} · ${this.time(startsAt)}`;
    if (sameDay) return `${date} · ${this.time(startsAt)} – ${this.time(endsAt)}`;
    return `${date} · ${this.time(startsAt)} – ${this.dateTime(endsAt, { dateStyle: 'medium', timeStyle: 'short' })}`;
  }

  time(iso) {
    return this.dateTime(iso, { timeStyle: 'short' });
  }

  number(value) {
    return new Intl.NumberFormat(this.locale).format(value);
  }
}

function givenName(name) {
  const words = name.trim().split(/\s+/);
  return words[words.length - 1] ?? '';
}

function normalized(catalogue) {
  const out = {};
  for (const [key, text] of Object.entries(catalogue)) out[key] = text.normalize('NFC');
  return Object.freeze(out);
}

function readStorage(storage) {
  try { return storage.getItem(STORAGE_KEY); } catch { return null; }
}
