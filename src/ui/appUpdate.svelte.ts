/**
 * The offline service worker's registration, and the "a new version is available — reload" offer.
 * A deployed copy that is updated on the server installs its new service worker in the background;
 * the new version waits (the open tab keeps the files it runs on) until the user reloads through
 * this offer. Unsaved work is protected by the page's leave-page prompt as for any reload.
 */
import { appUrl } from "../worker/appUrl.ts";

export class AppUpdate {
  /** A new version is installed and waiting for the page to reload into it. */
  available = $state(false);
  private waiting: ServiceWorker | null = null;

  /** Production builds only: the dev server has no sw.js. */
  async register(): Promise<void> {
    if (!("serviceWorker" in navigator)) return;
    // Scope: the folder the app is served from, so a copy in another folder is a separate app.
    const registration = await navigator.serviceWorker.register(appUrl("sw.js"), { scope: appUrl("./") });
    const hadController = navigator.serviceWorker.controller !== null;
    const offer = (worker: ServiceWorker | null) => {
      // Without a controller this is the first install, which takes over by itself.
      if (!worker || !hadController) return;
      this.waiting = worker;
      this.available = true;
    };
    if (registration.waiting) offer(registration.waiting);
    registration.addEventListener("updatefound", () => {
      const installing = registration.installing;
      installing?.addEventListener("statechange", () => {
        if (installing.state === "installed") offer(registration.waiting ?? installing);
      });
    });
    // Check for a new deployment now and then while the app stays open (installed apps rarely reload).
    setInterval(() => void registration.update().catch(() => undefined), 60 * 60 * 1000);
  }

  /** Lets the waiting version take over, then reloads into it. */
  reload(): void {
    if (!this.waiting) return;
    navigator.serviceWorker.addEventListener("controllerchange", () => location.reload(), { once: true });
    this.waiting.postMessage("skip-waiting");
  }
}
