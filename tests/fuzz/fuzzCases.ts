/**
 * The fuzz cases for the readers, shared by the Vitest driver (readers.fuzz.test.ts) and the child
 * process that runs them (fuzzWorker.ts).
 *
 * A case is (kind, index): its mutation is derived from `new Prng(seed, kindNumber, index)` alone, so
 * any case can be re-run by number. Mutations: byte and bit flips, "interesting" 8-byte values
 * (0, -1, 2^31, 2^40, …: huge shapes and sizes), truncation, splicing a region from another file,
 * zeroing a range, duplicating a block (overwriting or inserting). Most positions are drawn near
 * HDF5 metadata structures (object headers, B-trees, heaps: found by their ASCII signatures),
 * because uniform positions in these files mostly hit raw sample data, which any reader accepts.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NDArray, StringArray, isTree, type Tree } from "../../src/core/ndarray.ts";
import { Prng } from "../../src/core/prng.ts";
import type { PipelineSession } from "../../src/core/session.ts";
import type { H5Runtime } from "../../src/io/h5.ts";
import { openSensorData, readCmcr } from "../../src/io/mcs/cmcrReader.ts";
import { readCmtr } from "../../src/io/mcs/cmtrReader.ts";
import { loadRecording } from "../../src/io/mcs/openRecording.ts";
import { readSessionFile } from "../../src/io/sessionFile.ts";
import { loadSession, saveSession } from "../../src/io/sessionStore.ts";
import { writeRecordingPair } from "../../tools/recordingGenerator.ts";
import { fakeClock, randomSession } from "../fixtures/randomSession.ts";

export const KINDS = ["cmtr", "cmcr", "session"] as const;
export type Kind = (typeof KINDS)[number];

/**
 * The generated inputs every case starts from, per kind: [the file to mutate, splice material,
 * the same file in the oldest HDF5 format (or the first again if h5py is not available)].
 */
export interface BaseFiles {
  dir: string;
  cmtr: [string, string, string];
  cmcr: [string, string, string];
  session: [string, string, string];
  /** Whether the oldest-format copies exist. */
  earliest: boolean;
}

const PYTHON = "/usr/bin/python3";

/** Rewrites `path` with version-1 object headers (no checksums), as HDF5 1.8-era writers do. */
function earliestCopy(path: string): string | undefined {
  const out = path.replace(/(-?\.\w+)$/, "-v1$1");
  const run = spawnSync(PYTHON, [join(import.meta.dirname, "to_earliest.py"), path, out], { encoding: "utf8" });
  return run.status === 0 ? out : undefined;
}

export function writeBaseFiles(rt: H5Runtime, dir: string): BaseFiles {
  mkdirSync(dir, { recursive: true });
  const pair = (name: string, seed: number) =>
    // Few units and 1.5 s keep the files small (~300 kB), so mutations often hit structure.
    writeRecordingPair(rt, { dir, name, units: 3, minutes: 0.025, seed, sensorSeconds: 0.0025, cutoutLength: 8 });
  const a = pair("basea", 11);
  const b = pair("baseb", 12);
  const session = (seed: number) => {
    const path = join(dir, `session${seed}.h5`);
    saveSession(rt, randomSession({ units: 4, maxSpikes: 40, seed, now: fakeClock() }), path);
    return path;
  };
  const sessionA = session(21);
  const v1 = [a.cmtrPath, a.cmcrPath, sessionA].map(earliestCopy);
  const earliest = v1.every((p) => p !== undefined);
  const pick = (i: number, fallback: string) => (earliest ? v1[i]! : fallback);
  return {
    dir,
    cmtr: [a.cmtrPath, b.cmtrPath, pick(0, a.cmtrPath)],
    cmcr: [a.cmcrPath, b.cmcrPath, pick(1, a.cmcrPath)],
    session: [sessionA, session(22), pick(2, sessionA)],
    earliest,
  };
}

export interface Mutation {
  description: string;
  bytes: Uint8Array;
}

const SIGNATURES = ["OHDR", "OCHK", "TREE", "HEAP", "SNOD", "GCOL", "BTHD", "BTLF", "BTIN", "FRHP", "FHDB", "FHIB", "FSHD", "FSSE", "\x89HDF"];
const INTERESTING: bigint[] = [0n, 0xffffffffffffffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 1n << 40n, 1n << 62n, 0x7fffffffffffffffn, 1n];

/**
 * Offsets of HDF5 metadata structures in a file, found by their signatures. Version-1 object
 * headers have none: they are found through the superblock's root entry and the symbol-table
 * nodes (SNOD) that list every group member's header address.
 */
export function structureOffsets(bytes: Uint8Array): number[] {
  const out: number[] = [];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const address = (at: number) => (at + 8 <= bytes.length ? Number(dv.getBigUint64(at, true)) : -1);
  if (bytes[8] === 0 || bytes[8] === 1) out.push(address(64));
  for (let i = 0; i + 8 <= bytes.length; i++) {
    if (bytes[i] === 0x53 && bytes[i + 1] === 0x4e && bytes[i + 2] === 0x4f && bytes[i + 3] === 0x44) {
      const symbols = dv.getUint16(i + 6, true);
      for (let k = 0; k < symbols && i + 8 + 40 * (k + 1) <= bytes.length; k++) out.push(address(i + 8 + 40 * k + 8));
    }
  }
  const sigs = SIGNATURES.map((s) => Array.from(s, (c) => c.charCodeAt(0)));
  for (let i = 0; i + 4 <= bytes.length; i++) {
    for (const sig of sigs) {
      let k = 0;
      while (k < sig.length && i + k < bytes.length && bytes[i + k] === sig[k]) k++;
      if (k === sig.length) {
        out.push(i);
        break;
      }
    }
  }
  return [...new Set(out.filter((a) => a >= 0 && a < bytes.length))].sort((a, b) => a - b);
}

export interface CaseInput {
  original: Uint8Array;
  other: Uint8Array;
  /** structureOffsets(original), computed once per base file. */
  structure: number[];
}

/** The mutated bytes of case `index` of `kind` (deterministic in seed, kind and index). */
export function mutate(input: CaseInput, seed: number, kind: Kind, index: number): Mutation {
  const prng = new Prng(seed, KINDS.indexOf(kind) + 1, index);
  const { original, other, structure } = input;
  let bytes = original.slice();
  // 70 % near a metadata structure, 30 % anywhere; always inside the current (maybe cut) bytes.
  const position = (): number => {
    const n = bytes.length;
    if (structure.length && prng.next() < 0.7) {
      const base = structure[prng.int(0, structure.length)];
      return Math.max(0, Math.min(n - 1, base + prng.int(0, 320)));
    }
    return prng.int(0, n);
  };
  const steps: string[] = [];
  // One to three mutations stacked: single changes are mostly caught by the first check.
  const count = 1 + (prng.next() < 0.3 ? prng.int(1, 3) : 0);
  for (let m = 0; m < count; m++) {
    const op = prng.int(0, 8);
    const len = bytes.length;
    if (op === 0) {
      const flips = prng.int(1, 9);
      const at = position();
      for (let f = 0; f < flips; f++) {
        const p = Math.min(len - 1, at + prng.int(0, 16));
        bytes[p] ^= 1 + prng.int(0, 255);
      }
      steps.push(`flip ${flips} byte(s) near ${at}`);
    } else if (op === 1) {
      const at = position();
      const bit = prng.int(0, 8);
      bytes[at] ^= 1 << bit;
      steps.push(`flip bit ${bit} at ${at}`);
    } else if (op === 2) {
      const at = Math.max(0, Math.min(len - 8, position()));
      const value = INTERESTING[prng.int(0, INTERESTING.length)];
      const width = [1, 2, 4, 8][prng.int(0, 4)];
      for (let b = 0; b < width && at + b < len; b++) bytes[at + b] = Number((value >> BigInt(8 * b)) & 0xffn);
      steps.push(`write ${width}-byte 0x${(value & ((1n << BigInt(8 * width)) - 1n)).toString(16)} at ${at}`);
    } else if (op === 3) {
      const keep = prng.next() < 0.5 ? prng.int(0, len) : len - prng.int(1, Math.min(len, 4096));
      bytes = bytes.slice(0, Math.max(0, keep));
      steps.push(`truncate to ${keep} of ${len}`);
    } else if (op === 4) {
      const size = prng.int(1, 2048);
      const from = prng.int(0, Math.max(1, other.length - size));
      const to = position();
      const piece = other.subarray(from, from + size);
      bytes.set(piece.subarray(0, Math.max(0, len - to)), to);
      steps.push(`splice ${size} bytes from the other file's ${from} at ${to}`);
    } else if (op === 5) {
      const size = prng.int(1, prng.next() < 0.5 ? 64 : 4096);
      const at = position();
      bytes.fill(0, at, Math.min(len, at + size));
      steps.push(`zero ${size} bytes at ${at}`);
    } else if (op === 6) {
      const size = prng.int(1, 1024);
      const from = position();
      const to = position();
      const block = bytes.slice(from, Math.min(len, from + size));
      bytes.set(block.subarray(0, Math.max(0, len - to)), to);
      steps.push(`copy ${block.length} bytes from ${from} over ${to}`);
    } else {
      const size = prng.int(1, 512);
      const from = position();
      const to = position();
      const block = bytes.slice(from, Math.min(len, from + size));
      const grown = new Uint8Array(len + block.length);
      grown.set(bytes.subarray(0, to));
      grown.set(block, to);
      grown.set(bytes.subarray(to), to + block.length);
      bytes = grown;
      steps.push(`insert a copy of ${block.length} bytes from ${from} at ${to}`);
    }
    if (bytes.length === 0) break;
  }
  return { description: steps.join("; "), bytes };
}

export type Outcome =
  | { kind: "loaded"; summary: string }
  | { kind: "error"; message: string; category: string }
  | { kind: "bad"; problem: string; detail: string };

/**
 * Names the mutated file gets: the reader sees a normal recording pair or session file. Every case
 * gets its own name: after a failure HDF5 may keep the damaged file open (see docs/robustness.md),
 * and a later open of the same path would share its stale metadata instead of reading new bytes.
 */
export function caseStem(kind: Kind, index: number): string {
  return `fz${kind}${index}`;
}

export function caseFileName(kind: Kind, index: number): string {
  const stem = caseStem(kind, index);
  return kind === "cmtr" ? `${stem}-.cmtr` : kind === "cmcr" ? `${stem}.cmcr` : `${stem}.h5`;
}

export interface RunContext {
  rt: H5Runtime;
  /** A directory private to this process. */
  dir: string;
  bases: BaseFiles;
}

/**
 * Writes the mutated file, loads it the way the app does, and judges the result. .cmtr and .cmcr
 * cases alternate between loading alone and with the untouched other half of the pair.
 */
export function runCase(ctx: RunContext, kind: Kind, index: number, mutation: Mutation): Outcome {
  const { rt, dir, bases } = ctx;
  const name = caseFileName(kind, index);
  const stem = caseStem(kind, index);
  const path = join(dir, name);
  writeFileSync(path, mutation.bytes);
  const withPartner = index % 2 === 1;
  let outcome: Outcome;
  try {
    if (kind === "session") {
      const { session } = loadSession(rt, path);
      outcome = { kind: "loaded", summary: checkSession(session) };
    } else {
      let cmcrPath: string | undefined;
      let cmtrPath: string | undefined;
      if (kind === "cmtr") {
        cmtrPath = path;
        if (withPartner) copyFileSync(bases.cmcr[0], (cmcrPath = join(dir, `${stem}.cmcr`)));
      } else {
        cmcrPath = path;
        if (withPartner) copyFileSync(bases.cmtr[0], (cmtrPath = join(dir, `${stem}-.cmtr`)));
      }
      const session = loadRecording(rt, { cmcrPath, cmtrPath });
      let summary = checkSession(session);
      if (kind === "cmcr") {
        // The eimage STA's access to the raw frames: open and read them all (a few frames here).
        const sensor = openSensorData(rt, path);
        try {
          const frames = sensor.readFrames(0, sensor.shape[0]);
          if (frames.length !== sensor.shape[0] * sensor.shape[1] * sensor.shape[2]) throw new Error("frame count mismatch");
          summary += `; ${sensor.shape[0]} sensor frames`;
        } finally {
          sensor.close();
        }
      }
      outcome = { kind: "loaded", summary };
    }
  } catch (error) {
    outcome = judgeError(error, name);
  }
  for (const file of [path, join(dir, `${stem}.cmcr`), join(dir, `${stem}-.cmtr`)]) rmSync(file, { force: true });
  if (outcome.kind !== "loaded") {
    const broken = runtimeStillWorks(ctx, kind);
    if (broken) return { kind: "bad", problem: "runtime unusable after failure", detail: `${describeOutcome(outcome)}; then: ${broken}` };
  }
  return outcome;
}

export function describeOutcome(outcome: Outcome): string {
  if (outcome.kind === "loaded") return `loaded (${outcome.summary})`;
  if (outcome.kind === "error") return `error: ${outcome.message}`;
  return `${outcome.problem}: ${outcome.detail}`;
}

function judgeError(error: unknown, name: string): Outcome {
  if (!(error instanceof Error)) {
    return { kind: "bad", problem: "non-Error thrown", detail: `${typeof error}: ${String(error).slice(0, 300)}` };
  }
  if (error instanceof InvariantError) return { kind: "bad", problem: "loaded an inconsistent session", detail: error.message };
  const message = error.message;
  if (/HDF5-DIAG|\n/.test(message)) return { kind: "bad", problem: "raw multi-line message", detail: message.slice(0, 600) };
  if (!message.includes(name)) return { kind: "bad", problem: "message does not name the file", detail: `${error.name}: ${message.slice(0, 300)}` };
  if (message.length > 600) return { kind: "bad", problem: "message too long", detail: message.slice(0, 300) };
  return { kind: "error", message, category: errorCategory(message) };
}

/** A short label for the summary line: the message without the file name, paths and numbers. */
export function errorCategory(message: string): string {
  const rules: [RegExp, string][] = [
    [/not an HDF5 file/, "no HDF5 signature"],
    [/damaged string storage/, "damaged string heap"],
    [/file is empty/, "empty file"],
    [/cannot open as HDF5/, "cannot open"],
    [/claims .* more than|implausible|too large|exceeds/, "implausible size"],
    [/not one recording/, "pair mismatch"],
    [/no Peaks|no \w+ field|not numeric|not a compound|expected one dimension|outside the|has shape/, "malformed table or array"],
    [/not a session file/, "not a session file"],
    [/not an MCS CMOS-MEA|DataManager/, "not CMOS-MEA"],
    [/no spike sorter results/, "no spike sorter"],
    [/cannot read /, "unreadable object"],
    [/nested|too deep|cycle/, "structure loop"],
    [/cannot tell the unit number|both give unit number|unit number/, "unit number"],
  ];
  for (const [re, label] of rules) if (re.test(message)) return label;
  const rest = message.replace(/^[^:]*:\s*/, "").replace(/\/[^\s,;:()]+/g, "PATH").replace(/\d+/g, "N");
  return rest.split(/\s+/).slice(0, 5).join(" ");
}

/** After a failure: does the runtime still open and read a good file of the same kind? */
function runtimeStillWorks(ctx: RunContext, kind: Kind): string | undefined {
  try {
    if (kind === "session") {
      const { session } = readSessionFile(ctx.rt, ctx.bases.session[0]);
      if (session.units.size !== 4) return `good session gave ${session.units.size} units`;
    } else if (kind === "cmtr") {
      if (readCmtr(ctx.rt, ctx.bases.cmtr[0]).units.length !== 3) return "good .cmtr gave the wrong unit count";
    } else {
      if (!readCmcr(ctx.rt, ctx.bases.cmcr[0]).analog) return "good .cmcr lost its analog data";
    }
    return undefined;
  } catch (error) {
    return `reading a good file failed: ${error instanceof Error ? error.message : String(error)}`.slice(0, 400);
  }
}

/** Invariants every loaded session must keep, whatever bytes it came from; a short summary. */
function checkSession(session: PipelineSession): string {
  const problems: string[] = [];
  for (const [id, unit] of session.units) {
    if (unit.id !== id) problems.push(`${id}: id mismatch`);
    if (!(unit.spikeTimes instanceof BigUint64Array)) problems.push(`${id}: spike_times not uint64`);
    if (unit.waveform && !(unit.waveform instanceof Float32Array)) problems.push(`${id}: waveform not float32`);
    if (unit.firingRate10hz && !(unit.firingRate10hz instanceof Float32Array)) problems.push(`${id}: rate not float32`);
    for (const key of ["row", "col", "global_id", "unit_num"] as const) {
      if (typeof unit.attrs[key] !== "number") problems.push(`${id}: @${key} not a number`);
    }
    checkTree(unit.children, `${id}`, problems);
  }
  checkTree(session.metadata, "metadata", problems);
  checkTree(session.stimulus, "stimulus", problems);
  if (problems.length) throw new InvariantError(problems.slice(0, 3).join("; "));
  return `${session.units.size} units, ${session.warnings.length} warnings`;
}

function checkTree(tree: Tree, where: string, problems: string[]): void {
  for (const [key, node] of Object.entries(tree)) {
    if (node instanceof NDArray) {
      const count = node.shape.reduce((a, b) => a * b, 1);
      if (count !== node.data.length) problems.push(`${where}/${key}: shape does not match data`);
    } else if (node instanceof StringArray) {
      if (node.data.some((s) => typeof s !== "string")) problems.push(`${where}/${key}: non-string in strings`);
    } else if (isTree(node)) checkTree(node, `${where}/${key}`, problems);
    else if (typeof node !== "string") problems.push(`${where}/${key}: unknown node`);
  }
}

/** A loaded session that breaks an invariant: never an acceptable outcome (it is not a clean error). */
export class InvariantError extends Error {
  override name = "InvariantError";
}

export function readBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}
