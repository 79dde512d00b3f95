/**
 * The `skip_highpass` alternative to the Butterworth filter: each electrode minus its mean over the
 * loaded segment, in float32 as numpy computes `x.astype(float32) - x.astype(float32).mean(axis=0)`:
 * the sum over time accumulates in float32, one row after another (numpy reduces an outer axis
 * sequentially, not pairwise), the mean is that sum / n rounded to float32, and so is the difference.
 *
 * Two passes over the segment in blocks (the mean needs every row before the first output), so
 * memory stays one block whatever the segment length. Same events as `sosfiltfiltBlocks`.
 */
import type { ReadRows } from "./sosfiltfilt.ts";

export type CenteringEvent =
  | { kind: "forward"; rowsDone: number }
  | { kind: "output"; start: number; end: number; rows: Float32Array };

export function* meanCenteredBlocks(
  rowCount: number,
  channels: number,
  read: ReadRows,
  blockRows: number,
): Generator<CenteringEvent, void, undefined> {
  const C = channels;
  const checked = (start: number, end: number) => {
    const rows = read(start, end);
    if (rows.length !== (end - start) * C) {
      throw new Error(`rows ${start}–${end} came back with ${rows.length} values, expected ${(end - start) * C}`);
    }
    return rows;
  };
  // Float32Array stores round every partial sum to float32, as numpy's float32 accumulator does.
  const mean = new Float32Array(C);
  for (let start = 0; start < rowCount; start += blockRows) {
    const end = Math.min(rowCount, start + blockRows);
    addRows(checked(start, end), end - start, C, mean);
    yield { kind: "forward", rowsDone: end };
  }
  for (let c = 0; c < C; c++) mean[c] /= rowCount;

  const out = new Float32Array(Math.min(blockRows, rowCount) * C);
  for (let start = 0; start < rowCount; start += blockRows) {
    const end = Math.min(rowCount, start + blockRows);
    subtractRows(checked(start, end), end - start, C, mean, out);
    yield { kind: "output", start, end, rows: out.subarray(0, (end - start) * C) };
  }
}

// Loops outside the generator body: V8 optimises those much better.

function addRows(rows: ArrayLike<number>, n: number, C: number, sum: Float32Array): void {
  for (let r = 0; r < n; r++) for (let c = 0; c < C; c++) sum[c] += rows[r * C + c];
}

/** The int16 values are exact in float32, so x − mean rounds once, like numpy's float32 subtraction. */
function subtractRows(rows: ArrayLike<number>, n: number, C: number, mean: Float32Array, out: Float32Array): void {
  for (let r = 0; r < n; r++) for (let c = 0; c < C; c++) out[r * C + c] = rows[r * C + c] - mean[c];
}
