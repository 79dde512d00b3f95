/**
 * Draws the app's icons (public/icons/): an HD-MEA chip seen from above — a grid of electrodes on a
 * dark tile, one electrode firing with a ring around it. Written as PNG with Node's zlib (no image
 * library for three small files) and as the same picture in SVG for the favicon.
 * Run: `npx tsx scripts/make-icons.ts`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { deflateSync } from "node:zlib";

const OUT = new URL("../public/icons/", import.meta.url);
const BACKGROUND = [0x12, 0x2b, 0x3a] as const;
const ELECTRODE = [0x7f, 0xa7, 0xb8] as const;
const FIRING = [0xff, 0xc1, 0x4d] as const;
const GRID = 5;

type Rgb = readonly [number, number, number];
/** Shapes in a unit square (0…1), drawn in order. */
type Shape = { kind: "disc"; x: number; y: number; r: number; color: Rgb } | { kind: "ring"; x: number; y: number; r: number; width: number; color: Rgb };

function picture(content: number): Shape[] {
  // `content`: the share of the tile the grid spans (a maskable icon keeps it inside the safe zone).
  const shapes: Shape[] = [];
  const step = content / GRID;
  const start = (1 - content) / 2 + step / 2;
  for (let r = 0; r < GRID; r++) {
    for (let c = 0; c < GRID; c++) {
      const firing = r === 1 && c === 3;
      shapes.push({ kind: "disc", x: start + c * step, y: start + r * step, r: step * 0.22, color: firing ? FIRING : ELECTRODE });
    }
  }
  shapes.push({ kind: "ring", x: start + 3 * step, y: start + step, r: step * 0.46, width: step * 0.09, color: FIRING });
  return shapes;
}

function coverage(shape: Shape, x: number, y: number): boolean {
  const d = Math.hypot(x - shape.x, y - shape.y);
  return shape.kind === "disc" ? d <= shape.r : Math.abs(d - shape.r) <= shape.width / 2;
}

/** A rounded tile (`rounded`) or a full-bleed one (maskable), 4×4 supersampled. */
function rasterize(size: number, shapes: Shape[], rounded: boolean): Uint8Array {
  const rgba = new Uint8Array(size * size * 4);
  const ss = 4;
  const corner = rounded ? 0.18 : 0;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let [r, g, b, a] = [0, 0, 0, 0];
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const x = (px + (sx + 0.5) / ss) / size;
          const y = (py + (sy + 0.5) / ss) / size;
          if (!insideTile(x, y, corner)) continue;
          let color: Rgb = BACKGROUND;
          for (const shape of shapes) if (coverage(shape, x, y)) color = shape.color;
          r += color[0];
          g += color[1];
          b += color[2];
          a += 255;
        }
      }
      const n = ss * ss;
      const i = (py * size + px) * 4;
      const covered = a / 255;
      rgba.set(covered ? [r / covered, g / covered, b / covered, a / n] : [0, 0, 0, 0], i);
    }
  }
  return rgba;
}

function insideTile(x: number, y: number, corner: number): boolean {
  if (corner === 0) return true;
  const dx = Math.max(corner - x, x - (1 - corner), 0);
  const dy = Math.max(corner - y, y - (1 - corner), 0);
  return dx * dx + dy * dy <= corner * corner;
}

function png(size: number, rgba: Uint8Array): Buffer {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0; // filter: none
    Buffer.from(rgba.buffer, y * size * 4, size * 4).copy(raw, y * (size * 4 + 1) + 1);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", header), chunk("IDAT", deflateSync(raw, { level: 9 })), chunk("IEND", Buffer.alloc(0))]);
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function svg(shapes: Shape[]): string {
  const hex = (c: Rgb) => `#${c.map((v) => v.toString(16).padStart(2, "0")).join("")}`;
  const n = (v: number) => +(v * 100).toFixed(2);
  const body = shapes.map((s) =>
    s.kind === "disc"
      ? `<circle cx="${n(s.x)}" cy="${n(s.y)}" r="${n(s.r)}" fill="${hex(s.color)}"/>`
      : `<circle cx="${n(s.x)}" cy="${n(s.y)}" r="${n(s.r)}" fill="none" stroke="${hex(s.color)}" stroke-width="${n(s.width)}"/>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"><rect width="100" height="100" rx="18" fill="${hex(BACKGROUND)}"/>${body.join("")}</svg>\n`;
}

mkdirSync(OUT, { recursive: true });
const tile = picture(0.78);
writeFileSync(new URL("icon-192.png", OUT), png(192, rasterize(192, tile, true)));
writeFileSync(new URL("icon-512.png", OUT), png(512, rasterize(512, tile, true)));
// Maskable: the platform cuts its own shape, so the tile is full-bleed and the grid sits in the
// central 60 % safe zone.
writeFileSync(new URL("icon-maskable-512.png", OUT), png(512, rasterize(512, picture(0.6), false)));
writeFileSync(new URL("icon.svg", OUT), svg(tile));
