/**
 * Save and checkpoint faults in the browser (issue 7): a cancelled picker, a full disk or quota, a
 * revoked permission. Each leaves the target file and the session as they were and says so.
 */
import { expect, test, type Page } from "@playwright/test";
import { rmSync } from "node:fs";
import { recordingFixture, scratchDir } from "./sessionFixtures.ts";

let dir: string;
test.beforeAll(() => {
  dir = scratchDir();
});
test.afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface TestWorker {
  test: { injectWritableFault(name: string, at: "open" | "write"): Promise<void> };
}

async function openFixture(page: Page, name: string) {
  const rec = await recordingFixture(dir, name);
  await page.getByLabel(/choose files/i).setInputFiles([rec.cmcrPath, rec.cmtrPath]);
  const item = page.getByRole("list", { name: "Recordings" }).getByRole("button", { name: new RegExp(`^${name}\\.cmcr`) });
  await expect(item).toContainText("DEFERRED");
  return { item, panel: page.getByRole("region", { name: `Session ${name}` }) };
}

function injectWritableFault(page: Page, name: string, at: "open" | "write"): Promise<void> {
  return page.evaluate(([n, w]) => (window as unknown as { hdmeaWorker: TestWorker }).hdmeaWorker.test.injectWritableFault(n, w), [name, at] as const);
}

async function opfsText(page: Page, path: string[]): Promise<string> {
  return page.evaluate(async (parts) => {
    let dirHandle = await navigator.storage.getDirectory();
    for (const p of parts.slice(0, -1)) dirHandle = await dirHandle.getDirectoryHandle(p);
    return (await (await dirHandle.getFileHandle(parts.at(-1)!)).getFile()).text();
  }, path);
}

test("a cancelled save picker is quiet: 'Save cancelled', no error, nothing changed", async ({ page }) => {
  await page.addInitScript(() => {
    (window as unknown as { showSaveFilePicker: () => Promise<never> }).showSaveFilePicker = async () => {
      throw new DOMException("The user aborted a request.", "AbortError");
    };
  });
  await page.goto("/");
  const { item, panel } = await openFixture(page, "cancelled");
  await panel.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByRole("status")).toContainText("Save cancelled");
  await expect(page.getByRole("alert")).toHaveCount(0);
  await expect(item).toContainText("DEFERRED");
  await expect(panel).toContainText("unsaved changes");
});

test("storage full during a checkpoint: says so and what to do; the session and the old checkpoint stay", async ({ page }) => {
  await page.goto("/?bench");
  const { item, panel } = await openFixture(page, "quota");
  await panel.getByRole("button", { name: "Checkpoint" }).click();
  await expect(page.getByRole("status")).toContainText("Checkpoint quota.h5 kept");
  const before = await opfsText(page, ["checkpoints", "quota.h5"]);

  await injectWritableFault(page, "QuotaExceededError", "write");
  await panel.getByRole("button", { name: "Checkpoint" }).click();
  const alert = page.getByRole("alert");
  await expect(alert).toContainText("quota.cmcr + quota-.cmtr");
  await expect(alert).toContainText(/Browser storage: not enough space for this checkpoint \(needs about \d+ MB, [\d,]+ MB free\); the previous checkpoint is unchanged/);
  await expect(alert).toContainText("Delete old checkpoints");
  await expect(alert).toContainText("The session is unchanged");
  await expect(item).toContainText("DEFERRED");
  await expect(panel).toContainText("unsaved changes");
  expect(await opfsText(page, ["checkpoints", "quota.h5"])).toBe(before);
  // Nothing half-written is left in browser storage.
  await expect(page.getByRole("list", { name: "Checkpoints in browser storage" }).getByRole("listitem")).toHaveCount(1);

  // The next checkpoint goes through.
  await panel.getByRole("button", { name: "Checkpoint" }).click();
  await expect(page.getByRole("status")).toContainText("Checkpoint quota.h5 kept");
});

test("a revoked write permission: a clear message, the old file intact, the session DEFERRED", async ({ page }) => {
  await page.addInitScript(() => {
    (window as unknown as { showSaveFilePicker: () => Promise<FileSystemFileHandle> }).showSaveFilePicker = async () =>
      (await navigator.storage.getDirectory()).getFileHandle("kept.h5", { create: true });
  });
  await page.goto("/?bench");
  await page.evaluate(async () => {
    const handle = await (await navigator.storage.getDirectory()).getFileHandle("kept.h5", { create: true });
    const writable = await handle.createWritable();
    await writable.write("the previous version of this file");
    await writable.close();
  });
  const { item, panel } = await openFixture(page, "revoked");
  await injectWritableFault(page, "NotAllowedError", "open");
  await panel.getByRole("button", { name: "Save", exact: true }).click();
  const alert = page.getByRole("alert");
  await expect(alert).toContainText("revoked.cmcr + revoked-.cmtr");
  await expect(alert).toContainText("Permission to write kept.h5 was withdrawn");
  await expect(alert).toContainText("Save as…");
  expect(await opfsText(page, ["kept.h5"])).toBe("the previous version of this file");
  await expect(item).toContainText("DEFERRED");
  await expect(panel).toContainText("unsaved changes");

  // Granted again (the picker asks anew): the save goes through.
  await panel.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByRole("status")).toHaveText("Saved kept.h5.");
  await expect(item).toContainText("SAVED");
});
