/**
 * Turns a low-level failure while reading one object (HDF5 diagnostics, a truncated file, a heap
 * allocation) into an error that names the file and the object. Errors we raised ourselves already
 * name the file and pass through unchanged.
 */
import { closeQuietly, damagedFileError } from "../h5.ts";

export { closeQuietly, damagedFileError };

export function guarded<T>(fileName: string, what: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw damagedFileError(fileName, what, error);
  }
}
