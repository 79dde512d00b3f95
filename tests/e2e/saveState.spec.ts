/**
 * "Saved" means on disk (issue 17): a download is never confirmed by the browser, so the session
 * stays unsaved (leave-page prompt, checkpoint in browser storage) until the user says they have the
 * file; a picker save is SAVED only once the file's close() went through; and a browser storage too
 * full for a checkpoint says so with sizes, before writing anything.
 */
import { expect, test, type Page } from "@playwright/test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { readBack, recordingFixture, scratchDir } from "./sessionFixtures.ts";

let dir: string;
test.beforeAll(() => {
  dir = scratchDir();
});
test.afterAll(() => rmSync(dir, { recursive: true, force: true }));
test.describe.configure({ timeout: 120_000 });

interface TestWorker {
  test: {
    injectWritableFault(name: string, at: "open" | "write" | "close"): Promise<void>;
    fakeStorageEstimate(estimate: { usage: number; quota: number } | null): Promise<void>;
  };
}
const worker = "hdmeaWorker";

async function openFixture(page: Page, name: string) {
  const rec = await recordingFixture(dir, name);
  await page.getByLabel(/choose files/i).setInputFiles([rec.cmcrPath, rec.cmtrPath]);
  const item = page.getByRole("list", { name: "Recordings" }).getByRole("button", { name: new RegExp(`^${name}\\.cmcr`) });
  // Generous: on a loaded 2-core machine a first open can take half a minute.
  await expect(item).toContainText("DEFERRED", { timeout: 60_000 });
  return { item, panel: page.getByRole("region", { name: `Session ${name}` }) };
}

/** Would leaving the page now ask first? (the app's beforeunload handler cancels the event) */
function leaveWouldAsk(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const event = new Event("beforeunload", { cancelable: true });
    dispatchEvent(event);
    return event.defaultPrevented;
  });
}

async function opfsText(page: Page, path: string[]): Promise<string> {
  return page.evaluate(async (parts) => {
    let dirHandle = await navigator.storage.getDirectory();
    for (const p of parts.slice(0, -1)) dirHandle = await dirHandle.getDirectoryHandle(p);
    return (await (await dirHandle.getFileHandle(parts.at(-1)!)).getFile()).text();
  }, path);
}

test("a download stays 'not confirmed' (prompt, checkpoint) until the user says they have the file", async ({ page }) => {
  await page.addInitScript(() => {
    delete (Window.prototype as { showSaveFilePicker?: unknown }).showSaveFilePicker;
    delete (window as { showSaveFilePicker?: unknown }).showSaveFilePicker;
  });
  await page.goto("/");
  const { item, panel } = await openFixture(page, "dl");

  const downloading = page.waitForEvent("download");
  await panel.getByRole("button", { name: "Save", exact: true }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe("dl.h5");
  await expect(page.getByRole("status")).toContainText("Downloaded as dl.h5 — not confirmed: check your downloads folder");
  const pending = panel.getByRole("group", { name: "Download not confirmed" });
  await expect(pending).toContainText("Downloaded as dl.h5 — not confirmed.");
  await expect(pending).toContainText("browser storage keeps checkpoint dl.h5");
  await expect(item).toContainText("NOT CONFIRMED");
  await expect(panel).toContainText("unsaved changes");
  // The checkpoint is really there, and leaving would still ask.
  await expect(page.getByRole("list", { name: "Checkpoints in browser storage" })).toContainText("dl.h5");
  expect(await leaveWouldAsk(page)).toBe(true);

  const file = join(dir, "dl.h5");
  await download.saveAs(file);
  expect((await readBack(file)).session.unitCount).toBe(6);

  await pending.getByRole("button", { name: "I have the file" }).click();
  await expect(page.getByRole("status")).toHaveText("Saved dl.h5 (download confirmed).");
  await expect(item).toContainText("SAVED");
  await expect(panel).toContainText("all changes saved");
  await expect(pending).toHaveCount(0);
  expect(await leaveWouldAsk(page)).toBe(false);
});

test("a picker save whose file cannot be closed is not SAVED: the old file stays, the session DEFERRED", async ({ page }) => {
  await page.addInitScript(() => {
    (window as unknown as { showSaveFilePicker: () => Promise<FileSystemFileHandle> }).showSaveFilePicker = async () =>
      (await navigator.storage.getDirectory()).getFileHandle("closing.h5", { create: true });
  });
  await page.goto("/?bench");
  await page.evaluate(async () => {
    const handle = await (await navigator.storage.getDirectory()).getFileHandle("closing.h5", { create: true });
    const writable = await handle.createWritable();
    await writable.write("the previous version of this file");
    await writable.close();
  });
  const { item, panel } = await openFixture(page, "closing");
  // Every write succeeds; only the last step, close(), fails: nothing reached the file.
  await page.evaluate((w) => (window as unknown as Record<string, TestWorker>)[w].test.injectWritableFault("InvalidStateError", "close"), worker);
  await panel.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByRole("alert")).toContainText("closing.cmcr + closing-.cmtr: Saving failed");
  await expect(item).toContainText("DEFERRED");
  await expect(panel).toContainText("unsaved changes");
  expect(await opfsText(page, ["closing.h5"])).toBe("the previous version of this file");
  expect(await leaveWouldAsk(page)).toBe(true);

  await panel.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByRole("status")).toHaveText("Saved closing.h5.");
  await expect(item).toContainText("SAVED");
  expect(await leaveWouldAsk(page)).toBe(false);
});

test("browser storage too full for a checkpoint: refused with the sizes, the previous checkpoint unchanged", async ({ page }) => {
  await page.goto("/?bench");
  const { item, panel } = await openFixture(page, "full");
  await panel.getByRole("button", { name: "Checkpoint" }).click();
  await expect(page.getByRole("status")).toContainText("Checkpoint full.h5 kept");
  const before = await opfsText(page, ["checkpoints", "full.h5"]);

  // The browser's estimate says 0.4 MB are left (the test cannot fill a real disk).
  const fake = (estimate: { usage: number; quota: number } | null) =>
    page.evaluate(([w, e]) => (window as unknown as Record<string, TestWorker>)[w as string].test.fakeStorageEstimate(e as never), [worker, estimate] as const);
  await fake({ usage: 1_000_000_000 - 400_000, quota: 1_000_000_000 });
  await panel.getByRole("button", { name: "Checkpoint" }).click();
  const alert = page.getByRole("alert");
  await expect(alert).toContainText(
    /full\.cmcr \+ full-\.cmtr: Checkpointing failed: Browser storage: not enough space for this checkpoint \(needs about \d+ MB, under 1 MB free\); the previous checkpoint is unchanged/,
  );
  await expect(alert).toContainText("The session is unchanged");
  await expect(item).toContainText("DEFERRED");
  expect(await opfsText(page, ["checkpoints", "full.h5"])).toBe(before);

  await fake(null);
  await panel.getByRole("button", { name: "Checkpoint" }).click();
  await expect(page.getByRole("status")).toContainText("Checkpoint full.h5 kept");
});
