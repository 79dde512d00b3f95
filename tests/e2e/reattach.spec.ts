/**
 * A dropped file the session reads from goes away or changes (issue 18, item 4): the save stops
 * naming it, a different file given back is refused with what differs, the original given back is
 * re-attached and the save goes through; once a checkpoint holds a full copy, the panel says the
 * dropped files are no longer needed.
 */
import { expect, test } from "@playwright/test";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, rmSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { recordingFixture, scratchDir } from "./sessionFixtures.ts";

const DEMO = join(import.meta.dirname, "../../public/demo");
let dir: string;
test.beforeAll(() => {
  dir = scratchDir();
});
test.afterAll(() => rmSync(dir, { recursive: true, force: true }));
test.describe.configure({ timeout: 180_000 });

/** What h5py sees in a session file: its unit count and the rows of the first cutout column over all units. */
function h5pyRead(path: string): { units: number; rows: number } {
  const script = [
    "import h5py, json, sys",
    "f = h5py.File(sys.argv[1], 'r')",
    "rows = sum(f['units'][u]['unit_meta']['peaks_data']['cutout 0'].shape[0] for u in f['units'])",
    "print(json.dumps({'units': len(f['units']), 'rows': rows}))",
  ].join("\n");
  const run = spawnSync("/usr/bin/python3", ["-c", script, path], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout) as { units: number; rows: number };
}

test("a changed .cmtr stops the save by name; a different file is refused; the original given back saves", async ({ page }) => {
  // The download path (no save picker), as in a browser without the File System Access API.
  await page.addInitScript(() => {
    delete (Window.prototype as { showSaveFilePicker?: unknown }).showSaveFilePicker;
    delete (window as { showSaveFilePicker?: unknown }).showSaveFilePicker;
  });
  const dropped = join(dir, "dropped");
  mkdirSync(dropped);
  for (const name of ["demo.cmcr", "demo-.cmtr"]) copyFileSync(join(DEMO, name), join(dropped, name));
  // Same names, other recordings: what a user might pick by mistake.
  const otherDir = join(dir, "other");
  mkdirSync(otherDir);
  const other = await recordingFixture(otherDir, "demo");

  await page.goto("/");
  await page.getByLabel(/choose files/i).setInputFiles([join(dropped, "demo.cmcr"), join(dropped, "demo-.cmtr")]);
  const item = page.getByRole("list", { name: "Recordings" }).getByRole("button", { name: /^demo\.cmcr/ });
  await expect(item).toContainText("DEFERRED", { timeout: 90_000 });
  const panel = page.getByRole("region", { name: "Session demo" });
  const sources = panel.getByRole("group", { name: "Files the session reads from" });
  await expect(sources).toContainText("are read from demo-.cmtr and demo.cmcr when needed");

  // The file changes on disk after the drop: the browser no longer reads the dropped File.
  utimesSync(join(dropped, "demo-.cmtr"), new Date(), new Date(Date.now() + 60_000));
  await panel.getByRole("button", { name: "Save", exact: true }).click();
  const alert = page.getByRole("alert");
  await expect(alert).toContainText("Saving failed: demo-.cmtr can no longer be read: it was moved, deleted or changed since it was opened");
  await expect(alert).toContainText("nothing was written, the session keeps what it has");
  await expect(sources).toContainText("A file this session reads from was moved or changed.");
  await expect(panel).toContainText("unsaved changes");

  // Another recording's .cmtr of the same name is refused, naming what differs.
  const giveBack = sources.getByLabel(/Give back/);
  await giveBack.setInputFiles(other.cmtrPath);
  await expect(alert).toContainText("demo-.cmtr is not the file the session read as demo-.cmtr: its size is");
  await expect(sources).toContainText("A file this session reads from was moved or changed.");

  // The original (same bytes, from where it really is) is taken back.
  await giveBack.setInputFiles(join(DEMO, "demo-.cmtr"));
  await expect(page.getByRole("status")).toContainText("demo-.cmtr re-attached to demo.cmcr + demo-.cmtr");
  await expect(sources).not.toContainText("was moved or changed");

  const downloading = page.waitForEvent("download");
  await panel.getByRole("button", { name: "Save", exact: true }).click();
  const download = await downloading;
  const file = join(dir, "demo.h5");
  await download.saveAs(file);
  const back = h5pyRead(file);
  expect(back.units).toBe(24);
  expect(back.rows).toBeGreaterThan(0);

  // The download also kept a checkpoint (a full copy): the dropped files are no longer needed.
  await expect(panel.getByTestId("sources-copied")).toContainText("The session no longer depends on the dropped files");
  await expect(panel.getByRole("group", { name: "Files the session reads from" })).toHaveCount(0);
  // And saving again reads the checkpoint, not the dropped files.
  rmSync(dropped, { recursive: true, force: true });
  const again = page.waitForEvent("download");
  await panel.getByRole("button", { name: "Save", exact: true }).click();
  const second = join(dir, "demo-again.h5");
  await (await again).saveAs(second);
  expect(h5pyRead(second)).toEqual(back);
});
