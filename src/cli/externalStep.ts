/**
 * External steps: the lab's own programs (AP tracking's CNN, the Google Sheet step, LNL fits, h5py
 * scripts) as steps of `hdmea process`, run on the session *file*:
 * `--steps all,ap_tracking --exec ap_tracking="python3 ap.py {file}"`.
 *
 * At its place in --steps, an external step
 * 1. is skipped when the session already records it with the same command and script (a resumed
 *    checkpoint) and no step before it ran in this run; otherwise it runs (again, with a warning);
 * 2. makes the file current: a DEFERRED session is auto-saved to the output (`ensureSaved`, the spec's
 *    mode mixing, with its warning); in immediate mode the file already is;
 * 3. runs the command: split into words as a shell would split spaces and quotes (no shell: no
 *    pipes, redirections or variables, so the recorded command is exactly what ran), `{file}` and
 *    `{dataset_id}` replaced, with a clean environment (CLEAN_ENV_VARIABLES) and its output streamed
 *    to the log line by line. It is exempt from the watchdog (a sign of life five times a second
 *    while the program runs: it may legitimately run for hours); `--exec-timeout` is its own limit;
 * 4. exit 0: the session reloads the file (the program may have changed anything in it) and records
 *    the step in step_log: command, the words that ran, exit status, seconds, and the script's path
 *    and SHA-256 when the command names a script file;
 *    otherwise (non-zero exit, a signal, the timeout, Ctrl-C, a file it left unreadable): the file is
 *    written again from the session, which is unchanged, so both are as they were after the
 *    auto-save; the step fails with one line naming it, its exit status and its last stderr lines.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readSync, renameSync, statSync, unlinkSync } from "node:fs";
import { resolve } from "node:path";
import type { MemoryBudget } from "../core/memoryBudget.ts";
import { PipelineCancelledError } from "../core/pipeline.ts";
import type { PipelineSession, StepRecord } from "../core/session.ts";
import { baseName, type H5Runtime } from "../io/h5.ts";
import { unplacedRootMembers } from "../io/sessionFile.ts";
import { ensureSaved, loadSession, writeSessionTo } from "../io/sessionStore.ts";
import { UsageError } from "./args.ts";
import { writeWithRoom } from "./diskSpace.ts";
import { sameFile } from "./pathIdentity.ts";

/** Plain data: sent to worker threads with the rest of the options. */
export interface ExternalStepOption {
  name: string;
  /** As given, with its `{file}` and `{dataset_id}` placeholders. */
  command: string;
}

/**
 * What the program sees of our environment. Everything else (PYTHONPATH, LD_LIBRARY_PATH, a
 * virtualenv's or the caller's own settings) is left out, so a step runs the same from a terminal, a
 * cron job or a Slurm job. HDF5_USE_FILE_LOCKING is kept because clusters' parallel file systems
 * often need it set for h5py to open files; CUDA_VISIBLE_DEVICES is the GPU the scheduler gave the job.
 * A step needing more sets it in its command (`env NAME=value python3 …`).
 */
export const CLEAN_ENV_VARIABLES = [
  "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR",
  "HDF5_USE_FILE_LOCKING", "CUDA_VISIBLE_DEVICES",
  // Windows needs these to start programs at all.
  "SYSTEMROOT", "WINDIR", "COMSPEC", "PATHEXT", "TEMP", "TMP", "USERPROFILE",
];
/** Locale settings (LC_ALL, LC_CTYPE, …) are kept too. */
const CLEAN_ENV_PREFIX = "LC_";

const STEP_NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/;
const PLACEHOLDER = /\{(file|dataset_id)\}/g;
const HAS_PLACEHOLDER = /\{(file|dataset_id)\}/;
/** Last lines of stderr quoted in the error. */
const STDERR_TAIL_LINES = 3;
const KILL_GRACE_MS = 5_000;
/** How often a running program counts as a sign of life: well inside any watchdog limit one would set. */
const ALIVE_MS = 200;

/** `--exec NAME=COMMAND` values; `reserved`: the built-in step names (and `all`). */
export function parseExecOptions(values: readonly string[], reserved: readonly string[]): ExternalStepOption[] {
  const steps: ExternalStepOption[] = [];
  for (const text of values) {
    const eq = text.indexOf("=");
    const name = eq > 0 ? text.slice(0, eq).trim() : "";
    const command = eq > 0 ? text.slice(eq + 1).trim() : "";
    if (!name || !command) throw new UsageError(`--exec takes NAME=COMMAND (e.g. --exec ap_tracking="python3 ap.py {file}"), got "${text}"`);
    if (reserved.includes(name)) throw new UsageError(`--exec ${name}: ${name} is a built-in step; give the external step another name`);
    if (!STEP_NAME.test(name)) throw new UsageError(`--exec ${name}: a step name is a letter then letters, digits, _ . or -`);
    if (steps.some((s) => s.name === name)) throw new UsageError(`--exec ${name} is given twice`);
    try {
      splitCommand(command);
    } catch (e) {
      throw new UsageError(`--exec ${name}: ${(e as Error).message}`);
    }
    steps.push({ name, command });
  }
  return steps;
}

/**
 * Words of a command as a POSIX shell splits them: whitespace separates, '…' is literal, "…" allows
 * \" and \\, a backslash outside quotes escapes a space, quote or backslash (any other backslash is
 * kept, so Windows paths need no doubling).
 */
export function splitCommand(command: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: string | undefined;
  for (let i = 0; i < command.length; i++) {
    const c = command[i];
    const next = command[i + 1];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (quote === '"' && c === "\\" && (next === '"' || next === "\\")) word += command[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else if (c === "\\" && next !== undefined && /[\s'"\\]/.test(next)) {
      word += command[++i];
      inWord = true;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unbalanced ${quote} in the command`);
  if (inWord) words.push(word);
  if (!words.length) throw new Error("the command is empty");
  return words;
}

/**
 * The script file the command runs, if it names one: the first argument that is an existing file
 * (`python3 ap.py {file}` → ap.py), else the program itself when it is a script (`./ap.sh {file}`,
 * starting with `#!`). An interpreter (python3, /usr/bin/python3) is not the script. Relative to the
 * folder hdmea runs in.
 */
export function scriptOf(command: string, cwd = process.cwd()): string | undefined {
  let words: string[];
  try {
    words = splitCommand(command);
  } catch {
    return undefined;
  }
  const isFile = (w: string) => {
    try {
      return statSync(resolve(cwd, w)).isFile();
    } catch {
      return false;
    }
  };
  const plain = (w: string) => !HAS_PLACEHOLDER.test(w) && !w.startsWith("-");
  const arg = words.slice(1).find((w) => plain(w) && isFile(w));
  if (arg !== undefined) return resolve(cwd, arg);
  if (plain(words[0]) && isFile(words[0]) && startsWithShebang(resolve(cwd, words[0]))) return resolve(cwd, words[0]);
  return undefined;
}

function startsWithShebang(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head.toString("latin1") === "#!";
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Read a block at a time: the file a command names first may be a large model, not a script. */
function sha256Of(path: string): string {
  const hash = createHash("sha256");
  const block = Buffer.alloc(1 << 20);
  const fd = openSync(path, "r");
  try {
    for (let n = readSync(fd, block); n > 0; n = readSync(fd, block)) hash.update(block.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

/** The script and its hash now, as step_log records them. */
export function scriptFingerprint(step: ExternalStepOption): { script?: string; script_sha256?: string } {
  const script = scriptOf(step.command);
  return script === undefined ? {} : { script, script_sha256: sha256Of(script) };
}

/** Why the step must run again though `record` says it ran, or undefined when it need not. */
export function rerunReason(record: StepRecord, step: ExternalStepOption, script: { script?: string; script_sha256?: string }, ranBefore: boolean): string | undefined {
  const p = record.params ?? {};
  if (p.command !== step.command) return `its command changed (was ${p.command === undefined ? "not recorded" : JSON.stringify(p.command)})`;
  if (p.script_sha256 !== script.script_sha256) {
    return script.script ? `its script ${baseName(script.script)} changed` : `its command no longer names the script ${baseName(String(p.script ?? ""))}`;
  }
  if (ranBefore) return "a step before it ran again";
  return undefined;
}

/** For a batch's up-to-date check: why a saved output's external steps are stale, or undefined. */
export function externalStepsOutdated(steps: readonly StepRecord[], exec: readonly ExternalStepOption[]): string | undefined {
  for (const step of exec) {
    const record = steps.find((s) => s.name === step.name);
    if (!record) return `${step.name} has not run`;
    const why = rerunReason(record, step, scriptFingerprint(step), false);
    if (why) return `${step.name}: ${why}`;
  }
  return undefined;
}

/** Our environment reduced to CLEAN_ENV_VARIABLES and the locale, plus what the step is about. */
export function cleanEnvironment(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    const upper = key.toUpperCase();
    if (value !== undefined && (CLEAN_ENV_VARIABLES.includes(upper) || upper.startsWith(CLEAN_ENV_PREFIX))) env[key] = value;
  }
  return { ...env, ...extra };
}

/** A failed external step: one line; the session and its file are as they were before the program ran. */
export class ExternalStepError extends Error {
  override name = "ExternalStepError";
}

export interface ExternalRun {
  rt: H5Runtime;
  /** The session file: --out, or OUT/<dataset_id>.h5 in a batch (the spec's default path). */
  out: string;
  /** Whether the auto-save may replace a file already at `out` (--overwrite, a batch's own output). */
  overwrite: boolean;
  /** Seconds before the program is stopped; 0 = no limit. */
  timeoutSeconds: number;
  /** The session's memory budget, for reading the file back. */
  memoryBudget?: MemoryBudget;
  /** A step before this one ran (not skipped) in this run: what the step read may have changed. */
  ranBefore: boolean;
  /** Bytes the session file takes at least, for the free-space check before a write. */
  fileBytes(): number;
  signal?: AbortSignal;
  log(line: string): void;
  progress(stepFraction: number, message: string): void;
}

export interface ExternalStepReport {
  name: string;
  status: "completed" | "skipped";
  message?: string;
  ms: number;
}

export async function runExternalStep(session: PipelineSession, step: ExternalStepOption, run: ExternalRun): Promise<ExternalStepReport> {
  const started = Date.now();
  const script = scriptFingerprint(step);
  const record = session.completedSteps.find((s) => s.name === step.name);
  const rerun = record && rerunReason(record, step, script, run.ranBefore);
  if (record && !rerun) {
    const message = "already done with the same command";
    run.progress(1, message);
    return { name: step.name, status: "skipped", message, ms: Date.now() - started };
  }
  if (run.signal?.aborted) throw new PipelineCancelledError(step.name, { steps: [] });
  run.progress(0, rerun ? `re-running: ${rerun}` : "starting");

  const file = makeFileCurrent(session, step, run);
  // A Ctrl-C that came during the auto-save (a message to this thread): no program to start and kill.
  await new Promise<void>((resolveTick) => setImmediate(resolveTick));
  if (run.signal?.aborted) throw new PipelineCancelledError(step.name, { steps: [] });
  const words = splitCommand(step.command).map((w) => w.replace(PLACEHOLDER, (_, key: string) => (key === "file" ? file : session.datasetId)));
  const before = fileStamp(file);
  const exit = await runProgram(words, step.name, file, session.datasetId, run);

  const ms = Date.now() - started;
  if (exit.cancelled || exit.failure !== undefined) {
    const restored = restoreIfChanged(session, file, before, run);
    if (exit.cancelled) throw new PipelineCancelledError(step.name, { steps: [] });
    throw new ExternalStepError(`${step.name}: ${exit.failure}; ${restored}`);
  }
  if (fileStamp(file) !== before) {
    try {
      reloadFrom(session, file, run);
    } catch (e) {
      const restored = restoreIfChanged(session, file, undefined, run);
      throw new ExternalStepError(`${step.name}: exited with status 0 but left ${baseName(file)} unreadable (${(e as Error).message.split("\n")[0]}); ${restored}`);
    }
  }
  const unplaced = unplacedRootMembers(run.rt, file);
  session.batch(() => {
    if (rerun) session.warn(`${step.name} re-run: ${rerun}`);
    if (unplaced.length) {
      session.warn(
        `${step.name} wrote ${unplaced.map((n) => `/${n}`).join(", ")} at the top of ${baseName(file)}, where a session file has no place: ` +
          "it is not in the session and is lost when the session is saved again (write under metadata/ or units/<unit>/)",
      );
    }
    session.markStepComplete(step.name, {
      kind: "external",
      command: step.command,
      argv: words,
      exit_status: 0,
      seconds: Math.round(ms) / 1000,
      ...script,
    });
  });
  return { name: step.name, status: "completed", message: rerun ? `re-run: ${rerun}` : undefined, ms };
}

/** The path of a file that holds the session now: auto-saved (deferred) or already current. */
function makeFileCurrent(session: PipelineSession, step: ExternalStepOption, run: ExternalRun): string {
  if (session.mode === "immediate") {
    run.log(`${step.name}: immediate mode: ${baseName(run.out)} is rewritten after every change, so it is current; no auto-save needed`);
    return run.out;
  }
  // Resumed from a checkpoint, the session is bound to that file; the file it goes to is the output.
  if (session.hdf5Path !== undefined && !sameFile(session.hdf5Path, run.out)) {
    session.saveState = "DEFERRED";
    session.hdf5Path = undefined;
    session.hasUnsavedChanges = true;
  }
  const warnings = session.warnings.length;
  const bound = session.hdf5Path !== undefined;
  const path = writeWithRoom(run.out, run.fileBytes(), () => ensureSaved(run.rt, session, run.out, { overwrite: run.overwrite || bound }));
  // The auto-save's warning, and the overwrite's when the output was there already.
  for (const w of session.warnings.slice(warnings)) run.log(`warning: ${w.message}`);
  if (session.warnings.length === warnings) run.log(`${step.name}: ${baseName(path)} is current; no auto-save needed`);
  return path;
}

interface ProgramExit {
  cancelled?: boolean;
  /** Why it failed ("exited with status 3 (stderr: …)"), or undefined on exit 0. */
  failure?: string;
}

/** Runs the program with its output streamed to the log; resolves when it has ended. */
function runProgram(words: string[], name: string, file: string, datasetId: string, run: ExternalRun): Promise<ProgramExit> {
  return new Promise((resolveExit) => {
    const started = Date.now();
    const stderrTail: string[] = [];
    let stopped: "timeout" | "cancelled" | undefined;
    let spawnError: NodeJS.ErrnoException | undefined;
    const child = spawn(words[0], words.slice(1), {
      env: cleanEnvironment({ HDMEA_FILE: file, HDMEA_DATASET_ID: datasetId, HDMEA_STEP: name }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const stream = (readable: NodeJS.ReadableStream, onLine: (line: string) => void) => {
      let pending = "";
      readable.setEncoding("utf8");
      readable.on("data", (chunk: string) => {
        const lines = (pending + chunk).split(/\r?\n/);
        pending = lines.pop() ?? "";
        for (const line of lines) onLine(line);
      });
      readable.on("end", () => pending && onLine(pending));
    };
    const say = (line: string) => {
      run.log(`${name}: ${line}`);
      run.progress(0, line.slice(0, 80));
    };
    stream(child.stdout!, say);
    stream(child.stderr!, (line) => {
      say(line);
      if (line.trim()) stderrTail.push(line.trim());
      if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
    });

    let killTimer: NodeJS.Timeout | undefined;
    const stop = (why: "timeout" | "cancelled") => {
      if (stopped) return;
      stopped = why;
      child.kill("SIGTERM");
      killTimer = setTimeout(() => child.kill("SIGKILL"), KILL_GRACE_MS);
    };
    // The worker thread is idle while the program runs: these reports are what tells the watchdog
    // the step is alive, and they move the status line's clock.
    const alive = setInterval(() => run.progress(0, `running for ${Math.round((Date.now() - started) / 1000)} s`), ALIVE_MS);
    const timeout = run.timeoutSeconds > 0 ? setTimeout(() => stop("timeout"), run.timeoutSeconds * 1000) : undefined;
    const onAbort = () => stop("cancelled");
    run.signal?.addEventListener("abort", onAbort);
    if (run.signal?.aborted) onAbort();

    child.on("error", (e) => {
      spawnError = e;
    });
    child.on("close", (code, signal) => {
      clearInterval(alive);
      clearTimeout(timeout);
      clearTimeout(killTimer);
      run.signal?.removeEventListener("abort", onAbort);
      const tail = stderrTail.length ? `; last stderr: ${stderrTail.map((l) => (l.length > 200 ? `${l.slice(0, 200)}…` : l)).join(" | ")}` : "; no stderr";
      if (stopped === "cancelled") return resolveExit({ cancelled: true });
      if (stopped === "timeout") return resolveExit({ failure: `still running after ${run.timeoutSeconds} s (--exec-timeout), stopped${tail}` });
      if (spawnError) {
        const why = spawnError.code === "ENOENT" ? "not found (PATH is kept in the clean environment)" : spawnError.message;
        return resolveExit({ failure: `cannot run ${words[0]}: ${why}` });
      }
      if (signal) return resolveExit({ failure: `killed by ${signal}${tail}` });
      if (code !== 0) return resolveExit({ failure: `exited with status ${code}${tail}` });
      resolveExit({});
    });
  });
}

/** Changes whenever the file is written or replaced (ctime cannot be set back by a program). */
function fileStamp(path: string): string | undefined {
  try {
    const st = statSync(path, { bigint: true });
    return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return undefined;
  }
}

/**
 * Puts the file back as it was before the program ran, by writing the session (unchanged since) to
 * it again, atomically; no copy of a file of tens of GB is kept on the way. Says what it did.
 * `before` undefined: rewrite regardless.
 */
function restoreIfChanged(session: PipelineSession, file: string, before: string | undefined, run: ExternalRun): string {
  const name = baseName(file);
  if (before !== undefined && fileStamp(file) === before) return `${name} is unchanged`;
  const tmp = `${file}.partial-${Math.random().toString(36).slice(2, 10)}`;
  try {
    writeWithRoom(file, run.fileBytes(), () => {
      const savedAt = writeSessionTo(run.rt, session, tmp);
      renameSync(tmp, file);
      session.markSaved(file, savedAt);
    });
    return `${name} was written again from the session, as it was before the step`;
  } catch (e) {
    if (existsSync(tmp)) unlinkSync(tmp);
    return `${name} may hold the step's partial changes: writing it again from the session failed (${(e as Error).message.split("\n")[0]})`;
  }
}

/** The session takes what the file holds now: the program may have added, changed or removed anything. */
function reloadFrom(session: PipelineSession, file: string, run: ExternalRun): void {
  const { session: fresh, savedAt } = loadSession(run.rt, file, { memoryBudget: run.memoryBudget });
  if (fresh.datasetId !== session.datasetId) throw new Error(`it now holds dataset ${fresh.datasetId}, not ${session.datasetId}`);
  // Adopted into this session object, not replaced by it: immediate mode's writer and the run's
  // references stay attached. Plain assignments notify no one; the step record below is the change.
  session.units = fresh.units;
  session.metadata = fresh.metadata;
  session.stimulus = fresh.stimulus;
  session.sourceFiles = fresh.sourceFiles;
  session.completedSteps = fresh.completedSteps;
  session.warnings = fresh.warnings;
  session.markSaved(file, savedAt ?? session.timestamp());
}
