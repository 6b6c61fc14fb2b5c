import { describe, expect, it } from "vitest";
import { checkTypeScript } from "../../src/agent/code-check.ts";

const ts = { language: "typescript" } as const;
const js = { language: "javascript" } as const;

describe("checkTypeScript", () => {
  it("finds nothing wrong in valid strict TypeScript that uses the standard library and web APIs", async () => {
    const code = [
      "interface User { id: number; name: string }",
      "export async function loadUsers(url: string, signal?: AbortSignal): Promise<User[]> {",
      "  const response = await fetch(url, { signal });",
      '  if (!response.ok) throw new Error("HTTP " + response.status);',
      "  const users = (await response.json()) as User[];",
      "  return users.toSorted((a, b) => a.name.localeCompare(b.name));",
      "}",
      "const byId = new Map<number, User>();",
      'console.log(byId.size, new URL("https://example.com").host, [1, 2].findLast((n) => n > 1));',
    ].join("\n");
    expect(await checkTypeScript(code, ts)).toEqual([]);
  });

  it("reports a missing closing brace at the end of the code, with 1-based line and column", async () => {
    const code = ["function add(a: number, b: number): number {", "  return a + b;", ""].join("\n");
    expect(await checkTypeScript(code, ts)).toEqual([
      { line: 3, column: 1, message: "'}' expected.", code: 1005 },
    ]);
  });

  it("reports a syntax error where it is, and only the syntax error", async () => {
    const code = ["const ok = 1;", "const broken = (ok + ;", "const n: number = 'x';"].join("\n");
    const found = await checkTypeScript(code, ts);
    expect(found).toEqual([{ line: 2, column: 22, message: "Expression expected.", code: 1109 }]);
  });

  it("reports a type error", async () => {
    expect(await checkTypeScript('const n: number = "x";', ts)).toEqual([
      { line: 1, column: 7, message: "Type 'string' is not assignable to type 'number'.", code: 2322 },
    ]);
  });

  it("checks in strict mode: implicit any and possibly undefined values are errors", async () => {
    const found = await checkTypeScript(
      "export function first(items) { return items[0]; }\nconst s: string | undefined = undefined;\ns.length;",
      ts,
    );
    expect(found.map((d) => [d.line, d.code])).toEqual([
      [1, 7006],
      [3, 18048],
    ]);
  });

  it("does not count imports of packages or files it cannot see, nor Node's globals, as errors", async () => {
    const code = [
      'import { thing } from "some-package-nobody-published";',
      'import type { Config } from "./config.ts";',
      'import { readFile } from "node:fs/promises";',
      "const config: Config = thing();",
      'console.log(config, await readFile("x", "utf8"), process.env.HOME);',
    ].join("\n");
    expect(await checkTypeScript(code, ts)).toEqual([]);
  });

  it("treats a snippet without imports as a module, so its names do not clash with DOM globals", async () => {
    expect(
      await checkTypeScript('const name = "Ada";\nlet status = 200;\nconsole.log(name, status);', ts),
    ).toEqual([]);
  });

  it("checks JavaScript for syntax errors", async () => {
    const found = await checkTypeScript("function f() {\n  return [1, 2;\n}", js);
    expect(found[0]).toEqual({ line: 2, column: 15, message: "',' expected.", code: 1005 });
  });

  it("reports TypeScript syntax in JavaScript", async () => {
    expect(await checkTypeScript("const n: number = 1;", js)).toEqual([
      { line: 1, column: 10, message: "Type annotations can only be used in TypeScript files.", code: 8010 },
    ]);
  });

  it("reports the semantic errors TypeScript reports in any JavaScript file, such as a redeclared variable", async () => {
    const found = await checkTypeScript("let total = 0;\nlet total = 1;", js);
    expect(found.map((d) => [d.line, d.code, d.message])).toEqual([
      [1, 2451, "Cannot redeclare block-scoped variable 'total'."],
      [2, 2451, "Cannot redeclare block-scoped variable 'total'."],
    ]);
  });

  it("does not type-check untyped JavaScript that runs fine", async () => {
    const code = [
      'const field = document.getElementById("name");',
      'field.value = "Ada";',
      "function add(a, b) { return a + b; }",
      'const fs = require("fs");',
      "module.exports = { add, fs };",
    ].join("\n");
    expect(await checkTypeScript(code, js)).toEqual([]);
  });

  it("type-checks JavaScript that asks for it with // @ts-check", async () => {
    const found = await checkTypeScript("// @ts-check\n/** @type {number} */\nconst n = 'x';", js);
    expect(found.map((d) => [d.line, d.code])).toEqual([[3, 2322]]);
  });

  it("gives the same answer on repeated checks (the cached libs carry no state between programs)", async () => {
    const code = 'const n: number = "x";\nexport {};';
    const first = await checkTypeScript(code, ts);
    await checkTypeScript("const ok: string = 'fine';", ts);
    await checkTypeScript("let a = 1; let a = 2;", js);
    expect(await checkTypeScript(code, ts)).toEqual(first);
    expect(first).toHaveLength(1);
  });
});
