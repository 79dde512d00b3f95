/**
 * The page's state: the recordings opened in this tab, which one is selected, the checkpoints in
 * browser storage, and what the app is busy with. Components read it directly; every change to the
 * sessions themselves goes through the worker client.
 */
import {
  WorkerClient,
  WorkerError,
  type CheckpointInfo,
  type Failure,
  type OpenedItem,
  type OpenProgress,
  type SessionSummary,
  type StorageEstimate,
  type UnitTable,
} from "../worker/client.ts";
import { downloadFile, pickSaveTarget } from "./saveTarget.ts";
import { errorText, failureMessage } from "./failureMessage.ts";
import { forgetNotes, previousUnsaved, recordUnsaved, type UnsavedEntry } from "./unsavedMarker.ts";
import { UnitSelection } from "./unitSelection.svelte.ts";
import { formatTime } from "./format.ts";
import { appUrl } from "../worker/appUrl.ts";

export type RecordingStatus = "loading" | "ready" | "error";

/**
 * A save offered as a download. The browser never tells the page whether a download finished, so
 * the session stays unsaved (and checkpointed) until the user says they have the file.
 */
export interface PendingDownload {
  fileName: string;
  /** ISO time it was offered: the file holds the session as it was then. */
  at: string;
  /** The checkpoint kept in browser storage meanwhile, or why none could be. */
  checkpoint?: string;
  checkpointError?: string;
}

let keyCounter = 0;

/** One row of the recordings list: something being opened, an open session, or a failure. */
export class Recording {
  readonly key = `r${++keyCounter}`;
  name = $state("");
  status = $state<RecordingStatus>("loading");
  sessionId = $state<string | undefined>();
  summary = $state<SessionSummary | undefined>();
  // Raw: the typed arrays are replaced whole, never mutated, so no deep proxy is needed.
  units = $state.raw<UnitTable | undefined>();
  error = $state<string | undefined>();
  /** With `error`: its kind and file (`core/failure.ts`). */
  failure: Failure | undefined;
  progress = $state<OpenProgress | undefined>();
  /** Units picked in the table or on the map; the plots follow it. Each recording keeps its own. */
  readonly selection = new UnitSelection();
  /** The file the last Save went to: "Save" writes there again, "Save as" asks. Not reactive on purpose. */
  saveTarget: FileSystemFileHandle | undefined;
  /** A download not yet confirmed by the user (see `PendingDownload`). */
  download = $state<PendingDownload | undefined>();
  /** A save or checkpoint found a file the session reads from moved or changed: set until it is given back. */
  missingSource = $state(false);

  /** loading / DEFERRED / SAVED / NOT CONFIRMED (a download) / error, as the list shows it. */
  readonly stateLabel = $derived(
    this.status === "ready" ? (this.download ? "NOT CONFIRMED" : (this.summary?.saveState ?? "—")) : this.status,
  );
  /** True while leaving the page could lose work: unsaved changes, or a download nobody confirmed. */
  readonly atRisk = $derived(!!this.summary?.hasUnsavedChanges || this.download !== undefined);

  constructor(name: string) {
    this.name = name;
  }
}

export interface Notice {
  kind: "error" | "info";
  text: string;
}

/** Recordings whose sessions are gone (worker crash, or a previous visit that ended unsaved). */
export interface RecoveryOffer {
  cause: "crash" | "previous-visit";
  /** What happened, for the banner. */
  detail: string;
  entries: UnsavedEntry[];
  /** When the previous visit last changed its unsaved work (previous-visit only). */
  since?: string;
  /** localStorage notes this offer came from, forgotten once it is dealt with. */
  noteKeys: string[];
}

export class Workspace {
  recordings = $state<Recording[]>([]);
  selectedKey = $state<string | undefined>();
  checkpoints = $state<CheckpointInfo[]>([]);
  /** What a long operation is doing, for the status line and to disable conflicting buttons. */
  busy = $state<string | undefined>();
  notice = $state<Notice | undefined>();
  /** Browser storage used and quota (checkpoints and scratch files live there). */
  storage = $state<StorageEstimate | undefined>();
  /** Lost recordings the page offers to resume from their checkpoints (RecoveryBanner). */
  recovery = $state<RecoveryOffer | undefined>();
  /** A damaged file is held open in the worker; restart it once no session is open (see close()). */
  private releasePending: string | undefined;

  readonly selected = $derived(this.recordings.find((r) => r.key === this.selectedKey));
  readonly hasUnsavedWork = $derived(this.recordings.some((r) => r.atRisk));
  /** What the next visit should offer if this one ends now (lost recordings included: still unsaved). */
  readonly unsavedEntries = $derived(
    this.recordings.flatMap((r) => (r.atRisk && r.summary ? [{ name: r.name, datasetId: r.summary.datasetId }] : [])),
  );

  /** Views read their data through it (in `$effect`s); state changes go through the methods below. */
  readonly client: WorkerClient;

  constructor(client = new WorkerClient()) {
    this.client = client;
    client.onRestart = (reason, hung) => {
      // The sessions lived in the dead worker: show them as lost rather than pretending.
      const lost: UnsavedEntry[] = [];
      this.releasePending = undefined; // the restart released the damaged file too
      for (const r of this.recordings) {
        if (r.status !== "error") {
          if (r.summary) lost.push({ name: r.name, datasetId: r.summary.datasetId });
          r.status = "error";
          r.error = "lost when the worker restarted; resume from a checkpoint or open the file again";
          r.sessionId = undefined;
          r.download = undefined;
        }
      }
      if (hung) {
        void this.restoreAfterHang(reason, lost);
        return;
      }
      this.notice = { kind: "error", text: `The processing worker restarted: ${reason}` };
      if (lost.length) this.recovery = { cause: "crash", detail: reason, entries: lost, noteKeys: [] };
      void this.refreshCheckpoints();
    };
    // Keep the note for the next visit in step with the unsaved sessions (cleared when none are left).
    $effect.root(() => {
      $effect(() => recordUnsaved(this.unsavedEntries));
    });
    this.previousVisit = this.offerPreviousVisit();
  }

  private readonly previousVisit: Promise<void>;

  /** The installed app's start: the last session's recovery offer if there is one, else the demo. */
  async openDemoUnlessRecovering(): Promise<void> {
    await this.previousVisit;
    if (!this.recovery) await this.openDemo();
  }

  /**
   * The watchdog replaced a hung worker: every session that was open comes back from its newest
   * checkpoint at once (no click: the user did nothing wrong), and the page says which file and step
   * hung, what was restored and what could not be (those stay in the recovery banner).
   */
  private async restoreAfterHang(reason: string, lost: UnsavedEntry[]): Promise<void> {
    const hungText = `${reason.charAt(0).toUpperCase()}${reason.slice(1)}; it was restarted.`;
    this.notice = { kind: "error", text: `${hungText} Restoring the open sessions from their checkpoints…` };
    if (lost.length) this.recovery = { cause: "crash", detail: reason, entries: lost, noteKeys: [] };
    await this.refreshCheckpoints();
    const restored: string[] = [];
    const missing: string[] = [];
    const failed: string[] = [];
    for (const entry of lost) {
      const checkpoint = this.checkpointFor(entry);
      if (!checkpoint) {
        missing.push(entry.name);
        continue;
      }
      await this.resumeLost(entry);
      const back = !this.recovery?.entries.some((e) => e.datasetId === entry.datasetId);
      (back ? restored : failed).push(`${entry.name} (from checkpoint ${checkpoint.name} of ${formatTime(checkpoint.modifiedAt)})`);
    }
    const parts = [hungText];
    if (restored.length) parts.push(`Restored: ${restored.join(", ")}; changes made after a checkpoint are not in it.`);
    if (missing.length) parts.push(`Could not be restored (no checkpoint in browser storage): ${missing.join(", ")}; open their files again.`);
    if (failed.length) parts.push(`Could not be restored (the checkpoint did not open): ${failed.join(", ")}.`);
    if (!lost.length) parts.push("No session was open.");
    this.notice = { kind: "error", text: parts.join(" ") };
  }

  /** A previous visit that ended with unsaved work (crash, closed tab): offer its checkpoints. */
  private async offerPreviousVisit(): Promise<void> {
    const previous = await previousUnsaved().catch(() => undefined);
    if (!previous?.entries.length) {
      if (previous?.keys.length) forgetNotes(previous.keys);
      return;
    }
    await this.refreshCheckpoints();
    this.recovery ??= {
      cause: "previous-visit",
      detail: "Your last session ended with unsaved work",
      entries: previous.entries,
      since: previous.writtenAt,
      noteKeys: previous.keys,
    };
  }

  /** The newest checkpoint in browser storage for a lost recording, if one was kept. */
  checkpointFor(entry: UnsavedEntry): CheckpointInfo | undefined {
    return this.checkpoints.find((c) => c.datasetId === entry.datasetId);
  }

  /** One click in the recovery banner: resume the checkpoint and drop the lost row it replaces. */
  async resumeLost(entry: UnsavedEntry): Promise<void> {
    const checkpoint = this.checkpointFor(entry);
    if (!checkpoint) return;
    const opened = await this.resume(checkpoint);
    if (!opened.some((r) => r.status === "ready")) return; // the error is shown; keep the offer
    this.recordings = this.recordings.filter((r) => !(r.status === "error" && !r.sessionId && r.summary?.datasetId === entry.datasetId));
    this.removeFromRecovery(entry);
  }

  dismissRecovery(): void {
    if (this.recovery) forgetNotes(this.recovery.noteKeys);
    this.recovery = undefined;
  }

  private removeFromRecovery(entry: UnsavedEntry): void {
    if (!this.recovery) return;
    const entries = this.recovery.entries.filter((e) => e.datasetId !== entry.datasetId);
    if (entries.length) this.recovery = { ...this.recovery, entries };
    else this.dismissRecovery();
  }

  select(recording: Recording): void {
    this.selectedKey = recording.key;
  }

  async open(files: File[]): Promise<void> {
    if (files.length === 0) return;
    // The file a session waits for, dropped again: it is given back to that session, not opened anew.
    const waiting = this.recordings.find((r) => r.missingSource && files.every((f) => r.summary?.readsFromFiles.includes(f.name)));
    if (waiting) return this.reattach(waiting, files);
    const label = files.map((f) => f.name).join(" + ");
    await this.track(label, (onProgress) => this.client.openFiles(files, onProgress));
  }

  async openDemo(): Promise<void> {
    await this.track("Demo recording", (onProgress) => this.client.openDemo(appUrl("demo/"), onProgress));
  }

  async resume(checkpoint: CheckpointInfo): Promise<Recording[]> {
    return this.track(`${checkpoint.name} (checkpoint)`, async () => [await this.client.resumeCheckpoint(checkpoint.name)]);
  }

  /** Save writes to the file chosen last time; Save as (or a first Save) asks where. */
  async save(saveAs = false): Promise<void> {
    const recording = this.selected;
    if (!recording?.sessionId || !recording.summary) return;
    // The picker first: it needs the user activation of the click that called us.
    const target = !saveAs && recording.saveTarget ? recording.saveTarget : await pickSaveTarget(`${recording.summary.datasetId}.h5`);
    if (target === null) {
      // The user chose not to save: nothing to report as an error, and nothing changed.
      this.notice = { kind: "info", text: `Save cancelled: nothing was written for ${recording.name}.` };
      return;
    }
    await this.run(`Saving ${recording.name}`, async () => {
      try {
        const result = await this.client.save(recording.sessionId!, target);
        recording.summary = result.summary;
        if (result.file) {
          downloadFile(result.file);
          recording.download = {
            fileName: result.fileName,
            at: new Date().toISOString(),
            checkpoint: result.checkpoint?.name,
            checkpointError: result.checkpointError,
          };
          const kept = result.checkpoint
            ? ` Until then browser storage keeps checkpoint ${result.checkpoint.name}.`
            : ` Browser storage could not keep a checkpoint meanwhile (${result.checkpointError ?? "no reason given"}): keep this tab open until you have the file.`;
          this.notice = {
            kind: "info",
            text: `Downloaded as ${result.fileName} — not confirmed: check your downloads folder, then press “I have the file”.${kept}`,
          };
          if (result.checkpoint) await this.refreshCheckpoints();
        } else {
          recording.saveTarget = target;
          recording.download = undefined; // the worker forgot it too: this save replaced it
          this.notice = { kind: "info", text: `Saved ${result.fileName}.` };
        }
      } catch (error) {
        // A withdrawn permission stays withdrawn: the next Save asks for a file again.
        if (error instanceof WorkerError && error.errorName === "NotAllowedError") recording.saveTarget = undefined;
        this.noteMissingSource(recording, error);
        throw new Error(failureMessage(error, { recording: recording.name, target: target?.name }));
      }
    });
  }

  /**
   * Files given back for ones the session reads from (moved, rewritten, unplugged): the worker takes
   * each only if it is the same file, else says what differs and the session waits as before.
   */
  async reattach(recording: Recording, files: File[]): Promise<void> {
    if (!recording.sessionId || files.length === 0) return;
    const names = files.map((f) => f.name).join(", ");
    await this.run(`Re-attaching ${names}`, async () => {
      recording.summary = await this.client.reattach(recording.sessionId!, files);
      recording.missingSource = false;
      this.notice = { kind: "info", text: `${names} re-attached to ${recording.name}: saving and the steps can read it again.` };
    });
  }

  /** A save or checkpoint that stopped on a moved or changed source: the session panel asks for it back. */
  private noteMissingSource(recording: Recording, error: unknown): void {
    if (error instanceof WorkerError && error.failure.kind === "source-changed") recording.missingSource = true;
  }

  /** The user found the downloaded file: the session counts as saved to it, as of the download. */
  async confirmDownload(): Promise<void> {
    const recording = this.selected;
    const download = recording?.download;
    if (!recording?.sessionId || !download) return;
    await this.run(`Confirming ${download.fileName}`, async () => {
      const result = await this.client.confirmDownload(recording.sessionId!);
      recording.summary = result.summary;
      recording.download = undefined;
      this.notice = {
        kind: "info",
        text: result.changedSince
          ? `Saved ${result.fileName} (download confirmed). It holds the session as it was when downloaded: later changes are not saved yet.`
          : `Saved ${result.fileName} (download confirmed).`,
      };
    });
  }

  async checkpoint(): Promise<void> {
    const recording = this.selected;
    if (!recording?.sessionId) return;
    await this.run(`Checkpointing ${recording.name}`, async () => {
      const result = await this.client.checkpoint(recording.sessionId!).catch((error: unknown) => {
        this.noteMissingSource(recording, error);
        throw new Error(failureMessage(error, { recording: recording.name }));
      });
      recording.summary = result.summary;
      this.notice = { kind: "info", text: `Checkpoint ${result.checkpoint.name} kept in browser storage.` };
      await this.refreshCheckpoints();
      await this.refreshStorage();
    });
  }

  /** Past the budget, sessions keep their largest arrays in browser storage; `undefined` = the browser's default. */
  async setMemoryBudget(gb: number | undefined): Promise<void> {
    await this.run("Setting the memory budget", async () => {
      await this.client.setMemoryBudget(gb === undefined ? null : gb * 1e9);
      for (const r of this.recordings) if (r.sessionId) r.summary = await this.client.summary(r.sessionId);
    });
  }

  async refreshCheckpoints(): Promise<void> {
    try {
      this.checkpoints = await this.client.listCheckpoints();
    } catch (error) {
      this.notice = { kind: "error", text: errorText(error) };
    }
  }

  async refreshStorage(): Promise<void> {
    this.storage = await this.client.storageEstimate().catch(() => undefined);
  }

  /** Asks the browser not to evict checkpoints under storage pressure (a page-only API, not in workers). */
  async persistStorage(): Promise<void> {
    const granted = await navigator.storage?.persist?.().catch(() => false);
    await this.refreshStorage();
    this.notice = {
      kind: "info",
      text: granted ? "Browser storage is now persistent." : "The browser declined to make storage persistent (it may ask again after more use).",
    };
  }

  async exportCheckpoint(checkpoint: CheckpointInfo): Promise<void> {
    await this.run(`Exporting ${checkpoint.name}`, async () => {
      downloadFile(await this.client.exportCheckpoint(checkpoint.name));
    });
  }

  async deleteCheckpoint(checkpoint: CheckpointInfo): Promise<void> {
    await this.run(`Deleting ${checkpoint.name}`, async () => {
      await this.client.deleteCheckpoint(checkpoint.name);
      await this.refreshCheckpoints();
      await this.refreshStorage();
    });
  }

  async close(recording: Recording): Promise<void> {
    this.recordings = this.recordings.filter((r) => r !== recording);
    if (this.selectedKey === recording.key) this.selectedKey = this.recordings.find((r) => r.status === "ready")?.key;
    if (recording.sessionId) await this.client.closeSession(recording.sessionId).catch(() => undefined);
    if (this.releasePending) await this.releaseDamagedFile(this.releasePending);
  }

  /**
   * After a load that failed on a damaged file, HDF5 objects of that file can stay open inside the
   * worker's runtime, holding memory (docs/robustness.md). A fresh worker releases them, but would
   * also drop every open session, so the restart happens only when no session is open in this tab;
   * until then it is pending and the page says so. Drops are mounted in fresh directories, so a
   * held-open file never shadows a file dropped later.
   */
  private async releaseDamagedFile(name: string): Promise<string> {
    const restarted = this.recordings.some((r) => r.sessionId) ? false : await this.client.recycle().catch(() => false);
    this.releasePending = restarted ? undefined : name;
    return restarted
      ? `The processing worker was restarted to release ${name} (no open session was affected).`
      : `${name} stays held open in the processing worker until it restarts; it restarts by itself once every session here is closed (nothing is restarted while sessions are open).`;
  }

  /** Shows a placeholder while the worker opens something, then one row per resulting session. */
  private async track(label: string, open: (onProgress: (p: OpenProgress) => void) => Promise<OpenedItem[]>): Promise<Recording[]> {
    const placeholder = new Recording(label);
    this.recordings.push(placeholder);
    const live = this.recordings.at(-1)!;
    const selectedBefore = this.selectedKey;
    try {
      const items = await open((progress) => {
        live.progress = progress;
        if (!progress.units) return;
        live.units = progress.units;
        // The units show while the recording opens, unless the user went to another one meanwhile.
        if (this.selectedKey === selectedBefore) this.selectedKey = live.key;
      });
      const opened = await Promise.all(items.map((item) => this.toRecording(item)));
      this.recordings.splice(this.recordings.indexOf(live), 1, ...opened);
      const first = opened.find((r) => r.status === "ready");
      if (first) this.selectedKey = first.key;
      const failed = opened.filter((r) => r.status === "error");
      if (failed.length) {
        const text = failed.map((r) => r.error).join("; ");
        this.notice = { kind: "error", text };
        // h5wasm skips closing HDF5 objects when a read throws: a damaged file stays open in the runtime.
        const damaged = failed.find((r) => r.failure?.kind === "damaged-file");
        if (damaged) {
          const release = await this.releaseDamagedFile(damaged.name);
          this.notice = { kind: "error", text: `${text}. ${release}` };
        }
      }
      return opened;
    } catch (error) {
      live.status = "error";
      live.units = undefined; // the units it listed are not a session
      live.error = errorText(error);
      this.notice = { kind: "error", text: live.error };
      return [live];
    }
  }

  private async toRecording(item: OpenedItem): Promise<Recording> {
    const recording = new Recording(item.name);
    if (item.error || !item.sessionId) {
      recording.status = "error";
      recording.error = item.error ?? "nothing could be opened";
      recording.failure = item.failure;
      return recording;
    }
    recording.sessionId = item.sessionId;
    recording.summary = item.summary;
    recording.units = await this.client.units(item.sessionId);
    // Plots show something at once: the first unit, until the user picks another.
    if (recording.units.ids.length) recording.selection.pick(recording.units.ids[0]);
    recording.status = "ready";
    if (recording.units.sciencePending) void this.fillScience(recording);
    return recording;
  }

  /** The science columns of a table shown without them; a newer table (after a run) wins. */
  async fillScience(recording: Recording): Promise<void> {
    const table = recording.units!;
    try {
      const science = await this.client.science(recording.sessionId!);
      if (recording.units === table) recording.units = { ...table, science, sciencePending: false };
    } catch (error) {
      this.notice = { kind: "error", text: `${recording.name}: the units' features could not be read: ${errorText(error)}` };
    }
  }

  private async run(label: string, work: () => Promise<void>): Promise<void> {
    this.busy = label;
    this.notice = undefined;
    try {
      await work();
    } catch (error) {
      this.notice = { kind: "error", text: errorText(error) };
    } finally {
      this.busy = undefined;
    }
  }
}
