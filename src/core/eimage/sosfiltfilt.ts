/**
 * Zero-phase filtering exactly like `scipy.signal.sosfiltfilt(sos, x, axis=0)` (padtype "odd",
 * padlen = 3·(2·sections + 1 − trailing-zero sections)), on many channels at once and in bounded
 * memory.
 *
 * scipy's recipe, repeated operation for operation:
 * 1. odd extension by `padlen` rows each side: left 2·x[0] − x[padlen…1], right 2·x[n−1] − x[n−2…n−1−padlen];
 * 2. forward `sosfilt` (direct form II transposed, float64) from the steady state `sosfilt_zi · ext[0]`;
 * 3. backward `sosfilt` over the reversed result from `sosfilt_zi · y[last]`;
 * 4. drop the padding.
 *
 * Data are [rows × channels] (time × electrodes, channel-fastest, as the sensor frames arrive), so
 * each time step runs one section over a contiguous row of channels: cache-friendly, no transposes.
 *
 * Bounded memory: the backward pass needs the forward output in reverse order, and holding it for a
 * whole chunk (10 s × 4225 electrodes in float64 = 6.8 GB) is out of the question in a browser.
 * Instead the forward pass keeps only its filter state at each block boundary; the backward pass
 * then re-reads each block, recomputes its forward output from the saved state (the same operations,
 * so the same bits) and filters it backwards.
 *
 * The initial conditions (`sosfilt_zi`) come from a 2 × 2 solve that is ill-conditioned for a low
 * cutoff; numpy's LAPACK (OpenBLAS, with fused multiply-add) and plain IEEE arithmetic differ there
 * by a few units in the last place, which moves the filtered values by ~1e-12 relative. Memory is one block of rows plus a few states per
 * block, whatever the segment length; the price is reading the rows twice. The result is identical
 * to filtering the whole segment at once, for every block size.
 */
import type { Sos } from "./butterworth.ts";

/** Rows [start, end) of the segment, row-major [rows × channels]. */
export type ReadRows = (start: number, end: number) => ArrayLike<number>;

export type ZeroPhaseEvent =
  /** The forward pass has consumed rows [0, rowsDone). */
  | { kind: "forward"; rowsDone: number }
  /** Filtered rows [start, end) ([rows × channels]); blocks arrive last first. The array is reused
   * for the next block: read it before asking for the next event. */
  | { kind: "output"; start: number; end: number; rows: Float64Array | Float32Array };

/** scipy's default padlen for sosfiltfilt. */
export function sosfiltfiltPadlen(sos: Sos): number {
  const c = sos.coefficients;
  let zerosB2 = 0;
  let zerosA2 = 0;
  for (let s = 0; s < sos.sections; s++) {
    if (c[6 * s + 2] === 0) zerosB2++;
    if (c[6 * s + 5] === 0) zerosA2++;
  }
  const taps = 2 * sos.sections + 1 - Math.min(zerosB2, zerosA2);
  return 3 * taps;
}

/**
 * `scipy.signal.sosfilt_zi`: per section the steady state of a unit step (`lfilter_zi`), scaled by
 * the DC gain of the sections before it. Returns [sections × 2].
 */
export function sosfiltZi(sos: Sos): Float64Array {
  const zi = new Float64Array(2 * sos.sections);
  let scale = 1.0;
  for (let s = 0; s < sos.sections; s++) {
    const [b0, b1, b2, a0, a1, a2] = sos.coefficients.subarray(6 * s, 6 * s + 6);
    const [z0, z1] = lfilterZi2([b0 / a0, b1 / a0, b2 / a0], [1, a1 / a0, a2 / a0]);
    zi[2 * s] = scale * z0;
    zi[2 * s + 1] = scale * z1;
    scale *= (b0 + b1 + b2) / (a0 + a1 + a2);
  }
  return zi;
}

/**
 * `lfilter_zi` for one biquad: solves (I − companion(a)ᵀ)·zi = b[1:] − a[1:]·b[0], i.e.
 * [[1 + a1, −1], [a2, 1]]·zi = B, by LU with partial pivoting as LAPACK's dgesv does (pivot, scale the
 * column by the reciprocal pivot, eliminate, back-substitute).
 */
function lfilterZi2(b: readonly number[], a: readonly number[]): [number, number] {
  let m00 = 1 + a[1];
  let m01 = -1;
  let m10 = a[2];
  let m11 = 1;
  let r0 = b[1] - a[1] * b[0];
  let r1 = b[2] - a[2] * b[0];
  if (Math.abs(m10) > Math.abs(m00)) {
    [m00, m01, m10, m11] = [m10, m11, m00, m01];
    [r0, r1] = [r1, r0];
  }
  const l10 = m10 * (1 / m00);
  const u11 = m11 - l10 * m01;
  const y1 = r1 - l10 * r0;
  const x1 = y1 / u11;
  const x0 = (r0 - x1 * m01) / m00;
  return [x0, x1];
}

/**
 * Zero-phase filters `rowCount` rows of `channels` channels, reading at most `blockRows` rows at a
 * time (plus `padlen + 1` rows at each end for the odd extension). A generator, so the caller can
 * report progress and stop between blocks; filtered blocks come out last block first, as float64
 * (scipy's result) or rounded to float32 (what the eimage STA keeps).
 *
 * Speed: the first pass only advances the filter state (no output is stored); the second pass works
 * on tiles of `TILE_CHANNELS` channels × one block, small enough to stay in cache while it is
 * filtered forward and then backward. Each channel sees exactly scipy's sequence of operations.
 */
export function* sosfiltfiltBlocks(
  sos: Sos,
  rowCount: number,
  channels: number,
  read: ReadRows,
  blockRows: number,
  output: "float64" | "float32" = "float64",
): Generator<ZeroPhaseEvent, void, undefined> {
  const edge = sosfiltfiltPadlen(sos);
  if (rowCount <= edge) {
    throw new Error(`a segment of ${rowCount} samples is too short to filter: sosfiltfilt needs more than ${edge}`);
  }
  if (!(Number.isInteger(blockRows) && blockRows >= 1)) throw new Error(`blockRows must be a whole number ≥ 1, got ${blockRows}`);
  const C = channels;
  const nSec = sos.sections;
  const k = sos.coefficients;
  const zi = sosfiltZi(sos);
  const checked = (start: number, end: number) => {
    const rows = read(start, end);
    if (rows.length !== (end - start) * C) {
      throw new Error(`rows ${start}–${end} came back with ${rows.length} values, expected ${(end - start) * C}`);
    }
    return rows;
  };

  // Filter state: z0 of section s at [2s·C, 2s·C + C), z1 right after.
  const forward = new Float64Array(2 * nSec * C);
  const backward = new Float64Array(2 * nSec * C);
  const row = new Float64Array(C);
  const runRow = (z: Float64Array) => {
    for (let s = 0; s < nSec; s++) biquad(row, 1, C, z, 2 * s * C, k, 6 * s, false);
  };

  // The odd extension needs the first and last padlen + 1 rows.
  const head = Float64Array.from(checked(0, edge + 1) as ArrayLike<number>);
  const tail = Float64Array.from(checked(rowCount - 1 - edge, rowCount) as ArrayLike<number>);

  // Left extension: ext[i] = 2·x[0] − x[edge − i]; the state starts at zi · ext[0].
  for (let i = 0; i < edge; i++) {
    for (let c = 0; c < C; c++) row[c] = 2 * head[c] - head[(edge - i) * C + c];
    if (i === 0) steadyState(forward, zi, row, nSec, C);
    runRow(forward);
  }
  if (edge === 0) steadyState(forward, zi, head.subarray(0, C), nSec, C);

  // Pass 1: forward over the signal, keeping only the state at each block start.
  const blockCount = Math.ceil(rowCount / blockRows);
  const saved: Float64Array[] = [];
  let lastInput: ArrayLike<number> | undefined;
  for (let b = 0; b < blockCount; b++) {
    const start = b * blockRows;
    const end = Math.min(rowCount, start + blockRows);
    saved.push(forward.slice());
    const input = checked(start, end);
    advanceRows(input, end - start, C, forward, k, nSec, row);
    if (b === blockCount - 1) lastInput = input;
    yield { kind: "forward", rowsDone: end };
  }

  // Right extension: ext = 2·x[n−1] − x[n−2−i]; its forward output feeds the backward pass first.
  const pad = new Float64Array(edge * C);
  const last = edge * C; // x[n−1] in `tail`
  for (let i = 0; i < edge; i++) {
    for (let c = 0; c < C; c++) row[c] = 2 * tail[last + c] - tail[(edge - 1 - i) * C + c];
    runRow(forward);
    pad.set(row, i * C);
  }

  // Pass 2: backward from zi · (last forward output) through the right padding (discarded) …
  let lastForward: Float64Array;
  if (edge > 0) lastForward = pad.slice((edge - 1) * C, edge * C);
  else {
    // Without padding the last forward output is the signal's own: recompute the last block's end.
    lastForward = lastRowForward(saved[blockCount - 1], lastInput!, rowCount - (blockCount - 1) * blockRows, C, nSec, k);
  }
  steadyState(backward, zi, lastForward, nSec, C);
  for (let i = edge - 1; i >= 0; i--) {
    row.set(pad.subarray(i * C, (i + 1) * C));
    runRow(backward);
  }
  // … then each block, last first: its forward output recomputed from the saved state, tile by tile.
  const out = output === "float32" ? new Float32Array(Math.min(blockRows, rowCount) * C) : new Float64Array(Math.min(blockRows, rowCount) * C);
  const tile = new Float64Array(Math.min(blockRows, rowCount) * Math.min(TILE_CHANNELS, C));
  for (let b = blockCount - 1; b >= 0; b--) {
    const start = b * blockRows;
    const end = Math.min(rowCount, start + blockRows);
    const n = end - start;
    const input = b === blockCount - 1 ? lastInput! : checked(start, end);
    const state = saved[b];
    filterBlockBackward(input, n, C, state, backward, k, nSec, tile, out);
    yield { kind: "output", start, end, rows: out.subarray(0, n * C) };
  }
}

/** Channels per tile in pass 2: one block of them (1000 rows × 256 × 8 bytes = 2 MB) stays in cache. */
const TILE_CHANNELS = 128;

// The heavy loops live in plain functions: V8 optimises loops inside a generator body poorly
// (its locals live in the generator's context), which made them several times slower.

/** Pass 1: advances the forward state over `n` input rows without keeping the output. */
function advanceRows(input: ArrayLike<number>, n: number, C: number, z: Float64Array, k: Float64Array, nSec: number, row: Float64Array): void {
  for (let r = 0; r < n; r++) {
    if (nSec === 1) advance(input, r * C, C, z, k);
    else {
      for (let c = 0; c < C; c++) row[c] = input[r * C + c];
      for (let s = 0; s < nSec; s++) biquad(row, 1, C, z, 2 * s * C, k, 6 * s, false);
    }
  }
}

/**
 * Pass 2 for one block, tile by tile: recompute the forward output from the block's saved state
 * (`state`, consumed), filter it backward (continuing `backward`), write the result to `out`.
 * Section by section over a whole tile gives each channel the same operations as sample by sample.
 */
function filterBlockBackward(
  input: ArrayLike<number>,
  n: number,
  C: number,
  state: Float64Array,
  backward: Float64Array,
  k: Float64Array,
  nSec: number,
  tile: Float64Array,
  out: Float64Array | Float32Array,
): void {
  const view = (z: Float64Array, s: number, which: 0 | 1, c0: number, w: number) => z.subarray((2 * s + which) * C + c0, (2 * s + which) * C + c0 + w);
  for (let c0 = 0; c0 < C; c0 += TILE_CHANNELS) {
    const w = Math.min(TILE_CHANNELS, C - c0);
    // Forward: the first section reads the input rows straight into the tile.
    forwardFromInput(input, n, C, c0, w, tile, view(state, 0, 0, c0, w), view(state, 0, 1, c0, w), k);
    for (let s = 1; s < nSec; s++) biquad(tile, n, w, state, 2 * s * C + c0, k, 6 * s, false, C);
    if (out instanceof Float32Array) {
      // Backward: the last section writes float32 straight into the output rows (the eimage's path).
      for (let s = 0; s < nSec - 1; s++) biquad(tile, n, w, backward, 2 * s * C + c0, k, 6 * s, true, C);
      const last = nSec - 1;
      backwardToFloat32(tile, n, w, out, C, c0, view(backward, last, 0, c0, w), view(backward, last, 1, c0, w), k, 6 * last);
    } else {
      for (let s = 0; s < nSec; s++) biquad(tile, n, w, backward, 2 * s * C + c0, k, 6 * s, true, C);
      copyOut64(tile, n, w, out, c0, C);
    }
  }
}

/** Section 0 forward over `n` rows of channels [c0, c0 + w) of the input, into the tile (stride w). */
function forwardFromInput(input: ArrayLike<number>, n: number, C: number, c0: number, w: number, tile: Float64Array, z0: Float64Array, z1: Float64Array, k: Float64Array): void {
  const b0 = k[0];
  const b1 = k[1];
  const b2 = k[2];
  const a1 = k[4];
  const a2 = k[5];
  for (let r = 0; r < n; r++) {
    const from = r * C + c0;
    const to = r * w;
    for (let c = 0; c < w; c++) {
      const x = input[from + c];
      const y = b0 * x + z0[c];
      z0[c] = b1 * x - a1 * y + z1[c];
      z1[c] = b2 * x - a2 * y;
      tile[to + c] = y;
    }
  }
}

/** One section backward over the tile's rows, last row first, writing float32 into `out` (stride C). */
function backwardToFloat32(tile: Float64Array, n: number, w: number, out: Float32Array, C: number, c0: number, z0: Float64Array, z1: Float64Array, k: Float64Array, ko: number): void {
  const b0 = k[ko];
  const b1 = k[ko + 1];
  const b2 = k[ko + 2];
  const a1 = k[ko + 4];
  const a2 = k[ko + 5];
  for (let r = n - 1; r >= 0; r--) {
    const from = r * w;
    const to = r * C + c0;
    for (let c = 0; c < w; c++) {
      const x = tile[from + c];
      const y = b0 * x + z0[c];
      z0[c] = b1 * x - a1 * y + z1[c];
      z1[c] = b2 * x - a2 * y;
      out[to + c] = y;
    }
  }
}

/**
 * One biquad over `rows` rows of `w` channels of `data` (row-major, stride w), in place, forward or
 * backward in time: scipy's _sosfilt inner loop, operation for operation. The state lives in `z` at
 * `zo` (z0) and `zo + zStride` (z1).
 */
function biquad(data: Float64Array, rows: number, w: number, z: Float64Array, zo: number, k: Float64Array, ko: number, reverse: boolean, zStride = w): void {
  const b0 = k[ko];
  const b1 = k[ko + 1];
  const b2 = k[ko + 2];
  const a1 = k[ko + 4];
  const a2 = k[ko + 5];
  const z1o = zo + zStride;
  for (let i = 0; i < rows; i++) {
    const o = (reverse ? rows - 1 - i : i) * w;
    for (let c = 0; c < w; c++) {
      const x = data[o + c];
      const y = b0 * x + z[zo + c];
      z[zo + c] = b1 * x - a1 * y + z[z1o + c];
      z[z1o + c] = b2 * x - a2 * y;
      data[o + c] = y;
    }
  }
}

/** Pass 1 for one section: advances the state by one input row without keeping the output. */
function advance(input: ArrayLike<number>, offset: number, C: number, z: Float64Array, k: Float64Array): void {
  const b0 = k[0];
  const b1 = k[1];
  const b2 = k[2];
  const a1 = k[4];
  const a2 = k[5];
  for (let c = 0; c < C; c++) {
    const x = input[offset + c];
    const y = b0 * x + z[c];
    z[c] = b1 * x - a1 * y + z[C + c];
    z[C + c] = b2 * x - a2 * y;
  }
}

/** z = zi · x0 per channel (scipy: `zi * x_0`). */
function steadyState(z: Float64Array, zi: Float64Array, x0: ArrayLike<number>, nSec: number, C: number): void {
  for (let s = 0; s < nSec; s++) {
    for (let c = 0; c < C; c++) {
      z[2 * s * C + c] = zi[2 * s] * x0[c];
      z[(2 * s + 1) * C + c] = zi[2 * s + 1] * x0[c];
    }
  }
}

function lastRowForward(state: Float64Array, input: ArrayLike<number>, n: number, C: number, nSec: number, k: Float64Array): Float64Array {
  const z = state.slice();
  const row = new Float64Array(C);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < C; c++) row[c] = input[r * C + c];
    for (let s = 0; s < nSec; s++) biquad(row, 1, C, z, 2 * s * C, k, 6 * s, false);
  }
  return row;
}

function copyOut64(tile: Float64Array, n: number, w: number, out: Float64Array, c0: number, C: number): void {
  for (let r = 0; r < n; r++) for (let c = 0; c < w; c++) out[r * C + c0 + c] = tile[r * w + c];
}

/** The whole signal at once (tests and small inputs): float64 [rows × channels], like scipy's result. */
export function sosfiltfilt(sos: Sos, x: ArrayLike<number>, rowCount: number, channels: number, blockRows = rowCount): Float64Array {
  const out = new Float64Array(rowCount * channels);
  const read: ReadRows = (start, end) => Array.from({ length: (end - start) * channels }, (_, i) => x[start * channels + i]);
  for (const event of sosfiltfiltBlocks(sos, rowCount, channels, read, blockRows)) {
    if (event.kind === "output") out.set(event.rows, event.start * channels);
  }
  return out;
}
