/**
 * Reads the files `hdmea process` was given (playlist and movie-length tables, stimulus configs,
 * noise movies) into the `PipelineInputs` the core steps take; the core never touches the disk.
 * Every error names the file and the problem.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { parseNpy } from "../core/npyArray.ts";
import type { PipelineInputs } from "../core/pipeline.ts";
import { scriptOf } from "./externalStep.ts";
import type { NamedPath } from "./pathIdentity.ts";
import type { ProcessOptions } from "./processOptions.ts";
import { fileError } from "../core/failure.ts";

export function readPipelineInputs(opts: ProcessOptions): PipelineInputs {
  const inputs: PipelineInputs = {};
  if (opts.playlist !== undefined) inputs.playlistCsv = { name: basename(opts.playlist), text: readText(opts.playlist) };
  if (opts.movieLength !== undefined) inputs.movieLengthCsv = { name: basename(opts.movieLength), text: readText(opts.movieLength) };
  if (opts.stimulusConfigDir !== undefined) inputs.stimulusConfigs = readConfigDir(opts.stimulusConfigDir);
  if (opts.noiseMovies.length) {
    inputs.stimulusMovies = {};
    for (const { movie, path } of opts.noiseMovies) {
      const buf = readBytes(path);
      // A plain Uint8Array view, not the Buffer: Buffer#slice shares memory instead of copying, and
      // parseNpy relies on slice() returning a copy that starts at offset 0 of its own ArrayBuffer.
      inputs.stimulusMovies[movie] = parseNpy(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), basename(path));
    }
  }
  return inputs;
}

/** Cheap existence checks, so a batch fails before it starts any worker. */
export function checkInputFiles(opts: ProcessOptions): void {
  for (const path of [opts.playlist, opts.movieLength, ...opts.noiseMovies.map((m) => m.path)]) {
    if (path !== undefined) statOrThrow(path);
  }
  if (opts.stimulusConfigDir !== undefined) readConfigDir(opts.stimulusConfigDir);
}

/** The stimulus files and external steps' scripts the run will read, for the path-aliasing check (pathIdentity.ts). */
export function inputPaths(opts: ProcessOptions): NamedPath[] {
  const paths: NamedPath[] = [];
  const add = (role: string, path: string | undefined) => path !== undefined && paths.push({ role, path, written: false });
  add("--playlist", opts.playlist);
  add("--movie-length", opts.movieLength);
  for (const m of opts.noiseMovies) add("--noise-movie", m.path);
  for (const e of opts.exec) add(`--exec ${e.name}'s script`, scriptOf(e.command));
  if (opts.stimulusConfigDir !== undefined) {
    let names: string[] = [];
    try {
      names = readdirSync(opts.stimulusConfigDir).filter((n) => n.toLowerCase().endsWith(".json"));
    } catch {
      // A missing folder is reported, naming it, when the configs are read.
    }
    for (const n of names) add("--stimulus-config", join(opts.stimulusConfigDir, n));
  }
  return paths;
}

function readConfigDir(dir: string): Record<string, string> {
  if (!statOrThrow(dir).isDirectory()) throw fileError(dir, "not a directory (--stimulus-config takes the folder of <movie>.json files)");
  const names = readdirSync(dir).filter((n) => n.toLowerCase().endsWith(".json"));
  if (!names.length) throw fileError(dir, "no .json stimulus configs in this folder");
  // Keyed by file name: the core strips ".json" and the file name, not the `name` field, is the movie.
  return Object.fromEntries(names.map((n) => [n, readText(join(dir, n))]));
}

function statOrThrow(path: string) {
  try {
    return statSync(path);
  } catch {
    throw fileError(path, "file not found");
  }
}

function readText(path: string): string {
  return readBytes(path).toString("utf8");
}

function readBytes(path: string): Buffer {
  if (statOrThrow(path).isDirectory()) throw fileError(path, "is a folder, expected a file");
  return readFileSync(path);
}
