// The house rules that code review alone lets drift (issue 18): no source file under server/, app/ or
// bin/ over 500 lines, and no class with more than 30 methods. A room that outgrows them is split by
// concern, as the daemon, the Incus engine and the services were.
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "..");
const MAX_LINES = 500;
const MAX_METHODS = 30;

function sources(dir: string): string[] {
  return fs
    .readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|tsx)$/.test(e.name) && !e.name.endsWith(".d.ts"))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)));
}

const files = ["server", "app", "bin"].flatMap(sources);

/** Each class in a file with the number of its methods and accessors (the constructor is not one). */
function classes(file: string): { name: string; methods: number }[] {
  const src = ts.createSourceFile(file, fs.readFileSync(path.join(ROOT, file), "utf8"), ts.ScriptTarget.Latest, true);
  const found: { name: string; methods: number }[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isClassLike(node)) {
      const methods = node.members.filter((m) => ts.isMethodDeclaration(m) || ts.isGetAccessor(m) || ts.isSetAccessor(m)).length;
      found.push({ name: `${file}:${node.name?.text ?? "(anonymous)"}`, methods });
    }
    ts.forEachChild(node, visit);
  };
  visit(src);
  return found;
}

describe("the house", () => {
  it("reads the tree (a control: the rules below see real files)", () => {
    expect(files).toContain("server/core/core.ts");
    expect(classes("server/engine/fake/engine.ts").find((c) => c.name.endsWith(":FakeEngine"))?.methods).toBeGreaterThan(20);
  });

  it(`has no source file over ${MAX_LINES} lines`, () => {
    const long = files.map((f) => ({ f, lines: fs.readFileSync(path.join(ROOT, f), "utf8").split("\n").length - 1 })).filter((x) => x.lines > MAX_LINES);
    expect(long).toEqual([]);
  });

  it(`has no class over ${MAX_METHODS} methods`, () => {
    expect(files.flatMap(classes).filter((c) => c.methods > MAX_METHODS)).toEqual([]);
  });
});
