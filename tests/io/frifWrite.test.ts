import { beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { frif } from "../../src/core/features/frif.ts";
import { NDArray } from "../../src/core/ndarray.ts";
import { PipelineSession } from "../../src/core/session.ts";
import type { H5Runtime } from "../../src/io/h5.ts";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { writeSessionFile } from "../../src/io/sessionFile.ts";
import { loadSession } from "../../src/io/sessionStore.ts";
import { makeUnit } from "../core/fixtures/exampleSession.ts";
import { seededRandom } from "../fixtures/randomSession.ts";

let rt: H5Runtime;
let dir: string;
beforeAll(async () => {
  rt = await nodeRuntime();
  dir = mkdtempSync(join(tmpdir(), "hdmea-frif-write-"));
});

/**
 * What h5py finds in the file: every object `visititems` visits (a hard-linked dataset would be
 * visited once), and per unit the frif datasets' dtype, shape, layout and values.
 */
const H5PY_SCRIPT = `
import h5py, sys, json
out = []
for path in sys.argv[1:]:
    f = h5py.File(path, 'r')
    visited = []
    f.visititems(lambda name, obj: visited.append(name) if isinstance(obj, h5py.Dataset) and name.endswith(('FRIF', 'FRIF_x_axis')) else None)
    units = {}
    for u in f['units']:
        d = f['units'][u]['features/frif/data']
        units[u] = {k: {'dtype': str(d[k].dtype), 'shape': list(d[k].shape), 'chunks': d[k].chunks, 'values': d[k][()].tolist()} for k in ('FRIF', 'FRIF_x_axis')}
    out.append({'visited': sorted(visited), 'units': units})
print(json.dumps(out))
`;

type H5pyView = { visited: string[]; units: Record<string, Record<"FRIF" | "FRIF_x_axis", { dtype: string; shape: number[]; chunks: number[] | null; values: number[] }>> };

/** One Python for all files: its start is most of the test's time. */
function h5py(paths: string[]): H5pyView[] {
  const run = spawnSync("/usr/bin/python3", ["-c", H5PY_SCRIPT, ...paths], { encoding: "utf8", maxBuffer: 1 << 28 });
  if (run.status !== 0) throw new Error(`h5py: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

describe("frif in the session file", () => {
  it("writes each unit its own full FRIF and FRIF_x_axis, though the axis is held once and the rates packed", () => {
    const rand = seededRandom(5);
    const frames = Float64Array.from({ length: 3001 }, (_, i) => 40000 + Math.floor((i * 20000) / 60));
    const ctx = { metadata: {}, stimulus: {}, acquisitionRate: 20000, frameTimestamps: frames };
    const session = new PipelineSession("frif-write");
    const units = [1, 2, 3].map((n) =>
      makeUnit(n, Array.from({ length: 40 * n }, () => 40000 + Math.floor(rand() * 1_000_000)).sort((a, b) => a - b)),
    );
    session.addUnits(units);
    const held = new Map<string, { FRIF: NDArray<Float32Array>; FRIF_x_axis: NDArray<Float64Array> }>();
    for (const unit of units) {
      const data = frif.extract(unit, ctx) as { FRIF: NDArray<Float32Array>; FRIF_x_axis: NDArray<Float64Array> };
      held.set(unit.id, data);
      session.addFeature(unit.id, "frif", data);
    }
    expect(held.get("unit_001")!.FRIF_x_axis).toBe(held.get("unit_003")!.FRIF_x_axis);
    expect(held.get("unit_001")!.FRIF.packedBytes).toBeLessThan(held.get("unit_001")!.FRIF.byteLength / 10);

    // The default write (contiguous, as h5py writes small arrays) and one that cuts the arrays into
    // slices (as it does an hour's rates past the slice size) give the same datasets.
    const slices = [16 << 20, 4096];
    const paths = slices.map((sliceBytes) => join(dir, `frif-${sliceBytes}.h5`));
    slices.forEach((sliceBytes, i) => writeSessionFile(rt, paths[i], session, { savedAt: "2026-12-02T10:00:00Z", sliceBytes }));
    const files = h5py(paths);
    for (const [i, sliceBytes] of slices.entries()) {
      const path = paths[i];
      const file = files[i];
      expect(file.visited).toEqual(
        ["unit_001", "unit_002", "unit_003"].flatMap((u) => [`units/${u}/features/frif/data/FRIF`, `units/${u}/features/frif/data/FRIF_x_axis`]),
      );
      for (const [id, data] of held) {
        const { FRIF, FRIF_x_axis } = file.units[id];
        expect(FRIF.dtype).toBe("float32");
        expect(FRIF_x_axis.dtype).toBe("float64");
        expect(FRIF.shape).toEqual([3000]);
        expect(FRIF_x_axis.shape).toEqual([3000]);
        expect(FRIF.chunks === null).toBe(sliceBytes > 12_000);
        expect(FRIF.values).toEqual(Array.from(data.FRIF.data));
        expect(FRIF.values.filter((r) => r > 0).length).toBeGreaterThan(0);
        expect(FRIF_x_axis.values).toEqual(Array.from(data.FRIF_x_axis.data));
      }
      // Read back, the session holds the same rates.
      const back = loadSession(rt, path).session;
      for (const [id, data] of held) {
        const features = back.getUnit(id).children.features as { frif: { data: { FRIF: NDArray } } };
        expect(features.frif.data.FRIF.data).toEqual(data.FRIF.data);
      }
    }
  });
});
