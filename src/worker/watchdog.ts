/**
 * The page's side of the heartbeats (`activity.ts`): while calls are in flight, a worker that sends
 * no heartbeat for the longest of their time limits is declared hung. h5wasm cannot be interrupted,
 * so a loop inside HDF5 (a damaged file) would otherwise keep the page busy until it is reloaded.
 */
import type { Heartbeat } from "./activity.ts";

/** Silence that counts as hung, unless a call asks for longer (a known long read). */
export const DEFAULT_HUNG_AFTER_MS = 60_000;

export interface HungReport {
  /** What the page asked for, e.g. `Opening files`. */
  call: string;
  /** The last heartbeat before the silence (undefined if the call never sent one). */
  last: Heartbeat | undefined;
  silentMs: number;
}

interface Watched {
  what: string;
  limitMs: number;
}

export class Watchdog {
  private readonly calls = new Set<Watched>();
  private lastProgressAt = 0;
  private last: Heartbeat | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Added to every limit while a fresh worker loads its engine (one long step, no heartbeat). */
  private startAllowanceMs = 0;

  constructor(private readonly onHung: (report: HungReport) => void) {}

  /**
   * A call starts; returns its end. `limitMs` is its own time limit without progress. The silence
   * is measured from the last heartbeat, or from when calls started after an idle spell.
   */
  watch(what: string, limitMs: number): () => void {
    const call = { what, limitMs };
    if (this.calls.size === 0) {
      this.lastProgressAt = Date.now();
      this.last = undefined;
    }
    this.calls.add(call);
    this.schedule();
    return () => {
      this.calls.delete(call);
      this.schedule();
    };
  }

  beat(heartbeat: Heartbeat): void {
    this.lastProgressAt = Date.now();
    this.last = heartbeat;
    this.schedule();
  }

  /** A fresh worker is starting: limits get `allowanceMs` more until `started()`. */
  starting(allowanceMs: number): void {
    this.startAllowanceMs = allowanceMs;
    this.schedule();
  }

  started(): void {
    this.startAllowanceMs = 0;
    this.schedule();
  }

  /** Forget everything (the worker was replaced). */
  reset(): void {
    this.calls.clear();
    this.last = undefined;
    this.schedule();
  }

  private limit(): { limitMs: number; what: string } | undefined {
    let longest: Watched | undefined;
    for (const call of this.calls) if (!longest || call.limitMs > longest.limitMs) longest = call;
    return longest && { what: longest.what, limitMs: longest.limitMs + this.startAllowanceMs };
  }

  private schedule(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const longest = this.limit();
    if (!longest) return;
    const due = this.lastProgressAt + longest.limitMs - Date.now();
    this.timer = setTimeout(() => this.check(), Math.max(0, due));
  }

  private check(): void {
    this.timer = undefined;
    const longest = this.limit();
    if (!longest) return;
    const silentMs = Date.now() - this.lastProgressAt;
    if (silentMs < longest.limitMs) {
      this.schedule();
      return;
    }
    // The oldest call in flight is the one that hung: later ones queue behind it in the worker.
    const first = this.calls.values().next().value!;
    const report = { call: first.what, last: this.last, silentMs };
    this.reset();
    this.onHung(report);
  }
}

/** "demo-.cmtr hung while reading units 12/60 (Opening files): no progress for 60 s". */
export function hungMessage(report: HungReport): string {
  const seconds = Math.round(report.silentMs / 1000);
  const where = report.last
    ? `${report.last.file ? `${report.last.file}, ` : ""}step “${report.last.step}”`
    : "before its first progress report";
  return `the processing worker stopped responding: no progress for ${seconds} s at ${where} (${report.call.toLowerCase()})`;
}
