import { defineConfig } from "@playwright/test";

/** `E2E_PORT` lets a second run (another checkout, a helper) serve beside this one. */
const PORT = Number(process.env.E2E_PORT ?? 4173);

/**
 * End-to-end tests drive Debian's Chromium (never a downloaded browser) against the production
 * build served by `vite preview`; `npm test` builds first. localhost is a secure context, so OPFS,
 * module workers and the File System Access API behave as in production.
 */
export default defineConfig({
  testDir: "tests/e2e",
  // The 1,000-unit long-task test (issue 18) takes about 4 minutes, a third of the suite again: `npm run test:longtasks`.
  testIgnore: process.env.E2E_LONGTASKS ? [] : ["**/longTasks.spec.ts"],
  outputDir: "test-results/e2e",
  workers: 1,
  // One retry in CI, where a loaded machine can starve the browser; a retry is reported as flaky, not hidden.
  retries: process.env.CI ? 1 : 0,
  reporter: "list",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    viewport: { width: 1366, height: 900 },
    acceptDownloads: true,
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
      ],
    },
  },
  webServer: {
    command: `npx vite preview --host 127.0.0.1 --port ${PORT} --strictPort`,
    url: `http://127.0.0.1:${PORT}`,
    reuseExistingServer: false,
    timeout: 60_000,
  },
});
