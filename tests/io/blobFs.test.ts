import { beforeAll, describe, expect, it, vi } from "vitest";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mountBlobs } from "../../src/io/blobFs.ts";
import { fixedBackendAt } from "../../src/io/fixedFileFs.ts";
import type { H5Runtime } from "../../src/io/h5.ts";
import { browserRuntime } from "../../src/io/h5browser.ts";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { readSessionFile } from "../../src/io/sessionFile.ts";
import { saveSession } from "../../src/io/sessionStore.ts";
import { randomSession } from "../fixtures/randomSession.ts";
import { sessionDiff } from "../fixtures/sessionDiff.ts";

/** FileReaderSync exists only in workers: a stand-in over Node's synchronous Blob bytes, counting reads. */
const reads: number[] = [];
const BYTES = new WeakMap<Blob, Uint8Array>();
class BytesFile extends File {
  constructor(private readonly content: Uint8Array, name: string) {
    super([], name);
    BYTES.set(this, content);
  }
  override get size() {
    return this.content.byteLength;
  }
  override slice(start = 0, end = this.size): Blob {
    const part = new Blob([]);
    BYTES.set(part, this.content.subarray(start, end));
    return part;
  }
}

describe("blobFs: dropped files read lazily through a block cache", () => {
  let rt: H5Runtime;
  let dir: string;
  beforeAll(async () => {
    (globalThis as Record<string, unknown>).FileReaderSync = class {
      readAsArrayBuffer(blob: Blob) {
        const bytes = BYTES.get(blob)!;
        reads.push(bytes.byteLength);
        return bytes.slice().buffer;
      }
    };
    // The browser build (MEMFS + mounts), as in the worker; the Node build maps paths to the real disk.
    rt = await browserRuntime();
    dir = mkdtempSync(join(tmpdir(), "hdmea-blobfs-"));
  });

  it("returns exactly the file's bytes for reads across block boundaries, short and long", () => {
    const bytes = Uint8Array.from({ length: 700_000 }, (_, i) => (i * 7919) % 251);
    const mount = mountBlobs(rt, [new BytesFile(bytes, "data.bin")]);
    try {
      const path = mount.paths.get("data.bin")!;
      expect(rt.fs.stat(path, false).size).toBe(bytes.length);
      const stream = rt.fs.open(path, "r");
      for (const [at, n] of [[0, 10], [262_140, 10], [100, 300_000], [699_990, 50], [524_287, 2]]) {
        const into = new Uint8Array(n);
        const got = rt.fs.read(stream, into, 0, n, at);
        const want = bytes.subarray(at, at + n);
        expect(got).toBe(want.length);
        expect([...into.subarray(0, got)]).toEqual([...want]);
      }
      rt.fs.close(stream);
      expect(() => rt.fs.writeFile(path, "x")).toThrow();
    } finally {
      mount.unmount();
    }
  });

  it("loads a session file with a few blob reads instead of one per HDF5 request", async () => {
    const session = randomSession({ units: 300, maxSpikes: 200, seed: 4 });
    const file = join(dir, "s.h5");
    saveSession(await nodeRuntime(), session, file);
    const mount = mountBlobs(rt, [new BytesFile(new Uint8Array(readFileSync(file)), "s.h5")]);
    try {
      reads.length = 0;
      const back = readSessionFile(rt, mount.paths.get("s.h5")!).session;
      expect(sessionDiff(session, back)).toEqual([]);
      // The file is a few MB: whole 256 KiB blocks, each read once or twice, not thousands of tiny reads.
      expect(reads.length).toBeLessThan(100);
    } finally {
      mount.unmount();
    }
  });

  it("reads a forward scan of big reads ahead in large windows, and a lone big read as it is", () => {
    const bytes = new Uint8Array(40 << 20);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) % 253;
    const mount = mountBlobs(rt, [new BytesFile(bytes, "table.bin")]);
    try {
      const path = mount.paths.get("table.bin")!;
      const stream = rt.fs.open(path, "r");
      const readAt = (at: number, n: number) => {
        const into = new Uint8Array(n);
        expect(rt.fs.read(stream, into, 0, n, at)).toBe(n);
        expect(Buffer.from(into).equals(bytes.subarray(at, at + n))).toBe(true);
      };
      reads.length = 0;
      readAt(20 << 20, 300_000); // alone: exactly what was asked
      expect(reads).toEqual([300_000]);
      // Chunks of 500 kB with small gaps (B-tree nodes) between them, as HDF5 reads a peaks table.
      reads.length = 0;
      let at = 1 << 20;
      for (let k = 0; k < 60; k++, at += 500_000 + 3_000) readAt(at, 500_000);
      // 60 chunks, 30 MB: the first is read alone, the rest from two 16 MiB windows.
      expect(reads.length).toBeLessThanOrEqual(4);
      // A small read inside the window (a B-tree node between chunks) needs no call either.
      reads.length = 0;
      readAt(at - 2_000, 100);
      expect(reads).toEqual([]);
      rt.fs.close(stream);
    } finally {
      mount.unmount();
    }
  });

  it("checks that the file is still readable only when no read has shown it for a moment", () => {
    vi.useFakeTimers({ toFake: ["performance"] });
    const mount = mountBlobs(rt, [new BytesFile(new Uint8Array(1000), "v.bin")]);
    try {
      const backend = fixedBackendAt(rt, mount.paths.get("v.bin")!)!;
      reads.length = 0;
      backend.verify!();
      expect(reads).toHaveLength(1); // nothing read yet: ask the browser
      backend.verify!();
      expect(reads).toHaveLength(1); // it just answered
      vi.advanceTimersByTime(1000);
      backend.verify!();
      expect(reads).toHaveLength(2);
    } finally {
      mount.unmount();
      vi.useRealTimers();
    }
  });
});
