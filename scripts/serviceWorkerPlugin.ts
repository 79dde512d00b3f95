/**
 * Vite build plugin: compiles src/serviceWorker/sw.ts into `sw.js` beside index.html, with the list of
 * files to precache — everything the build emitted and every public file (manifest, icons, the demo
 * recording), as paths relative to the app's folder — and a version derived from the emitted names
 * (content-hashed) and the public files' contents, so every build that changes any of them gets a fresh cache and the old one is
 * dropped. Production builds only: the dev server never registers a service worker.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { transform } from "esbuild";
import type { Plugin } from "vite";

const SOURCE = fileURLToPath(new URL("../src/serviceWorker/sw.ts", import.meta.url));

export function serviceWorker(): Plugin {
  let publicDir = "";
  return {
    name: "hdmea-service-worker",
    apply: "build",
    configResolved(config) {
      publicDir = config.publicDir;
    },
    async generateBundle(_options, bundle) {
      // Source maps are for developers with a network.
      const emitted = Object.keys(bundle).filter((name) => !name.endsWith(".map") && name !== "index.html");
      const publicFiles = publicDir ? listFiles(publicDir) : [];
      const files = [...emitted, ...publicFiles.map((f) => f.path)].sort();
      const version = createHash("sha256")
        .update(files.join("\n"))
        .update(publicFiles.map((f) => createHash("sha256").update(readFileSync(f.full)).digest("hex")).join("\n"))
        .digest("hex")
        .slice(0, 12);
      const { code } = await transform(readFileSync(SOURCE, "utf8"), {
        loader: "ts",
        format: "iife",
        target: "es2022",
        minify: false,
        define: { __PRECACHE__: JSON.stringify(files), __VERSION__: JSON.stringify(version) },
      });
      this.emitFile({ type: "asset", fileName: "sw.js", source: code });
    },
  };
}

function listFiles(root: string, dir = root): { path: string; full: string }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) return listFiles(root, full);
    return [{ path: relative(root, full).split(sep).join("/"), full }];
  });
}
