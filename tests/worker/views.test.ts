/**
 * The worker's view data: the light reference, raster alignment, PSTH counts on hand-built spike trains, and
 * the HDF5 layout view compared with a file the session writer really wrote (opened with h5wasm).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NDArray, StringArray, f64, i64 } from "../../src/core/ndarray.ts";
import { PipelineSession, type Unit } from "../../src/core/session.ts";
import type { H5Dataset, H5Group } from "../../src/io/h5.ts";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { numericDtype } from "../../src/io/h5.ts";
import { readSessionFile } from "../../src/io/sessionFile.ts";
import { saveSession } from "../../src/io/sessionStore.ts";
import { deferredAt } from "../../src/core/deferredGroup.ts";
import { closeSources } from "../../src/core/sessionSources.ts";
import {
  electrodeMap,
  lightReference,
  psth,
  raster,
  sessionTree,
  layoutPage,
  unitColumn,
  unitDetail,
  type LayoutNode,
} from "../../src/worker/views.ts";
import { fakeClock, randomSession } from "../fixtures/randomSession.ts";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "hdmea-views-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function unit(num: number, spikes: number[], children: Unit["children"] = {}): Unit {
  return {
    id: `unit_${String(num).padStart(3, "0")}`,
    attrs: { row: num, col: 2 * num, global_id: num, unit_num: num, original_name: `Unit_${num}` },
    spikeTimes: BigUint64Array.from(spikes, (s) => BigInt(s)),
    waveform: Float32Array.of(0, -5, -10, -3, 2),
    firingRate10hz: Float32Array.of(0, 10, 20, 10),
    children,
  };
}

/** A 1 kHz session (round numbers): 10 s of light reference, one movie shown twice. */
function handSession(): PipelineSession {
  const s = new PipelineSession("hand");
  s.addMetadata({ acquisition_rate: f64(1000), cmcr_meta: { recording_duration_s: f64(10) } });
  const light = new Float32Array(10_000);
  light[1234] = 50; // one flash sample: must survive any downsampling
  light[8765] = -7;
  s.addStimulus({
    light_reference: { raw_ch1: new NDArray(light) },
    section_time: { flash: new NDArray(BigInt64Array.of(1000n, 3000n, 5000n, 7000n), [2, 2]) },
  });
  s.addUnits([
    unit(1, [100, 1100, 1500, 2900, 5200, 5300, 9000], {
      unit_meta: { snr: new NDArray(Float64Array.of(7.5), [1]), tags: "good" },
      spike_times_sectioned: {
        flash: {
          full_spike_times: new NDArray(BigInt64Array.of(1100n, 1500n, 1600n)),
          // Trial 0 starts at 1000, trial 1 at 1500 (pre-padding puts 1450 before its start).
          trials_spike_times: { "0": new NDArray(BigInt64Array.of(1100n, 1500n)), "1": new NDArray(BigInt64Array.of(1450n, 1600n)) },
          trials_start_end: new NDArray(BigInt64Array.of(1000n, 1500n, 1500n, 2000n), [2, 2]),
        },
      },
      features: { frif: { data: { mean_rate: f64(3.25) }, metadata: { extractor_version: "1" } } },
    }),
    unit(2, [10, 20, 30]),
  ]);
  return s;
}

describe("psth", () => {
  it("counts spikes per bin and divides by trials × bin width", () => {
    // Two trials' spikes pooled: 3 in [0, 0.1), 1 in [0.1, 0.2), 0, 2 in [0.3, 0.4).
    const p = psth([0.01, 0.05, 0.09, 0.15, 0.31, 0.39], 2, 0, 0.4, 0.1);
    expect([...p.binStartS].map((x) => +x.toFixed(6))).toEqual([0, 0.1, 0.2, 0.3]);
    expect([...p.rateHz].map((x) => +x.toFixed(6))).toEqual([15, 5, 0, 10]);
  });

  it("ignores spikes outside the range and supports negative starts (pre-padding)", () => {
    const p = psth([-0.5, -0.05, 0.05, 1.5], 1, -0.1, 0.1, 0.1);
    expect([...p.rateHz]).toEqual([10, 10]);
  });
});

describe("raster", () => {
  it("aligns sectioned trials to each trial's start, in seconds", () => {
    const r = raster(handSession(), "unit_001", { movie: "flash", binS: 0.1 });
    expect(r.mode).toBe("trials");
    expect(r.trialCount).toBe(2);
    const points = [...r.timeS].map((t, i) => [+t.toFixed(6), r.trial[i]]);
    expect(points).toEqual([
      [-0.05, 1],
      [0.1, 0],
      [0.1, 1],
      [0.5, 0],
    ]);
    expect(r.startS).toBeCloseTo(-0.05, 9);
    expect(r.endS).toBeCloseTo(0.5, 9);
    // PSTH: bins from -0.05; 2 trials × 0.1 s.
    expect(r.psth.rateHz.reduce((a, b) => a + b, 0) * 2 * 0.1).toBeCloseTo(4, 9);
  });

  it("falls back to section_time showings, then to recording time, when sectioning has not run", () => {
    const bySections = raster(handSession(), "unit_002", { movie: "flash" });
    expect(bySections.mode).toBe("sections");
    expect(bySections.trialCount).toBe(2);
    expect(bySections.timeS.length).toBe(0);

    const s = handSession();
    const bySectionsU1 = raster(s, "unit_001", { movie: "flash" });
    expect(bySectionsU1.mode).toBe("trials");

    const plain = raster(s, "unit_001");
    expect(plain.mode).toBe("recording");
    expect(plain.trialCount).toBe(1);
    expect([...plain.timeS]).toEqual([0.1, 1.1, 1.5, 2.9, 5.2, 5.3, 9]);
    expect(plain.movies).toEqual(["flash"]);
  });
});

describe("unit views", () => {
  it("unitDetail gives the waveform, firing rate with time axes, and unit_meta scalars", () => {
    const d = unitDetail(handSession(), "unit_001");
    expect(d.spikeCount).toBe(7);
    expect(d.meanRateHz).toBeCloseTo(0.7, 9);
    expect([...d.waveformMs]).toEqual([0, 1, 2, 3, 4]);
    expect([...d.firingRateS].map((x) => +x.toFixed(6))).toEqual([0, 0.1, 0.2, 0.3]);
    expect(d.meta).toEqual([
      { name: "snr", value: 7.5 },
      { name: "tags", value: "good" },
    ]);
    expect(d.features).toEqual(["frif"]);
    expect(d.sectionedMovies).toEqual(["flash"]);
  });

  it("electrodeMap and unitColumn give one value per unit, NaN where missing", () => {
    const s = handSession();
    const map = electrodeMap(s, "snr");
    expect(map.ids).toEqual(["unit_001", "unit_002"]);
    expect([...map.row]).toEqual([1, 2]);
    expect([...map.col]).toEqual([2, 4]);
    expect(map.values[0]).toBe(7.5);
    expect(map.values[1]).toBeNaN();
    expect(map.available).toEqual(expect.arrayContaining(["spike_count", "rate_hz", "snr", "frif/mean_rate"]));
    expect([...unitColumn(s, "spike_count").values]).toEqual([7, 3]);
  });

  it("lightReference downsamples the trace and converts section_time to seconds", async () => {
    const v = await lightReference(handSession(), { points: 100 });
    expect(v.channel).toBe("raw_ch1");
    expect(v.durationS).toBe(10);
    expect(v.value.length).toBe(200);
    expect(Math.max(...v.value)).toBe(50);
    expect(Math.min(...v.value)).toBe(-7);
    expect(v.sections).toEqual([
      { movie: "flash", occurrence: 0, startS: 1, endS: 3 },
      { movie: "flash", occurrence: 1, startS: 5, endS: 7 },
    ]);
    const zoom = await lightReference(handSession(), { from: 1, to: 1.5, points: 1000 });
    expect(zoom.timeS[0]).toBe(1);
    expect(zoom.value.length).toBe(500);
  });
});

describe("sessionTree", () => {
  interface Entry {
    kind: "group" | "dataset";
    shape?: number[];
    dtype?: string;
    /** `name: dtype`, sorted. */
    attrs: string[];
  }

  function flattenView(node: LayoutNode, out = new Map<string, Entry>()): Map<string, Entry> {
    out.set(node.path, { kind: node.kind, shape: node.shape, dtype: node.dtype, attrs: node.attrs.map((a) => `${a.name}: ${a.dtype}`).sort() });
    for (const child of node.children ?? []) flattenView(child, out);
    return out;
  }

  const dtypeOf = (meta: H5Dataset["metadata"]) => (meta.type === 3 ? "string" : numericDtype(meta));

  function flattenFile(group: H5Group, path: string, out = new Map<string, Entry>()): Map<string, Entry> {
    out.set(path, { kind: "group", attrs: Object.entries(group.attrs).map(([name, attr]) => `${name}: ${dtypeOf(attr.metadata)}`).sort() });
    for (const name of group.keys()) {
      const child = group.get(name) as H5Group | H5Dataset;
      const childPath = path ? `${path}/${name}` : name;
      if (child.type === "Group") flattenFile(child as H5Group, childPath, out);
      else {
        const ds = child as H5Dataset;
        const meta = ds.metadata;
        out.set(childPath, {
          kind: "dataset",
          shape: (ds.shape ?? []).map(Number),
          dtype: dtypeOf(meta),
          attrs: Object.keys(ds.attrs).sort(),
        });
      }
    }
    return out;
  }

  it("matches what saveSession writes: every path, shape and dtype, and every attribute's", async () => {
    const rt = await nodeRuntime();
    for (const session of [randomSession({ units: 6, maxSpikes: 50, seed: 3, now: fakeClock() }), handSession()]) {
      session.addMetadata({ names: new StringArray(["a", "bc"]), empty: new NDArray(new Float64Array(0)), scalar_i: i64(3) });
      Object.assign(session.getUnit("unit_001").attrs, { snr: 2.5, label: "good" });
      session.warn("a warning");
      const path = join(dir, `${session.datasetId}.h5`);
      saveSession(rt, session, path, { overwrite: true });
      const file = new rt.h5.File(path, "r");
      try {
        const inFile = flattenFile(file as unknown as H5Group, "");
        const inView = flattenView(sessionTree(session));
        expect([...inView.keys()].sort()).toEqual([...inFile.keys()].sort());
        for (const [p, entry] of inFile) expect(inView.get(p), p).toEqual(entry);
      } finally {
        file.close();
      }
    }
  });

  it("shows an opened file's unread groups without reading them, except those on the way to the path asked for", async () => {
    const rt = await nodeRuntime();
    const path = join(dir, "lazy.h5");
    saveSession(rt, handSession(), path, { overwrite: true });
    const saved = (() => {
      const file = new rt.h5.File(path, "r");
      try {
        return flattenFile(file as unknown as H5Group, "");
      } finally {
        file.close();
      }
    })();
    const { session } = readSessionFile(rt, path, { deferGroups: true });
    try {
      const children = session.getUnit("unit_001").children;
      const unread = () => Object.keys(children).filter((key) => deferredAt(children, key)).sort();
      expect(unread()).toEqual(["features", "spike_times_sectioned", "unit_meta"]);

      const tree = sessionTree(session);
      const unit = tree.children!.find((c) => c.name === "units")!.children!.find((c) => c.name === "unit_001")!;
      expect(unit.children!.filter((c) => c.unread).map((c) => c.path).sort()).toEqual(unread().map((key) => `units/unit_001/${key}`));
      expect(unread()).toEqual(["features", "spike_times_sectioned", "unit_meta"]);
      // What the view shows of the opened file is what the file holds.
      for (const [p, entry] of flattenView(tree)) if (!unit.children!.some((c) => c.unread && c.path === p)) expect(entry, p).toEqual(saved.get(p));

      // Asked for a path inside a group: that group is read, its deferred subgroups stay unread, the others too.
      const flash = "units/unit_001/spike_times_sectioned/flash";
      const asked = sessionTree(session, { readPath: flash });
      expect(unread()).toEqual(["features", "unit_meta"]);
      const shown = flattenView(asked);
      expect(shown.get(`${flash}/trials_start_end`)).toEqual(saved.get(`${flash}/trials_start_end`));
      const inFlash = layoutPage(asked, flash).children!;
      expect(inFlash.find((c) => c.name === "trials_spike_times")).toMatchObject({ kind: "group", unread: true });
    } finally {
      closeSources(session);
    }
  });

  it("sends a long group's members folded, and a folded member whole when asked for by path", () => {
    const session = randomSession({ units: 12, maxSpikes: 5, seed: 4, now: fakeClock() });
    const full = sessionTree(session);
    // A page of 10: the 12 units are folded, the root's 6 members are not.
    const page = layoutPage(full, "", 10);
    const units = page.children!.find((c) => c.name === "units")!;
    expect(units.children).toHaveLength(12);
    const unit = units.children![11];
    expect(unit).toMatchObject({ path: "units/unit_012", kind: "group" });
    expect(unit.children).toBeUndefined();
    expect(unit.childCount).toBe(full.children!.find((c) => c.name === "units")!.children![11].children!.length);
    expect(unit.attrs.length).toBeGreaterThan(0);
    expect(page.children!.find((c) => c.name === "pipeline")!.children![0].path).toBe("pipeline/session_info");
    // Opened: the unit with its members, as in the whole tree.
    const opened = layoutPage(full, "units/unit_012", 10);
    expect(flattenView(opened)).toEqual(new Map([...flattenView(full)].filter(([p]) => p.startsWith("units/unit_012"))));
    // Under the default page the same session is sent whole.
    expect(flattenView(layoutPage(full))).toEqual(flattenView(full));
    expect(() => layoutPage(full, "units/unit_999")).toThrow(/no group or dataset "units\/unit_999"/);
  });

  it("names units/<id>/spike_times as uint64", () => {
    const tree = flattenView(sessionTree(handSession()));
    expect(tree.get("units/unit_001/spike_times")).toMatchObject({ kind: "dataset", dtype: "uint64", shape: [7] });
    expect(tree.get("units/unit_001/spike_times_sectioned/flash/trials_start_end")).toMatchObject({ dtype: "int64", shape: [2, 2] });
  });
});
