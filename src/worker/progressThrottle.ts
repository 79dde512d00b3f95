/**
 * Progress for the page, at most one report per interval. A step over 1,000 units reports per unit,
 * and every report crossing to the page is a message plus a reply (Comlink) and a re-render there:
 * thousands a second kept the page's main thread busy for no visible gain. A report that starts
 * something new (another step or file, `key`) or finishes (fraction 1) always goes out, so the page
 * never misses a step's start or end; reports in between are dropped (the next one sent is newer).
 */
export function throttledProgress<T>(
  send: (progress: T) => void,
  key: (progress: T) => string,
  done: (progress: T) => boolean,
  intervalMs = 100,
  now: () => number = () => performance.now(),
): (progress: T) => void {
  let lastAt = Number.NEGATIVE_INFINITY;
  let lastKey: string | undefined;
  return (progress) => {
    const k = key(progress);
    const t = now();
    if (k !== lastKey || done(progress) || t - lastAt >= intervalMs) {
      lastKey = k;
      lastAt = t;
      send(progress);
    }
  };
}
