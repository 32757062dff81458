// Keeping a meeting's documents on the tablet before the session: every page at the width
// this device uses, and its thumbnail, in Cache Storage, where the service worker
// (sw.js) serves them from when the network is gone.
import { pageUrl, pickWidth } from './api.js';

export const PAGE_CACHE = 'phonghop-pages-v1';
const API_CACHE = 'phonghop-api-v1';
const THUMBNAIL_WIDTH = 200;
const PARALLEL = 4;

export class OfflineCache {
  #documents;
  #widths;
  #width;
  #onProgress;
  #stopped = false;

  /** `documents`: the meeting's DocumentOut list; `onProgress({ready, count})`. */
  constructor({ documents, pageWidths, width, onProgress }) {
    this.#documents = documents.filter((d) => d.state !== 'failed');
    this.#widths = pageWidths;
    this.#width = width;
    this.#onProgress = onProgress;
  }

  static get supported() {
    return 'caches' in window && 'serviceWorker' in navigator;
  }

  /** Register the service worker at the root scope (the app is served at "/"). */
  static register() {
    if (!('serviceWorker' in navigator)) return;
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((error) => console.warn(error));
  }

  /** Forget the API answers kept for offline use (signing out). */
  static async forgetSession() {
    if ('caches' in window) await caches.delete(API_CACHE).catch(() => {});
  }

  stop() { this.#stopped = true; }

  async run() {
    const cache = await caches.open(PAGE_CACHE);
    const thumb = pickWidth(this.#widths, THUMBNAIL_WIDTH);
    const pages = this.#documents.flatMap((d) => Array.from({ length: d.page_count }, (_, i) => ({
      urls: [...new Set([pageUrl(d, i + 1, this.#width), pageUrl(d, i + 1, thumb)])],
      ready: d.state === 'ready' || i < d.pages_ready,
    })));
    const progress = { ready: 0, count: pages.length };
    this.#onProgress({ ...progress });
    // The documents' details too, so they open after an offline reload.
    for (const d of this.#documents) {
      fetch(`/api/documents/${d.id}`, { credentials: 'same-origin' }).catch(() => {});
    }
    const queue = pages.filter((p) => p.ready);
    const worker = async () => {
      while (queue.length && !this.#stopped) {
        const page = queue.shift();
        try {
          for (const url of page.urls) await keep(cache, url);
          progress.ready += 1;
          if (!this.#stopped) this.#onProgress({ ...progress });
        } catch { /* the network went; the next visit completes it */ }
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    return progress;
  }
}

async function keep(cache, url) {
  if (await cache.match(url, { ignoreVary: true })) return;
  const response = await fetch(url, { credentials: 'same-origin' });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  await cache.put(url, response);
}
