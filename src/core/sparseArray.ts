/**
 * A 1-D array of mostly zeros held as its nonzero entries (`NDArray.packed`): frif's rate per
 * inter-frame interval has 211,739 entries for an hour at 60 Hz, and a unit firing at 5 Hz has at
 * most one in ten of them nonzero, so 1,000 units hold 0.16 GB instead of 0.85 GB. Readers and
 * writers see the full array, zeros included, with the same values and dtype.
 */
import { lowerBound } from "./frameClock.ts";
import { NDArray, TYPED_ARRAY_BY_DTYPE, dtypeOf, type NumericArray } from "./ndarray.ts";

type NumberArray = Exclude<NumericArray, BigInt64Array | BigUint64Array>;

/**
 * The array of `length` zeros with `values[k]` at `indices[k]` (indices strictly increasing, below
 * `length`). Both arrays are kept as they are: the caller gives them up.
 */
export function sparseArray<T extends NumberArray>(length: number, indices: Uint32Array, values: T): NDArray<T> {
  if (indices.length !== values.length) throw new Error(`sparseArray: ${indices.length} indices for ${values.length} values`);
  for (let k = 0; k < indices.length; k++) {
    if (indices[k] >= length || (k > 0 && indices[k] <= indices[k - 1])) throw new Error(`sparseArray: index ${indices[k]} at ${k} is out of order or past ${length}`);
  }
  const dtype = dtypeOf(values);
  const Ctor = TYPED_ARRAY_BY_DTYPE[dtype] as unknown as { new (n: number): T; new (buffer: ArrayBuffer, at: number, n: number): T; BYTES_PER_ELEMENT: number };
  const size = Ctor.BYTES_PER_ELEMENT;
  /** Writes elements `[first, first + out.length)` of the full array into `out`. */
  const expand = (out: T, first: number) => {
    out.fill(0);
    const end = first + out.length;
    for (let k = lowerBound(indices, first); k < indices.length && indices[k] < end; k++) out[indices[k] - first] = values[k];
    return out;
  };
  return NDArray.packed<T>(
    {
      dtype,
      byteLength: length * size,
      heldBytes: indices.byteLength + values.byteLength,
      read: () => expand(new Ctor(length), 0),
      readBytes(byteOffset, into) {
        const first = Math.floor(byteOffset / size);
        const end = Math.ceil((byteOffset + into.byteLength) / size);
        const aligned = byteOffset % size === 0 && into.byteLength % size === 0 && into.byteOffset % size === 0;
        // A writer asks for whole elements (a slice of rows): expanded straight into its buffer.
        if (aligned) expand(new Ctor(into.buffer as ArrayBuffer, into.byteOffset, end - first), first);
        else {
          const part = expand(new Ctor(end - first), first);
          into.set(new Uint8Array(part.buffer, byteOffset - first * size, into.byteLength));
        }
      },
    },
    [length],
  );
}
