// Vitest settings for tests/slurm only (run by tests/slurm/run.sh, which starts the cluster first);
// the main config (vite.config.ts) leaves these tests out.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: new URL("../..", import.meta.url).pathname,
    include: ["tests/slurm/**/*.test.ts"],
    environment: "node",
    testTimeout: 900_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
