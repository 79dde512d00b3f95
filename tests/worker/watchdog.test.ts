/**
 * The page's watchdog on fake timers: silence while a call is in flight is "hung", heartbeats and
 * finished calls are not, and the report names the last file and step the worker announced.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Watchdog, hungMessage, type HungReport } from "../../src/worker/watchdog.ts";
import type { Heartbeat } from "../../src/worker/activity.ts";

const beat = (step: string, file?: string): Heartbeat => ({ type: "hdmea-heartbeat", step, ...(file ? { file } : {}) });

describe("Watchdog", () => {
  let reports: HungReport[];
  let dog: Watchdog;
  beforeEach(() => {
    vi.useFakeTimers();
    reports = [];
    dog = new Watchdog((r) => reports.push(r));
  });
  afterEach(() => vi.useRealTimers());

  it("declares a call hung after its limit without a heartbeat, naming the last file and step", () => {
    dog.watch("Opening files", 1_000);
    vi.advanceTimersByTime(400);
    dog.beat(beat("reading units 3/24", "demo-.cmtr"));
    vi.advanceTimersByTime(999);
    expect(reports).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ call: "Opening files", last: beat("reading units 3/24", "demo-.cmtr"), silentMs: 1_000 });
    expect(hungMessage(reports[0])).toBe(
      "the processing worker stopped responding: no progress for 1 s at demo-.cmtr, step “reading units 3/24” (opening files)",
    );
  });

  it("lets a slow call live as long as heartbeats keep coming", () => {
    const done = dog.watch("Saving", 1_000);
    for (let t = 0; t < 20; t++) {
      vi.advanceTimersByTime(900);
      dog.beat(beat("writing the session file", "rec.h5"));
    }
    done();
    vi.advanceTimersByTime(10_000);
    expect(reports).toEqual([]);
  });

  it("ignores silence when no call is in flight, and starts the clock when one begins", () => {
    vi.advanceTimersByTime(5_000); // idle: nothing to watch
    dog.watch("Checkpointing", 1_000);
    vi.advanceTimersByTime(999);
    expect(reports).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(reports.map((r) => r.call)).toEqual(["Checkpointing"]);
    expect(hungMessage(reports[0])).toMatch(/before its first progress report/);
  });

  it("uses the longest limit among the calls in flight (a known long read) and reports the oldest call", () => {
    dog.watch("Running steps", 5_000);
    dog.watch("Reading the units", 1_000);
    vi.advanceTimersByTime(4_999);
    expect(reports).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(reports.map((r) => r.call)).toEqual(["Running steps"]);
  });

  it("fires once, then watches again only for new calls", () => {
    const done = dog.watch("Opening files", 500);
    vi.advanceTimersByTime(500);
    done(); // the client's finally runs after the restart
    vi.advanceTimersByTime(5_000);
    expect(reports).toHaveLength(1);
    dog.watch("Listing checkpoints", 500);
    vi.advanceTimersByTime(500);
    expect(reports).toHaveLength(2);
  });

  it("gives a fresh worker extra time to load its engine, and none once it said it is ready", () => {
    dog.starting(10_000);
    dog.watch("Resuming demo.h5", 1_000);
    vi.advanceTimersByTime(10_999);
    expect(reports).toEqual([]);
    dog.started(); // the limit is back to 1 s, counted from the last progress: overdue now
    vi.advanceTimersByTime(0);
    expect(reports.map((r) => r.call)).toEqual(["Resuming demo.h5"]);
  });
});
