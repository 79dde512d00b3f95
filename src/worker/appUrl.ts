/**
 * URLs of the app's own files (demo recording, stimulus files, service worker, manifest), resolved
 * against the page, never the origin: the same build is served from a host's root or from any folder
 * (`/lab/hdmea/`). Page-side only (the worker has no page to resolve against: it is handed URLs).
 */
export function appUrl(path: string): string {
  return new URL(path, appBase()).href;
}

/** The folder the app is served from, e.g. `https://host/lab/hdmea/` (query and file name dropped). */
export function appBase(): string {
  return new URL("./", globalThis.document?.baseURI ?? globalThis.location.href).href;
}
