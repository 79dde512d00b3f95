/**
 * Session files written by the lab's Python code (h5py), loaded with loadSession: what has a place
 * in our model loads, what has none is named in the load warning, nothing crashes. The files come
 * from write_lab_session.py (session mode as PipelineSession.save() writes it, and the older
 * immediate mode).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NDArray, StringArray, scalarNumber, type Tree } from "../../src/core/ndarray.ts";
import type { H5Runtime } from "../../src/io/h5.ts";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { loadSession, saveSession } from "../../src/io/sessionStore.ts";

const PYTHON = "/usr/bin/python3";
let rt: H5Runtime;
let dir: string;

beforeAll(async () => {
  rt = await nodeRuntime();
  dir = mkdtempSync(join(tmpdir(), "hdmea-labfiles-"));
  const run = spawnSync(PYTHON, [join(import.meta.dirname, "write_lab_session.py"), dir], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`write_lab_session.py failed: ${run.stderr}`);
});

const at = (tree: Tree, path: string) => path.split("/").reduce<unknown>((node, key) => (node as Tree)?.[key], tree);
const messages = (s: { warnings: { message: string }[] }) => s.warnings.map((w) => w.message);

describe("session files written by the lab's h5py code", () => {
  it("session mode (PipelineSession.save): everything with a place in the model loads", () => {
    const { session, skipped } = loadSession(rt, join(dir, "session.h5"));
    expect(session.datasetId).toBe("2024.08.08-10.40.20-Rec");
    expect(session.createdAt).toBe("2026-01-02T03:04:05+00:00");
    expect(session.sourceFiles).toEqual({ cmcr: "/share/2024.08.08-10.40.20-Rec.cmcr", cmtr: "/share/2024.08.08-10.40.20-Rec-.cmtr" });
    expect(session.completedSteps.map((s) => s.name)).toEqual(["load_recording", "add_section_time"]);
    expect(messages(session)[0]).toBe("ünïcode warning");
    // Scalars with shape (), (1,) values, h5py bools (enum → int8), fixed-length bytes strings.
    expect(at(session.metadata, "acquisition_rate")).toEqual(new NDArray(Float64Array.of(20000), []));
    expect(scalarNumber(at(session.metadata, "cmcr_meta/LB.RecordingDuration") as NDArray)).toBe(60_000_000);
    expect(at(session.metadata, "cmcr_meta/ProgramName")).toBe("CMOS-MEA-Control");
    expect(at(session.metadata, "is_test_mode")).toEqual(new NDArray(Int8Array.of(0), []));
    expect(at(session.metadata, "section_time_playlist")).toBe("demo_set_a");
    expect((at(session.stimulus, "frame_times/default") as NDArray).data).toEqual(BigUint64Array.of(40000n, 40333n, 40666n, 41000n));
    expect((at(session.stimulus, "section_time/step_flash_4s_4i_2x") as NDArray).shape).toEqual([1, 2]);

    const u1 = session.units.get("unit_001")!;
    expect(u1.attrs).toMatchObject({ row: 3, col: 65, global_id: 195, unit_num: 1, original_name: "Unit_1", is_good: 1 });
    expect(u1.spikeTimes).toEqual(BigUint64Array.of(100n, 2000n, 40000n));
    expect(session.units.get("unit_012")!.spikeTimes).toEqual(new BigUint64Array(0));
    expect(at(u1.children, "unit_meta/tags")).toBe("ON");
    expect((at(u1.children, "unit_meta/snr") as NDArray).shape).toEqual([1]);
    // Integer dict keys became decimal names.
    expect(Object.keys(at(u1.children, "spike_times_sectioned/step_flash_4s_4i_2x/trials_spike_times") as Tree)).toEqual(["0", "1"]);
    expect(at(u1.children, "features/eimage_sta/metadata/skip_highpass")).toEqual(new NDArray(Int8Array.of(0), []));
    expect((at(u1.children, "features/eimage_sta/data") as NDArray).shape).toEqual([5, 3, 3]);

    // A compound table and an object reference have no place: reported, not fatal.
    expect(skipped).toEqual(["/units/unit_001/peaks_table", "/units/unit_001/unit_meta/source_ref"]);
    expect(messages(session).at(-1)).toMatch(/^session\.h5: 2 item\(s\) .* were not loaded \(\/units\/unit_001\/peaks_table, \/units\/unit_001\/unit_meta\/source_ref\)$/);
  });

  it("immediate mode: dataset id, source files and section attrs mapped; the rest reported", () => {
    const { session } = loadSession(rt, join(dir, "immediate.h5"));
    expect(session.datasetId).toBe("old-Rec");
    expect(session.sourceFiles).toEqual({ cmcr: "D:/rec/old-Rec.cmcr", cmtr: "D:/rec/old-Rec-.cmtr" });
    expect(at(session.metadata, "section_time_playlist")).toBe("demo_set_a");
    expect(scalarNumber(at(session.metadata, "section_time_repeats") as NDArray)).toBe(2);
    expect(at(session.metadata, "dataset_id")).toEqual(new StringArray(["old-Rec"], [1]));
    expect(scalarNumber(at(session.metadata, "acquisition_rate") as NDArray)).toBe(20000);
    // frame_time (singular) is kept as written; the steps read both spellings.
    expect((at(session.stimulus, "frame_time/default") as NDArray).data).toEqual(BigUint64Array.of(40000n, 40333n, 40666n));
    const unit = session.units.get("unit_003")!;
    expect(unit.attrs).toMatchObject({ unit_num: 3, spike_count: 2 });
    // Scalar features stored as attributes load as leaves, like the lab's universal loader does.
    expect(scalarNumber(at(unit.children, "features/frif/mean_rate") as NDArray)).toBe(4.5);
    expect(at(unit.children, "features/frif/feature_name")).toBe("frif");
    expect(scalarNumber(at(unit.children, "features/eimage_sta/n_spikes_used") as NDArray)).toBe(2);
    expect(messages(session)).toEqual([
      'immediate.h5: no /@dataset_id (an older immediate-mode file): dataset id "old-Rec" taken from metadata/dataset_id',
      "immediate.h5: root attribute(s) with no place in the session were not loaded: features_extracted, hdmea_pipeline_version, stage1_completed, stage1_params_hash, updated_at",
      "immediate.h5: 1 item(s) of unsupported type or with no place in the session were not loaded (/units/unit_003/spike_times@unit)",
    ]);
  });

  it("both load, save in our layout and load again unchanged", () => {
    for (const name of ["session.h5", "immediate.h5"]) {
      const first = loadSession(rt, join(dir, name)).session;
      const out = join(dir, `resaved-${name}`);
      saveSession(rt, first, out);
      const again = loadSession(rt, out);
      expect(again.skipped).toEqual([]);
      expect(again.session.datasetId).toBe(first.datasetId);
      expect([...again.session.units.keys()]).toEqual([...first.units.keys()]);
      expect(again.session.metadata).toEqual(first.metadata);
      expect(again.session.stimulus).toEqual(first.stimulus);
      for (const [id, unit] of first.units) expect(again.session.units.get(id)!.children).toEqual(unit.children);
    }
  });
});
