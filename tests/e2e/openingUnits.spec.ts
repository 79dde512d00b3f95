/**
 * A recording's units show while it opens (issue 18, item 2): the table lists them as soon as the
 * `.cmtr` is listed, spike counts fill in as each unit is read, and the session replaces it when the
 * open ends. The demo opens in about a second, so a test hook makes each read of its `.cmtr` slow,
 * as an hour's 4 GB table is.
 */
import { expect, test } from "@playwright/test";

interface TestWorker {
  test: { slowReads(file: string, ms: number): Promise<void> };
}

test("the units table shows while a recording opens, its spike counts filling in", async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto("/?bench");
  await page.evaluate(() => (window as unknown as { hdmeaWorker: TestWorker }).hdmeaWorker.test.slowReads("demo-.cmtr", 10));
  await page.getByRole("button", { name: "Open demo recording" }).click();

  const opening = page.getByRole("region", { name: "Opening Demo recording" });
  await expect(opening).toBeVisible({ timeout: 60_000 });
  const table = page.getByRole("table", { name: "Units being read from Demo recording" });
  await expect(table.getByRole("row")).toHaveCount(25); // 24 units and the header
  const count = page.getByText(/spikes read for \d+ of 24 units…/);
  await expect(count).toBeVisible();
  // Some units are read while others are still waiting: their cells say so rather than 0.
  await expect(table.getByRole("cell", { name: "…", exact: true }).first()).toBeVisible();
  await expect(table).toContainText(/unit_\d+/);

  // Then the session itself, with every count.
  const recordings = page.getByRole("list", { name: "Recordings" });
  await expect(recordings.getByRole("button", { name: /^demo\.cmcr \+ demo-\.cmtr/ })).toContainText("24 units", { timeout: 60_000 });
  await expect(page.getByRole("region", { name: "Session demo" })).toBeVisible();
  await expect(opening).toHaveCount(0);
  const units = page.getByRole("table", { name: "Units of demo" });
  await expect(units.getByRole("row")).toHaveCount(25);
  await expect(units.getByRole("cell", { name: "…", exact: true })).toHaveCount(0);
  await expect(page.getByText(/spikes read for/)).toHaveCount(0);
});
