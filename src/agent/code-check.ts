// Checks generated TypeScript or JavaScript with the TypeScript compiler API, in memory and without running it:
// each check builds a program over one virtual file; TypeScript's own lib .d.ts files are parsed once per process.
// The compiler is imported by the first check (or preloadTypeScriptLibs), never by a process that checks nothing.
import { readFileSync } from "node:fs";
import path from "node:path";
import type ts from "typescript";
import type { CodeDiagnostic } from "../contracts/turn-events.ts";

/** A finding, as the turn's events carry it (contracts/turn-events.ts). */
export type Diagnostic = CodeDiagnostic;

export interface CheckOptions {
  language: "typescript" | "javascript";
}

/**
 * Diagnostics about the snippet's surroundings rather than its code. A snippet cannot bring its packages, @types
 * or neighbouring files along, so the model could only "fix" these by deleting imports that are right:
 * 2307 and 2792 "Cannot find module"; 2688 "Cannot find type definition file" and 6053 "File not found" (triple-
 * slash references); 2580-2582, 2591-2593, 2867 and 2868 "Cannot find name 'process' ('describe', '$', 'Bun').
 * Do you need to install type definitions for node (a test runner, jQuery, Bun)?". What such names or imports
 * would have provided becomes `any`, so the code using it is still checked for syntax and everything else.
 */
export const IGNORED_CODES: ReadonlySet<number> = new Set([
  2307, 2792, 2688, 6053, 2580, 2581, 2582, 2591, 2592, 2593, 2867, 2868,
]);

type TypeScript = typeof ts;

/** The compiler and what depends on it: its options for each language and the folder of its lib files. */
interface Compiler {
  ts: TypeScript;
  tsOptions: ts.CompilerOptions;
  jsOptions: ts.CompilerOptions;
  libDir: string;
}

const baseOptions = (ts: TypeScript): ts.CompilerOptions => ({
  strict: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  // Every snippet is a module, also one without import or export. As a script its top-level `const name` or
  // `let status` would collide with the DOM's globals of the same name, and top-level await would be an error.
  moduleDetection: ts.ModuleDetectionKind.Force,
  // ES2023, not ES2022: Node 20 (and every current browser) has findLast, toSorted and the like, and flagging
  // them would make the repair round rewrite correct code. Plus the DOM: generated snippets call fetch, console,
  // URL, setTimeout, AbortController, TextEncoder…, which Node also provides as globals; a hand-written minimal
  // `console` would turn every other Web API into a false "Cannot find name". The DOM costs about 0.5 s and 27 MB
  // once per process (parsing lib.dom.d.ts), nothing measurable per check, and lets DOM-only globals
  // (`document`) pass in code meant for Node.
  lib: ["lib.es2023.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts"],
  // No @types lookups: nothing beyond the libs above may leak in from whatever happens to be installed.
  types: [],
  // The libs are TypeScript's own files, never @typescript/lib-* replacement packages: this also spares every
  // check a package lookup per `/// <reference lib>` (about a sixth of a warm check).
  libReplacement: false,
  noEmit: true,
  // `import { x } from "./x.ts"` is valid for Node's type stripping, Deno and bundlers.
  allowImportingTsExtensions: true,
});

// checkJs is left undefined on purpose (not false): then TypeScript treats the file as "plain JS" and reports
// its syntax errors plus the few semantic errors it reports in any JS file (redeclared variables, duplicate
// default exports, `await` outside async functions…) and TypeScript syntax in a .js file. Full checkJs would
// flag JS that runs fine, such as `document.getElementById("a").value = "x"` (possibly null; no `value` on
// HTMLElement) or `function add(a, b)` (implicit any under strict), and the repair round would rewrite correct
// code. A `// @ts-check` comment in the snippet still opts it into full checking.
const jsOptions = (base: ts.CompilerOptions): ts.CompilerOptions => ({ ...base, allowJs: true });

const ROOT = "/snippet";

let loading: Promise<Compiler> | undefined;

function loadCompiler(): Promise<Compiler> {
  loading ??= import("typescript").then(({ default: ts }) => {
    const base = baseOptions(ts);
    return {
      ts,
      tsOptions: base,
      jsOptions: jsOptions(base),
      libDir: path.dirname(ts.getDefaultLibFilePath(base)),
    };
  });
  return loading;
}

// Parsed (and, after the first program, bound) lib files shared by every check: TypeScript's language service
// shares SourceFiles across programs the same way. Their parse options never change, as the compiler options
// above are fixed and do not differ between TypeScript and JavaScript in what affects a .d.ts file.
const libFiles = new Map<string, ts.SourceFile>();

function libSourceFile(
  { ts, libDir }: Compiler,
  fileName: string,
  languageVersion: ts.ScriptTarget | ts.CreateSourceFileOptions,
): ts.SourceFile | undefined {
  const cached = libFiles.get(fileName);
  if (cached) return cached;
  if (!isLibFile(libDir, fileName)) return undefined;
  let text: string;
  try {
    text = readFileSync(fileName, "utf8");
  } catch {
    return undefined; // the compiler reports a missing lib itself, as a global diagnostic
  }
  const file = ts.createSourceFile(fileName, text, languageVersion);
  libFiles.set(fileName, file);
  return file;
}

function isLibFile(libDir: string, fileName: string): boolean {
  return path.dirname(fileName) === libDir && path.basename(fileName).startsWith("lib.");
}

function createHost(compiler: Compiler, fileName: string, code: string): ts.CompilerHost {
  const { ts, libDir } = compiler;
  const isLib = (name: string) => isLibFile(libDir, name);
  return {
    getSourceFile: (name, languageVersion) =>
      name === fileName
        ? ts.createSourceFile(name, code, languageVersion)
        : libSourceFile(compiler, name, languageVersion),
    // Module resolution sees only the snippet and the libs, so an import resolves to nothing (2307, ignored)
    // whatever is installed next to Counsel.
    fileExists: (name) => name === fileName || (isLib(name) && ts.sys.fileExists(name)),
    readFile: (name) => (name === fileName ? code : isLib(name) ? ts.sys.readFile(name) : undefined),
    directoryExists: (name) => name === ROOT || name === "/" || name === libDir,
    getDirectories: () => [],
    getDefaultLibFileName: (options) => ts.getDefaultLibFilePath(options),
    getDefaultLibLocation: () => libDir,
    writeFile: () => {
      throw new Error("the code checker never writes files");
    },
    getCurrentDirectory: () => ROOT,
    getCanonicalFileName: (name) => name,
    useCaseSensitiveFileNames: () => true,
    getNewLine: () => "\n",
    // JSDoc in the libs is documentation, not types: skipping it makes the one-off parse of lib.dom faster.
    // JavaScript files still get their JSDoc parsed (this mode only affects TypeScript files).
    jsDocParsingMode: ts.JSDocParsingMode.ParseForTypeErrors,
  };
}

/**
 * Type-checks `code` as one ES module (strict, ES2023 + DOM, no packages) and returns its problems in source
 * order, without the {@link IGNORED_CODES}. Syntax errors come alone, as with tsc: type errors in a file that
 * does not parse are mostly echoes of the syntax error. CPU-bound once the compiler is loaded: the first call in
 * a process imports it and parses the libs (about 0.6 s, see {@link preloadTypeScriptLibs}); later calls take
 * about 15 ms.
 */
export async function checkTypeScript(code: string, options: CheckOptions): Promise<Diagnostic[]> {
  const loaded = await loadCompiler();
  const { ts } = loaded;
  const javascript = options.language === "javascript";
  const fileName = `${ROOT}/snippet.${javascript ? "js" : "ts"}`;
  const program = ts.createProgram({
    rootNames: [fileName],
    options: javascript ? loaded.jsOptions : loaded.tsOptions,
    host: createHost(loaded, fileName, code),
  });
  // A problem here is ours (bad options, a missing lib), not the snippet's: fail loudly instead of blaming it.
  const setup = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
  if (setup.length > 0) {
    throw new Error(
      `the TypeScript checker is misconfigured: ${setup.map((d) => messageText(ts, d)).join("; ")}`,
    );
  }
  const file = program.getSourceFile(fileName);
  if (!file) throw new Error("the TypeScript checker lost its source file");
  let found: readonly ts.Diagnostic[] = program.getSyntacticDiagnostics(file);
  if (found.length === 0) found = program.getSemanticDiagnostics(file);
  return found
    .filter((diagnostic) => !IGNORED_CODES.has(diagnostic.code))
    .sort((a, b) => (a.start ?? 0) - (b.start ?? 0))
    .map((diagnostic) => {
      const { line, character } = file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
      return {
        line: line + 1,
        column: character + 1,
        message: messageText(ts, diagnostic),
        code: diagnostic.code,
      };
    });
}

/**
 * Imports the compiler and parses and binds the lib files now, so that the first code check in a request does not
 * stall the event loop for the second this takes. For the composition root to call once the service is up;
 * optional.
 */
export async function preloadTypeScriptLibs(): Promise<void> {
  await checkTypeScript("export {};", { language: "typescript" });
}

function messageText(ts: TypeScript, diagnostic: ts.Diagnostic): string {
  return ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
}
