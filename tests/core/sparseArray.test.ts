import { describe, expect, it } from "vitest";
import { NDArray } from "../../src/core/ndarray.ts";
import { sparseArray } from "../../src/core/sparseArray.ts";
import { SpillStore } from "../../src/core/spillStore.ts";
import { spillArray } from "../../src/core/memoryBudget.ts";
import { seededRandom } from "../fixtures/randomSession.ts";

/** A random mostly-zero array and its nonzero entries. */
function randomSparse(rand: () => number, length: number, density: number) {
  const dense = new Float32Array(length);
  const indices: number[] = [];
  for (let i = 0; i < length; i++) {
    if (rand() < density) {
      dense[i] = Math.fround((rand() - 0.3) * 1e3);
      if (dense[i] !== 0) indices.push(i);
    }
  }
  return { dense, indices: Uint32Array.from(indices), values: Float32Array.from(indices, (i) => dense[i]) };
}

function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.compare(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), new Uint8Array(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

describe("sparseArray (an array held as its nonzero entries)", () => {
  it("reads as the full array, whole or any byte range of it (random cases)", () => {
    const rand = seededRandom(11);
    for (let round = 0; round < 100; round++) {
      const length = Math.floor(rand() * 300);
      const { dense, indices, values } = randomSparse(rand, length, rand());
      const array = sparseArray(length, indices, values);
      expect(array.dtype).toBe("float32");
      expect(array.shape).toEqual([length]);
      expect(array.byteLength).toBe(dense.byteLength);
      expect(sameBytes(array.data, dense), `round ${round}`).toBe(true);
      const bytes = new Uint8Array(dense.buffer);
      for (let k = 0; k < 5 && length > 0; k++) {
        // Whole elements (a writer's slice of rows) and ragged byte ranges, at aligned and odd places in the buffer.
        const whole = rand() < 0.5;
        const at = whole ? 4 * Math.floor(rand() * length) : Math.floor(rand() * bytes.length);
        const n = whole ? 4 * Math.floor(rand() * (length - at / 4 + 1)) : Math.floor(rand() * (bytes.length - at + 1));
        const pad = whole ? 4 : Math.floor(rand() * 4);
        const into = new Uint8Array(new ArrayBuffer(n + pad + 4), pad, n).fill(7);
        expect(sameBytes(array.bytesAt(at, into), bytes.subarray(at, at + n)), `round ${round} bytes ${at}+${n}`).toBe(true);
      }
    }
  });

  it("holds only its entries in memory, and is never spilled (there is no full copy to move)", () => {
    const indices = Uint32Array.of(3, 70_000);
    const array = sparseArray(100_000, indices, Float32Array.of(2.5, 4));
    expect(array.byteLength).toBe(400_000);
    expect(array.packedBytes).toBe(16);
    expect(array.isResident).toBe(false);
    expect(array.isSpilled).toBe(false);
    expect(array.source).toBeUndefined();
    const store = new SpillStore({ location: "test", write() {}, read() {}, close() {} });
    spillArray(array, store);
    expect(store.liveBytes).toBe(0);
    expect(array.data[70_000]).toBe(4);
    // Each read is a fresh full array: a reader that changes it changes nothing held.
    array.data[3] = 9;
    expect(array.data[3]).toBe(2.5);
  });

  it("refuses entries out of order or past its length", () => {
    expect(() => sparseArray(5, Uint32Array.of(2, 2), Float32Array.of(1, 1))).toThrow(/out of order/);
    expect(() => sparseArray(5, Uint32Array.of(5), Float32Array.of(1))).toThrow(/past 5/);
    expect(() => sparseArray(5, Uint32Array.of(1), Float32Array.of())).toThrow(/1 indices for 0 values/);
    expect(sparseArray(0, new Uint32Array(0), new Float64Array(0)).data).toEqual(new Float64Array(0));
    expect(sparseArray(2, Uint32Array.of(1), Float64Array.of(0.1))).toBeInstanceOf(NDArray);
  });
});
