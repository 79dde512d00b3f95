/**
 * The worker's heartbeats: throttled so thousands of small HDF5 reads do not flood the page, but a
 * new file or a new kind of step goes out at once, so the last beat before a hang names them.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { doing, fileAccessed, progressed, sendHeartbeatsWith, type Heartbeat } from "../../src/worker/activity.ts";

describe("heartbeats", () => {
  let beats: Heartbeat[];
  let day = 1;
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date(2030, 0, day++)); // a day after the last test's beats: none throttled
    beats = [];
    sendHeartbeatsWith((b) => beats.push(b));
  });
  afterEach(() => {
    sendHeartbeatsWith(undefined);
    vi.useRealTimers();
  });

  it("sends a new step or file at once, and plain progress at most every 100 ms", () => {
    doing("opening the recording", "demo.cmcr + demo-.cmtr");
    for (let i = 0; i < 1000; i++) progressed(); // a burst of reads within the same millisecond
    expect(beats).toEqual([{ type: "hdmea-heartbeat", step: "opening the recording", file: "demo.cmcr + demo-.cmtr" }]);
    vi.advanceTimersByTime(100);
    progressed();
    expect(beats).toHaveLength(2);
  });

  it("names the dropped file being read, and keeps it while the step counts on", () => {
    doing("opening the recording", "demo.cmcr + demo-.cmtr");
    fileAccessed("demo-.cmtr", "drop"); // a new file: sent at once
    doing("reading units 1/24"); // a new kind of step: sent at once, same file
    doing("reading units 2/24"); // the same kind: waits for the next beat
    expect(beats.map((b) => [b.file, b.step])).toEqual([
      ["demo.cmcr + demo-.cmtr", "opening the recording"],
      ["demo-.cmtr", "opening the recording"],
      ["demo-.cmtr", "reading units 1/24"],
    ]);
    // Scratch files in browser storage have internal names: progress only, the file stays.
    vi.advanceTimersByTime(100);
    fileAccessed("save-s1-123.h5", "opfs");
    expect(beats.at(-1)).toEqual({ type: "hdmea-heartbeat", step: "reading units 2/24", file: "demo-.cmtr" });
    doing("writing the checkpoint", null);
    expect(beats.at(-1)).toEqual({ type: "hdmea-heartbeat", step: "writing the checkpoint" });
  });
});
