// Reads Counsel's source (src/**/*.ts, tests excluded) for the AWS calls it can make: every `new XxxCommand(`,
// every value imported from @langchain/aws, and SDK helpers that send commands of their own (paginators,
// waiters, lib-storage's Upload), so that the policy test can hold the IAM table to what the code does.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

export interface SourceCalls {
  /** Command class name → files (relative to src/) that construct it. */
  commands: Map<string, string[]>;
  /** Values imported from @langchain/aws → files. */
  langchainAws: Map<string, string[]>;
  /** Paginators, waiters and Upload: each sends commands this scan cannot see → files. */
  helpers: Map<string, string[]>;
}

const COMMAND = /\bnew\s+([A-Z][A-Za-z0-9]*Command)\s*\(/g;
const NAMED_IMPORT = /import\s+(type\s+)?\{([^}]*)\}\s*from\s*["']([^"']+)["']/g;
const DYNAMIC_IMPORT = /\{([^}]*)\}\s*=\s*await\s+import\(\s*["']([^"']+)["']\s*\)/g;
const HELPER = /^(paginate[A-Z]\w*|waitUntil[A-Z]\w*|waitFor[A-Z]\w*|Upload)$/;

/** The TypeScript files under `dir` that are not tests. */
export function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".test.ts") && !file.endsWith(".d.ts"))
    .map((file) => path.join(dir, file))
    .sort();
}

/** The value names an import statement brings in (`type` ones left out). */
function importedValues(specifiers: string): string[] {
  return specifiers
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s && !s.startsWith("type "))
    .map((s) => s.split(/\s+as\s+/)[0].trim());
}

function add(map: Map<string, string[]>, name: string, file: string): void {
  const files = map.get(name) ?? [];
  if (!files.includes(file)) files.push(file);
  map.set(name, files);
}

export function scanSource(srcDir: string): SourceCalls {
  const found: SourceCalls = { commands: new Map(), langchainAws: new Map(), helpers: new Map() };
  for (const file of sourceFiles(srcDir)) {
    const text = readFileSync(file, "utf8");
    const name = path.relative(srcDir, file);
    for (const match of text.matchAll(COMMAND)) add(found.commands, match[1], name);
    const imports = [
      // `import type { … }` brings in no code
      ...[...text.matchAll(NAMED_IMPORT)].filter((m) => !m[1]).map((m) => ({ names: m[2], from: m[3] })),
      ...[...text.matchAll(DYNAMIC_IMPORT)].map((m) => ({ names: m[1].replaceAll(":", " as "), from: m[2] })),
    ];
    for (const { names, from } of imports) {
      for (const value of importedValues(names)) {
        if (from === "@langchain/aws") add(found.langchainAws, value, name);
        else if (from.startsWith("@aws-sdk/") && HELPER.test(value)) add(found.helpers, value, name);
      }
    }
  }
  return found;
}

/** The commands a module of @langchain/aws's dist constructs. */
export function commandsIn(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...new Set([...text.matchAll(COMMAND)].map((m) => m[1]))].sort();
}
