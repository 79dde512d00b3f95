/**
 * Every session file (save, checkpoint, checkpoint delta, immediate mode) is written to a temporary
 * file beside its target and renamed over it only when complete: a failed write leaves the previous
 * file and the session exactly as they were.
 */
import type { PipelineSession } from "../core/session.ts";
import { fileExists, type H5Runtime } from "./h5.ts";
import { whenReplacing } from "./sessionFile.ts";

/**
 * The session may be reading the very file it replaces (opened from it, arrays left in it): the
 * write reads the old file, and once renamed over it those arrays read from the new one.
 */
export function writeAtomically(rt: H5Runtime, session: PipelineSession, path: string, write: (tmp: string) => void): void {
  const tmp = `${path}.partial-${Math.random().toString(36).slice(2, 10)}`;
  const follow = whenReplacing(rt, session, path);
  try {
    write(tmp);
    rt.fs.rename(tmp, path);
    follow();
  } catch (error) {
    if (fileExists(rt, tmp)) rt.fs.unlink(tmp);
    throw error;
  }
}
