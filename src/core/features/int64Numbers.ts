/**
 * int64 / uint64 sample indices → float64 without going through BigInt: `Number(bigint)` costs
 * ~50–100 ns per element, which made converting spike trains the most expensive part of several
 * features. Reading the two 32-bit halves of each element (little-endian, as every platform a
 * browser or Node runs on is) is exact for |v| < 2^53 — sample indices at 20 kHz stay below that for
 * 14,000 years.
 */
export function int64ToFloat64(data: BigInt64Array | BigUint64Array): Float64Array {
  const n = data.length;
  const out = new Float64Array(n);
  const lo = new Uint32Array(data.buffer, data.byteOffset, 2 * n);
  const hi = data instanceof BigInt64Array ? new Int32Array(data.buffer, data.byteOffset, 2 * n) : lo;
  for (let i = 0; i < n; i++) out[i] = hi[2 * i + 1] * 4294967296 + lo[2 * i];
  return out;
}

/**
 * Integers held as float64 (mapped through `map` first, if given) → int64 without a BigInt per
 * element: each value's two 32-bit halves are written, little-endian, as `int64ToFloat64` reads them.
 * Exact for safe integers (|v| < 2^53); anything else (NaN, a fraction) goes through `BigInt`, which
 * refuses it as it always did.
 */
export function integersToInt64(values: ArrayLike<number>, map?: (value: number) => number): BigInt64Array {
  const n = values.length;
  const out = new BigInt64Array(n);
  const lo = new Uint32Array(out.buffer);
  const hi = new Int32Array(out.buffer);
  for (let i = 0; i < n; i++) {
    const v = map ? map(values[i]) : values[i];
    if (Number.isSafeInteger(v)) {
      const high = Math.floor(v / 4294967296);
      lo[2 * i] = v - high * 4294967296;
      hi[2 * i + 1] = high;
    } else out[i] = BigInt(v);
  }
  return out;
}

/** Any stored numeric array as float64 (int64 through `int64ToFloat64`). */
export function asFloat64(data: ArrayLike<number> | BigInt64Array | BigUint64Array): Float64Array {
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return int64ToFloat64(data);
  return Float64Array.from(data as ArrayLike<number>);
}
