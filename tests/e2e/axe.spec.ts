/**
 * An axe-core audit (WCAG 2 A and AA rules) of the demo, before and after *Run all steps*, in light
 * and dark colour schemes: no serious or critical violation. axe-core comes from npm and is injected
 * by the test (the page's Content-Security-Policy is bypassed for that script only in this test).
 */
import { expect, test, type Page } from "@playwright/test";
import { createRequire } from "node:module";

const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

test.use({ bypassCSP: true });

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

async function audit(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: Violation[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] }, resultTypes: ["violations"] });
    return result.violations;
  });
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

test("the demo before and after Run all steps has no serious or critical accessibility violation", async ({ page }) => {
  test.setTimeout(180_000);
  await page.goto("/?demo");
  await expect(page.getByRole("table", { name: "Units of demo" })).toBeVisible();
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    expect(await audit(page), `before the run, ${scheme}`).toEqual([]);
  }
  await page.emulateMedia({ colorScheme: "light" });

  const pipeline = page.getByRole("region", { name: "Pipeline" });
  await pipeline.getByRole("button", { name: "Use the demo's stimulus files" }).click();
  // The files are fetched from the app's folder: run once they are in.
  await expect(pipeline.getByRole("combobox", { name: "Playlist" })).not.toHaveValue("");
  await pipeline.getByRole("button", { name: "Run all steps" }).click();
  const step = (name: string) => pipeline.getByRole("listitem").filter({ has: page.getByText(name, { exact: true }) });
  await expect(step("extract_features")).toContainText("done", { timeout: 60_000 });
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    expect(await audit(page), `after the run, ${scheme}`).toEqual([]);
  }
});
