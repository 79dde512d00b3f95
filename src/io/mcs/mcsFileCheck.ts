/**
 * Is this HDF5 file an MCS CMOS-MEA file? Checked on the root attributes before anything else, so a
 * file from another MCS product (MultiChannel DataManager, `McsHdf5ProtocolType = RawData`) or any
 * other HDF5 file is refused with a sentence that says what it is.
 */
import type { H5File } from "../h5.ts";
import { readAttr } from "./mcsNames.ts";
import { fileError } from "../../core/failure.ts";

export function assertCmosMeaFile(file: H5File, name: string, expected: ".cmcr" | ".cmtr"): void {
  const protocol = readAttr(file, "McsHdf5ProtocolType");
  if (protocol !== undefined) {
    throw fileError(name, `an MCS MultiChannel DataManager file (McsHdf5ProtocolType "${protocol}"), not a CMOS-MEA ${expected} recording`);
  }
  if (readAttr(file, "ID.TypeID") === undefined && readAttr(file, "ID.Type") === undefined) {
    throw fileError(name, `not an MCS CMOS-MEA ${expected} file (the root group has no ID.Type / ID.TypeID attributes)`);
  }
}
