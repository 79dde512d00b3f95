/**
 * This copy of the app's folder in browser storage. OPFS belongs to the origin, so two copies of the
 * app served from two folders of one host (`/lab/hdmea/`, `/lab/hdmea-test/`) would otherwise list,
 * resume and overwrite each other's checkpoints. A copy at the host's root keeps the OPFS root (where
 * checkpoints have always lived); a copy in a folder gets `copies/<folder>/`.
 */
const COPIES_DIR = "copies";

/** The folder the app is served from, learnt from where the build put this worker (`<folder>assets/…`). */
export function appFolderPath(workerUrl: string = self.location.href): string {
  const path = new URL(workerUrl).pathname;
  const assets = path.lastIndexOf("/assets/");
  // The dev server and tests load the worker from its source path: the app is then at the root.
  return assets < 0 ? "/" : path.slice(0, assets + 1);
}

export async function appStorageRoot(): Promise<FileSystemDirectoryHandle> {
  const root = await navigator.storage.getDirectory();
  const folder = appFolderPath();
  if (folder === "/") return root;
  const copies = await root.getDirectoryHandle(COPIES_DIR, { create: true });
  // OPFS names cannot hold "/": one encoded name per folder.
  return copies.getDirectoryHandle(encodeURIComponent(folder), { create: true });
}
