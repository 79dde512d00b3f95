/**
 * Feature plots and feature columns: a checkpoint whose units carry moving_bar, chirp, sta_<movie>
 * with its `sta_geometry` (rf_geometry's place) and step_response features (trees written with
 * `session.addFeature` / `placeInUnit`, values known)
 * is dropped on the page; the selected unit's polar tuning plot, STA heat map and chirp curves must
 * draw, a unit without features must say what to run, and a feature value must become a sortable,
 * filterable table column and an electrode-map colouring. Screenshots: test-results/screenshots/features-*.
 */
import { expect, test, type Locator, type Page } from "@playwright/test";
import { ink } from "./canvasInk.ts";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { STA_GEOMETRY } from "../../src/core/features/resultPlaces.ts";
import { NDArray, bool, f64, i64 } from "../../src/core/ndarray.ts";
import { nodeRuntime } from "../../src/io/h5node.ts";
import { checkpointSession } from "../../src/io/sessionStore.ts";
import { fakeClock, randomSession } from "../fixtures/randomSession.ts";
import { scratchDir } from "./sessionFixtures.ts";

const SHOTS = "test-results/screenshots";
const BAR = "moving_h_bar_s5_d8_3x";
const DIRECTIONS = [0, 45, 90, 135, 180, 225, 270, 315];
const UNITS = 8;
/** DSI per unit: units 1–6 have features, 7 and 8 none. */
const DSI = [0.42, 0.1, 0.65, 0.05, 0.3, 0.22];
let dir: string;
let checkpoint: string;

test.beforeAll(async () => {
  dir = scratchDir();
  mkdirSync(SHOTS, { recursive: true });
  checkpoint = await featureCheckpoint();
});
test.afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A 20 × 30 noise STA over 15 frames: an ON blob at (8, 12) peaking 4 frames before the spike, on grey 0.5. */
function blobSta(): NDArray {
  const [T, H, W] = [15, 20, 30];
  const data = new Float32Array(T * H * W);
  for (let t = 0; t < T; t++) {
    const temporal = Math.exp(-(((t - 11) / 1.6) ** 2)) - 0.35 * Math.exp(-(((t - 7) / 2) ** 2));
    for (let r = 0; r < H; r++) {
      for (let c = 0; c < W; c++) {
        const x = c - 12;
        const y = r - 8;
        // Elongated, rotated 30° toward increasing row, so the fit ellipse has a visible angle.
        const a = Math.PI / 6;
        const u = x * Math.cos(a) + y * Math.sin(a);
        const v = -x * Math.sin(a) + y * Math.cos(a);
        const spatial = Math.exp(-0.5 * ((u / 3) ** 2 + (v / 1.6) ** 2)) - 0.25 * Math.exp(-0.5 * ((u / 6) ** 2 + (v / 4) ** 2));
        data[(t * H + r) * W + c] = 0.5 + 0.3 * temporal * spatial + 0.01 * Math.sin(7 * t + 3 * r + 5 * c);
      }
    }
  }
  return new NDArray(data, [T, H, W]);
}

async function featureCheckpoint(): Promise<string> {
  const session = randomSession({ units: UNITS, maxSpikes: 200, seed: 21, now: fakeClock() });
  DSI.forEach((dsi, k) => {
    const id = `unit_00${k + 1}`;
    const preferred = 45 * k;
    const tuning = DIRECTIONS.map((d) => 2 + 12 * dsi * (1 + Math.cos(((d - preferred) * Math.PI) / 180)));
    session.addFeature(id, "moving_bar", {
      [BAR]: {
        directions_deg: new NDArray(Float64Array.from(DIRECTIONS)),
        tuning_hz: new NDArray(Float64Array.from(tuning)),
        n_repeats: new NDArray(BigInt64Array.from(DIRECTIONS, () => 3n)),
        dsi: f64(dsi),
        preferred_direction_deg: f64(preferred),
        osi: f64(dsi / 2),
        preferred_orientation_deg: f64(preferred % 180),
        dsi_p_value: f64(dsi > 0.2 ? 0.001 : 0.4),
        osi_p_value: f64(0.2),
        n_permutations: i64(1000),
      },
    });
    const freqs = [0.5, 1, 2, 4, 8, 15];
    session.addFeature(id, "chirp", {
      chirp: {
        frequency_hz: new NDArray(Float64Array.from(freqs)),
        frequency_f1_hz: new NDArray(Float64Array.from(freqs, (f) => 20 * Math.exp(-(((Math.log2(f) - k / 3) / 1.5) ** 2)))),
        amplitude: new NDArray(Float64Array.from({ length: 10 }, (_, i) => (i + 0.5) / 10)),
        amplitude_f1_hz: new NDArray(Float64Array.from({ length: 10 }, (_, i) => 18 / (1 + Math.exp(-(i - 4))))),
        amplitude_sweep_hz: f64(2),
        preferred_frequency_hz: f64(1),
        centroid_frequency_hz: f64(1.4),
        high_low_index: f64(-0.3),
        half_max_amplitude: f64(0.45),
      },
    });
    session.addFeature(id, "sta_noise_movie", blobSta());
    session.addFeature(id, "rf_geometry", {});
    session.placeInUnit(id, STA_GEOMETRY.unitPath("noise_movie"), {
      center_row: f64(8),
      center_col: f64(12),
      polarity: i64(1),
      rank1_fraction: f64(0.83),
      peak_lag_frames: f64(4),
      gaussian_fit: { fit_ok: bool(true), reason: "", center_y: f64(8), center_x: f64(12), sigma_x: f64(3), sigma_y: f64(1.6), theta: f64(Math.PI / 6), angle_deg: f64(30), amplitude: f64(1), offset: f64(0), r_squared: f64(0.93) },
    });
    session.addFeature(id, "step_response", {
      step_up_5s_5i_3x: { on_off_index: f64(0.8 - 0.3 * k), transience_index: f64(0.4), on_latency_s: f64(0.06 + 0.01 * k), baseline_rate_hz: f64(3.5) },
    });
    // The classifier's label, read by name (src/worker/unitTable.ts): rgc for k even, ac for k odd.
    session.addFeature(id, "cell_type_classifier", { cell_type: k % 2 === 0 ? "rgc" : "ac", rgc_probability: f64(k % 2 === 0 ? 0.9 : 0.2) });
    session.addFeature(id, "quality_index", { step_up_5s_5i_3x: { quality_index: f64(0.2 + 0.1 * k), n_trials: i64(3), bin_width_s: f64(0.05) } });
  });
  const path = join(dir, `${session.datasetId}-features.h5`);
  checkpointSession(await nodeRuntime(), session, path, { checkpointName: "with_features" });
  return path;
}


async function open(page: Page): Promise<Locator> {
  await page.goto("/");
  await page.getByLabel(/choose files/i).setInputFiles([checkpoint]);
  const table = page.getByRole("table", { name: "Units of rand-21" });
  await expect(table.getByRole("rowheader").first()).toHaveText("unit_001", { timeout: 30_000 });
  return table;
}

async function shoot(page: Page, name: string, target: Locator): Promise<void> {
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.waitForTimeout(250); // plots redraw with the other theme's colours
    await target.screenshot({ path: `${SHOTS}/features-${name}-${scheme}.png` });
  }
  await page.emulateMedia({ colorScheme: "light" });
}

test("feature plots: polar tuning, STA heat map with its fit, chirp curves, the scalar table; absent features say what to run", async ({ page }) => {
  const table = await open(page);
  const panel = page.getByRole("region", { name: /^Features/ });
  await expect(panel.getByRole("heading", { name: /unit_001/ })).toBeVisible();

  const polar = panel.getByRole("img", { name: /^Direction tuning of unit_001 to moving_h_bar_s5_d8_3x/ });
  await expect(polar).toBeVisible();
  await expect(polar).toHaveAccessibleName(/DSI 0\.42, preferred direction 0°, p 0\.001;/);
  expect((await polar.locator("polygon").getAttribute("points"))!.split(" ")).toHaveLength(8);
  await expect(polar.locator("line.vector")).toHaveCount(1);
  await expect(polar).toHaveAttribute("tabindex", "0");

  const staCanvas = panel.getByLabel(/^STA of unit_001 for noise_movie/);
  await expect(staCanvas).toHaveAccessibleName(/peak at row 8, column 12; Gaussian fit centre row 8, column 12/);
  await expect.poll(() => ink(staCanvas)).toBeGreaterThan(10_000);
  const timeCourse = panel.getByRole("img", { name: /^STA time course of unit_001 at the peak pixel/ });
  await expect.poll(() => ink(timeCourse.locator("canvas"))).toBeGreaterThan(500);

  const frequency = panel.getByRole("img", { name: /^Chirp frequency response of unit_001/ });
  const amplitude = panel.getByRole("img", { name: /^Chirp amplitude response of unit_001/ });
  for (const plot of [frequency, amplitude]) await expect.poll(() => ink(plot.locator("canvas"))).toBeGreaterThan(500);

  const values = panel.getByRole("table", { name: "Feature values" });
  await expect(values.getByRole("row", { name: /ON-OFF index step_response · step_up_5s_5i_3x 0\.8/ })).toBeVisible();
  await expect(values.getByRole("row", { name: /^DSI moving_bar/ })).toContainText("0.42");

  // Keyboard: Tab reaches the polar plot and the STA image.
  await polar.focus();
  await expect(polar).toBeFocused();
  await staCanvas.focus();
  await expect(staCanvas).toBeFocused();

  await panel.scrollIntoViewIfNeeded();
  await shoot(page, "panel", panel);

  // A unit without features: each plot says what would make it.
  await table.getByRole("button", { name: "unit_007" }).click();
  await expect(panel.getByRole("heading", { name: /unit_007/ })).toBeVisible();
  await expect(panel.getByText("run extract_features with a moving-bar stimulus")).toBeVisible();
  await expect(panel.getByText(/No STA for unit_007: run compute_sta/)).toBeVisible();
  await expect(panel.getByText(/No chirp response for unit_007/)).toBeVisible();
  await shoot(page, "absent", panel);
});

test("feature columns: the science columns (ON-OFF index, QI, DSI, preferred direction, type) sort and filter; add OSI and the transience index, colour the map", async ({ page }) => {
  const table = await open(page);
  const column = async (label: string) => {
    const index = await table.locator("thead th").evaluateAll((ths, l) => ths.findIndex((th) => th.textContent?.trim().replace(/[▲▼]$/, "") === l), label);
    expect(index, `column ${label}`).toBeGreaterThan(0);
    return (await table.locator(`tbody tr:not(.spacer) > :nth-child(${index + 1})`).allInnerTexts()).map((t) => t.trim());
  };
  // Built in once features exist: DSI (moving_bar), ON-OFF index (step_response), QI, preferred direction, type.
  const header = table.getByRole("columnheader", { name: "DSI", exact: true });
  await expect(header).toBeVisible();
  for (const name of ["ON-OFF", "QI", "Pref. dir", "Type"]) await expect(table.getByRole("columnheader", { name, exact: true })).toBeVisible();
  await header.getByRole("button").click();
  await expect(header).toHaveAttribute("aria-sort", "descending");
  const desc = [...DSI].sort((a, b) => b - a).map(String);
  expect(await column("DSI")).toEqual([...desc, "—", "—"]);
  await header.getByRole("button").click();
  await expect(header).toHaveAttribute("aria-sort", "ascending");
  expect(await column("DSI")).toEqual([...[...desc].reverse(), "—", "—"]);
  // Preferred direction is 45° × k (k = unit − 1): the two lowest DSIs are k = 3 and k = 1.
  expect((await column("Pref. dir")).slice(0, 2)).toEqual(["135°", "45°"]);
  // Labels of units 1–6 in DSI order (k = 3, 1, 5, 4, 0, 2), then the two units without features.
  expect(await column("Type")).toEqual(["ac", "ac", "ac", "rgc", "rgc", "rgc", "—", "—"]);

  // Back to unit order for the filters below.
  await table.getByRole("columnheader", { name: "Unit", exact: true }).getByRole("button").click();
  const filter = page.getByRole("searchbox", { name: "Filter units" });
  await filter.fill("dsi>0.25");
  await expect(table.getByRole("row")).toHaveCount(1 + DSI.filter((d) => d > 0.25).length);
  await expect(page.getByText("Unknown column")).toHaveCount(0);
  // ON-OFF index 0.8 − 0.3k and QI 0.2 + 0.1k (k = 0…5): ooi>0.3 is k = 0, 1; qi>0.45 ooi<0.3 is k = 3, 4, 5.
  await filter.fill("ooi>0.3");
  await expect(table.getByRole("rowheader")).toHaveText(["unit_001", "unit_002"]);
  await filter.fill("qi > 0.45 ooi<0.3");
  await expect(table.getByRole("rowheader")).toHaveText(["unit_004", "unit_005", "unit_006"]);
  await filter.fill("pref>=180 pref!=225");
  await expect(table.getByRole("rowheader")).toHaveText(["unit_005"]);
  await filter.fill("type=none");
  await expect(table.getByRole("rowheader")).toHaveText(["unit_007", "unit_008"]);
  await filter.fill("type=RGC");
  await expect(table.getByRole("rowheader")).toHaveText(["unit_001", "unit_003", "unit_005"]);
  await filter.fill("type!=ac dsi>0.25");
  await expect(table.getByRole("rowheader")).toHaveText(["unit_001", "unit_003", "unit_005"]);
  await filter.fill("type=ac ooi<0");
  await expect(table.getByRole("rowheader")).toHaveText(["unit_004", "unit_006"]);
  await filter.fill("");

  // Added columns: any other feature value.
  const add = page.getByLabel("Add column");
  await add.selectOption(`moving_bar/${BAR}/osi`);
  const osi = table.getByRole("columnheader", { name: "OSI", exact: true });
  await expect(osi).toBeVisible();
  await add.selectOption("step_response/step_up_5s_5i_3x/transience_index");
  await expect(table.getByRole("columnheader", { name: "transience", exact: true })).toBeVisible();
  await osi.getByRole("button").click();
  await expect(osi).toHaveAttribute("aria-sort", "descending");
  expect(await column("OSI")).toEqual([...desc.map((d) => String(Number(d) / 2)), "—", "—"]);
  await filter.fill("osi>0.15");
  await expect(table.getByRole("row")).toHaveCount(1 + DSI.filter((d) => d / 2 > 0.15).length);
  await expect(page.getByText("Unknown column")).toHaveCount(0);
  await shoot(page, "columns", page.locator(".units-row"));
  await filter.fill("");

  // Remove a column again; the map can be coloured by the same value.
  await page.getByRole("button", { name: /^Remove column transience/ }).click();
  await expect(table.getByRole("columnheader", { name: "transience", exact: true })).toHaveCount(0);
  const colourBy = page.getByRole("combobox", { name: "Colour by" });
  await colourBy.selectOption(`moving_bar/${BAR}/dsi`);
  await expect(page.getByLabel(/^Electrode map of 8 units .* coloured by DSI — moving_bar/)).toBeVisible();
});
