import { describe, expect, it } from "vitest";
import { linkSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { PathAliasError, findAlias, refuseAliases, sameFile } from "../../src/cli/pathIdentity.ts";

describe("pathIdentity", () => {
  const dir = mkdtempSync(join(tmpdir(), "hdmea-pathid-"));
  const file = join(dir, "a.h5");
  writeFileSync(file, "x");
  writeFileSync(join(dir, "b.h5"), "x");
  mkdirSync(join(dir, "sub"));
  symlinkSync(dir, join(dir, "loop")); // a folder symlink: loop/a.h5 is a.h5
  symlinkSync(file, join(dir, "link.h5"));
  linkSync(file, join(dir, "hard.h5"));
  symlinkSync(join(dir, "missing.h5"), join(dir, "dangling.h5"));

  it("knows existing files by device and inode, whatever the path", () => {
    expect(sameFile(file, join(dir, "sub", "..", "a.h5"))).toBe(true);
    expect(sameFile(file, relative(process.cwd(), file))).toBe(true);
    expect(sameFile(file, join(dir, "link.h5"))).toBe(true);
    expect(sameFile(file, join(dir, "hard.h5"))).toBe(true);
    expect(sameFile(file, join(dir, "loop", "a.h5"))).toBe(true);
    expect(sameFile(file, join(dir, "b.h5"))).toBe(false); // same bytes, another file
  });

  it("knows files that do not exist yet by their folder's real path and their name", () => {
    expect(sameFile(join(dir, "new.h5"), join(dir, "loop", "new.h5"))).toBe(true);
    expect(sameFile(join(dir, "no", "such", "new.h5"), join(dir, "no", "such", "..", "such", "new.h5"))).toBe(true);
    // A dangling symlink is replaced by a rename, not followed: it is its own path.
    expect(sameFile(join(dir, "dangling.h5"), join(dir, "missing.h5"))).toBe(false);
  });

  it("refuses a pair where one is written; two reads of one file are fine", () => {
    const read = (path: string) => ({ role: "--noise-movie", path, written: false });
    expect(findAlias([read(file), read(join(dir, "link.h5"))])).toBeUndefined();
    expect(() => refuseAliases([read(file), { role: "--out", path: join(dir, "hard.h5"), written: true }])).toThrow(
      new PathAliasError(`--noise-movie ${file} and --out ${join(dir, "hard.h5")} are the same file; nothing was read or written`),
    );
  });
});
