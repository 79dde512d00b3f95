/**
 * The import graph of the repository's own code, and the two rules it must keep:
 *
 * - **No circles.** A circle, even through `import type`, means two files are one concept split in two
 *   or a shared type lives in the wrong file; move the shared piece to a small file of its own.
 * - **Layers point one way.** `src/` (the product) imports only `src/`; `tools/` (generators and example
 *   inputs shared by tests, benches and scripts) imports `src/` and `tools/`; `bench/` and `scripts/`
 *   import `src/`, `tools/`, their own folder and the root's config files (the benches launch Chromium
 *   as `playwright.config.ts` does), never `tests/`. Paths to data count too: a string literal in
 *   bench/, scripts/ or tools/ that names a path under `tests/` is a dependency on `tests/`.
 *
 * A Svelte component that imports itself is recursion (how Svelte 5 renders a tree), not a circle.
 *
 * Specifiers come from TypeScript's `preProcessFile` (imports, `export … from`, `import type`, `import()`
 * types and calls; never comments or strings), `.svelte` files from their `<script>` blocks. Only
 * relative specifiers are followed: packages are outside the graph. `tests/tools/importGraph.test.ts` runs
 * this in the unit suite; `npx tsx tools/importGraph.ts` prints the same report.
 */
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";

/** The folders walked, relative to the repository root. */
export const WALKED = ["src", "tools", "bench", "scripts"] as const;

/** A file directly in the repository root (a config file), as a top folder. */
const ROOT = "(root)";

/** For each walked top folder, the top folders its files may import. */
const ALLOWED: Record<string, readonly string[]> = {
  src: ["src"],
  tools: ["src", "tools"],
  bench: ["src", "tools", "bench", ROOT],
  scripts: ["src", "tools", "scripts", ROOT],
};

function topOf(file: string): string {
  return file.includes("/") ? file.split("/")[0] : ROOT;
}

function layerName(top: string): string {
  return top === ROOT ? "the root's config files" : `${top}/`;
}

const SOURCE = /\.(ts|mts|js|mjs|svelte)$/;

export interface ImportEdge {
  from: string;
  to: string;
}

export interface ImportGraph {
  /** Repository-relative file (forward slashes) → the repository-relative files it imports. */
  edges: Map<string, string[]>;
  /** String literals naming a path under tests/, by file. */
  testPaths: { file: string; literal: string }[];
}

export interface ImportCycle {
  /** One circle, as a path that starts and ends with the same file. */
  path: string[];
  /** Every file on some circle with these (a strongly connected set): fixing `path` may reveal another. */
  files: string[];
}

export interface ImportProblems {
  cycles: ImportCycle[];
  /** Imports that cross a layer the wrong way (e.g. bench/ → tests/). */
  forbidden: ImportEdge[];
  /** String literals in bench/, scripts/ or tools/ that name a path under tests/. */
  testPaths: { file: string; literal: string }[];
}

function toPosix(path: string): string {
  return path.split(sep).join("/");
}

function listSources(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listSources(path));
    else if (SOURCE.test(name) && !name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

/** The code TypeScript should scan: the whole file, or a Svelte component's script blocks. */
function codeOf(path: string): string {
  const text = readFileSync(path, "utf8");
  if (!path.endsWith(".svelte")) return text;
  return [...text.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]).join("\n");
}

/** The file a relative specifier names (Vite's `?worker`/`?url` suffix dropped), or undefined. */
function resolveSpecifier(fromFile: string, specifier: string): string | undefined {
  const bare = specifier.replace(/[?#].*$/, "");
  const base = resolve(dirname(fromFile), bare);
  const candidates = [base, `${base}.ts`, `${base}.js`, join(base, "index.ts")];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

/** A string that is an import's specifier (the import graph judges those). */
function isSpecifier(node: ts.Node): boolean {
  const parent = node.parent;
  return (
    ts.isImportDeclaration(parent) ||
    ts.isExportDeclaration(parent) ||
    ts.isExternalModuleReference(parent) ||
    ts.isLiteralTypeNode(parent) ||
    (ts.isCallExpression(parent) && parent.expression.kind === ts.SyntaxKind.ImportKeyword)
  );
}

/** String literals (not comments, not import specifiers) that name a path under tests/: `"tests/x"`, `"../tests/x"`, `"a/tests/x"`. */
function stringsNamingTests(path: string, code: string): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    const isString = ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateLiteralToken(node);
    if (isString && /(^|\/)tests\//.test(node.text) && !isSpecifier(node)) found.push(node.text);
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(path, code, ts.ScriptTarget.Latest, true));
  return found;
}

/** Reads every source file under the walked folders of `root` and the relative imports between them. */
export function readImportGraph(root: string): ImportGraph {
  const edges = new Map<string, string[]>();
  const testPaths: ImportGraph["testPaths"] = [];
  for (const top of WALKED) {
    for (const file of listSources(join(root, top))) {
      const code = codeOf(file);
      const from = toPosix(relative(root, file));
      const targets = new Set<string>();
      for (const { fileName } of ts.preProcessFile(code, true, true).importedFiles) {
        if (!fileName.startsWith(".")) continue;
        // A file that does not exist still says where it points (an import into tests/ that moved away).
        const target = resolveSpecifier(file, fileName) ?? resolve(dirname(file), fileName.replace(/[?#].*$/, ""));
        targets.add(toPosix(relative(root, target)));
      }
      edges.set(from, [...targets].sort());
      // Parsing is the slow part: only files that mention tests/ at all are parsed for string literals.
      if (top !== "src" && /tests\//.test(code)) for (const literal of stringsNamingTests(file, code)) testPaths.push({ file: from, literal });
    }
  }
  return { edges, testPaths };
}

/** Strongly connected components (Tarjan), then one concrete circle through each that has one. */
export function findCycles(edges: Map<string, string[]>): ImportCycle[] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      components.push(component);
    }
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) connect(v);

  const cycles: ImportCycle[] = [];
  for (const component of components) {
    const members = new Set(component);
    const start = [...component].sort()[0];
    if (component.length === 1 && (!(edges.get(start) ?? []).includes(start) || start.endsWith(".svelte"))) continue;
    // Shortest way from start back to start inside the component (breadth first).
    const previous = new Map<string, string>();
    const queue = [start];
    let closing: string | undefined;
    while (queue.length > 0 && closing === undefined) {
      const v = queue.shift()!;
      for (const w of edges.get(v) ?? []) {
        if (!members.has(w)) continue;
        if (w === start) {
          closing = v;
          break;
        }
        if (!previous.has(w)) {
          previous.set(w, v);
          queue.push(w);
        }
      }
    }
    const path = [start];
    for (let v = closing!; v !== start; v = previous.get(v)!) path.splice(1, 0, v);
    path.push(start);
    cycles.push({ path, files: [...component].sort() });
  }
  return cycles.sort((a, b) => a.path[0].localeCompare(b.path[0]));
}

/** Imports from a walked folder into a top folder it may not use. */
export function findForbidden(edges: Map<string, string[]>): ImportEdge[] {
  const forbidden: ImportEdge[] = [];
  for (const [from, targets] of edges) {
    const allowed = ALLOWED[topOf(from)];
    for (const to of targets) if (allowed && !allowed.includes(topOf(to))) forbidden.push({ from, to });
  }
  return forbidden;
}

export function checkImports(root: string): ImportProblems {
  const { edges, testPaths } = readImportGraph(root);
  return { cycles: findCycles(edges), forbidden: findForbidden(edges), testPaths };
}

/** One line per problem, for a person. */
export function describeProblems(problems: ImportProblems): string[] {
  return [
    ...problems.cycles.map(
      (c) => `import circle: ${c.path.join(" → ")}${c.files.length > c.path.length - 1 ? ` (circles join ${c.files.join(", ")})` : ""}`,
    ),
    ...problems.forbidden.map((e) => `${e.from} imports ${e.to}: ${layerName(topOf(e.from))} may import only ${ALLOWED[topOf(e.from)].map(layerName).join(", ")}`),
    ...problems.testPaths.map((p) => `${p.file} names "${p.literal}": bench/, scripts/ and tools/ may not depend on tests/`),
  ];
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const lines = describeProblems(checkImports(resolve(import.meta.dirname, "..")));
  for (const line of lines) console.error(line);
  if (lines.length > 0) process.exit(1);
  console.log("import graph: no circles, no imports against the layers");
}
