/**
 * Vite build plugin: compiles src/serviceWorker/sw.ts into `sw.js` at the site root, with the list of
 * files the build emitted (to precache) and a version derived from their hashed names, so every
 * build that changes any asset gets a fresh cache and the old one is dropped. Production builds only:
 * the dev server never registers a service worker.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { transform } from "esbuild";
import type { Plugin } from "vite";

const SOURCE = fileURLToPath(new URL("../src/serviceWorker/sw.ts", import.meta.url));

export function serviceWorker(): Plugin {
  return {
    name: "hdmea-service-worker",
    apply: "build",
    async generateBundle(_options, bundle) {
      // Source maps are for developers with a network; the demo pair is cached when first opened.
      const files = Object.keys(bundle).filter((name) => !name.endsWith(".map") && name !== "index.html").sort();
      const version = createHash("sha256").update(files.join("\n")).digest("hex").slice(0, 12);
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
