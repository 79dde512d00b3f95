import type { Locator } from "@playwright/test";

/** Pixels with any ink on a canvas (a plot, the map, the STA image): proves something was drawn. */
export async function ink(canvas: Locator): Promise<number> {
  return canvas.evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n;
  });
}
