/**
 * Fault injection for the CLI tests, driven by environment variables so the tests exercise the real
 * binary. Unset (always, outside tests) they do nothing.
 *
 * - `HDMEA_TEST_KILL_AFTER=<step>`: SIGKILL this process right after <step> finished and its
 *   checkpoint (if due) was written — a machine dying mid-run, with no chance to clean up.
 * - `HDMEA_TEST_INTERRUPT_AT=<step>`: send SIGINT to this process when <step> starts — Ctrl-C.
 * - `HDMEA_TEST_HANG_IN_READ=<step>[@<dataset_id>]`: block the recording's thread forever inside
 *   the first file read HDF5 makes during <step> (or stage: "resuming from X.h5", …), of every
 *   recording or only that one — a read that never returns, or HDF5 looping on a damaged file.
 *   Only the watchdog can end it.
 * - `HDMEA_TEST_DAMAGE_SAVED=1`: cut the saved output to half its length right after the save, before
 *   it is read back — a disk or network share that acknowledged bytes it did not keep.
 * - `HDMEA_TEST_HOLD_AT=<step>[@<dataset_id>]`: block the recording's thread when <step> starts (the
 *   checkpoints of the steps before it written) — a job held mid-run until it is killed (Slurm's
 *   scancel in tests/slurm) or the watchdog stops it.
 * - `HDMEA_TEST_TOUCH_AFTER=<step>:<path>`: give <path> a new modification time right after <step>
 *   — an input rewritten under a running job (its arrays left in the file must not be read).
 * (Free-space overrides for the disk-full tests are in diskSpace.ts.)
 */
import { statSync, truncateSync, utimesSync } from "node:fs";

const killAfter = process.env.HDMEA_TEST_KILL_AFTER;
const interruptAt = process.env.HDMEA_TEST_INTERRUPT_AT;
const hangInRead = process.env.HDMEA_TEST_HANG_IN_READ;
const damageSaved = process.env.HDMEA_TEST_DAMAGE_SAVED === "1";
const holdAt = process.env.HDMEA_TEST_HOLD_AT;
const touchAfter = process.env.HDMEA_TEST_TOUCH_AFTER;
let interrupted = false;

export const testHooks = {
  afterStep(step: string): void {
    if (killAfter === step) process.kill(process.pid, "SIGKILL");
    if (touchAfter?.startsWith(`${step}:`)) {
      const later = new Date(Date.now() + 5000);
      utimesSync(touchAfter.slice(step.length + 1), later, later);
    }
  },
  atStep(step: string): void {
    if (interruptAt === step && !interrupted) {
      interrupted = true;
      process.kill(process.pid, "SIGINT");
    }
  },
  afterSave(path: string): void {
    if (damageSaved) truncateSync(path, Math.floor(statSync(path).size / 2));
  },
  inRead(step: string, datasetId: string): void {
    if (hangInRead === step || hangInRead === `${step}@${datasetId}`) hang();
  },
  /** On the recording's thread, at each progress report of a step. */
  inStep(step: string, datasetId: string): void {
    if (holdAt === step || holdAt === `${step}@${datasetId}`) hang();
  },
};

function hang(): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}
