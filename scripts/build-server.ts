// Compiles src/ to dist/ (JavaScript, one module per source file, the layout `npm run build` gives) where a
// module is missing or older than its source. `npm start` runs it, then the service from dist/: under tsx a second
// V8 isolate (its loader thread) transpiles every module at run time and holds on to it, which was most of the idle
// service's memory (442 MiB resident with the example documents indexed, 148 MiB compiled). Types are not checked
// here, `npm run typecheck` does that: each file is transpiled on its own (isolatedModules), as tsx does, by the
// TypeScript compiler, which also rewrites the `.ts` of relative imports (esbuild's transform leaves them).
//   tsx scripts/build-server.ts [--force]   (`npm start` runs it through scripts/build-start.ts)
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type ts from "typescript";

const ROOT = path.resolve(import.meta.dirname, "..");

export interface BuildResult {
  /** Modules transpiled (missing or older than their source). */
  compiled: number;
  /** Modules left as they were. */
  unchanged: number;
  /** Outputs removed because their source is gone. */
  removed: number;
}

/** The compiler, loaded only when a module needs compiling (about a second: most starts compile nothing). */
let compiler: Promise<{ ts: typeof ts; options: ts.CompilerOptions }> | undefined;
function loadCompiler() {
  compiler ??= import("typescript").then(({ default: ts }) => ({
    ts,
    options: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      isolatedModules: true,
      verbatimModuleSyntax: true,
      rewriteRelativeImportExtensions: true,
    },
  }));
  return compiler;
}

/** Builds `out` from the TypeScript modules under `src` (tests excluded). */
export async function buildServer(
  src = path.join(ROOT, "src"),
  out = path.join(ROOT, "dist"),
  options: { force?: boolean; log?: (line: string) => void } = {},
): Promise<BuildResult> {
  const started = performance.now();
  const result: BuildResult = { compiled: 0, unchanged: 0, removed: 0 };
  const sources = new Set<string>();
  for (const file of await modules(src)) {
    const relative = path.relative(src, file);
    sources.add(relative.replace(/\.ts$/, ".js"));
    const target = path.join(out, relative.replace(/\.ts$/, ".js"));
    const [source, built] = await Promise.all([stat(file), stat(target).catch(() => undefined)]);
    if (!options.force && built && built.mtimeMs >= source.mtimeMs) {
      result.unchanged++;
      continue;
    }
    const { ts, options: compilerOptions } = await loadCompiler();
    const { outputText } = ts.transpileModule(await readFile(file, "utf8"), {
      compilerOptions,
      fileName: file,
    });
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, outputText);
    // A source map `npm run build` left would describe other code.
    await rm(`${target}.map`, { force: true });
    result.compiled++;
  }
  for (const file of await outputs(out)) {
    if (sources.has(path.relative(out, file))) continue;
    await rm(file);
    await rm(`${file}.map`, { force: true });
    result.removed++;
  }
  if (result.compiled + result.removed > 0) {
    (options.log ?? console.log)(
      `service: ${result.compiled} modules compiled to ${path.relative(ROOT, out) || out}/, ${result.unchanged} ` +
        `unchanged, ${result.removed} removed (${Math.round(performance.now() - started)} ms)`,
    );
  }
  return result;
}

/** The .ts files under `dir`, tests and declarations left out. */
async function modules(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const name = entry.name;
    if (!entry.isFile() || !name.endsWith(".ts") || name.endsWith(".test.ts") || name.endsWith(".d.ts"))
      continue;
    found.push(path.join(entry.parentPath, name));
  }
  return found;
}

/** The .js files under `dir` (none when it does not exist yet). */
async function outputs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(".js"))
    .map((e) => path.join(e.parentPath, e.name));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await buildServer(undefined, undefined, { force: process.argv.includes("--force") });
}
