import { beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NDArray } from "../../src/core/ndarray.ts";
import type { H5Runtime } from "../../src/io/h5.ts";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { KEEP_IN_FILE_FROM_BYTES, writeSessionFile } from "../../src/io/sessionFile.ts";
import { loadSession } from "../../src/io/sessionStore.ts";
import { randomSession } from "../fixtures/randomSession.ts";
import { sessionDiff } from "../fixtures/sessionDiff.ts";

let rt: H5Runtime;
let dir: string;
beforeAll(async () => {
  rt = await nodeRuntime();
  dir = mkdtempSync(join(tmpdir(), "hdmea-layout-"));
});

/**
 * Where h5py finds each object's header and each dataset's values: per object its path, header
 * address, and for a dataset the byte size and the address of its values (first chunk or
 * contiguous block; None when nothing is stored).
 */
const H5PY_SCRIPT = `
import h5py, sys, json
f = h5py.File(sys.argv[1], 'r')
out = []
def at(obj):
    return h5py.h5o.get_info(obj.id).addr
def visit(name, obj):
    row = {'path': name, 'header': at(obj)}
    if isinstance(obj, h5py.Dataset):
        row['bytes'] = obj.id.get_storage_size()
        row['chunks'] = obj.chunks
        if obj.chunks is None:
            row['values'] = obj.id.get_offset()
        else:
            row['values'] = obj.id.get_chunk_info(0).byte_offset if obj.id.get_num_chunks() else None
    out.append(row)
f.visititems(visit)
print(json.dumps(out))
`;

interface Placed {
  path: string;
  header: number;
  bytes?: number;
  chunks?: number[] | null;
  values?: number | null;
}

function placements(path: string): Placed[] {
  const run = spawnSync("/usr/bin/python3", ["-c", H5PY_SCRIPT, path], { encoding: "utf8", maxBuffer: 1 << 28 });
  if (run.status !== 0) throw new Error(`h5py: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

describe("session file layout: the tree first, the big arrays after it", () => {
  it("puts every header before the big arrays' values, each unit's own objects before its subgroups, one kind of subgroup together, and the cutout columns last as they are", () => {
    const session = randomSession({ units: 30, maxSpikes: 4000, seed: 11 });
    for (const unit of session.units.values()) {
      // A feature with a big array and a few scalars, and cutout columns, as a real session has.
      session.addFeature(unit.id, "frif", { FRIF: new NDArray(Float32Array.from({ length: 6000 }, (_, k) => k % 7)), bin_s: new NDArray(Float64Array.of(0.05)) });
      (unit.children.unit_meta as Record<string, unknown>).peaks_data = {
        "cutout 0": new NDArray(Float32Array.from({ length: 6000 }, (_, k) => Math.sin(k))),
        "cutout 1": new NDArray(Float32Array.from({ length: 6000 }, (_, k) => Math.cos(k))),
      };
    }
    const path = join(dir, "layout.h5");
    writeSessionFile(rt, path, session, { savedAt: "2026-12-02T12:00:00Z" });
    const objects = placements(path);

    // The cutout columns (the last kind, groups without subgroups) are written last, with their
    // values, contiguous (HDF5 may put a few of their headers in gaps left in the tree).
    const cutouts = objects.filter((o) => o.path.includes("/peaks_data"));
    const rest = objects.filter((o) => !o.path.includes("/peaks_data"));
    expect(cutouts.filter((o) => o.bytes !== undefined)).toHaveLength(60);
    expect(cutouts.every((o) => o.bytes === undefined || o.chunks === null)).toBe(true);

    // Every other array the open leaves in the file has its values after all headers but the cutouts'.
    const big = rest.filter((o) => o.bytes !== undefined && o.bytes >= KEEP_IN_FILE_FROM_BYTES);
    expect(big.length).toBeGreaterThan(30); // every FRIF, and the longer spike trains
    expect(Math.max(...rest.map((o) => o.header))).toBeLessThan(Math.min(...big.map((o) => o.values!)));

    const inUnits = rest.filter((o) => /^units\/unit_\d+\//.test(o.path));
    const depth = (o: Placed) => o.path.split("/").length;
    const own = inUnits.filter((o) => depth(o) === 3); // units/<id>/<member>
    const below = inUnits.filter((o) => depth(o) > 3);
    expect(own.length).toBeGreaterThan(30 * 3);
    expect(Math.max(...own.map((o) => o.header))).toBeLessThan(Math.min(...below.map((o) => o.header)));

    const kind = (name: string) => below.filter((o) => o.path.split("/")[2] === name).map((o) => o.header);
    expect(Math.max(...kind("features"))).toBeLessThan(Math.min(...kind("unit_meta")));

    // The same session comes back.
    expect(sessionDiff(session, loadSession(rt, path).session)).toEqual([]);
  });
});
