import { expect, test, type Page } from "@playwright/test";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import config from "../../playwright.config.ts";
import { checkpointFixture, readBack, recordingFixture, scratchDir, sessionDiff } from "./sessionFixtures.ts";

const SCREENSHOTS = "test-results";
let dir: string;

test.beforeAll(() => {
  dir = scratchDir();
});
test.afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Headless Chromium has the save picker but cannot show it: take the download path, as Firefox/Safari do. */
async function withoutSavePicker(page: Page): Promise<void> {
  await page.addInitScript(() => {
    delete (Window.prototype as { showSaveFilePicker?: unknown }).showSaveFilePicker;
    delete (window as { showSaveFilePicker?: unknown }).showSaveFilePicker;
  });
}

/** Fails the test on any request that leaves the app's own origin (fonts, CDNs, telemetry). */
function forbidForeignRequests(page: Page): string[] {
  const foreign: string[] = [];
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (!["blob:", "data:"].includes(url.protocol) && url.host !== new URL(config.use!.baseURL!).host) foreign.push(request.url());
  });
  return foreign;
}

async function dropFiles(page: Page, paths: string[]): Promise<void> {
  // The drop zone is a labelled file input: the same path a keyboard user takes.
  await page.getByLabel(/choose files/i).setInputFiles(paths);
}

test("drop a checkpoint, see its units, save it as a download that round-trips", async ({ page }) => {
  const foreign = forbidForeignRequests(page);
  await withoutSavePicker(page);
  const { session, path } = await checkpointFixture(dir);
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "hdmea-web" })).toBeVisible();

  await dropFiles(page, [path]);
  const recordings = page.getByRole("list", { name: "Recordings" });
  const item = recordings.getByRole("button", { name: /^rand-7-checkpoint\.h5/ });
  await expect(item).toContainText("SAVED");
  await expect(item).toContainText("40 units");

  const panel = page.getByRole("region", { name: "Session rand-7" });
  await expect(panel).toBeVisible();
  await expect(panel).toContainText("all changes saved");
  const steps = panel.getByRole("list", { name: "Completed steps" });
  for (const step of session.completedSteps) await expect(steps).toContainText(step.name);
  // Warnings of every recording are listed together, each naming its recording.
  await expect(page.getByRole("list", { name: "Warnings and errors" })).toContainText("rand-7-checkpoint.h5: fixture warning");
  await expect(panel.getByRole("meter", { name: "Arrays in memory against the memory budget" })).toBeVisible();

  const table = page.getByRole("table", { name: "Units of rand-7" });
  await expect(table.getByRole("row")).toHaveCount(41);
  const firstId = [...session.units.keys()][0];
  const firstUnit = session.units.get(firstId)!;
  const firstRow = table.getByRole("row", { name: new RegExp(`^${firstId} `) });
  await expect(firstRow.getByRole("cell").nth(2)).toHaveText(firstUnit.spikeTimes.length.toLocaleString("en-US"));

  await page.screenshot({ path: `${SCREENSHOTS}/main-view.png`, fullPage: true });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.screenshot({ path: `${SCREENSHOTS}/main-view-dark.png`, fullPage: true });
  await page.emulateMedia({ colorScheme: "light" });

  const downloading = page.waitForEvent("download");
  await panel.getByRole("button", { name: "Save", exact: true }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe("rand-7.h5");
  const saved = `${dir}/downloaded.h5`;
  await download.saveAs(saved);
  // The browser never says whether a download finished: not "saved" until the user confirms (saveState.spec.ts).
  await expect(page.getByRole("status")).toContainText("Downloaded as rand-7.h5 — not confirmed");
  await expect(panel).toContainText("rand-7.h5");

  const back = await readBack(saved);
  expect(back.checkpointName).toBeUndefined();
  expect(sessionDiff(session, back.session)).toEqual([]);
  expect(back.session.completedSteps).toEqual(session.completedSteps);
  for (const [id, unit] of session.units) {
    expect(back.session.units.get(id)!.spikeTimes).toEqual(unit.spikeTimes);
  }
  expect(foreign).toEqual([]);
});

test("Save with the File System Access picker writes the chosen file from the worker", async ({ page }) => {
  // Headless Chromium cannot show the picker: hand back a real file handle (in OPFS) as if chosen.
  await page.addInitScript(() => {
    (window as unknown as { showSaveFilePicker: () => Promise<FileSystemFileHandle> }).showSaveFilePicker = async () =>
      (await navigator.storage.getDirectory()).getFileHandle("picked.h5", { create: true });
  });
  const { session, path } = await checkpointFixture(dir, 15, 33);
  await page.goto("/");
  await dropFiles(page, [path]);
  const panel = page.getByRole("region", { name: `Session ${session.datasetId}` });
  await panel.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByRole("status")).toHaveText("Saved picked.h5.");
  await expect(panel).toContainText("picked.h5");
  const bytes = await page.evaluate(async () => {
    const file = await (await (await navigator.storage.getDirectory()).getFileHandle("picked.h5")).getFile();
    return Array.from(new Uint8Array(await file.arrayBuffer()));
  });
  const picked = `${dir}/picked.h5`;
  writeFileSync(picked, Uint8Array.from(bytes));
  expect(sessionDiff(session, (await readBack(picked)).session)).toEqual([]);
});

test("checkpoint into browser storage, reload, and resume it", async ({ page }) => {
  page.on("dialog", (dialog) => dialog.accept());
  const { session, path } = await checkpointFixture(dir, 25, 21);
  await page.goto("/");
  await dropFiles(page, [path]);
  const panel = page.getByRole("region", { name: `Session ${session.datasetId}` });
  await panel.getByRole("button", { name: "Checkpoint" }).click();
  await expect(page.getByRole("status")).toContainText(`Checkpoint ${session.datasetId}.h5 kept in browser storage`);
  const checkpoints = page.getByRole("list", { name: "Checkpoints in browser storage" });
  await expect(checkpoints).toContainText(`${session.datasetId}.h5`);

  await page.reload();
  await expect(page.getByRole("list", { name: "Recordings" })).toHaveCount(0);
  await expect(checkpoints).toContainText(`${session.datasetId}.h5`);
  await page.screenshot({ path: `${SCREENSHOTS}/checkpoints-after-reload.png`, fullPage: true });

  // The stored checkpoint is a real session file: download it and read it in Node.
  const downloading = page.waitForEvent("download");
  await page.getByRole("button", { name: `Download ${session.datasetId}.h5` }).click();
  const exported = `${dir}/exported-checkpoint.h5`;
  await (await downloading).saveAs(exported);
  const back = await readBack(exported);
  expect(back.checkpointName).toBe(session.datasetId);
  expect(sessionDiff(session, back.session)).toEqual([]);

  await page.getByRole("button", { name: `Resume ${session.datasetId}.h5` }).click();
  const resumed = page.getByRole("list", { name: "Recordings" }).getByRole("button", { name: /^rand-21\.h5 \(checkpoint\)/ });
  await expect(resumed).toContainText("25 units");
  await expect(page.getByRole("table", { name: `Units of ${session.datasetId}` }).getByRole("row")).toHaveCount(26);

  await page.getByRole("button", { name: `Delete ${session.datasetId}.h5` }).click();
  await expect(page.getByRole("list", { name: "Checkpoints in browser storage" })).toHaveCount(0);
});

test("a dropped recording pair opens DEFERRED, and leaving with unsaved work asks first", async ({ page }) => {
  const recording = await recordingFixture(dir);
  await page.goto("/");
  await dropFiles(page, [recording.cmcrPath, recording.cmtrPath]);
  const item = page.getByRole("list", { name: "Recordings" }).getByRole("button", { name: /^rec-e2e\.cmcr \+ rec-e2e-\.cmtr/ });
  await expect(item).toContainText("DEFERRED");
  await expect(item).toContainText("6 units");
  const panel = page.getByRole("region", { name: "Session rec-e2e" });
  await expect(panel).toContainText("unsaved changes");
  await expect(panel.getByRole("list", { name: "Completed steps" })).toContainText("load_recording");
  await expect(page.getByRole("table", { name: "Units of rec-e2e" }).getByRole("row")).toHaveCount(7);

  const dialogs: string[] = [];
  page.on("dialog", async (dialog) => {
    dialogs.push(dialog.type());
    await dialog.dismiss();
  });
  // beforeunload prompts only count after a user gesture on the page.
  await page.getByRole("heading", { name: "Units" }).click();
  await page.reload({ timeout: 3_000 }).catch(() => undefined);
  expect(dialogs).toContain("beforeunload");
  await expect(panel).toBeVisible();
});

test("a file that is not a session is reported by name, not as an HDF5 stack", async ({ page }) => {
  await page.goto("/");
  // The drop zone is the first stop for a keyboard user: the file input itself, labelled.
  await page.keyboard.press("Tab");
  await expect(page.getByLabel(/choose files/i)).toBeFocused();
  await page.getByLabel(/choose files/i).setInputFiles([{ name: "broken.h5", mimeType: "application/octet-stream", buffer: Buffer.from("not an hdf5 file") }]);
  await expect(page.getByRole("alert")).toContainText("broken.h5: not an HDF5 file");
  await expect(page.getByRole("alert")).not.toContainText("HDF5-DIAG");
});

test("/?demo opens the demo recording", async ({ page }) => {
  test.skip(!existsSync("public/demo/demo.cmcr"), "public/demo/ has no demo pair yet");
  await page.goto("/?demo");
  const item = page.getByRole("list", { name: "Recordings" }).getByRole("button", { name: /^demo\.cmcr \+ demo-\.cmtr/ });
  // The demo holds a movie for every extractor (162 s of light reference to read): time on a busy machine.
  await expect(item).toContainText("DEFERRED", { timeout: 45_000 });
  await expect(page.getByRole("table", { name: "Units of demo" })).toBeVisible();
  await page.screenshot({ path: `${SCREENSHOTS}/demo-view.png`, fullPage: true });
});
