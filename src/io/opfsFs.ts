/**
 * An Emscripten file system whose files are OPFS files opened with synchronous access handles, so
 * HDF5 reads and writes go straight to browser storage in slices: a session file never sits whole in
 * memory and is not bounded by the 2 GiB wasm heap. Worker-only (sync access handles need one).
 *
 * Handles are created asynchronously, so the files are opened *before* mounting and the mount knows
 * exactly those files; creating, renaming or deleting through the FS is refused (OPFS does that part
 * directly, in `opfsStorage.ts`).
 */
import type { H5Runtime } from "./h5.ts";

const DIR_MODE = 0o40777;
const FILE_MODE = 0o100666;
// Emscripten errno values (wasi numbering).
const ENOENT = 44;
const EPERM = 63;
const EIO = 29;

/**
 * Test hook: the next writes fail with EIO once this many more bytes were written, so tests can
 * prove that a save failing midway damages nothing. Off (infinite) unless a test sets it.
 */
let writeBudget = Number.POSITIVE_INFINITY;
export function failWritesAfter(bytes: number): void {
  writeBudget = bytes;
}

interface OpfsNode {
  id: number;
  mode: number;
  node_ops: unknown;
  stream_ops: unknown;
  handle?: FileSystemSyncAccessHandle;
  timestamp: number;
  contents?: Record<string, OpfsNode>;
}

interface OpfsStream {
  node: OpfsNode;
  position: number;
}

/** The parts of Emscripten's FS this file uses (its published types omit several). */
interface EmscriptenFS {
  createNode(parent: OpfsNode | null, name: string, mode: number, dev: number): OpfsNode;
  ErrnoError: new (errno: number) => Error;
  mkdir(path: string): unknown;
  rmdir(path: string): void;
  mount(type: unknown, opts: unknown, mountpoint: string): unknown;
  unmount(mountpoint: string): void;
}

function makeFsType(fs: EmscriptenFS) {
  const createNode = (parent: OpfsNode | null, name: string, mode: number, handle?: FileSystemSyncAccessHandle) => {
    const node = fs.createNode(parent, name, mode, 0);
    node.node_ops = nodeOps as never;
    node.stream_ops = streamOps as never;
    node.timestamp = Date.now();
    if (handle) node.handle = handle;
    else node.contents = {};
    if (parent?.contents) parent.contents[name] = node;
    return node;
  };

  const nodeOps = {
    getattr(node: OpfsNode) {
      const size = node.handle ? node.handle.getSize() : 4096;
      const time = new Date(node.timestamp);
      return {
        dev: 1, ino: node.id, mode: node.mode, nlink: 1, uid: 0, gid: 0, rdev: 0, size,
        atime: time, mtime: time, ctime: time, blksize: 4096, blocks: Math.ceil(size / 4096),
      };
    },
    setattr(node: OpfsNode, attr: { size?: number; mode?: number; timestamp?: number; mtime?: number }) {
      // Opening with mode "w" (O_TRUNC) arrives here as size 0; HDF5 also truncates on close.
      if (attr.size !== undefined && node.handle) node.handle.truncate(attr.size);
      if (attr.mode !== undefined) node.mode = attr.mode;
      node.timestamp = Date.now();
    },
    lookup(): never {
      throw new fs.ErrnoError(ENOENT);
    },
    mknod(): never {
      throw new fs.ErrnoError(EPERM);
    },
    rename(): never {
      throw new fs.ErrnoError(EPERM);
    },
    unlink(): never {
      throw new fs.ErrnoError(EPERM);
    },
    rmdir(): never {
      throw new fs.ErrnoError(EPERM);
    },
    readdir(node: OpfsNode) {
      return [".", "..", ...Object.keys(node.contents ?? {})];
    },
    symlink(): never {
      throw new fs.ErrnoError(EPERM);
    },
  };

  const streamOps = {
    read(stream: OpfsStream, buffer: Uint8Array, offset: number, length: number, position: number) {
      const handle = stream.node.handle!;
      return handle.read(buffer.subarray(offset, offset + length), { at: position });
    },
    write(stream: OpfsStream, buffer: Uint8Array, offset: number, length: number, position: number) {
      const handle = stream.node.handle!;
      writeBudget -= length;
      if (writeBudget < 0) {
        writeBudget = Number.POSITIVE_INFINITY;
        throw new fs.ErrnoError(EIO);
      }
      return handle.write(buffer.subarray(offset, offset + length), { at: position });
    },
    llseek(stream: OpfsStream, offset: number, whence: number) {
      let position = offset;
      if (whence === 1) position += stream.position;
      else if (whence === 2) position += stream.node.handle?.getSize() ?? 0;
      if (position < 0) throw new fs.ErrnoError(28);
      return position;
    },
  };

  return {
    mount(mount: { opts: { files: Map<string, FileSystemSyncAccessHandle> } }) {
      const root = createNode(null, "/", DIR_MODE);
      for (const [name, handle] of mount.opts.files) createNode(root, name, FILE_MODE, handle);
      return root;
    },
  };
}

export interface OpfsMount {
  /** Emscripten path of each mounted file, by its OPFS name. */
  paths: Map<string, string>;
  /** Flushes and closes the handles, unmounts. The OPFS files stay. Close h5wasm files first. */
  close(): void;
}

let mountCounter = 0;

/**
 * Opens `names` in `dir` (creating them when `create`) with sync access handles and mounts them.
 * A handle locks its file: a second mount of the same file (another tab) fails with a clear error.
 */
export async function mountOpfsFiles(
  rt: H5Runtime,
  dir: FileSystemDirectoryHandle,
  names: string[],
  options: { create: boolean },
): Promise<OpfsMount> {
  const fs = rt.fs as unknown as EmscriptenFS;
  const handles = new Map<string, FileSystemSyncAccessHandle>();
  try {
    for (const name of names) {
      const fileHandle = await dir.getFileHandle(name, { create: options.create });
      try {
        handles.set(name, await fileHandle.createSyncAccessHandle());
      } catch (error) {
        if ((error as DOMException).name === "NoModificationAllowedError") {
          throw new Error(`${name} is open elsewhere (another tab or operation); close it there first`);
        }
        throw error;
      }
    }
  } catch (error) {
    for (const handle of handles.values()) handle.close();
    throw error;
  }
  const mountPoint = `/opfs-${++mountCounter}`;
  fs.mkdir(mountPoint);
  fs.mount(makeFsType(fs), { files: handles }, mountPoint);
  const paths = new Map(names.map((name) => [name, `${mountPoint}/${name}`]));
  return {
    paths,
    close() {
      for (const handle of handles.values()) handle.flush();
      fs.unmount(mountPoint);
      fs.rmdir(mountPoint);
      for (const handle of handles.values()) handle.close();
    },
  };
}
