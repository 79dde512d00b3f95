/**
 * Which paths name the same file. `hdmea process` checks every path it will read, write or use as a
 * temporary before any work, so an output can never replace an input, a checkpoint can never be the
 * output it is deleted after, and so on (symlinks, hard links, `./x` and `x` all count as the same).
 *
 * A file that exists is known by its device and inode (stat follows symlinks: a symlink is the file it
 * points to). A path that does not exist yet is known by the real path of its folder plus its name,
 * so `out.h5` and `./sub/../out.h5` are one file before either is written.
 */
import { realpathSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { HdmeaError } from "../core/failure.ts";
import { deltaBaseOf } from "../io/checkpointDeltas.ts";

/** Refused before any work: exit 2, one line, nothing read or written. */
export class PathAliasError extends HdmeaError {
  override name = "PathAliasError";
  constructor(message: string) {
    super(message, "bad-input");
  }
}

export interface NamedPath {
  /** What the path is for, in messages: "--out", "--checkpoint", "the .cmtr", "--playlist", … */
  role: string;
  path: string;
  /** Written, replaced or deleted by the run (outputs, checkpoints, temporaries); inputs are only read. */
  written: boolean;
  /** A checkpoint: its delta files (`X.d1.h5`, … beside `X.h5`, checkpointDeltas.ts) are written too. */
  withDeltas?: boolean;
}

/** A key equal for two paths exactly when they name the same file. */
export function fileIdentity(path: string): string {
  try {
    const st = statSync(path, { bigint: true });
    return `inode:${st.dev}:${st.ino}`;
  } catch {
    return `path:${realLocation(path)}`;
  }
}

/** The real path of the folder (as far as it exists) plus the rest of the path as given. */
function realLocation(path: string): string {
  const absolute = resolve(path);
  const parent = dirname(absolute);
  if (parent === absolute) return absolute;
  try {
    return join(realpathSync(parent), basename(absolute));
  } catch {
    return join(realLocation(parent), basename(absolute));
  }
}

export function sameFile(a: string, b: string): boolean {
  return fileIdentity(a) === fileIdentity(b);
}

/**
 * The first pair of paths that are one file where at least one of them is written; two inputs that
 * are one file (one noise movie under two names) are only read, so they are allowed.
 */
export function findAlias(paths: readonly NamedPath[]): [NamedPath, NamedPath] | undefined {
  const seen = new Map<string, NamedPath[]>();
  for (const p of paths) {
    // A checkpoint's delta files are known by the checkpoint they belong to: an input named like
    // one of them would be written over or removed with it.
    const delta = deltaBaseOf(p.path);
    const keys = [fileIdentity(p.path), ...(p.withDeltas ? [`deltas of ${fileIdentity(p.path)}`] : []), ...(delta ? [`deltas of ${fileIdentity(delta.base)}`] : [])];
    for (const key of keys) {
      const earlier = seen.get(key) ?? [];
      const clash = earlier.find((e) => e.written || p.written || (key.startsWith("deltas of ") && (e.withDeltas || p.withDeltas)));
      if (clash) return [clash, p];
      seen.set(key, [...earlier, p]);
    }
  }
  return undefined;
}

/** Throws a PathAliasError naming both paths when two of them are one file. */
export function refuseAliases(paths: readonly NamedPath[]): void {
  const alias = findAlias(paths);
  if (!alias) return;
  const [a, b] = alias;
  const [checkpoint, other] = a.withDeltas ? [a, b] : [b, a];
  const how = resolve(a.path) === resolve(b.path)
    ? "are the same path"
    : sameFile(a.path, b.path) || !checkpoint.withDeltas
      ? "are the same file"
      : `clash: ${other.path} is named as a delta file of checkpoint ${checkpoint.path}`;
  throw new PathAliasError(`${a.role} ${a.path} and ${b.role} ${b.path} ${how}; nothing was read or written`);
}
