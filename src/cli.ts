// The `counsel` command: serve, ingest, ask, extract, eval, documents, keys, mcp. Each builds the same services
// as the server, from the same settings, so the CLI and the service see one knowledge base. Every action imports
// what it needs when it runs, so that `--help` and a mistyped argument answer without loading the service.

import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { BaseCache } from "@langchain/core/caches";
import { Command, InvalidArgumentError } from "commander";
import { documentsCommand } from "./commands/documents.ts";
import { evalCommand } from "./commands/eval.ts";
import { keysCommand } from "./commands/keys.ts";
import { mcpCommand } from "./commands/mcp.ts";
import { workerCommand } from "./commands/worker.ts";
import type { Settings } from "./config/settings.ts";
import { CounselError } from "./errors.ts";
import type { IngestReport } from "./ingest/pipeline.ts";
import type { Models } from "./services/models.ts";
import type { Tenant } from "./tenants/tenant.ts";
import { DEFAULT_TENANT, isTenantId, TENANT_ID_RULE } from "./tenants/tenant-id.ts";

async function loadEnv(): Promise<Settings> {
  const { loadSettings } = await import("./config/settings.ts");
  if (existsSync(".env")) process.loadEnvFile(".env");
  const settings = loadSettings();
  // Every command that opens the services (ingest, worker, eval…) holds a knowledge base in its heap.
  (await import("./config/heap-growth.ts")).applyHeapGrowth(settings.heapGrowingPercent);
  return settings;
}

const program = new Command()
  .name("counsel")
  .description("Answers from your documents, with citations.")
  .showHelpAfterError();

program
  .command("serve")
  .description("start the HTTP service (same as npm start)")
  .action(async () => (await import("./serve.ts")).serve());

program
  .command("ingest")
  .description("add files to the knowledge base: a file, a folder, a glob, s3://bucket/prefix or a web URL")
  .argument(
    "[paths...]",
    "files, folders, quoted globs, s3:// or http(s):// URLs (default: the recipe's sources)",
  )
  .option("-r, --recipe <name>", "ingestion recipe from loaders/ (default: RECIPE)")
  .option("--cleanup", "also remove documents under these paths whose files are gone")
  .option("-t, --tenant <id>", "the tenant whose knowledge base receives them", tenantId, DEFAULT_TENANT)
  .option("--json", "print the report as JSON")
  .action(async (given: string[], options: IngestOptions) => {
    const settings = await loadEnv();
    const { createServices } = await import("./services/services.ts");
    const services = await createServices({ ...settings, recipe: options.recipe ?? settings.recipe });
    const tenant = await services.tenant(options.tenant);
    const patterns = given.length > 0 ? given : (services.recipe.sources ?? []);
    if (patterns.length === 0) {
      await services.close();
      throw new CounselError(
        "bad_request",
        400,
        `Nothing to ingest: give paths, or a recipe whose "sources" lists some (recipe "${services.recipe.name}" has none).`,
      );
    }
    const s3Urls = patterns.filter((p) => p.startsWith("s3://"));
    const webUrls = patterns.filter((p) => /^https?:\/\//i.test(p));
    const paths = patterns.filter((p) => !p.startsWith("s3://") && !/^https?:\/\//i.test(p));
    const reports: IngestReport[] = [];
    try {
      for (const url of s3Urls) reports.push(await tenant.ingestS3(url, { cleanup: options.cleanup }));
      if (webUrls.length > 0) reports.push(await tenant.ingestUrls(webUrls));
      if (paths.length > 0) {
        const { listFilesystemSources } = await import("./ingest/sources/filesystem.ts");
        const { SingleBar } = await import("cli-progress");
        const files = (await Promise.all(paths.map((p) => listFilesystemSources(p)))).flat();
        const bar =
          process.stderr.isTTY && !options.json
            ? new SingleBar({ format: "{bar} {value}/{total} {name}" })
            : null;
        bar?.start(files.length, 0, { name: "" });
        reports.push(
          await tenant.pipeline.ingest(sources(paths), {
            cleanup: options.cleanup ? { scope: await cleanupScope(paths) } : undefined,
            onProgress: (p) => bar?.update(p.done, { name: `${p.status} ${p.name}` }),
          }),
        );
        bar?.stop();
      }
      await searchable(tenant.index, options.json);
    } finally {
      await services.close();
    }
    const { mergeReports } = await import("./ingest/pipeline.ts");
    const report = mergeReports(reports);
    console.log(options.json ? JSON.stringify(report, null, 2) : formatReport(report));
    if (report.failed.length > 0) process.exitCode = 1;
  });

/**
 * Waits for the store's approximate index to take in what was ingested (a large store of an embedding model's
 * vectors builds it as they are written; a quick ingestion can get ahead), so that it is saved with the store
 * and the next start answers from it instead of scanning while it is built.
 */
async function searchable(index: Tenant["index"], quiet?: boolean): Promise<void> {
  const pending = index.indexStatus?.().pending ?? 0;
  if (pending === 0) return;
  if (!quiet) console.error(`Indexing ${pending.toLocaleString("en")} vectors for search…`);
  await index.whenIndexed?.();
}

program
  .command("ask")
  .description("answer a question from the knowledge base")
  .argument("<question>", "the question")
  .option("-c, --chain <name>", "qa chain from chains/", "qa")
  .option("-k <number>", "chunks to retrieve (1-50)", (v) => intBetween(v, 1, 50))
  .option("-t, --tenant <id>", "the tenant whose knowledge base answers", tenantId, DEFAULT_TENANT)
  .option("--json", "print the full reply as JSON")
  .action(
    async (question: string, options: { chain: string; k?: number; tenant: string; json?: boolean }) => {
      const settings = await loadEnv();
      const { createServices } = await import("./services/services.ts");
      const services = await createServices(settings);
      const result = await services
        .tenant(options.tenant)
        .then((tenant) => services.qaChain(options.chain).invoke({ question, k: options.k }, { tenant }))
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
    },
  );

program
  .command("extract")
  .description("print, as Markdown, the text that ingestion would index for a file (nothing is stored)")
  .argument("<file>", "the file to read")
  .option("--chunks", "show the chunks that would be embedded, not the whole text")
  .option("-r, --recipe <name>", "ingestion recipe from loaders/ (default: RECIPE)")
  .action(async (file: string, options: { chunks?: boolean; recipe?: string }) => {
    const settings = await loadEnv();
    const [{ loadRecipe }, { extractMarkdown }, { textractRouting }, { recipeRedactor }, { modelSteps }] =
      await Promise.all([
        import("./ingest/recipe.ts"),
        import("./ingest/extract.ts"),
        import("./ingest/textract/routing.ts"),
        import("./ingest/transform/pii/redact.ts"),
        import("./services/model-steps.ts"),
      ]);
    const recipe = await loadRecipe(settings.loadersDir, options.recipe ?? settings.recipe, settings);
    const absolute = path.resolve(file);
    const data = await readFile(absolute).catch((error: NodeJS.ErrnoException) => {
      throw new CounselError(
        "not_found",
        404,
        `${file}: ${error.code === "ENOENT" ? "no such file" : error.message}`,
      );
    });
    const blob = { name: path.basename(absolute), source: absolute, data };
    const textract = textractRouting(settings, recipe);
    // Made only if the recipe summarises or classifies with the service's model.
    let models: Promise<Models> | undefined;
    const chatModel = async (cache?: BaseCache) => {
      models ??= import("./services/models.ts").then(({ createModels }) => createModels(settings));
      return (await models).serviceChatModel(cache);
    };
    process.stdout.write(
      await extractMarkdown(blob, recipe, {
        chunks: options.chunks,
        textract,
        redactor: recipeRedactor(recipe, { hashKey: settings.piiHashKey }),
        ...(await modelSteps(recipe, { promptsDir: settings.promptsDir, chatModel })),
      }),
    );
  });

async function* sources(patterns: string[]) {
  const { filesystemSource } = await import("./ingest/sources/filesystem.ts");
  for (const pattern of patterns) yield* filesystemSource(pattern);
}

/** Which known documents a --cleanup may remove: those whose path falls under one of the given patterns. */
async function cleanupScope(patterns: string[]): Promise<(docId: string) => boolean> {
  const { default: picomatch } = await import("picomatch");
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

interface IngestOptions {
  recipe?: string;
  cleanup?: boolean;
  tenant: string;
  json?: boolean;
}

function tenantId(value: string): string {
  if (!isTenantId(value)) throw new InvalidArgumentError(TENANT_ID_RULE);
  return value;
}

function intBetween(value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected ${min}-${max}`);
  return n;
}

program.addCommand(evalCommand({ loadEnv }));
program.addCommand(documentsCommand({ loadEnv, tenantId }));
program.addCommand(keysCommand({ loadEnv, tenantId }));
program.addCommand(mcpCommand({ loadEnv, tenantId }));
program.addCommand(workerCommand({ loadEnv }));

program.parseAsync().catch(async (error: unknown) => {
  // A mistake in settings, a recipe, a chain file or the input: the message says what to fix; no stack trace.
  // The error types' modules are imported only now: the command that failed has loaded those it used.
  const [{ SettingsError }, { RecipeError }, { ChainConfigError }, { KeyFileError }] = await Promise.all([
    import("./config/settings.ts"),
    import("./ingest/recipe.ts"),
    import("./chains/config.ts"),
    import("./auth/api-keys.ts"),
  ]);
  const userError = [SettingsError, CounselError, RecipeError, ChainConfigError, KeyFileError].some(
    (type) => error instanceof type,
  );
  if (userError) console.error((error as Error).message);
  else console.error(error);
  process.exit(1);
});
