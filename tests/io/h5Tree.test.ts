import { beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NDArray, StringArray, TYPED_ARRAY_BY_DTYPE, treeEquals, type DType, type Tree } from "../../src/core/ndarray.ts";
import type { H5Runtime } from "../../src/io/h5.ts";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { readTree, writeTree } from "../../src/io/h5Tree.ts";
import { seededRandom } from "../fixtures/randomSession.ts";

const DTYPES = Object.keys(TYPED_ARRAY_BY_DTYPE) as DType[];

function randomArray(rand: () => number, dtype: DType): NDArray {
  const rank = Math.floor(rand() * 4); // 0 = scalar
  const shape = Array.from({ length: rank }, () => Math.floor(rand() * 5)); // includes empty dims
  const n = shape.reduce((a, b) => a * b, 1);
  const Ctor = TYPED_ARRAY_BY_DTYPE[dtype];
  const data = new Ctor(n);
  for (let i = 0; i < n; i++) {
    const x = (rand() - 0.5) * 2 ** 40;
    if (data instanceof BigInt64Array) data[i] = BigInt(Math.trunc(x));
    else if (data instanceof BigUint64Array) data[i] = BigInt(Math.trunc(Math.abs(x))) + (rand() < 0.2 ? 2n ** 63n : 0n);
    else if (data instanceof Float32Array || data instanceof Float64Array) data[i] = rand() < 0.1 ? Number.NaN : x / 1e6;
    else data[i] = Math.trunc(x) as never;
  }
  return new NDArray(data, shape);
}

function randomTree(rand: () => number, depth: number): Tree {
  const tree: Tree = {};
  const children = 1 + Math.floor(rand() * 6);
  for (let c = 0; c < children; c++) {
    const kind = rand();
    const name = rand() < 0.3 ? String(c) : `node ${c} ${["µs", "ünï", "a.b", "x_y"][c % 4]}`;
    if (kind < 0.2 && depth > 0) tree[name] = randomTree(rand, depth - 1);
    else if (kind < 0.3) tree[name] = rand() < 0.5 ? "" : `text ${c} ✓`;
    else if (kind < 0.4) tree[name] = new StringArray(["a", "bb", "ccc", "🦀"], rand() < 0.5 ? [4] : [2, 2]);
    else tree[name] = randomArray(rand, DTYPES[Math.floor(rand() * DTYPES.length)]);
  }
  return tree;
}

describe("tree ↔ HDF5 round trip (property test over random trees)", () => {
  let rt: H5Runtime;
  let dir: string;
  beforeAll(async () => {
    rt = await nodeRuntime();
    dir = mkdtempSync(join(tmpdir(), "hdmea-tree-"));
  });

  for (let seed = 1; seed <= 25; seed++) {
    it(`seed ${seed}: every dtype, shape and name comes back unchanged, whatever the slice size`, () => {
      const rand = seededRandom(seed);
      const tree = randomTree(rand, 3);
      const path = join(dir, `t${seed}.h5`);
      const file = new rt.h5.File(path, "w");
      // Tiny slices force the chunked path for most arrays on odd seeds.
      writeTree(file, tree, { sliceBytes: seed % 2 ? 16 : 1 << 20, compression: seed % 3 === 0 ? 4 : 0 });
      file.close();
      const back = new rt.h5.File(path, "r");
      const report = { skipped: [] as string[] };
      const read = readTree(back, report, seed % 2 ? 24 : 1 << 20);
      back.close();
      expect(report.skipped).toEqual([]);
      expect(treeEquals(tree, read)).toBe(true);
    });
  }
});
