/**
 * The files of a drop, folders included: a dropped folder gives every file in it and in its
 * subfolders (so a folder of recordings opens every pair in it). Hidden files (`.DS_Store`, `._x`)
 * inside folders are skipped; loose files are passed on as dropped, so an unsupported one is named
 * in the open report with the reason.
 */
export async function droppedFiles(data: DataTransfer): Promise<File[]> {
  // Entries must be taken while the drop event runs: the item list is emptied when it returns.
  const entries = [...data.items].filter((item) => item.kind === "file").map((item) => item.webkitGetAsEntry?.() ?? null);
  if (entries.length === 0 || entries.includes(null)) return [...data.files];
  const lists = await Promise.all(entries.map((entry) => entryFiles(entry!, true)));
  return lists.flat();
}

async function entryFiles(entry: FileSystemEntry, topLevel: boolean): Promise<File[]> {
  if (!topLevel && entry.name.startsWith(".")) return [];
  if (isFile(entry)) return [await new Promise<File>((resolve, reject) => entry.file(resolve, reject))];
  if (!isDirectory(entry)) return [];
  const children = await readAll(entry.createReader());
  return (await Promise.all(children.map((child) => entryFiles(child, false)))).flat();
}

/** `readEntries` returns a folder's entries in batches (100 in Chromium) until an empty one. */
async function readAll(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  const all: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}

function isFile(entry: FileSystemEntry): entry is FileSystemFileEntry {
  return entry.isFile;
}

function isDirectory(entry: FileSystemEntry): entry is FileSystemDirectoryEntry {
  return entry.isDirectory;
}

/** A drag that carries files (not text or a link dragged within the page). */
export function carriesFiles(event: DragEvent): boolean {
  return event.dataTransfer?.types.includes("Files") ?? false;
}
