/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { serviceWorker } from "./scripts/serviceWorkerPlugin.ts";

export default defineConfig({
  // Relative URLs: one build works at a host's root or under any folder, with no rebuild.
  base: "./",
  plugins: [svelte(), serviceWorker()],
  worker: { format: "es" },
  build: { target: "es2022", sourcemap: true },
  optimizeDeps: { exclude: ["h5wasm"] },
  test: {
    include: ["tests/**/*.test.ts"],
    // tests/slurm needs a Slurm cluster: `npm run test:slurm` starts one and runs them.
    exclude: ["**/node_modules/**", "**/.git/**", "tests/slurm/**"],
    environment: "node",
    testTimeout: 60_000,
    pool: "forks",
  },
});
