/**
 * No path aliasing (issue 17): every case where two paths of a run are one file is refused with
 * exit 2 and one line naming both, before anything is read or written — asserted on the bytes of
 * every file in the folder.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { writeRecordingPair } from "../../tools/recordingGenerator.ts";
import { CONFIGS, MOVIE_LENGTH, NOISE_MOVIE, PLAYLIST, hdmea, snapshot, writeNoiseMovie } from "./cliHarness.ts";

let root: string;
let dir: string;
let session: string;

beforeAll(async () => {
  const rt = await nodeRuntime();
  root = mkdtempSync(join(tmpdir(), "hdmea-cli-alias-"));
  dir = join(root, "rec");
  mkdirSync(dir);
  writeRecordingPair(rt, { dir, name: "Rec", units: 2, minutes: 0.1, seed: 31 });
  cpSync(PLAYLIST, join(dir, "playlist.csv"));
  cpSync(MOVIE_LENGTH, join(dir, "movie_length.csv"));
  cpSync(CONFIGS, join(dir, "configs"), { recursive: true });
  writeNoiseMovie(join(dir, `${NOISE_MOVIE}.npy`));
  // An existing session file: the one a `--checkpoint` = `--out` run would resume from and delete.
  session = join(dir, "same.h5");
  const first = hdmea(["process", join(dir, "Rec-.cmtr"), "--out", session]);
  expect(first.code, first.stderr).toBe(0);
  symlinkSync(join(dir, "Rec.cmcr"), join(dir, "link-to-cmcr.h5"));
  linkSync(join(dir, "Rec-.cmtr"), join(dir, "hardlink.h5"));
}, 60_000);

/** Runs `hdmea process` in `dir` and checks it was refused with nothing read or written. */
function refused(args: string[], names: RegExp, cwd = dir): void {
  const before = snapshot(root);
  const run = hdmea(["process", ...args], {}, cwd);
  expect(run.code, run.stderr).toBe(2);
  expect(run.stderr.split("\n").filter(Boolean)).toHaveLength(1);
  expect(run.stderr).toMatch(names);
  expect(run.stderr).toMatch(/nothing was read or written\n$/i);
  expect(run.stdout).toBe("");
  expect(snapshot(root)).toEqual(before);
}

describe("hdmea process refuses paths that are one file", () => {
  it("checkpoint = out, by the same path and by ./", () => {
    refused(["Rec-.cmtr", "--out", "same.h5", "--checkpoint", "same.h5", "--overwrite", "--steps", "load_recording"], /--out same\.h5 and --checkpoint same\.h5 are the same path/);
    refused(["Rec-.cmtr", "--out", "./same.h5", "--checkpoint", "same.h5", "--overwrite"], /--out \.\/same\.h5 and --checkpoint same\.h5 are the same path/);
    // Not yet existing: the same file by name alone.
    refused(["Rec-.cmtr", "--out", "new.h5", "--checkpoint", "../rec/new.h5"], /--out new\.h5 and --checkpoint \.\.\/rec\/new\.h5 are the same path/);
    expect(existsSync(join(dir, "new.h5"))).toBe(false);
  }, 120_000);

  it("out = the .cmtr, a symlink to the .cmcr, a hard link of the .cmtr", () => {
    refused(["Rec-.cmtr", "--out", "Rec-.cmtr", "--overwrite"], /the \.cmtr Rec-\.cmtr and --out Rec-\.cmtr are the same path/);
    refused(["Rec-.cmtr", "--out", "link-to-cmcr.h5", "--overwrite"], /the \.cmcr .*Rec\.cmcr and --out link-to-cmcr\.h5 are the same file/);
    refused(["Rec-.cmtr", "--out", join(dir, "hardlink.h5"), "--overwrite"], /the \.cmtr Rec-\.cmtr and --out .*hardlink\.h5 are the same file/);
  }, 120_000);

  it("checkpoint = the .cmcr (or its temporary beside it)", () => {
    refused(["Rec-.cmtr", "--out", "fresh.h5", "--checkpoint", "Rec.cmcr"], /the \.cmcr .*Rec\.cmcr and --checkpoint Rec\.cmcr are the same/);
    refused(["Rec-.cmtr", "--out", "Rec.cmcr.next", "--checkpoint", "Rec.cmcr"], /the \.cmcr/);
    // A checkpoint's delta files (ck.d1.h5, ck.d2.h5, … beside ck.h5) are written and removed with it.
    refused(["Rec-.cmtr", "--out", "ck.d2.h5", "--checkpoint", "ck.h5"], /--out ck\.d2\.h5 and --checkpoint ck\.h5 clash: ck\.d2\.h5 is named as a delta file of checkpoint ck\.h5/);
    refused(["Rec-.cmtr", "--out", "fresh.h5", "--checkpoint", "Rec.h5", "--playlist", "Rec.d1.h5"], /--playlist Rec\.d1\.h5 and --checkpoint Rec\.h5 clash/);
  }, 120_000);

  it("out = a stimulus input (playlist, movie-length table, noise movie, a stimulus config)", () => {
    const stimulus = ["--playlist", "playlist.csv", "--movie-length", "movie_length.csv", "--stimulus-config", "configs", "--noise-movie", `${NOISE_MOVIE}.npy`, "--overwrite"];
    refused(["Rec-.cmtr", ...stimulus, "--out", "playlist.csv"], /--playlist playlist\.csv and --out playlist\.csv are the same path/);
    refused(["Rec-.cmtr", ...stimulus, "--out", "./movie_length.csv"], /--movie-length movie_length\.csv and --out \.\/movie_length\.csv/);
    refused(["Rec-.cmtr", ...stimulus, "--out", `${NOISE_MOVIE}.npy`], /--noise-movie \S+\.npy and --out \S+\.npy are the same path/);
    refused(["Rec-.cmtr", ...stimulus, "--out", "configs/gray_baseline_60.json"], /--stimulus-config configs\/gray_baseline_60\.json and --out configs\/gray_baseline_60\.json/);
    refused(["Rec-.cmtr", ...stimulus, "--out", "x.h5", "--checkpoint", join(dir, "playlist.csv")], /--playlist playlist\.csv and --checkpoint .*playlist\.csv are the same/);
  }, 120_000);

  it("batch: two recordings with one dataset id, an out-dir that is an input folder", async () => {
    const rt = await nodeRuntime();
    const other = join(root, "other");
    mkdirSync(other);
    writeRecordingPair(rt, { dir: other, name: "Rec", units: 2, minutes: 0.1, seed: 32 });
    refused([dir, other, "--out-dir", join(root, "out")], /rec\/Rec-\.cmtr and .*other\/Rec-\.cmtr both have dataset id Rec: both would write .*out\/Rec\.h5/, root);
    expect(existsSync(join(root, "out"))).toBe(false);

    refused([join(dir, "Rec-.cmtr"), "--out-dir", "."], /--out-dir \. is the folder the recordings are read from/);
    refused([other, "--out-dir", `${other}/`], /--out-dir .*other\/ is the folder the recordings are read from/);
    refused([other, "--out-dir", "configs", "--stimulus-config", "configs"], /--out-dir configs is the folder --stimulus-config is read from/);
  }, 120_000);
});
