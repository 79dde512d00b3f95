/**
 * A session past its memory budget keeps its largest arrays in browser storage (issue 10): the page
 * says so, every view still reads them, and what it writes is the same session.
 */
import { expect, test, type Page } from "@playwright/test";
import { existsSync, rmSync } from "node:fs";
import { readBack, scratchDir, sessionDiff } from "./sessionFixtures.ts";

let dir: string;
test.beforeAll(() => {
  dir = scratchDir();
});
test.afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function checkpointCopy(page: Page, name: string): Promise<string> {
  await page.getByRole("region", { name: "Session demo" }).getByRole("button", { name: "Checkpoint" }).click();
  await expect(page.getByRole("status")).toContainText("Checkpoint demo.h5 kept in browser storage");
  const downloading = page.waitForEvent("download");
  await page.getByRole("button", { name: "Download demo.h5" }).click();
  const path = `${dir}/${name}.h5`;
  await (await downloading).saveAs(path);
  return path;
}

test("past a small memory budget the demo's arrays move to browser storage, views still read them, and checkpoints hold the same session", async ({ page }) => {
  test.skip(!existsSync("public/demo/demo.cmcr"), "public/demo/ has no demo pair");
  await page.goto("/?demo");
  const panel = page.getByRole("region", { name: "Session demo" });
  // The demo's 162 s of light reference take a while to read on a busy machine.
  await expect(page.getByRole("table", { name: "Units of demo" })).toBeVisible({ timeout: 45_000 });
  const memory = panel.getByTestId("memory-use");
  await expect(memory).toContainText("in memory of a");
  await expect(memory).not.toContainText("kept in");
  const before = await checkpointCopy(page, "before");

  const budget = panel.getByLabel("Memory budget (GB)");
  await budget.fill("0.0001");
  await budget.blur();
  await expect(memory).toContainText("in memory of a 100.0 kB budget");
  await expect(memory).toContainText("of arrays kept in browser storage and read back when needed");
  await expect(page.getByRole("list", { name: "Warnings and errors" })).toContainText("passed its 100.0 kB memory budget");

  // The views read spilled arrays back: the light reference and another unit's plots still draw.
  await page.getByRole("table", { name: "Units of demo" }).getByRole("row").nth(2).click();
  await expect(page.getByRole("alert")).toHaveCount(0);

  const after = await checkpointCopy(page, "after");
  const a = (await readBack(before)).session;
  const b = (await readBack(after)).session;
  expect(sessionDiff(a, b)).toEqual(["warnings"]);
  expect(b.warnings.map((w) => w.message).join("\n")).toMatch(/moved to a scratch file in browser storage/);

  // Back to the default budget: the page says so and the arrays stay where they are, still readable.
  await budget.fill("");
  await budget.blur();
  await expect(memory).not.toContainText("100.0 kB budget");
});
