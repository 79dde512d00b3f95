/**
 * The main-thread client against a fake worker (a MessageChannel with Comlink on the other end):
 * error messages are made in one place, and a dead or corrupt worker is replaced.
 */
import { describe, expect, it, vi } from "vitest";
import * as Comlink from "comlink";
import { WorkerClient, WorkerError } from "../../src/worker/client.ts";
import { guarded, sendFailureFields } from "../../src/worker/workerErrors.ts";
import { HdmeaError } from "../../src/core/failure.ts";

interface FakeWorker {
  worker: Worker;
  /** Posts a message from the worker's side, as `activity.ts` posts heartbeats. */
  post(message: unknown): void;
  /** Fires the worker's `error` event, as an uncaught exception in the worker scope does. */
  crash(message: string): void;
  terminated: boolean;
}

function fakeWorker(service: Record<string, (...args: never[]) => unknown>): FakeWorker {
  const { port1, port2 } = new MessageChannel();
  Comlink.expose(service, port2);
  // As worker.ts does once h5wasm is loaded: from then on the watchdog's limits apply as set.
  port2.postMessage({ type: "hdmea-heartbeat", step: "ready" });
  const errors = new EventTarget();
  const fake: FakeWorker = {
    terminated: false,
    post: (message) => port2.postMessage(message),
    crash: (message) => errors.dispatchEvent(Object.assign(new Event("error", { cancelable: true }), { message })),
    worker: {
      postMessage: (message: unknown, transfer: Transferable[]) => port1.postMessage(message, transfer),
      addEventListener: (type: string, listener: EventListener) =>
        type === "error" ? errors.addEventListener(type, listener) : port1.addEventListener(type, listener as never),
      removeEventListener: (type: string, listener: EventListener) =>
        type === "error" ? errors.removeEventListener(type, listener) : port1.removeEventListener(type, listener as never),
      start: () => port1.start(),
      terminate: () => {
        fake.terminated = true;
        port1.close();
        port2.close();
      },
    } as unknown as Worker,
  };
  return fake;
}

function named(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

describe("WorkerClient", () => {
  it("turns a worker error into a WorkerError saying what failed, keeping the worker's error name", async () => {
    const fake = fakeWorker({
      save: async () => {
        throw named("FileExistsError", "rand-7.h5 already exists");
      },
    });
    const client = new WorkerClient(() => fake.worker);
    const error = await client.save("s1").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerError);
    expect((error as WorkerError).message).toBe("Saving failed: rand-7.h5 already exists");
    expect((error as WorkerError).errorName).toBe("FileExistsError");
    expect((error as WorkerError).fatal).toBe(false);
    expect(fake.terminated).toBe(false);
    client.dispose();
  });

  it("carries the failure's kind and file from the worker's guarded operations, not read from the words", async () => {
    sendFailureFields(); // as worker.ts does
    const fake = fakeWorker({
      openFiles: guarded(async () => {
        throw new HdmeaError("rec.h5: cannot read the session (bad superblock); the file may be truncated or damaged", "damaged-file", "rec.h5");
      }),
      checkpoint: guarded(async () => {
        // Named by the browser only: its name gives the kind.
        throw new DOMException("the origin's storage is full", "QuotaExceededError");
      }),
      save: guarded(async () => {
        throw new TypeError("cannot read properties of undefined");
      }),
    });
    const client = new WorkerClient(() => fake.worker);
    const damaged = (await client.openFiles([]).catch((e: unknown) => e)) as WorkerError;
    expect(damaged.failure).toEqual({ kind: "damaged-file", file: "rec.h5" });
    expect(damaged.message).toMatch(/^Opening files failed: rec\.h5: cannot read the session/);
    const full = (await client.checkpoint("s1").catch((e: unknown) => e)) as WorkerError;
    expect(full.failure).toEqual({ kind: "quota" });
    expect(full.errorName).toBe("QuotaExceededError");
    const bug = (await client.save("s1").catch((e: unknown) => e)) as WorkerError;
    expect(bug.failure).toEqual({ kind: "internal" });
    client.dispose();
  });

  it("replaces the worker after a fatal HDF5 error and tells the page", async () => {
    const workers: FakeWorker[] = [];
    const create = vi.fn(() => {
      const fake = fakeWorker({
        summary: async () => {
          throw named("FatalWorkerError", "the HDF5 engine failed (Aborted())");
        },
        listCheckpoints: async () => [],
      });
      workers.push(fake);
      return fake.worker;
    });
    const client = new WorkerClient(create);
    const restarts: string[] = [];
    client.onRestart = (reason) => restarts.push(reason);
    const error = (await client.summary("s1").catch((e: unknown) => e)) as WorkerError;
    expect(error.fatal).toBe(true);
    expect(error.message).toMatch(/^Reading the session failed: the HDF5 engine failed/);
    expect(create).toHaveBeenCalledTimes(2);
    expect(workers[0].terminated).toBe(true);
    expect(restarts).toHaveLength(1);
    await expect(client.listCheckpoints()).resolves.toEqual([]);
    client.dispose();
  });

  it("rejects calls in flight when the worker dies, instead of leaving them hanging, and starts a new one", async () => {
    const workers: FakeWorker[] = [];
    const client = new WorkerClient(() => {
      const fake = fakeWorker({
        openFiles: () => new Promise(() => {}),
        listCheckpoints: async () => [{ name: "a.h5", datasetId: "a", bytes: 1, modifiedAt: "" }],
      });
      workers.push(fake);
      return fake.worker;
    });
    const restarts: string[] = [];
    client.onRestart = (reason) => restarts.push(reason);
    const pending = client.openFiles([]);
    await new Promise((r) => setTimeout(r, 10));
    workers[0].crash("out of memory");
    const error = (await pending.catch((e: unknown) => e)) as WorkerError;
    expect(error).toBeInstanceOf(WorkerError);
    expect(error.fatal).toBe(true);
    expect(error.message).toBe("Opening files failed: the worker stopped (out of memory)");
    expect(restarts).toEqual(["the worker stopped (out of memory)"]);
    expect(workers).toHaveLength(2);
    await expect(client.listCheckpoints()).resolves.toHaveLength(1);
    client.dispose();
  });

  it("replaces a worker that sends no heartbeat for too long during a call, naming the file and step", async () => {
    const workers: FakeWorker[] = [];
    const client = new WorkerClient(() => {
      const fake = fakeWorker({
        // Announces its read, then blocks (as HDF5 in a loop): it never answers.
        openFiles: () => {
          fake.post({ type: "hdmea-heartbeat", step: "reading units 3/24", file: "demo-.cmtr" });
          return new Promise(() => {});
        },
        listCheckpoints: async () => [],
      });
      workers.push(fake);
      return fake.worker;
    });
    client.hungAfterMs = 150;
    const restarts: { reason: string; file?: string }[] = [];
    client.onRestart = (reason, hung) => restarts.push({ reason, file: hung?.last?.file });
    const error = (await client.openFiles([]).catch((e: unknown) => e)) as WorkerError;
    expect(error).toBeInstanceOf(WorkerError);
    expect(error.errorName).toBe("WorkerHungError");
    expect(error.fatal).toBe(true);
    expect(error.failure).toEqual({ kind: "hung", file: "demo-.cmtr" });
    expect(error.message).toMatch(/^Opening files failed: the processing worker stopped responding: no progress for 0 s at demo-\.cmtr, step “reading units 3\/24”/);
    expect(restarts).toHaveLength(1);
    expect(restarts[0].file).toBe("demo-.cmtr");
    expect(workers).toHaveLength(2);
    expect(workers[0].terminated).toBe(true);
    await expect(client.listCheckpoints()).resolves.toEqual([]);
    client.dispose();
  });

  it("keeps a worker whose call takes longer than the limit but keeps sending heartbeats", async () => {
    const workers: FakeWorker[] = [];
    const client = new WorkerClient(() => {
      const fake = fakeWorker({
        checkpoint: async () => {
          for (let i = 0; i < 8; i++) {
            fake.post({ type: "hdmea-heartbeat", step: "writing the checkpoint", file: "demo.h5" });
            await new Promise((r) => setTimeout(r, 40));
          }
          return "done";
        },
      });
      workers.push(fake);
      return fake.worker;
    });
    client.hungAfterMs = 120;
    client.onRestart = () => expect.unreachable("a worker with heartbeats was replaced");
    await expect(client.checkpoint("s1")).resolves.toBe("done");
    expect(workers).toHaveLength(1);
    client.dispose();
  });
});
