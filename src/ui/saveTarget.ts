/**
 * Where a save goes, decided on the page because it needs the user's click: the File System Access
 * save picker where the browser has it, else a download of the file the worker wrote.
 */

interface SavePickerOptions {
  suggestedName?: string;
  types?: { description: string; accept: Record<string, string[]> }[];
}

type SavePicker = (options?: SavePickerOptions) => Promise<FileSystemFileHandle>;

/**
 * Asks for a target file. Returns `undefined` when there is no picker (or it refuses to open here,
 * e.g. in an iframe) so the caller downloads instead, and `null` when the user cancelled.
 * Call it first in a click handler: the picker needs the click's user activation.
 */
export async function pickSaveTarget(suggestedName: string): Promise<FileSystemFileHandle | undefined | null> {
  const picker = (globalThis as { showSaveFilePicker?: SavePicker }).showSaveFilePicker;
  if (typeof picker !== "function") return undefined;
  try {
    return await picker({
      suggestedName,
      types: [{ description: "HDF5 session file", accept: { "application/x-hdf5": [".h5"] } }],
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") return null;
    return undefined;
  }
}

/** Offers a file as a download; the object URL is released once the browser has started it. */
export function downloadFile(file: File): void {
  const url = URL.createObjectURL(file);
  const link = document.createElement("a");
  link.href = url;
  link.download = file.name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
