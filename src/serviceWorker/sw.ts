/**
 * The offline service worker: after the first visit the app opens with no network. Built by
 * scripts/serviceWorkerPlugin.ts, which fills in the build's file list and a version from their names.
 *
 * - install: precache the app shell (index.html) and every emitted asset (hashed names), in one
 *   versioned cache; activate removes the caches of older builds and takes over open tabs at once.
 * - index.html / navigations: network first (a new build is picked up when online), cache when offline.
 * - /assets/ (content-hashed, never change): cache first.
 * - other files of this origin (the demo recording): network first, kept for offline use.
 * Requests to other origins are left alone (the app makes none; the CSP forbids them).
 */
export {};

declare const self: ServiceWorkerGlobalScope;
declare const __PRECACHE__: string[];
declare const __VERSION__: string;

const PREFIX = "hdmea-web-";
const CACHE = `${PREFIX}${__VERSION__}`;
const scope = new URL(self.registration.scope);
const SHELL = new URL("./", scope).href;

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll([SHELL, ...__PRECACHE__.map((path) => new URL(path, scope).href)]);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== scope.origin) return;
  if (request.mode === "navigate" || url.href === SHELL || url.pathname.endsWith("/index.html")) {
    event.respondWith(networkFirst(request, SHELL));
  } else if (url.pathname.startsWith(`${scope.pathname}assets/`)) {
    event.respondWith(cacheFirst(request));
  } else {
    event.respondWith(networkFirst(request, request.url));
  }
});

async function cacheFirst(request: Request): Promise<Response> {
  const cached = await caches.match(request, { cacheName: CACHE });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) await (await caches.open(CACHE)).put(request, response.clone());
  return response;
}

/** `key`: navigations are all stored as the shell, whatever their query (`/?demo`). */
async function networkFirst(request: Request, key: string): Promise<Response> {
  try {
    const response = await fetch(request);
    if (response.ok && response.status === 200) await (await caches.open(CACHE)).put(key, response.clone());
    return response;
  } catch (error) {
    const cached = await caches.match(key, { cacheName: CACHE, ignoreSearch: key === SHELL });
    if (cached) return cached;
    throw error;
  }
}
