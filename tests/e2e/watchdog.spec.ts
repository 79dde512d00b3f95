/**
 * The hung-worker watchdog (issue 17): a worker blocked inside a read (a test hook spins inside
 * HDF5's read of a dropped file, as HDF5 looping on a damaged file does) sends no heartbeat; the page
 * terminates it, starts a new one, restores the open session from its checkpoint and says which file
 * and step hung.
 */
import { expect, test } from "@playwright/test";

interface TestWorker {
  hungAfterMs: number;
  sessionIds(): Promise<string[]>;
  test: { hangInRead(file: string, afterReads: number): Promise<void> };
}

test("a worker hung inside a read is replaced; the open session comes back from its checkpoint", async ({ page }) => {
  test.setTimeout(180_000);
  await page.goto("/?bench&demo");
  const recordings = page.getByRole("list", { name: "Recordings" });
  // Generous: on a loaded 2-core machine the first open alone can take half a minute.
  await expect(recordings.getByRole("button", { name: /^demo\.cmcr \+ demo-\.cmtr/ })).toContainText("24 units", { timeout: 60_000 });
  const panel = page.getByRole("region", { name: "Session demo" });
  await panel.getByRole("button", { name: "Checkpoint" }).click();
  await expect(page.getByRole("status")).toContainText("Checkpoint demo.h5 kept", { timeout: 30_000 });

  // A short limit for the test (60 s in use; a fresh worker also gets 30 s to load h5wasm); the
  // hang comes inside the 6th read of demo-.cmtr.
  await page.evaluate(async () => {
    const w = (window as unknown as { hdmeaWorker: TestWorker }).hdmeaWorker;
    w.hungAfterMs = 4_000;
    await w.test.hangInRead("demo-.cmtr", 5);
  });
  await page.getByRole("button", { name: "Open demo recording" }).click();

  const alert = page.getByRole("alert");
  const hung = /processing worker stopped responding: no progress for \d+ s at demo-\.cmtr, step “reading[^”]*” \(opening the demo recording\)/;
  await expect(alert, "the watchdog fires 3 × 4 s (a recording is a known long read) after the last heartbeat").toContainText(hung, { timeout: 40_000 });
  // Then the new worker restores the session that was open from its checkpoint, and says so.
  await expect(alert).toContainText("Restored: demo.cmcr + demo-.cmtr (from checkpoint demo.h5 of", { timeout: 60_000 });
  await expect(alert).toContainText(hung);
  // The row being opened says what happened to it; the restored session is open in the new worker.
  await expect(recordings).toContainText("Opening the demo recording failed: the processing worker stopped responding");
  const restored = recordings.getByRole("button", { name: /^demo\.h5 \(checkpoint\)/ });
  await expect(restored).toContainText("24 units", { timeout: 30_000 });
  await expect(page.getByRole("region", { name: "Session demo" })).toBeVisible();
  const ids = await page.evaluate(() => (window as unknown as { hdmeaWorker: TestWorker }).hdmeaWorker.sessionIds());
  expect(ids).toHaveLength(1);
  // The old session's lost row was replaced by the restored one; nothing left to offer.
  await expect(page.getByRole("region", { name: /this recording was lost/ })).toHaveCount(0);
});
