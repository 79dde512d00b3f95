/**
 * Nothing lost in the browser: a worker that crashes, a tab closed with unsaved work, a damaged file
 * left open in the runtime, and two tabs writing the same checkpoint (issue 7).
 */
import { expect, test, type Page, type Worker } from "@playwright/test";
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

/** The page's processing worker (Playwright evaluates in its global scope, where OPFS handles live). */
async function appWorker(page: Page): Promise<Worker> {
  for (const worker of page.workers()) if ((await worker.evaluate(() => self.name)) === "hdmea-worker") return worker;
  throw new Error("no hdmea-worker in this page");
}

/**
 * Counts the calls the app's worker makes to open checkpoints/demo.h5 with `methods` (a resume opens
 * it with `createSyncAccessHandle`; a checkpoint moves its written file onto it with `move`, or, for
 * a delta, locks it with `createWritable`), so the test can see that an operation found the file
 * locked and tried again, instead of hoping two tabs overlap in time.
 */
async function countOpens(page: Page, ...methods: ("createSyncAccessHandle" | "createWritable" | "move")[]): Promise<() => Promise<number>> {
  const worker = await appWorker(page);
  for (const method of methods) {
    await worker.evaluate((name) => {
      const proto = FileSystemFileHandle.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
      const counts = ((self as unknown as { opens?: Record<string, number> }).opens ??= {});
      counts[name] = 0;
      const original = proto[name];
      proto[name] = function (this: FileSystemFileHandle, ...args: unknown[]) {
        // move(dir, name): the file moved is the scratch file, demo.h5 is where it goes.
        if ((name === "move" ? args[1] : this.name) === "demo.h5") counts[name]++;
        return original.apply(this, args);
      };
    }, method);
  }
  return async () => {
    let sum = 0;
    for (const method of methods) sum += await worker.evaluate((name) => (self as unknown as { opens: Record<string, number> }).opens[name], method);
    return sum;
  };
}

/**
 * Locks checkpoints/demo.h5 from `page` the way another tab's operation does: `writing` holds a
 * writable (a checkpoint being copied in), `reading` holds a sync access handle in a worker (a resume
 * reading it). Returns the release.
 */
async function holdCheckpoint(page: Page, kind: "writing" | "reading"): Promise<() => Promise<void>> {
  await page.evaluate(async (kind) => {
    const file = await (await (await navigator.storage.getDirectory()).getDirectoryHandle("checkpoints")).getFileHandle("demo.h5");
    const w = window as unknown as { release?: () => Promise<void> };
    if (kind === "writing") {
      // keepExistingData: the swap file starts as a copy, so close() replaces the file by the same bytes.
      const writable = await file.createWritable({ keepExistingData: true });
      w.release = () => writable.close();
      return;
    }
    const source = `onmessage = async () => {
      const root = await navigator.storage.getDirectory();
      const handle = await (await (await root.getDirectoryHandle("checkpoints")).getFileHandle("demo.h5")).createSyncAccessHandle();
      postMessage("held");
      onmessage = () => { handle.close(); postMessage("released"); };
    };`;
    const holder = new Worker(URL.createObjectURL(new Blob([source], { type: "text/javascript" })));
    const reply = () => new Promise<void>((resolve) => holder.addEventListener("message", () => resolve(), { once: true }));
    const held = reply();
    holder.postMessage("hold");
    await held;
    w.release = async () => {
      const released = reply();
      holder.postMessage("release");
      await released;
      holder.terminate();
    };
  }, kind);
  return () => page.evaluate(() => (window as unknown as { release: () => Promise<void> }).release());
}

test("two tabs checkpointing one recording at once both keep it whole; a resume and a checkpoint that find it in use wait for each other", async ({ context }) => {
  const a = await context.newPage();
  const b = await context.newPage();
  const [rows] = await Promise.all([openDemo(a), openDemo(b)]);
  const button = (p: Page) => p.getByRole("region", { name: "Session demo" }).getByRole("button", { name: "Checkpoint" });
  // Both workers read the same millisecond, as two tabs acting at once can: every name either makes
  // from the clock and its session id (s1 in both) is then the same. Each tab still keeps its checkpoint.
  const workers = await Promise.all([appWorker(a), appWorker(b)]);
  const setClock = (t: number | undefined) =>
    Promise.all(
      workers.map((w) =>
        w.evaluate((t) => {
          const g = self as unknown as { realNow?: () => number };
          g.realNow ??= Date.now;
          Date.now = t === undefined ? g.realNow : () => t;
        }, t),
      ),
    );
  await setClock(Date.now());
  await Promise.all([button(a).click(), button(b).click()]);
  const results = [await outcome(a), await outcome(b)];
  await setClock(undefined);
  for (const r of results) expect(r).toContain("Checkpoint demo.h5 kept");

  // The stored file is one whole session file, not a mix of two writes.
  const downloading = a.waitForEvent("download");
  await a.getByRole("button", { name: "Download demo.h5" }).click();
  const exported = `${dir}/two-tabs.h5`;
  await (await downloading).saveAs(exported);
  const back = await readBack(exported);
  expect(back.checkpointName).toBe("demo");
  expect(back.session.units.size).toBe(rows - 1);

  // Every resume adds one row to A's list: a session (with its units) when it worked, or an error row.
  const resumedRows = a
    .getByRole("list", { name: "Recordings" })
    .getByRole("listitem")
    .filter({ has: a.getByText("demo.h5 (checkpoint)", { exact: true }) });
  const resume = a.getByRole("button", { name: "Resume demo.h5" });

  // A resume that finds the checkpoint being written (B holds a writable on it) waits, then opens it whole.
  let release = await holdCheckpoint(b, "writing");
  const resumeOpens = await countOpens(a, "createSyncAccessHandle");
  await resume.click();
  await expect(resumedRows).toHaveCount(1);
  await expect.poll(resumeOpens).toBeGreaterThanOrEqual(2); // refused at least once, tried again
  await expect(resumedRows.nth(0)).toContainText("loading");
  await release();
  await expect(resumedRows.nth(0)).toContainText(`${rows - 1} units`);

  // A checkpoint that finds it being resumed (A holds a sync access handle on it) waits, then writes.
  await b.getByRole("list", { name: "Recordings" }).getByRole("button", { name: /^demo\.cmcr/ }).click();
  release = await holdCheckpoint(a, "reading");
  const checkpointOpens = await countOpens(b, "createWritable", "move");
  await button(b).click();
  await expect.poll(checkpointOpens).toBeGreaterThanOrEqual(2);
  await expect(b.getByRole("status")).toContainText("Checkpointing");
  await release();
  expect(await outcome(b)).toContain("Checkpoint demo.h5 kept");

  // Both at once, as a user could: whichever order the locks fall in (if they overlap at all), the
  // resume opens the whole session or says the checkpoint stayed in use, and the write is kept or says so.
  await Promise.all([button(b).click(), resume.click()]);
  expect(await outcome(b)).toMatch(/Checkpoint demo\.h5 kept|in use in another tab/);
  await expect(resumedRows).toHaveCount(2);
  await expect(resumedRows.nth(1)).not.toContainText("loading");
  const text = await resumedRows.nth(1).innerText();
  if (/units/.test(text)) expect(text).toContain(`${rows - 1} units`);
  else expect(text).toContain("in use in another tab");

  // Whatever interleaved, the checkpoint still loads.
  await resume.click();
  await expect(resumedRows).toHaveCount(3);
  await expect(resumedRows.nth(2)).toContainText(`${rows - 1} units`);
});
