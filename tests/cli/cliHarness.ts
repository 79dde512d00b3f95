/**
 * Shared by the CLI tests: runs the built binary (`npm run build:node` first), the example stimulus
 * inputs (tools/stimulus), a dense-noise movie matching the generated recordings, and h5py as an independent reader.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { Prng } from "../../src/core/prng.ts";

export const BIN = join(import.meta.dirname, "../../bin/hdmea.js");
/** The example stimulus files, copied into the repository so the tests run from any checkout. */
export const STIMULUS = join(import.meta.dirname, "../../tools/stimulus");
export const PLAYLIST = join(STIMULUS, "playlist.example.csv");
export const MOVIE_LENGTH = join(STIMULUS, "movie_length.example.csv");
export const CONFIGS = join(STIMULUS, "stimuli");
export const NOISE_MOVIE = "checker_noise_10x10_20hz_s7_1min";
export const PYTHON = "/usr/bin/python3";

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function hdmea(args: readonly string[], env: Record<string, string> = {}, cwd?: string): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 60_000, env: { ...process.env, ...env }, cwd });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Every file under `dir` (recursively) with the SHA-256 of its bytes: "nothing changed" is equality. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile() || entry.isSymbolicLink()) {
      out[relative(dir, path)] = entry.isSymbolicLink() ? `-> ${readlinkSync(path)}` : createHash("sha256").update(readFileSync(path)).digest("hex");
    }
  }
  return out;
}

/** The options for the whole pipeline on the shared example playlist. */
export function pipelineArgs(noiseNpy?: string): string[] {
  return [
    "--steps", "all",
    "--playlist", PLAYLIST,
    "--playlist-name", "demo_set_a",
    "--movie-length", MOVIE_LENGTH,
    "--stimulus-config", CONFIGS,
    ...(noiseNpy ? ["--noise-movie", noiseNpy] : []),
  ];
}

/**
 * The checkerboard the recording generator shows (seed 7, a new 10 × 10 binary frame every 3 display
 * frames), as `<movie>.npy` [3600, 10, 10] uint8, written with a version-1 .npy header.
 */
/** workflow/config.yaml lines for the recordings in `input`, the example stimulus inputs and the noise movie at `noise`. */
export function workflowConfigLines(input: string, noise: string): string[] {
  return [
    `recordings: ${JSON.stringify(input)}`,
    `out_dir: results`,
    `playlist: ${JSON.stringify(PLAYLIST)}`,
    `playlist_name: demo_set_a`,
    `movie_length: ${JSON.stringify(MOVIE_LENGTH)}`,
    `stimulus_config: ${JSON.stringify(CONFIGS)}`,
    `noise_movie: [${JSON.stringify(noise)}]`,
  ];
}

export function writeNoiseMovie(path: string): void {
  const frames = 3600;
  const data = new Uint8Array(frames * 100);
  const noise = new Prng(7, 20);
  for (let f = 0; f < frames; f++) {
    for (let p = 0; p < 100; p++) data[f * 100 + p] = f % 3 === 0 ? (noise.next() < 0.5 ? 255 : 0) : data[(f - 1) * 100 + p];
  }
  let header = `{'descr': '|u1', 'fortran_order': False, 'shape': (${frames}, 10, 10), }`;
  header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
  const head = new Uint8Array(10 + header.length);
  head.set([0x93, ...Buffer.from("NUMPY"), 1, 0, header.length & 0xff, header.length >> 8]);
  head.set(Buffer.from(header, "latin1"), 10);
  writeFileSync(path, Buffer.concat([head, data]));
}

/** Runs a Python snippet with h5py; `sys.argv[1:]` are `args`; returns its stdout parsed as JSON. */
export function h5py(script: string, ...args: string[]): any {
  const r = spawnSync(PYTHON, ["-c", `import sys, json, h5py, numpy as np\n${script}`, ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`h5py failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** What the pipeline wrote, read by h5py (the lab's reader). */
export const H5PY_SUMMARY = `
f = h5py.File(sys.argv[1], "r")
dec = lambda v: v.decode() if isinstance(v, bytes) else v
out = {
  "dataset_id": dec(f.attrs["dataset_id"]),
  "completed_steps": [dec(s) for s in f["pipeline/session_info/completed_steps"][()]],
  "section_time": {m: list(f["stimulus/section_time"][m].shape) for m in f["stimulus/section_time"]},
  "section_time_dtype": str(f["stimulus/section_time"][list(f["stimulus/section_time"])[0]].dtype),
  "units": {},
}
for u in f["units"]:
  g = f["units"][u]
  sec = g.get("spike_times_sectioned", {})
  out["units"][u] = {
    "sectioned": {m: {"trials": sorted(sec[m]["trials_spike_times"].keys(), key=int),
                      "trials_start_end": list(sec[m]["trials_start_end"].shape),
                      "n_full": int(sec[m]["full_spike_times"].shape[0])} for m in sec},
    "features": sorted(g["features"].keys()) if "features" in g else [],
    "frif": int(g["features/frif/data/FRIF"].shape[0]) if "features/frif/data/FRIF" in g else None,
    "sta": list(g["features/sta_${NOISE_MOVIE}/data"].shape) if "features/sta_${NOISE_MOVIE}/data" in g else None,
  }
print(json.dumps(out))
`;

/**
 * Every dataset and attribute of two files that differs, ignoring wall-clock times (created_at,
 * saved_at, extracted_at, completedAt, warning times).
 */
export const H5PY_DIFF = `
TIME_ATTRS = {"created_at", "saved_at", "stage1_timestamp", "checkpoint_name"}
def norm(name, v):
  if isinstance(v, np.ndarray) and v.dtype.kind in "SO":
    v = [x.decode() if isinstance(x, bytes) else x for x in v.ravel()]
    if name.endswith("step_log") or name.endswith("warning_log"):
      v = [{k: w for k, w in json.loads(x).items() if k not in ("completedAt", "at")} for x in v]
    return json.dumps(v, sort_keys=True)
  if isinstance(v, bytes): return v.decode()
  if isinstance(v, np.ndarray): return (str(v.dtype), v.shape, v.tobytes().hex())
  return repr(v)
def dump(path):
  f = h5py.File(path, "r"); out = {}
  def visit(name, obj):
    for k, a in obj.attrs.items():
      if k not in TIME_ATTRS: out[name + "@" + k] = norm(k, a)
    if isinstance(obj, h5py.Dataset) and not name.endswith("extracted_at"):
      out[name] = norm(name, obj[()])
  visit("", f); f.visititems(visit); return out
a, b = dump(sys.argv[1]), dump(sys.argv[2])
print(json.dumps(sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))))
`;
