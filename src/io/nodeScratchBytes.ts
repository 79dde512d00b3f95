/**
 * The Node half of the spill store's file: a temporary file, unlinked as soon as it is open, so
 * nothing is left behind however the process ends (POSIX keeps an open, unlinked file's bytes
 * until the last descriptor closes).
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ScratchBytes } from "../core/spillStore.ts";

export function nodeScratchBytes(parent = tmpdir()): ScratchBytes {
  const dir = mkdtempSync(join(parent, "hdmea-spill-"));
  const path = join(dir, "arrays.bin");
  const fd = openSync(path, "w+");
  let unlinked = true;
  try {
    rmSync(dir, { recursive: true });
  } catch {
    unlinked = false; // Windows keeps open files: removed on close instead.
  }
  return {
    location: `a temporary file in ${parent}`,
    write(bytes, position) {
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
    },
    read(into, position) {
      for (let done = 0; done < into.length; ) {
        const n = readSync(fd, into, done, into.length - done, position + done);
        if (n <= 0) throw new Error(`scratch file in ${parent} ended at byte ${position + done} (it was changed or truncated)`);
        done += n;
      }
    },
    close() {
      closeSync(fd);
      if (!unlinked) rmSync(dir, { recursive: true, force: true });
    },
  };
}
