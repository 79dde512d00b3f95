/**
 * Progress on stderr. On a terminal: one status line redrawn in place (at most 10 times a second),
 * with finished-work lines printed above it. Otherwise (a log file, a workflow engine): no redraws,
 * only the finished-work lines, one per step, so logs stay readable.
 */
import type { RunProgress } from "./processOne.ts";

export class StatusLine {
  private text = "";
  private lastDraw = 0;
  readonly tty: boolean;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.tty = Boolean(stream.isTTY);
  }

  /** Replaces the status line (terminal only); `force` draws even within the throttle interval. */
  set(text: string, force = false): void {
    if (!this.tty) return;
    this.text = text;
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.draw();
  }

  /** A line that stays. */
  log(line: string): void {
    if (this.tty) this.stream.write("\r\x1b[2K");
    this.stream.write(`${line}\n`);
    if (this.tty && this.text) this.draw();
  }

  clear(): void {
    if (this.tty && this.text) this.stream.write("\r\x1b[2K");
    this.text = "";
  }

  private draw(): void {
    const width = Math.max(20, (this.stream.columns || 100) - 1);
    this.stream.write(`\r\x1b[2K${this.text.length > width ? `${this.text.slice(0, width - 1)}…` : this.text}`);
  }
}

/** `[######------]  45% 2/5 section_spike_times · sectioned unit_003 · 0:12 elapsed, ~0:15 left` */
export function formatProgress(p: RunProgress, elapsedMs: number, barWidth = 24): string {
  const f = Math.min(1, Math.max(0, p.fraction));
  const filled = Math.round(f * barWidth);
  const bar = `[${"#".repeat(filled)}${"-".repeat(barWidth - filled)}]`;
  // Below 2 % the rate says nothing yet.
  const left = f >= 0.02 && f < 1 ? `, ~${clock((elapsedMs * (1 - f)) / f)} left` : "";
  return `${bar} ${String(Math.floor(f * 100)).padStart(3)}% ${p.index + 1}/${p.count} ${p.step} · ${p.message} · ${clock(elapsedMs)} elapsed${left}`;
}

/** m:ss, or h:mm:ss past an hour. */
export function clock(ms: number): string {
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}
