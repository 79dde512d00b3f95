/**
 * Turns a low-level failure while reading one object (HDF5 diagnostics, a truncated file, a heap
 * allocation) into an error that names the file and the object. Errors we raised ourselves already
 * name the file and pass through unchanged.
 */
import { hdf5ErrorSummary } from "../h5.ts";

export function guarded<T>(fileName: string, what: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (message.startsWith(`${fileName}:`)) throw error;
    throw new Error(`${fileName}: cannot read ${what} (${hdf5ErrorSummary(error)}); the file may be truncated or damaged`);
  }
}
