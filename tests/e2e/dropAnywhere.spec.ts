/**
 * Real drag and drop: `dragenter`, `dragover` and `drop` events carrying a `DataTransfer` with files,
 * dispatched on the page (not on the file input), as the browser does when files are dragged in
 * from the desktop.
 */
import { expect, test, type Page } from "@playwright/test";

/** Drags `names` (demo files fetched from the app, or empty text files) onto `selector` and drops them. */
async function dropFiles(page: Page, selector: string, names: string[], opts: { drop: boolean } = { drop: true }): Promise<void> {
  await page.evaluate(
    async ({ selector, names, drop }) => {
      const data = new DataTransfer();
      for (const name of names) {
        const body = name.startsWith("demo") ? await (await fetch(`demo/${name}`)).blob() : new Blob(["not a recording"]);
        data.items.add(new File([body], name));
      }
      const target = document.querySelector(selector)!;
      const fire = (type: string) => target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: data }));
      fire("dragenter");
      fire("dragover");
      if (drop) fire("drop");
    },
    { selector, names, drop: opts.drop },
  );
}

test("files dropped anywhere on the page open, with an overlay while dragging", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "No session open" })).toBeVisible();

  await dropFiles(page, "main", ["demo.cmcr", "demo-.cmtr"], { drop: false });
  await expect(page.locator(".drop-overlay")).toContainText("Drop to open");
  await page.evaluate(() => document.querySelector("main")!.dispatchEvent(new DragEvent("dragleave", { bubbles: true, dataTransfer: new DataTransfer() })));

  // The drop lands on the page's heading, far from the Open panel.
  await dropFiles(page, ".app-header h1", ["demo.cmcr", "demo-.cmtr"]);
  await expect(page.getByRole("table", { name: "Units of demo" })).toBeVisible();
  await expect(page.locator(".drop-overlay")).toHaveCount(0);
});

test("an unsupported dropped file is listed with the reason", async ({ page }) => {
  await page.goto("/");
  await dropFiles(page, "body", ["notes.txt"]);
  await expect(page.getByRole("list", { name: "Recordings" })).toContainText("notes.txt: not a session file (.h5) or recording (.cmcr/.cmtr)");
});
