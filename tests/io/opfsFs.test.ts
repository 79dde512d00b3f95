/**
 * The OPFS file system (`io/opfsFs.ts`) over a stand-in for sync access handles (they exist only in
 * browser workers): HDF5 writes a session through it and reads it back; the small-read block cache
 * never serves stale bytes, whatever the mix of reads, writes, growth and truncation.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { Prng } from "../../src/core/prng.ts";
import type { H5Runtime } from "../../src/io/h5.ts";
import { browserRuntime } from "../../src/io/h5browser.ts";
import { setFileAccessListener } from "../../src/io/fixedFileFs.ts";
import { mountOpfsFiles } from "../../src/io/opfsFs.ts";
import { loadSession, writeSessionTo } from "../../src/io/sessionStore.ts";
import { fakeClock, randomSession } from "../fixtures/randomSession.ts";
import { sessionDiff } from "../fixtures/sessionDiff.ts";

/** A growable byte file with the sync access handle's calls, counting reads. */
class FakeHandle {
  bytes = new Uint8Array(0);
  size = 0;
  reads = 0;
  writes = 0;
  closed = false;
  /** When set, writes fail (a full store) from then on. */
  failWrites = false;
  getSize() {
    return this.size;
  }
  read(into: Uint8Array, { at }: { at: number }) {
    this.reads++;
    const n = Math.max(0, Math.min(into.length, this.size - at));
    into.set(this.bytes.subarray(at, at + n));
    return n;
  }
  write(from: Uint8Array, { at }: { at: number }) {
    this.writes++;
    if (this.failWrites) throw new DOMException("the store is full", "QuotaExceededError");
    this.ensure(at + from.length);
    this.bytes.set(from, at);
    this.size = Math.max(this.size, at + from.length);
    return from.length;
  }
  truncate(size: number) {
    this.ensure(size);
    this.bytes.fill(0, size);
    this.size = size;
  }
  flush() {}
  close() {
    this.closed = true;
  }
  private ensure(n: number) {
    if (n <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(n, 2 * this.bytes.length));
    grown.set(this.bytes);
    this.bytes = grown;
  }
}

function fakeDir(handles: Map<string, FakeHandle>): FileSystemDirectoryHandle {
  return {
    async getFileHandle(name: string, options?: { create?: boolean }) {
      if (!handles.has(name)) {
        if (!options?.create) throw new DOMException(`${name} not found`, "NotFoundError");
        handles.set(name, new FakeHandle());
      }
      return { createSyncAccessHandle: async () => handles.get(name)! };
    },
  } as unknown as FileSystemDirectoryHandle;
}

interface Fs {
  open(path: string, flags: string): unknown;
  read(stream: unknown, into: Uint8Array, offset: number, length: number, position: number): number;
  write(stream: unknown, from: Uint8Array, offset: number, length: number, position: number): number;
  close(stream: unknown): void;
  ftruncate(fd: number, length: number): void;
}

/** Counts the writes HDF5 makes through the fixed-file file systems until the returned stop. */
function countWrites(count: () => void): () => void {
  const previous = setFileAccessListener((file, access, prefix) => {
    if (access === "write") count();
    previous?.(file, access, prefix);
  });
  return () => void setFileAccessListener(previous);
}

let rt: H5Runtime;
beforeAll(async () => {
  rt = await browserRuntime();
});

describe("opfsFs", () => {
  it("holds a session file HDF5 writes and reads back through it, with far fewer handle reads and writes than HDF5 makes", async () => {
    const handles = new Map<string, FakeHandle>();
    const dir = fakeDir(handles);
    const session = randomSession({ units: 60, maxSpikes: 2000, seed: 9, now: fakeClock() });
    const written = await mountOpfsFiles(rt, dir, ["s.h5"], { create: true });
    let hdf5Writes = 0;
    const stop = countWrites(() => hdf5Writes++);
    try {
      writeSessionTo(rt, session, written.paths.get("s.h5")!);
    } finally {
      stop();
    }
    written.close();
    expect(handles.get("s.h5")!.size).toBeGreaterThan(100_000);
    // Every unit is a dozen small datasets: HDF5 writes them piece by piece, the handle gets the
    // dirty pages a run at a time.
    expect(hdf5Writes).toBeGreaterThan(500);
    expect(handles.get("s.h5")!.writes).toBeLessThan(hdf5Writes / 10);

    const handle = handles.get("s.h5")!;
    handle.reads = 0;
    const mount = await mountOpfsFiles(rt, dir, ["s.h5"], { create: false });
    const back = loadSession(rt, mount.paths.get("s.h5")!).session;
    mount.close();
    expect(sessionDiff(session, back)).toEqual([]);
    // 60 units × a dozen objects, each several small metadata reads: the cache serves most of them.
    expect(handle.reads).toBeLessThan(600);
  });

  it("never returns stale bytes across random reads, writes past the end, and truncation", async () => {
    const handles = new Map<string, FakeHandle>();
    const mount = await mountOpfsFiles(rt, fakeDir(handles), ["r.bin"], { create: true });
    const fs = rt.fs as unknown as Fs;
    const stream = fs.open(mount.paths.get("r.bin")!, "r+");
    const model = new Uint8Array(1 << 20);
    let size = 0;
    const prng = new Prng(3);
    const int = (n: number) => Math.floor(prng.next() * n);
    for (let i = 0; i < 5000; i++) {
      const op = int(10);
      if (op < 4) {
        // Writes, some far past the end (leaving a hole of zeros after a partial last block).
        const at = int(size + 20_000);
        const data = Uint8Array.from({ length: 1 + int(op === 0 ? 9000 : 300) }, () => int(256));
        fs.write(stream, data, 0, data.length, at);
        model.set(data, at);
        size = Math.max(size, at + data.length);
      } else if (op === 4 && i % 7 === 0) {
        const to = int(size + 1);
        fs.ftruncate((stream as { fd: number }).fd, to);
        model.fill(0, to);
        size = to;
      } else {
        const at = int(size + 100);
        const into = new Uint8Array(1 + int(op === 9 ? 6000 : 400));
        const n = fs.read(stream, into, 0, into.length, at);
        const expected = Math.max(0, Math.min(into.length, size - at));
        expect(n).toBe(expected);
        expect(Buffer.from(into.subarray(0, n)).equals(Buffer.from(model.subarray(at, at + n)))).toBe(true);
      }
    }
    fs.close(stream);
    mount.close();
  });

  it("reuses its page and run buffers across many flushes without carrying bytes from one page to another", async () => {
    // Bigger than the held (8 MB) and kept (8 MB) pages together: pages are flushed, let go and reused.
    const handles = new Map<string, FakeHandle>();
    const mount = await mountOpfsFiles(rt, fakeDir(handles), ["big.bin"], { create: true });
    const fs = rt.fs as unknown as Fs;
    const stream = fs.open(mount.paths.get("big.bin")!, "r+");
    const model = new Uint8Array(48 << 20);
    let size = 0;
    const prng = new Prng(5);
    const int = (n: number) => Math.floor(prng.next() * n);
    const write = (at: number, length: number) => {
      const data = new Uint8Array(length).fill(1 + int(255)); // never 0: a stale byte shows in a hole
      data[int(length)] = int(256);
      fs.write(stream, data, 0, length, at);
      model.set(data, at);
      size = Math.max(size, at + length);
    };
    for (let i = 0; i < 6000; i++) {
      const op = int(20);
      if (op === 0 && size < 40 << 20) write(int(size + 1), (1 << 20) + int(1 << 20)); // an array slice, straight through
      else if (op < 12) write(int(Math.min(size + (1 << 20), 46 << 20)), 1 + int(2000)); // headers, some past the end (holes)
      else {
        const at = int(size + 100);
        const into = new Uint8Array(1 + int(op === 19 ? 200_000 : 3000));
        const n = fs.read(stream, into, 0, into.length, at);
        expect(n).toBe(Math.max(0, Math.min(into.length, size - at)));
        expect(Buffer.from(into.subarray(0, n)).equals(Buffer.from(model.subarray(at, at + n)))).toBe(true);
      }
    }
    fs.close(stream);
    mount.close();
    const handle = handles.get("big.bin")!;
    expect(handle.size).toBe(size);
    expect(Buffer.from(handle.bytes.subarray(0, size)).equals(Buffer.from(model.subarray(0, size)))).toBe(true);
  });

  it("keeps small writes held across an array-sized write that overlaps them: no page is read back or written twice, and every read sees the latest bytes", async () => {
    const handles = new Map<string, FakeHandle>();
    const mount = await mountOpfsFiles(rt, fakeDir(handles), ["a.bin"], { create: true });
    const fs = rt.fs as unknown as Fs;
    const stream = fs.open(mount.paths.get("a.bin")!, "r+");
    const handle = handles.get("a.bin")!;
    const model = new Uint8Array(4 << 20);
    const write = (at: number, length: number, value: number) => {
      const data = new Uint8Array(length).fill(value);
      fs.write(stream, data, 0, length, at);
      model.set(data, at);
    };
    const check = (at: number, length: number) => {
      const into = new Uint8Array(length);
      expect(fs.read(stream, into, 0, length, at)).toBe(length);
      expect(Buffer.from(into).equals(Buffer.from(model.subarray(at, at + length)))).toBe(true);
    };
    // As HDF5 writes a dataset: its header (small), its data (an array slice of 1.5 MB that starts
    // and ends inside held pages), then the header again and the next object's header behind the data.
    write(0, 300, 1);
    write(60_000, 10_000, 2);
    write(65_000, 1_500_000, 3);
    check(59_000, 20_000);
    write(100, 50, 4);
    write(1_564_000, 2_000, 5);
    write(70_000, 10, 6); // into the array, in a page that is held
    expect(handle.reads).toBe(0);
    check(0, 1_566_000);
    const writes = handle.writes;
    fs.close(stream);
    mount.close();
    const size = 1_566_000;
    expect(handle.size).toBe(size);
    expect(Buffer.from(handle.bytes.subarray(0, size)).equals(Buffer.from(model.subarray(0, size)))).toBe(true);
    // The array (but for its last page) once, and at the close the held pages: the first two and the array's last.
    expect(writes).toBe(1);
    expect(handle.writes).toBeLessThanOrEqual(3);
  });

  it("after a flush of held writes, a write into a page just flushed does not read it back, and the file ends as written", async () => {
    const handles = new Map<string, FakeHandle>();
    const mount = await mountOpfsFiles(rt, fakeDir(handles), ["f.bin"], { create: true });
    const fs = rt.fs as unknown as Fs;
    const stream = fs.open(mount.paths.get("f.bin")!, "r+");
    const handle = handles.get("f.bin")!;
    const size = 9 << 20; // past the 8 MB of held writes: one flush midway
    const model = new Uint8Array(size);
    for (let at = 0; at < size; at += 4096) {
      const data = new Uint8Array(4096).fill((at >> 12) & 255);
      fs.write(stream, data, 0, data.length, at);
      model.set(data, at);
    }
    expect(handle.writes).toBeGreaterThan(0);
    // As HDF5 does after writing data: back to a header near the start, in a page the flush wrote.
    const header = new Uint8Array(100).fill(7);
    fs.write(stream, header, 0, 100, (8 << 20) - 10_000);
    model.set(header, (8 << 20) - 10_000);
    expect(handle.reads).toBe(0);
    fs.close(stream);
    mount.close();
    expect(handle.size).toBe(size);
    expect(Buffer.from(handle.bytes.subarray(0, size)).equals(Buffer.from(model))).toBe(true);
  });

  it("never returns stale bytes or loses a write across random small and array-sized writes and reads", async () => {
    const handles = new Map<string, FakeHandle>();
    const mount = await mountOpfsFiles(rt, fakeDir(handles), ["m.bin"], { create: true });
    const fs = rt.fs as unknown as Fs;
    const stream = fs.open(mount.paths.get("m.bin")!, "r+");
    const model = new Uint8Array(16 << 20);
    let size = 0;
    const prng = new Prng(11);
    const int = (n: number) => Math.floor(prng.next() * n);
    for (let i = 0; i < 600; i++) {
      const op = int(10);
      if (op < 5) {
        const big = op === 0;
        const at = int(Math.min(size + 200_000, model.length - (2 << 20)));
        // Distinct bytes per write (a run of one value plus a random head), cheap to make at 2 MB.
        const data = new Uint8Array(big ? (1 << 20) + int(1 << 20) : 1 + int(3000)).fill(int(256));
        for (let k = 0; k < Math.min(64, data.length); k++) data[k] = int(256);
        fs.write(stream, data, 0, data.length, at);
        model.set(data, at);
        size = Math.max(size, at + data.length);
      } else {
        const at = int(size + 100);
        const into = new Uint8Array(1 + int(op === 9 ? 200_000 : 400));
        const n = fs.read(stream, into, 0, into.length, at);
        expect(n).toBe(Math.max(0, Math.min(into.length, size - at)));
        expect(Buffer.from(into.subarray(0, n)).equals(Buffer.from(model.subarray(at, at + n)))).toBe(true);
      }
    }
    fs.close(stream);
    mount.close();
    const handle = handles.get("m.bin")!;
    expect(handle.size).toBe(size);
    expect(Buffer.from(handle.bytes.subarray(0, size)).equals(Buffer.from(model.subarray(0, size)))).toBe(true);
  });

  it("fails the close, not silently, when held-back writes cannot reach a full store, and still releases the handle", async () => {
    const handles = new Map<string, FakeHandle>();
    const mount = await mountOpfsFiles(rt, fakeDir(handles), ["f.bin"], { create: true });
    const fs = rt.fs as unknown as Fs;
    const stream = fs.open(mount.paths.get("f.bin")!, "r+");
    fs.write(stream, new Uint8Array(500).fill(7), 0, 500, 0);
    // Held back, yet the file system already counts the bytes.
    expect(handles.get("f.bin")!.writes).toBe(0);
    expect((rt.fs as unknown as { stat(path: string): { size: number } }).stat(mount.paths.get("f.bin")!).size).toBe(500);
    fs.close(stream);
    handles.get("f.bin")!.failWrites = true;
    expect(() => mount.close()).toThrow(/store is full/);
    expect(handles.get("f.bin")!.closed).toBe(true);
  });
});
