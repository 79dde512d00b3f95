/**
 * An Emscripten file system over a fixed set of files given at mount time, each backed by
 * synchronous read/write functions. HDF5 only needs positioned reads and writes, sizes and
 * truncation from it; creating, renaming or deleting through the FS is refused. The OPFS
 * (`opfsFs.ts`) and Blob (`blobFs.ts`) file systems are this with different backends.
 */
import type { H5Runtime } from "./h5.ts";

export interface FileBackend {
  size(): number;
  /** Reads into `into` from byte `at`; returns the bytes read. */
  read(into: Uint8Array, at: number): number;
  /** Absent for read-only backends. */
  write?(from: Uint8Array, at: number): number;
  truncate?(size: number): void;
  /** Last-modified time (ms since 1970) the file had when it was mounted, for `stat`. */
  modified?(): number;
  /**
   * Throws if the file can no longer be read as it was mounted (a dropped `File` that was changed,
   * moved or deleted since: the browser then refuses to read it). Reads through the backend's
   * cache would not notice, so a source check calls this.
   */
  verify?(): void;
}

const DIR_MODE = 0o40777;
const FILE_MODE = 0o100666;
const READ_ONLY_FILE_MODE = 0o100444;
// Emscripten errno values (wasi numbering).
export const ENOENT = 44;
export const EPERM = 63;
export const EIO = 29;
const EINVAL = 28;

interface FixedNode {
  id: number;
  /** Set by Emscripten's createNode. */
  name: string;
  /** The mount's prefix (`drop`, `opfs`), for the access listener. */
  prefix?: string;
  mode: number;
  node_ops: unknown;
  stream_ops: unknown;
  backend?: FileBackend;
  timestamp: number;
  contents?: Record<string, FixedNode>;
}

interface FixedStream {
  node: FixedNode;
  position: number;
}

/** The parts of Emscripten's FS used here (its published types omit several). */
interface EmscriptenFS {
  createNode(parent: FixedNode | null, name: string, mode: number, dev: number): FixedNode;
  ErrnoError: new (errno: number) => Error;
  mkdir(path: string): unknown;
  rmdir(path: string): void;
  mount(type: unknown, opts: unknown, mountpoint: string): unknown;
  unmount(mountpoint: string): void;
}

/**
 * Told of every read and write through these file systems. The browser worker uses it as its
 * heartbeat (file access is progress, see worker/activity.ts); `prefix` says which kind of mount.
 */
export type FileAccessListener = (file: string, access: "read" | "write", prefix: string) => void;
let accessListener: FileAccessListener | undefined;

/** Sets the listener; returns the previous one (so a wrapper can chain to it). */
export function setFileAccessListener(listener: FileAccessListener | undefined): FileAccessListener | undefined {
  const previous = accessListener;
  accessListener = listener;
  return previous;
}

export function errno(rt: H5Runtime, code: number): Error {
  return new (rt.fs as unknown as EmscriptenFS).ErrnoError(code);
}

function makeFsType(fs: EmscriptenFS) {
  const refuse = (): never => {
    throw new fs.ErrnoError(EPERM);
  };
  const nodeOps = {
    getattr(node: FixedNode) {
      const size = node.backend ? node.backend.size() : 4096;
      const time = new Date(node.backend?.modified?.() ?? node.timestamp); // Emscripten calls getTime() on these
      return {
        dev: 1, ino: node.id, mode: node.mode, nlink: 1, uid: 0, gid: 0, rdev: 0, size,
        atime: time, mtime: time, ctime: time, blksize: 4096, blocks: Math.ceil(size / 4096),
      };
    },
    setattr(node: FixedNode, attr: { size?: number; mode?: number }) {
      // Opening with mode "w" (O_TRUNC) arrives here as size 0; HDF5 also truncates on close.
      if (attr.size !== undefined) {
        if (!node.backend?.truncate) throw new fs.ErrnoError(EPERM);
        node.backend.truncate(attr.size);
      }
      if (attr.mode !== undefined) node.mode = attr.mode;
      node.timestamp = Date.now();
    },
    lookup(): never {
      throw new fs.ErrnoError(ENOENT);
    },
    mknod: refuse,
    rename: refuse,
    unlink: refuse,
    rmdir: refuse,
    symlink: refuse,
    readdir(node: FixedNode) {
      return [".", "..", ...Object.keys(node.contents ?? {})];
    },
  };
  const streamOps = {
    read(stream: FixedStream, buffer: Uint8Array, offset: number, length: number, position: number) {
      accessListener?.(stream.node.name, "read", stream.node.prefix ?? "");
      return stream.node.backend!.read(buffer.subarray(offset, offset + length), position);
    },
    write(stream: FixedStream, buffer: Uint8Array, offset: number, length: number, position: number) {
      const backend = stream.node.backend!;
      if (!backend.write) throw new fs.ErrnoError(EPERM);
      accessListener?.(stream.node.name, "write", stream.node.prefix ?? "");
      return backend.write(buffer.subarray(offset, offset + length), position);
    },
    llseek(stream: FixedStream, offset: number, whence: number) {
      let position = offset;
      if (whence === 1) position += stream.position;
      else if (whence === 2) position += stream.node.backend?.size() ?? 0;
      if (position < 0) throw new fs.ErrnoError(EINVAL);
      return position;
    },
  };
  const createNode = (parent: FixedNode | null, name: string, mode: number, backend?: FileBackend) => {
    const node = fs.createNode(parent, name, mode, 0);
    node.node_ops = nodeOps;
    node.stream_ops = streamOps;
    node.timestamp = Date.now();
    if (backend) node.backend = backend;
    else node.contents = {};
    if (parent?.contents) parent.contents[name] = node;
    return node;
  };
  return {
    mount(mount: { opts: { files: Map<string, FileBackend>; prefix: string } }) {
      const root = createNode(null, "/", DIR_MODE);
      for (const [name, backend] of mount.opts.files) {
        createNode(root, name, backend.write ? FILE_MODE : READ_ONLY_FILE_MODE, backend).prefix = mount.opts.prefix;
      }
      return root;
    },
  };
}

export interface FixedMount {
  mountPoint: string;
  /** Emscripten path of each mounted file, by name. */
  paths: Map<string, string>;
  unmount(): void;
}

let mountCounter = 0;

export function mountFixedFiles(rt: H5Runtime, files: Map<string, FileBackend>, prefix: string): FixedMount {
  const fs = rt.fs as unknown as EmscriptenFS;
  const mountPoint = `/${prefix}-${++mountCounter}`;
  fs.mkdir(mountPoint);
  fs.mount(makeFsType(fs), { files, prefix }, mountPoint);
  return {
    mountPoint,
    paths: new Map([...files.keys()].map((name) => [name, `${mountPoint}/${name}`])),
    unmount() {
      fs.unmount(mountPoint);
      fs.rmdir(mountPoint);
    },
  };
}

/** The backend of a file of a fixed mount, or undefined for any other path (real files in Node, MEMFS). */
export function fixedBackendAt(rt: H5Runtime, path: string): FileBackend | undefined {
  try {
    const fs = rt.fs as unknown as { lookupPath(path: string): { node: FixedNode } };
    return fs.lookupPath(path).node?.backend;
  } catch {
    return undefined;
  }
}
