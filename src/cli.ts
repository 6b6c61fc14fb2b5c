// The `counsel` command: serve, ingest, ask. Each builds the same services as the server, from the same
// settings, so the CLI and the service see one knowledge base.
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { SingleBar } from "cli-progress";
import { Command, InvalidArgumentError } from "commander";
import picomatch from "picomatch";
import { loadSettings, SettingsError } from "./config/settings.ts";
import { CounselError } from "./errors.ts";
import type { IngestReport } from "./ingest/pipeline.ts";
import { filesystemSource, listFilesystemSources } from "./ingest/sources/filesystem.ts";
import { serve } from "./serve.ts";
import { createServices } from "./services.ts";

function loadEnv() {
  if (existsSync(".env")) process.loadEnvFile(".env");
  return loadSettings();
}

const program = new Command()
  .name("counsel")
  .description("Answers from your documents, with citations.")
  .showHelpAfterError();

program
  .command("serve")
  .description("start the HTTP service (same as npm start)")
  .action(async () => serve());

program
  .command("ingest")
  .description("add files to the knowledge base: a file, a folder, or a glob")
  .argument("<paths...>", "files, folders or quoted globs")
  .option("--cleanup", "also remove documents under these paths whose files are gone")
  .option("--json", "print the report as JSON")
  .action(async (patterns: string[], options: { cleanup?: boolean; json?: boolean }) => {
    const services = await createServices(loadEnv());
    const files = (await Promise.all(patterns.map((p) => listFilesystemSources(p)))).flat();
    const bar =
      process.stderr.isTTY && !options.json
        ? new SingleBar({ format: "{bar} {value}/{total} {name}" })
        : null;
    bar?.start(files.length, 0, { name: "" });
    const report = await services.pipeline.ingest(sources(patterns), {
      cleanup: options.cleanup ? { scope: cleanupScope(patterns) } : undefined,
      onProgress: (p) => bar?.update(p.done, { name: `${p.status} ${p.name}` }),
    });
    bar?.stop();
    await services.close();
    console.log(options.json ? JSON.stringify(report, null, 2) : formatReport(report));
    if (report.failed.length > 0) process.exitCode = 1;
  });

program
  .command("ask")
  .description("answer a question from the knowledge base")
  .argument("<question>", "the question")
  .option("-c, --chain <name>", "qa chain from chains/", "qa")
  .option("-k <number>", "chunks to retrieve (1-50)", (v) => intBetween(v, 1, 50))
  .option("--json", "print the full reply as JSON")
  .action(async (question: string, options: { chain: string; k?: number; json?: boolean }) => {
    const services = await createServices(loadEnv());
    const result = await services
      .qaChain(options.chain)
      .invoke({ question, k: options.k })
      .finally(services.close);
    if (options.json) {
      console.log(JSON.stringify(result, null, 2));
      return;
    }
    console.log(result.answer);
    if (result.sources.length > 0) console.log("\nSources:");
    result.sources.forEach((s, i) => {
      console.log(
        `  [${i + 1}] ${s.source}${s.page ? `, page ${s.page}` : ""} (score ${s.score.toFixed(3)})`,
      );
    });
  });

async function* sources(patterns: string[]) {
  for (const pattern of patterns) yield* filesystemSource(pattern);
}

/** Which known documents a --cleanup may remove: those whose path falls under one of the given patterns. */
function cleanupScope(patterns: string[]): (docId: string) => boolean {
  const tests = patterns.map((pattern) => {
    const absolute = path.resolve(pattern);
    if (existsSync(absolute) && statSync(absolute).isDirectory()) {
      return (id: string) => id.startsWith(absolute + path.sep);
    }
    if (existsSync(absolute)) return (id: string) => id === absolute;
    return picomatch(absolute.split(path.sep).join("/"));
  });
  return (docId) => path.isAbsolute(docId) && tests.some((test) => test(docId));
}

function formatReport(report: IngestReport): string {
  const lines = [
    `added ${report.added}, updated ${report.updated}, skipped ${report.skipped} (unchanged), deleted ${report.deleted}` +
      ` documents; chunks: +${report.chunks.added} -${report.chunks.deleted}`,
  ];
  for (const f of report.failed) lines.push(`failed: ${f.name}: ${f.error}`);
  return lines.join("\n");
}

function intBetween(value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected ${min}-${max}`);
  return n;
}

program.parseAsync().catch((error: unknown) => {
  if (error instanceof SettingsError || error instanceof CounselError) console.error(error.message);
  else console.error(error);
  process.exit(1);
});
