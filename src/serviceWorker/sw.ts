/**
 * The offline service worker: after the first visit the app opens with no network. Built by
 * scripts/serviceWorkerPlugin.ts, which fills in the build's file list and a version from their names.
 *
 * - install: precache the app shell (index.html), every emitted asset (hashed names) and the public
 *   files (manifest, icons, demo recording), in one versioned cache per scope; activate removes this
 *   scope's caches of older builds. A first install takes over at once; an update waits until the page
 *   asks (its "new version" prompt), so no open tab loses the files it runs on.
 * - index.html / navigations: network first (a new build is picked up when online), cache when offline.
 * - /assets/ (content-hashed, never change): cache first.
 * - other files in this scope (demo recording, manifest): network first, kept for offline use.
 * Requests outside the scope are left alone (another copy's folder, other origins: the CSP forbids them).
 */
export {};

declare const self: ServiceWorkerGlobalScope;
declare const __PRECACHE__: string[];
declare const __VERSION__: string;

const scope = new URL(self.registration.scope);
// Caches belong to the origin: the scope in the name keeps two copies of the app in two folders of
// one host from serving, or deleting, each other's files.
const PREFIX = `hdmea-web-${scope.pathname}-`;
const CACHE = `${PREFIX}${__VERSION__}`;
const SHELL = new URL("./", scope).href;

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll([SHELL, ...__PRECACHE__.map((path) => new URL(path, scope).href)]);
      // The first install takes over at once. An update waits for the page to say so ("a new version
      // is available — reload"): an open tab keeps running on the files it started with.
      if (!self.registration.active) await self.skipWaiting();
    })(),
  );
});

self.addEventListener("message", (event) => {
  if (event.data === "skip-waiting") void self.skipWaiting();
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
  if (request.method !== "GET" || !url.href.startsWith(scope.href)) return;
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
