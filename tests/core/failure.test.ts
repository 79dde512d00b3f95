import { describe, expect, it } from "vitest";
import { HdmeaError, failureOf, fileError } from "../../src/core/failure.ts";

describe("failureOf", () => {
  it("takes the kind and file an error was made with", () => {
    expect(failureOf(new HdmeaError("a.cmtr: damaged", "damaged-file", "a.cmtr"))).toEqual({ kind: "damaged-file", file: "a.cmtr" });
    expect(failureOf(new HdmeaError("full", "quota"))).toEqual({ kind: "quota" });
  });

  it("makes an error about one file with the file leading its message", () => {
    const error = fileError("playlist.csv", "no playlist \"x\"");
    expect(error.message).toBe('playlist.csv: no playlist "x"');
    expect(failureOf(error)).toEqual({ kind: "bad-input", file: "playlist.csv" });
    expect(failureOf(fileError("rec.cmcr", "moved", "source-changed")).kind).toBe("source-changed");
  });

  it("reads them back from an error rebuilt on the other side of postMessage (plain fields)", () => {
    const rebuilt = Object.assign(new Error("x.h5 is open elsewhere"), { name: "FileInUseError", kind: "in-use", file: "x.h5" });
    expect(failureOf(rebuilt)).toEqual({ kind: "in-use", file: "x.h5" });
    // A kind it does not know is not trusted: the name decides.
    expect(failureOf(Object.assign(new Error("?"), { name: "AbortError", kind: "exploded" }))).toEqual({ kind: "cancelled" });
  });

  it("knows the browser's errors by their names", () => {
    expect(failureOf(new DOMException("no room", "QuotaExceededError")).kind).toBe("quota");
    expect(failureOf(new DOMException("held", "NoModificationAllowedError")).kind).toBe("in-use");
    expect(failureOf(new DOMException("revoked", "NotAllowedError")).kind).toBe("permission");
    expect(failureOf(new DOMException("stop", "AbortError")).kind).toBe("cancelled");
  });

  it("takes our other errors as about the input, and JavaScript's own as faults of ours", () => {
    expect(failureOf(new Error("rec-.cmtr: no Peaks dataset")).kind).toBe("bad-input");
    expect(failureOf(new TypeError("x is undefined")).kind).toBe("internal");
    expect(failureOf("a string").kind).toBe("internal");
  });
});
