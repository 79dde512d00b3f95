/**
 * A small note in localStorage, kept while this tab holds unsaved sessions, so the next visit can
 * tell that the last one ended (crash, closed tab, killed browser) with work that never reached a
 * file. The sessions themselves are gone with their worker; the note only names them, so the next
 * visit can offer their checkpoints.
 *
 * Each tab writes its own key and holds a Web Lock named after it for as long as it lives. A key
 * whose lock nobody holds belongs to a tab that is gone; a key whose lock is held is another open
 * tab's live work and is not offered for recovery.
 */
import { appBase } from "../worker/appUrl.ts";

// localStorage belongs to the origin: a copy of the app in a folder keeps notes of its own.
const folder = new URL(appBase()).pathname;
const PREFIX = folder === "/" ? "hdmea-web:unsaved:" : `hdmea-web:${folder}:unsaved:`;

export interface UnsavedEntry {
  /** The name the recordings list showed, e.g. `demo.cmcr + demo-.cmtr`. */
  name: string;
  /** Its checkpoint in browser storage would be `<datasetId>.h5`. */
  datasetId: string;
}

export interface UnsavedNote {
  entries: UnsavedEntry[];
  /** ISO time the note was last written (the last change to the set of unsaved sessions). */
  writtenAt: string;
}

const tabId = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
const key = PREFIX + tabId;

/** Holds this tab's lock until the page goes away (the promise never settles). */
function holdTabLock(): void {
  navigator.locks?.request(key, () => new Promise<never>(() => undefined)).catch(() => undefined);
}

function storage(): Storage | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined; // storage disabled: no recovery offers, nothing breaks
  }
}

/** Writes (or, with no entries, clears) this tab's note. */
export function recordUnsaved(entries: UnsavedEntry[]): void {
  const store = storage();
  if (!store) return;
  if (entries.length === 0) {
    store.removeItem(key);
    return;
  }
  const note: UnsavedNote = { entries, writtenAt: new Date().toISOString() };
  store.setItem(key, JSON.stringify(note));
}

/** Notes of earlier tabs that ended with unsaved work (not those of tabs still open). */
export async function previousUnsaved(): Promise<{ keys: string[]; entries: UnsavedEntry[]; writtenAt?: string }> {
  const store = storage();
  const found = { keys: [] as string[], entries: [] as UnsavedEntry[], writtenAt: undefined as string | undefined };
  if (!store) return found;
  const held = new Set((await navigator.locks?.query().catch(() => undefined))?.held?.map((l) => l.name) ?? []);
  for (let i = 0; i < store.length; i++) {
    const k = store.key(i);
    if (!k?.startsWith(PREFIX) || k === key || held.has(k)) continue;
    try {
      const note = JSON.parse(store.getItem(k) ?? "") as UnsavedNote;
      found.keys.push(k);
      for (const e of note.entries) if (!found.entries.some((f) => f.datasetId === e.datasetId)) found.entries.push(e);
      if (!found.writtenAt || note.writtenAt > found.writtenAt) found.writtenAt = note.writtenAt;
    } catch {
      found.keys.push(k); // unreadable: drop it with the others
    }
  }
  return found;
}

/** Forgets earlier tabs' notes once the user resumed or dismissed them. */
export function forgetNotes(keys: string[]): void {
  for (const k of keys) storage()?.removeItem(k);
}

holdTabLock();
