/**
 * Nothing lost in the browser: a worker that crashes, a tab closed with unsaved work, a damaged file
 * left open in the runtime, and two tabs writing the same checkpoint (issue 7).
 */
import { expect, test, type Page } from "@playwright/test";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readBack, recordingFixture, scratchDir } from "./sessionFixtures.ts";

const DEMO = "demo.cmcr + demo-.cmtr";
let dir: string;
test.beforeAll(() => {
  dir = scratchDir();
});
test.afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface TestWorker {
  crashForTest(): Promise<never>;
}

async function openDemo(page: Page, query = "demo"): Promise<number> {
  await page.goto(`/?${query}`);
  const table = page.getByRole("table", { name: "Units of demo" });
  // The demo's 162 s of light reference take a while to read on a busy machine.
  await expect(table).toBeVisible({ timeout: 45_000 });
  return table.getByRole("row").count();
}

async function checkpoint(page: Page): Promise<void> {
  await page.getByRole("region", { name: "Session demo" }).getByRole("button", { name: "Checkpoint" }).click();
  await expect(page.getByRole("status")).toContainText("Checkpoint demo.h5 kept in browser storage");
}

/** Waits until the page is idle again and returns what it reported (status line and alert). */
async function outcome(page: Page): Promise<string> {
  await expect(page.getByRole("status")).not.toContainText("…");
  const alert = page.getByRole("alert");
  return `${await page.getByRole("status").innerText()} ${(await alert.count()) ? await alert.innerText() : ""}`;
}

test.beforeEach(() => {
  test.skip(!existsSync("public/demo/demo.cmcr"), "public/demo/ has no demo pair");
});

test("a worker crash names the lost recording and resumes it from its checkpoint in one click", async ({ page }) => {
  const rows = await openDemo(page, "demo&bench");
  const panel = page.getByRole("region", { name: "Session demo" });
  const steps = await panel.getByRole("list", { name: "Completed steps" }).innerText();
  await checkpoint(page);

  await page.evaluate(() => (window as unknown as { hdmeaWorker: TestWorker }).hdmeaWorker.crashForTest().catch(() => undefined));
  const banner = page.getByRole("region", { name: /processing worker stopped/ });
  await expect(banner).toContainText(DEMO);
  await expect(banner).toContainText("checkpoint demo.h5");
  await expect(page.getByRole("list", { name: "Recordings", exact: true })).toContainText("lost when the worker restarted");
  await page.screenshot({ path: "test-results/recovery-banner.png", fullPage: true });

  await banner.getByRole("button", { name: `Resume ${DEMO} from checkpoint` }).click();
  await expect(banner).toHaveCount(0);
  const recordings = page.getByRole("list", { name: "Recordings" });
  await expect(recordings.getByRole("button", { name: /^demo\.h5 \(checkpoint\)/ })).toBeVisible();
  await expect(recordings).not.toContainText("lost when the worker restarted");
  await expect(page.getByRole("table", { name: "Units of demo" }).getByRole("row")).toHaveCount(rows);
  expect(await panel.getByRole("list", { name: "Completed steps" }).innerText()).toBe(steps);
});

test("the next visit after a tab closed with unsaved work offers its checkpoint", async ({ context }) => {
  const first = await context.newPage();
  const rows = await openDemo(first);
  await checkpoint(first);
  await first.getByLabel("Cell type label of unit_001").selectOption("rgc");
  await expect(first.getByRole("region", { name: "Session demo" })).toContainText("unsaved changes");
  await first.waitForFunction(() => Object.keys(localStorage).some((k) => k.startsWith("hdmea-web:unsaved:")));
  await first.close({ runBeforeUnload: false });

  const next = await context.newPage();
  await next.goto("/");
  const banner = next.getByRole("region", { name: /Your last session ended with unsaved work — resume from checkpoint/ });
  await expect(banner).toContainText(DEMO);
  await expect(banner).toContainText("checkpoint demo.h5");
  await banner.getByRole("button", { name: `Resume ${DEMO} from checkpoint` }).click();
  await expect(banner).toHaveCount(0);
  await expect(next.getByRole("table", { name: "Units of demo" }).getByRole("row")).toHaveCount(rows);

  // Dealt with: the closed tab's note is gone; only this tab's own (its resumed session is unsaved) remains.
  const notes = await next.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("hdmea-web:unsaved:")).length);
  expect(notes).toBeLessThanOrEqual(1);
});

test("a recording that fails as damaged releases the worker's runtime when nothing else is open", async ({ page }) => {
  const rec = await recordingFixture(dir, "damaged");
  const bytes = readFileSync(rec.cmtrPath);
  const truncated = `${dir}/damaged-.cmtr`;
  writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
  await page.goto("/");
  await page.getByLabel(/choose files/i).setInputFiles([rec.cmcrPath, truncated]);
  await expect(page.getByRole("alert")).toContainText("damaged");
  await expect(page.getByRole("alert")).toContainText("was restarted to release");
  // The fresh worker opens a good recording.
  const good = await recordingFixture(dir, "after-damage");
  await page.getByLabel(/choose files/i).setInputFiles([good.cmcrPath, good.cmtrPath]);
  await expect(page.getByRole("table", { name: "Units of after-damage" })).toBeVisible();
});

test("two tabs checkpointing one recording at once leave a complete checkpoint; resume during a write works or refuses clearly", async ({ context }) => {
  const a = await context.newPage();
  const b = await context.newPage();
  const [rows] = await Promise.all([openDemo(a), openDemo(b)]);
  const button = (p: Page) => p.getByRole("region", { name: "Session demo" }).getByRole("button", { name: "Checkpoint" });
  await Promise.all([button(a).click(), button(b).click()]);
  const results = [await outcome(a), await outcome(b)];
  for (const r of results) expect(r).toMatch(/Checkpoint demo\.h5 kept|in use in another tab/);
  expect(results.some((r) => r.includes("Checkpoint demo.h5 kept"))).toBe(true);

  // The stored file is one whole session file, not a mix of two writes.
  const downloading = a.waitForEvent("download");
  await a.getByRole("button", { name: "Download demo.h5" }).click();
  const exported = `${dir}/two-tabs.h5`;
  await (await downloading).saveAs(exported);
  const back = await readBack(exported);
  expect(back.checkpointName).toBe("demo");
  expect(back.session.units.size).toBe(rows - 1);

  // Resume in one tab while the other writes, a few times to hit the overlap. Every resume adds one row
  // to A's list: a session (a button) when it worked, or an error row (no button) when it was refused.
  const resumedRows = a
    .getByRole("list", { name: "Recordings" })
    .getByRole("listitem")
    .filter({ has: a.getByText("demo.h5 (checkpoint)", { exact: true }) });
  for (let round = 0; round < 3; round++) {
    await b.getByRole("list", { name: "Recordings" }).getByRole("button", { name: /^demo\.cmcr/ }).click();
    const before = await resumedRows.count();
    await Promise.all([button(b).click(), a.getByRole("button", { name: "Resume demo.h5" }).click()]);
    const written = await outcome(b);
    expect(written).toMatch(/Checkpoint demo\.h5 kept|in use in another tab/);
    await expect(resumedRows).toHaveCount(before + 1);
    const row = resumedRows.nth(before);
    await expect(row).not.toContainText("loading");
    const text = await row.innerText();
    if (/units/.test(text)) expect(text).toContain(`${rows - 1} units`);
    else {
      expect(text).toContain("in use in another tab");
      await expect(a.getByRole("alert")).toContainText("in use in another tab");
    }
  }
  // Whatever interleaved, the checkpoint still loads.
  await a.getByRole("button", { name: "Resume demo.h5" }).click();
  await expect(resumedRows.last()).toContainText(`${rows - 1} units`);
});
