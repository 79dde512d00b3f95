#!/usr/bin/env node
// The CLI is bundled from src/ by `npm run build:node` (run automatically by `npm ci` / `npm install`).
import { existsSync } from "node:fs";

const entry = new URL("../dist-node/src/cli/main.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("hdmea: the CLI is not built yet; run `npm ci` or `npm run build:node` in the project folder\n");
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
