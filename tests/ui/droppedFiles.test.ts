import { describe, expect, it } from "vitest";
import { droppedFiles } from "../../src/ui/droppedFiles.ts";

/** A folder tree as the browser's File and Directory Entries API presents it (readEntries in batches). */
type Tree = { [name: string]: Tree | string };

function entry(name: string, node: Tree | string, batch = 2): FileSystemEntry {
  if (typeof node === "string") {
    return { name, isFile: true, isDirectory: false, file: (ok: (f: File) => void) => ok(new File([node], name)) } as unknown as FileSystemEntry;
  }
  const children = Object.entries(node).map(([n, child]) => entry(n, child, batch));
  return {
    name,
    isFile: false,
    isDirectory: true,
    createReader() {
      let next = 0;
      return {
        readEntries(ok: (entries: FileSystemEntry[]) => void) {
          ok(children.slice(next, (next += batch)));
        },
      };
    },
  } as unknown as FileSystemEntry;
}

function transfer(top: Tree, looseFiles: File[] = []): DataTransfer {
  const entries = Object.entries(top).map(([name, node]) => entry(name, node));
  return {
    items: entries.map((e) => ({ kind: "file", webkitGetAsEntry: () => e })),
    files: looseFiles,
  } as unknown as DataTransfer;
}

describe("droppedFiles", () => {
  it("gives every file of a dropped folder and its subfolders, skipping hidden files, past one readEntries batch", async () => {
    const data = transfer({
      day1: {
        "a.cmcr": "1",
        "a-.cmtr": "2",
        ".DS_Store": "x",
        sub: { "b.cmcr": "3", "b-.cmtr": "4", "notes.txt": "5" },
      },
      "c.h5": "6",
    });
    const names = (await droppedFiles(data)).map((f) => f.name).sort();
    expect(names).toEqual(["a-.cmtr", "a.cmcr", "b-.cmtr", "b.cmcr", "c.h5", "notes.txt"]);
  });

  it("keeps a dropped hidden file that was dropped on purpose", async () => {
    const names = (await droppedFiles(transfer({ ".session.h5": "1" }))).map((f) => f.name);
    expect(names).toEqual([".session.h5"]);
  });

  it("falls back to the plain file list where the browser gives no entries", async () => {
    const file = new File(["1"], "x.cmcr");
    const data = { items: [{ kind: "file", webkitGetAsEntry: () => null }], files: [file] } as unknown as DataTransfer;
    expect(await droppedFiles(data)).toEqual([file]);
  });
});
