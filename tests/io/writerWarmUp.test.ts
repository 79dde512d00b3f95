/**
 * The writer warm-up (io/writerWarmUp.ts): it writes through the real writer a few units per task,
 * so requests that arrive meanwhile run between its pieces, and it leaves nothing behind.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { H5Runtime } from "../../src/io/h5.ts";
import { browserRuntime } from "../../src/io/h5browser.ts";
import { warmUpWriter } from "../../src/io/writerWarmUp.ts";

let rt: H5Runtime;
beforeAll(async () => {
  rt = await browserRuntime();
});

describe("warmUpWriter", () => {
  it("writes a session-shaped file in pieces between tasks, then removes it", async () => {
    const path = "/warm-up-test.h5";
    let sawFile = false;
    let tasksBetween = 0;
    const timer = setInterval(() => {
      tasksBetween++;
      if (rt.fs.analyzePath(path, false).exists) sawFile = true;
    }, 0);
    try {
      await warmUpWriter(rt, path);
    } finally {
      clearInterval(timer);
    }
    // Other tasks ran while the file was being written: the warm-up never holds the worker for the whole write.
    expect(sawFile).toBe(true);
    expect(tasksBetween).toBeGreaterThanOrEqual(2);
    expect(rt.fs.analyzePath(path, false).exists).toBe(false);
  });

  it("fails without leaving a file when the file cannot be created", async () => {
    await expect(warmUpWriter(rt, "/no-such-dir/warm.h5")).rejects.toThrow(/warm\.h5/);
    expect(rt.fs.analyzePath("/no-such-dir/warm.h5", false).exists).toBe(false);
  });
});
