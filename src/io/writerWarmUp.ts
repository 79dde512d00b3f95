/**
 * HDF5's write path is cold until the first save or checkpoint of a page: V8 runs wasm in its
 * baseline tier first and optimises a function only after it has run a while. The first write of a
 * session therefore costs two to three times the CPU of the next one of the same size (h5wasm's
 * browser build, a 200-unit random session: 1.3 s cold, 0.45 s warm; the demo's first checkpoint
 * after *Run all steps* is its first write, 10,000 HDF5 objects).
 *
 * `warmUpWriter` writes a small throwaway session-shaped file (units with attributes, nested
 * groups, numeric and string datasets: what a checkpoint writes) to the in-memory file system, a
 * few units per task, so that idle time after an open tiers up the code the first checkpoint runs.
 * Nothing it writes is kept.
 */
import { NDArray, StringArray, type Tree } from "../core/ndarray.ts";
import { closeQuietly, createGroup, openH5, type H5Runtime } from "./h5.ts";
import { DEFAULT_WRITE_OPTIONS, writeArray, writeTree } from "./h5Tree.ts";

const UNITS = 24;
const UNITS_PER_TASK = 3;

/** A unit's children as the steps leave them: sectioned trials, features, labels. */
function unitChildren(unit: number): Tree {
  const trials: Tree = {};
  for (let trial = 0; trial < 4; trial++) trials[String(trial)] = new NDArray(BigUint64Array.from({ length: 8 + trial }, (_, k) => BigInt(unit * 1000 + k * 37)));
  const features: Tree = {};
  for (let movie = 0; movie < 4; movie++) {
    features[`movie_${movie}`] = {
      index: new NDArray(Float64Array.of(unit / 10)),
      rates: new NDArray(Float32Array.from({ length: 40 }, (_, k) => k + unit)),
      counts: new NDArray(Int32Array.from({ length: 6 }, (_, k) => k)),
      name: `movie_${movie}`,
    };
  }
  return {
    spike_times_sectioned: { movie: { trials_spike_times: trials, trials_start_end: new NDArray(new BigInt64Array(8), [4, 2]) } },
    features,
    auto_label: { axon_type: "rgc", tags: new StringArray(["a", "bb"], [2]) },
  };
}

export async function warmUpWriter(rt: H5Runtime, path = `/warm-up-${Date.now()}.h5`): Promise<void> {
  const file = openH5(rt, path, "w");
  try {
    file.create_attribute("dataset_id", "warm-up");
    writeTree(createGroup(file, "metadata"), { acquisition_rate: new NDArray(Float64Array.of(20000)), note: "warm-up" }, DEFAULT_WRITE_OPTIONS);
    const units = createGroup(file, "units");
    for (let unit = 0; unit < UNITS; unit++) {
      const group = createGroup(units, `unit_${String(unit).padStart(3, "0")}`);
      group.create_attribute("unit_num", BigInt64Array.of(BigInt(unit)), [], "<q");
      group.create_attribute("original_name", `unit ${unit}`);
      group.create_attribute("rate", Float64Array.of(unit / 3), [], "<d");
      writeArray(group, "spike_times", new NDArray(BigUint64Array.from({ length: 64 }, (_, k) => BigInt(k * 400))), DEFAULT_WRITE_OPTIONS);
      writeArray(group, "waveform", new NDArray(new Float32Array(40)), DEFAULT_WRITE_OPTIONS);
      writeTree(group, unitChildren(unit), DEFAULT_WRITE_OPTIONS);
      // Between tasks: a request that arrives meanwhile waits for a few units at most.
      if ((unit + 1) % UNITS_PER_TASK === 0) await new Promise((resolve) => setTimeout(resolve, 0));
    }
  } finally {
    closeQuietly(file);
    try {
      rt.fs.unlink(path);
    } catch {
      // Never created (the open failed): nothing to remove.
    }
  }
}
