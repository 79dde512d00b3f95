/**
 * The units of a `.cmtr` as the page shows them while the open still reads their spikes. Listing the
 * units (ids, electrodes from `Unit Info`) takes seconds; reading their peaks tables takes a minute
 * for an hour's recording in a browser, so the listing comes first and each unit's spike count is
 * filled in as the load step builds it (`buildLoadRecordingSession`'s `onUnit`).
 */
import type { CmtrContents } from "./recordingContents.ts";
import { unitIdFor } from "./session.ts";
import { unitPosition } from "./steps/loadRecording.ts";

export interface UnitListing {
  /** In the order the load step builds (and the session keeps) the units. */
  ids: string[];
  row: Int32Array;
  col: Int32Array;
  /** Included spikes, for the units whose spikes are read (`spikesRead`); 0 for the others. */
  spikeCount: Uint32Array;
  spikesRead: Uint8Array;
  unitsRead: number;
  /** The recording's length as a file states it, in µs (for mean rates), when one does. */
  durationUs?: number;
}

export function listUnits(cmtr: CmtrContents, durationUs = cmtr.recordingDurationUs): UnitListing {
  const n = cmtr.units.length;
  const listing: UnitListing = {
    ids: cmtr.units.map((u) => unitIdFor(u.unitNum)),
    row: new Int32Array(n),
    col: new Int32Array(n),
    spikeCount: new Uint32Array(n),
    spikesRead: new Uint8Array(n),
    unitsRead: 0,
    durationUs,
  };
  cmtr.units.forEach((contents, i) => {
    const { row, col } = unitPosition(contents);
    listing.row[i] = row;
    listing.col[i] = col;
  });
  return listing;
}

/** The `index`th unit's spikes are read: `spikeCount` of them included. */
export function noteSpikesRead(listing: UnitListing, index: number, spikeCount: number): void {
  if (!listing.spikesRead[index]) listing.unitsRead++;
  listing.spikesRead[index] = 1;
  listing.spikeCount[index] = spikeCount;
}
