/**
 * Main-thread jobs that would add up to a long task if run together (creating a uPlot, drawing a
 * plot's new data, painting the electrode map) wait here and run in their own task: a few back to
 * back while they stay within a small budget, then the queue yields so the browser can lay out,
 * paint and take input before the next one. When a session's views appear at 1,000 units, eight
 * plots arriving in one worker reply were one 80–150 ms task; one at a time they are 5–20 ms each.
 */

/** Past this much work in one task the queue lets the browser in (well under the 50 ms of a long task). */
const BUDGET_MS = 8;

interface Job {
  run: () => void;
  cancelled: boolean;
}

const queue: Job[] = [];
let scheduled = false;

/** Runs `run` in a later task, in the order asked; the returned function cancels it if it has not run. */
export function inOwnTask(run: () => void): () => void {
  const job: Job = { run, cancelled: false };
  queue.push(job);
  schedule();
  return () => {
    job.cancelled = true;
  };
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setTimeout(drain, 0);
}

function drain(): void {
  scheduled = false;
  const start = performance.now();
  while (queue.length) {
    const job = queue.shift()!;
    if (job.cancelled) continue;
    try {
      job.run();
    } catch (error) {
      // One plot failing to draw must not stop the others; report it as an uncaught error would be.
      reportError(error);
    }
    if (performance.now() - start > BUDGET_MS) break;
  }
  if (queue.length) schedule();
}
