import { describe, expect, it } from "vitest";
import {
  datasetIdFromNames,
  datasetIdFromStems,
  pairNameMismatch,
  pairRecordingFiles,
  pairingKey,
} from "../../src/core/recordingPairing.ts";

describe("recording pairing", () => {
  it("compares stems lower-cased without _sorted/_spikes/_raw and the .cmtr's trailing -", () => {
    expect(pairingKey("2024.08.08-10.40.20-Rec-")).toBe("2024.08.08-10.40.20-rec");
    expect(pairingKey("Rec_Sorted")).toBe("rec");
    expect(pairingKey("rec_raw")).toBe("rec");
  });

  it("pairs NAME.cmcr with NAME-.cmtr and reports lone files and problems", () => {
    const result = pairRecordingFiles([
      "2024.08.08-10.40.20-Rec.cmcr",
      "2024.08.08-10.40.20-Rec-.cmtr",
      "other.cmcr",
      "third_sorted-.CMTR",
      "notes.txt",
    ]);
    expect(result.pairs).toEqual([
      {
        key: "2024.08.08-10.40.20-rec",
        cmcr: "2024.08.08-10.40.20-Rec.cmcr",
        cmtr: "2024.08.08-10.40.20-Rec-.cmtr",
        datasetId: "2024.08.08-10.40.20-Rec",
      },
    ]);
    expect(result.lone.map((l) => [l.name, l.missing])).toEqual([
      ["other.cmcr", "cmtr"],
      ["third_sorted-.CMTR", "cmcr"],
    ]);
    expect(result.problems).toEqual([expect.stringMatching(/^notes\.txt: not a recording file/)]);
  });

  it("reports two files of the same kind for one recording instead of guessing", () => {
    const result = pairRecordingFiles(["a.cmcr", "A_raw.cmcr", "a-.cmtr"]);
    expect(result.pairs).toEqual([]);
    expect(result.problems[0]).toMatch(/a\.cmcr, A_raw\.cmcr: 2 \.cmcr files/);
  });

  it("takes the dataset id from the .cmtr stem without the trailing -, else the .cmcr stem", () => {
    expect(datasetIdFromStems("Rec-", "Rec")).toBe("Rec");
    expect(datasetIdFromStems(undefined, "Raw")).toBe("Raw");
    expect(datasetIdFromNames("/x/y/Rec-.cmtr")).toBe("Rec");
    expect(datasetIdFromNames(undefined, "odd.h5")).toBe("odd");
    expect(() => datasetIdFromStems()).toThrow();
  });

  it("says why two named files are not a pair", () => {
    expect(pairNameMismatch("a.cmcr", "a-.cmtr")).toBeUndefined();
    expect(pairNameMismatch("a.cmcr", "b-.cmtr")).toMatch(/a\.cmcr and b-\.cmtr are not one recording: their names differ/);
  });
});
