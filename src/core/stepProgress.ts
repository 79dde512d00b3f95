/**
 * Progress and cancellation for one step. Steps call `await progress.update(fraction, message)` in
 * their loops; that call
 *
 * - throws StepCancelled once the AbortSignal has fired,
 * - forwards the progress only if the fraction did not go backwards (fractions are monotonic),
 * - yields to the event loop every `yieldEveryMs`, because a step running in a Web Worker would
 *   otherwise never see the abort message (or let a progress message out) until it finished.
 */

/** Thrown when the AbortSignal fires; the step's work is discarded. */
export class StepCancelled extends Error {
  override name = "AbortError";
  constructor(message = "cancelled") {
    super(message);
  }
}

export type ProgressFn = (fraction: number, message: string) => void;

export class StepProgress {
  private last = 0;
  private lastYield = Date.now();

  constructor(
    private readonly onProgress: ProgressFn = () => {},
    private readonly signal?: AbortSignal,
    private readonly yieldEveryMs = 30,
  ) {}

  /** Fraction last reported (0–1). */
  get fraction(): number {
    return this.last;
  }

  throwIfCancelled(): void {
    if (this.signal?.aborted) throw new StepCancelled(abortMessage(this.signal));
  }

  async update(fraction: number, message: string): Promise<void> {
    this.throwIfCancelled();
    const f = Math.min(1, Math.max(this.last, fraction));
    this.last = f;
    this.onProgress(f, message);
    if (Date.now() - this.lastYield >= this.yieldEveryMs) {
      await new Promise<void>((resolve) => setTimeout(resolve, 0));
      this.lastYield = Date.now();
      this.throwIfCancelled();
    }
  }
}

function abortMessage(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name !== "AbortError") return `cancelled: ${reason.message}`;
  return typeof reason === "string" ? `cancelled: ${reason}` : "cancelled";
}
