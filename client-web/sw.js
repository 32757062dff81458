// The service worker: the meeting's page images from Cache Storage (they are immutable,
// content-addressed), the app itself and the last answers of the API when the network is
// gone. Registered at the root scope, so it also sees /api/files/….
const PAGES = 'phonghop-pages-v1'; // page images and thumbnails: cache first, kept
const SHELL = 'phonghop-shell-v1'; // index.html, scripts, styles: network first
const API = 'phonghop-api-v1'; // the user's meetings and documents: network first
const KEEP = new Set([PAGES, SHELL, API]);
// Reads worth keeping for an offline reload; search and annotations are always live.
const API_READS = [/^\/api\/auth\/me$/, /^\/api\/meetings(\/\d+)?$/, /^\/api\/meetings\/\d+\/documents$/,
  /^\/api\/documents\/\d+$/];

self.addEventListener('install', () => self.skipWaiting());

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (!KEEP.has(name)) await caches.delete(name);
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname === '/ws') return;
  if (url.pathname.startsWith('/api/files/') && url.pathname.includes('/pages/')) {
    event.respondWith(cacheFirst(request));
  } else if (API_READS.some((pattern) => pattern.test(url.pathname)) && !url.search) {
    event.respondWith(networkFirst(request, API));
  } else if (!url.pathname.startsWith('/api/')) {
    event.respondWith(networkFirst(request, SHELL));
  }
});

async function cacheFirst(request) {
  const cache = await caches.open(PAGES);
  const hit = await cache.match(request, { ignoreVary: true });
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok && response.status === 200) await cache.put(request, response.clone());
  return response;
}

async function networkFirst(request, name) {
  const cache = await caches.open(name);
  try {
    const response = await fetch(request);
    if (response.ok && response.status === 200) await cache.put(request, response.clone());
    return response;
  } catch (error) {
    const hit = await cache.match(request, { ignoreVary: true })
      ?? (request.mode === 'navigate' ? await cache.match('/') : undefined);
    if (hit) return hit;
    throw error;
  }
}
