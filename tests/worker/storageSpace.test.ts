/**
 * The browser-storage space check: refused up front with sizes, and a QuotaExceededError raised
 * while writing gets the same words. `navigator.storage.estimate` is stood in for, as a browser has it.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { checkSpace, neededBytes, spaceErrorFor, StorageSpaceError } from "../../src/worker/storageSpace.ts";

function estimateOf(usage: number, quota: number): void {
  vi.stubGlobal("navigator", { storage: { estimate: async () => ({ usage, quota }) } });
}

describe("browser storage space", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("refuses a checkpoint that cannot fit, naming what it needs and what is free", async () => {
    estimateOf(990e6, 1000e6); // 10 MB free
    const error = await checkSpace("checkpoint", 100e6).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageSpaceError);
    expect((error as Error).message).toBe(
      "Browser storage: not enough space for this checkpoint (needs about 212 MB, 10 MB free); the previous checkpoint is unchanged. " +
        "Delete old checkpoints, or save the session to a file",
    );
  });

  it("lets a write through when the estimate leaves room, or when the browser gives no estimate", async () => {
    estimateOf(0, 1000e6);
    await expect(checkSpace("checkpoint", 100e6)).resolves.toBeUndefined();
    vi.stubGlobal("navigator", {});
    await expect(checkSpace("checkpoint", 100e9)).resolves.toBeUndefined();
  });

  it("asks a save for its temporary file only, a checkpoint for that and its copy", () => {
    expect(neededBytes("checkpoint", 100e6)).toBe(2 * neededBytes("save", 100e6));
    expect(neededBytes("save", 100e6)).toBeGreaterThan(100e6);
  });

  it("words a QuotaExceededError raised during the write the same way, and leaves other errors alone", async () => {
    estimateOf(500e6, 500e6);
    const mapped = (await spaceErrorFor(new DOMException("quota", "QuotaExceededError"), "save", 50e6)) as Error;
    expect(mapped).toBeInstanceOf(StorageSpaceError);
    expect(mapped.message).toMatch(/^Browser storage: not enough space for the temporary file of this save \(needs about 54 MB, 0 MB free\); nothing was written/);
    const other = new Error("EIO");
    expect(await spaceErrorFor(other, "save", 50e6)).toBe(other);
  });
});
