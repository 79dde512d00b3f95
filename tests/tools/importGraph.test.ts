import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkImports, describeProblems } from "../../tools/importGraph.ts";

const REPO = resolve(import.meta.dirname, "../..");

describe("the repository's import graph", () => {
  it("has no circles, and src/, tools/, bench/ and scripts/ never import tests/", () => {
    // On failure the list names each circle and each import against the layers.
    expect(describeProblems(checkImports(REPO))).toEqual([]);
  });
});

describe("checkImports", () => {
  const root = mkdtempSync(join(tmpdir(), "import-graph-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };

  write("src/a.ts", 'import type { B } from "./b.ts";\nexport const a = 1;\n// import "./c.ts" is only a comment\n');
  write("src/b.ts", 'export { a } from "./a.ts";\nexport type B = number;\n');
  write("src/c.ts", 'export const s = "import(\\"./d.ts\\")"; // a string, not an import\nlet x: import("./d.ts").D;\n');
  write("src/d.ts", 'import { s } from "./c";\nexport type D = string;\n');
  write("src/e.ts", 'import { gen } from "../tools/gen.ts";\nimport "some-package";\n');
  write("src/ui/Tree.svelte", '<script lang="ts">\n  import Tree from "./Tree.svelte";\n</script>\n<Tree />\n');
  write("src/ui/P.svelte", '<script lang="ts">\n  import Q from "./Q.svelte";\n</script>\n');
  write("src/ui/Q.svelte", '<script module>\n  import type P from "./P.svelte";\n</script>\n<p>import "./R.svelte" in markup</p>\n');
  write("tools/gen.ts", 'import { a } from "../src/a.ts";\nexport const gen = a;\n');
  write("bench/run.ts", 'import { gen } from "../tools/gen.ts";\nimport { helper } from "../tests/fixtures/helper.ts";\nimport cfg from "../vite.config.ts";\n');
  write("scripts/make.ts", '// reads tests/ for nothing: a comment\nconst dir = join(root, "tests/core/fixtures/stimulus");\nconst up = `../tests/x`;\n');
  write("tests/fixtures/helper.ts", "export const helper = 1;\n");
  write("vite.config.ts", "export default {};\n");

  const problems = checkImports(root);

  it("finds circles through type imports, export-from, import() types, extensionless specifiers and Svelte scripts", () => {
    expect(problems.cycles.map((c) => c.path)).toEqual([
      ["src/a.ts", "src/b.ts", "src/a.ts"],
      ["src/c.ts", "src/d.ts", "src/c.ts"],
      ["src/ui/P.svelte", "src/ui/Q.svelte", "src/ui/P.svelte"],
    ]);
  });

  it("takes a component that imports itself for recursion, not a circle", () => {
    expect(problems.cycles.flatMap((c) => c.files)).not.toContain("src/ui/Tree.svelte");
  });

  it("names every import against the layers, and allows the root's config files to bench/", () => {
    expect(problems.forbidden).toEqual([
      { from: "src/e.ts", to: "tools/gen.ts" },
      { from: "bench/run.ts", to: "tests/fixtures/helper.ts" },
    ]);
  });

  it("names string literals that point into tests/, not comments", () => {
    expect(problems.testPaths).toEqual([
      { file: "scripts/make.ts", literal: "tests/core/fixtures/stimulus" },
      { file: "scripts/make.ts", literal: "../tests/x" },
    ]);
  });

  it("says each problem in one line", () => {
    const lines = describeProblems(problems);
    expect(lines).toHaveLength(3 + 2 + 2);
    expect(lines[0]).toBe("import circle: src/a.ts → src/b.ts → src/a.ts");
    expect(lines).toContain("bench/run.ts imports tests/fixtures/helper.ts: bench/ may import only src/, tools/, bench/, the root's config files");
  });
});
