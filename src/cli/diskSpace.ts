/**
 * A full disk says so. Before a session file or checkpoint is written, the free space of its folder
 * (statfs) is compared with the bytes the session's arrays will take in the file (written uncompressed,
 * so the file is at least about that big and the check does not refuse a save that fits); and a write the
 * device refuses (ENOSPC, EDQUOT, EIO, also from inside HDF5) becomes one line naming the OUTPUT:
 * `OUT.h5: no space left on the device (needs about N MB, M MB free); OUT.h5 is unchanged`.
 *
 * Test hooks: `HDMEA_TEST_FREE_BYTES=<n>` makes statfs report n bytes free; `=unknown` skips the
 * check, as on a platform without statfs (so a test can reach the write's own ENOSPC).
 */
import { existsSync, statfsSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { HdmeaError } from "../core/failure.ts";
import { writeFailureCode, type WriteFailureCode } from "../io/writeFailure.ts";

export class DiskFullError extends HdmeaError {
  override name = "DiskFullError";
  constructor(message: string, file: string) {
    super(message, "quota", file);
  }
}

/** Bytes free to this user in the folder that holds `path`, or undefined where the platform cannot tell. */
export function freeBytesFor(path: string): number | undefined {
  const override = process.env.HDMEA_TEST_FREE_BYTES;
  if (override === "unknown") return undefined;
  if (override !== undefined) return Number(override);
  try {
    const st = statfsSync(dirname(resolve(path)));
    return Number(st.bavail) * Number(st.bsize);
  } catch {
    return undefined;
  }
}

const REASON: Record<WriteFailureCode, string> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "over the disk quota",
  EIO: "the device failed to write (I/O error)",
};

/** Megabytes, to a tenth below 10 MB; the need rounded up and the free space down, never flattering. */
function mb(bytes: number, round: (x: number) => number): string {
  const m = bytes / 1e6;
  return m >= 10 ? `${round(m)} MB` : `${round(m * 10) / 10} MB`;
}

function message(path: string, code: WriteFailureCode, neededBytes: number, existed: boolean, label: string): string {
  const name = basename(path);
  const free = freeBytesFor(path);
  const room = code === "EIO" ? "" : ` (needs about ${mb(neededBytes, Math.ceil)}${free === undefined ? "" : `, ${mb(free, Math.floor)} free`})`;
  return `${label}${name}: ${REASON[code]}${room}; ${existed ? `${name} is unchanged` : `${name} was not created`}`;
}

/**
 * Runs `write` (which writes `path` atomically: a temporary beside it, renamed over it when complete)
 * after checking there is room for `neededBytes`; a device failure during the write is rethrown as a
 * DiskFullError naming `path`. `label` prefixes the name ("checkpoint ").
 */
export function writeWithRoom<T>(path: string, neededBytes: number, write: () => T, label = ""): T {
  const existed = existsSync(path);
  const free = freeBytesFor(path);
  if (free !== undefined && free < neededBytes) throw new DiskFullError(message(path, "ENOSPC", neededBytes, existed, label), basename(path));
  try {
    return write();
  } catch (error) {
    throw asDiskFull(error, path, neededBytes, existed, label) ?? error;
  }
}

/** `error` as a DiskFullError naming `path` when the device refused a write, else undefined. */
export function asDiskFull(error: unknown, path: string, neededBytes: number, existed = existsSync(path), label = ""): DiskFullError | undefined {
  if (error instanceof DiskFullError) return error;
  const code = writeFailureCode(error);
  return code ? new DiskFullError(message(path, code, neededBytes, existed, label), basename(path)) : undefined;
}
