import { describe, expect, it } from "vitest";
import { HdmeaError, fileError } from "../../src/core/failure.ts";
import { PipelineStepError } from "../../src/core/pipeline.ts";
import { failureLine } from "../../src/cli/failureLine.ts";

describe("failureLine", () => {
  it("leaves an error that names its file as it is: the file says where", () => {
    expect(failureLine(fileError("rec-.cmtr", "no Peaks dataset"), "rec")).toBe("rec-.cmtr: no Peaks dataset");
    expect(failureLine(new HdmeaError("out.h5 already exists; pass --overwrite", "bad-input", "out.h5"), "rec")).toBe(
      "out.h5 already exists; pass --overwrite",
    );
  });

  it("leads any other error with the recording, on one line", () => {
    expect(failureLine(new Error("no frame timestamps\nat frameClock"), "rec")).toBe("rec: no frame timestamps");
    expect(failureLine("thrown text", "rec")).toBe("rec: thrown text");
  });

  it("leads a step's failure with the recording even when a file stopped the step", () => {
    const cause = fileError("rec.cmcr", "cannot read frames 0–10; the file may be damaged", "damaged-file");
    const stepError = new PipelineStepError("compute_eimage", cause.message, { steps: [] }, { cause });
    expect(stepError).toMatchObject({ kind: "damaged-file", file: "rec.cmcr" });
    expect(failureLine(stepError, "rec")).toBe("rec: compute_eimage: rec.cmcr: cannot read frames 0–10; the file may be damaged");
  });
});
