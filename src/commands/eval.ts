// `counsel eval`: compares the variants of a qa chain on a BEIR dataset and writes report.md, report.json and
// chart.svg. Its models come from the service's own factory (services/models.ts); it needs none of the
// service's stores.
import path from "node:path";
import type { SingleBar } from "cli-progress";
import { Command, InvalidArgumentError } from "commander";
import { DEFAULT_CONCURRENCY } from "../chains/eval/defaults.ts";
import type { Settings } from "../config/settings.ts";

export interface EvalCommandDeps {
  /** The settings, read once when the command runs (the CLI's loadEnv: .env, then the environment). */
  loadEnv: () => Promise<Settings>;
}

interface EvalOptions {
  chain: string;
  dataset: string;
  variants?: string[];
  limit?: number;
  split: string;
  out?: string;
  concurrency: number;
  json?: boolean;
  judge?: boolean;
}

export function evalCommand(deps: EvalCommandDeps): Command {
  return new Command("eval")
    .description(
      "compare the variants of a qa chain on a BEIR dataset; writes report.md, report.json, chart.svg",
    )
    .requiredOption("-d, --dataset <folder>", "BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv")
    .option("-c, --chain <name>", "qa chain from chains/", "qa")
    .option("--variants <names>", "comma-separated variants (default: all of the chain's)", commaList)
    .option("--limit <n>", "only the first n judged queries", positiveInt)
    .option("--split <name>", "qrels split", "test")
    .option("-o, --out <folder>", "where to write the report (default: ./eval-results/<chain>-<time>)")
    .option("--concurrency <n>", "queries in flight at once", positiveInt, DEFAULT_CONCURRENCY)
    .option("--json", "print the result as JSON instead of the table")
    .option(
      "--judge",
      "grade answers with the service's chat model (MODEL_PROVIDER, MODEL_ID): faithfulness, correctness",
    )
    .action(async (options: EvalOptions) => {
      const settings = await deps.loadEnv();
      // Imported when the command runs, so that the CLI's start and --help load none of it.
      const [
        { loadChainConfigs },
        { answersTable, comparisonsTable, markdownTable, writeReport },
        { runEvaluation },
        { loadRecipe },
        { createModels },
        { openDataFiles },
        { SingleBar },
      ] = await Promise.all([
        import("../chains/config.ts"),
        import("../chains/eval/report.ts"),
        import("../chains/eval/runner.ts"),
        import("../ingest/recipe.ts"),
        import("../services/models.ts"),
        import("../services/data-files.ts"),
        import("cli-progress"),
      ]);
      const chains = await loadChainConfigs(settings.chainsDir, settings.model);
      const recipe = await loadRecipe(settings.loadersDir, settings.recipe, settings);
      const models = await createModels(settings);
      const judge = options.judge ? await models.serviceChatModel() : undefined;
      if (options.judge && !judge)
        throw new Error(
          "--judge needs a chat model: set MODEL_PROVIDER (bedrock or openai) and MODEL_ID; the offline answerer cannot grade.",
        );
      const progress = progressReporter(SingleBar);
      // Ctrl-C stops the run between queries instead of leaving a half-drawn bar.
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once("SIGINT", stop);
      let result: Awaited<ReturnType<typeof runEvaluation>>;
      try {
        result = await runEvaluation({
          chains,
          chain: options.chain,
          variants: options.variants,
          dataset: options.dataset,
          split: options.split,
          limit: options.limit,
          promptsDir: settings.promptsDir,
          dataDir: settings.dataDir,
          // Sealed when DATA_DIR is encrypted, as the service keeps it.
          files: await openDataFiles(settings, { info: console.error, warn: console.error }),
          recipe,
          embeddings: models.embeddings,
          // No LLM cache: a cached answer would hide the model's latency and tokens from the comparison.
          chatModelFor: (config) => models.chatModel(config),
          rerankerFor: (rerank) => models.reranker(rerank),
          ...(judge ? { judge } : {}),
          concurrency: options.concurrency,
          onIngestProgress: (done, total) => progress.update("ingest", done, total),
          onProgress: (done, total, variant) => progress.update(variant, done, total),
          signal: controller.signal,
        });
      } finally {
        progress.stop();
        process.off("SIGINT", stop);
      }
      const out = path.resolve(options.out ?? defaultOutDir(options.chain));
      const files = await writeReport(result, out);
      if (options.json) {
        console.log(JSON.stringify({ ...result, files }, null, 2));
        return;
      }
      console.log(markdownTable(result));
      console.log(`\n${answersTable(result)}`);
      const differences = comparisonsTable(result);
      if (differences) console.log(`\n${differences}`);
      console.log(`\nReport: ${files.markdown}\nJSON:   ${files.json}\nChart:  ${files.chart}`);
    });
}

/** A bar on a terminal; otherwise a line per tenth of each phase, so that logs stay short. */
function progressReporter(Bar: typeof SingleBar) {
  const bar = process.stderr.isTTY ? new Bar({ format: "{phase} {bar} {value}/{total}" }) : null;
  let phase = "";
  let lastTenth = -1;
  return {
    update(next: string, done: number, total: number) {
      if (next !== phase) {
        phase = next;
        lastTenth = -1;
        if (bar) {
          bar.stop();
          bar.start(total, done, { phase: label(next) });
        }
      }
      if (bar) {
        bar.update(done, { phase: label(next) });
        return;
      }
      const tenth = Math.floor((10 * done) / total);
      if (tenth > lastTenth || done === total) {
        lastTenth = tenth;
        console.error(`${label(next)} ${done}/${total}`);
      }
    },
    stop() {
      bar?.stop();
    },
  };
}

function label(phase: string): string {
  return phase === "ingest" ? "ingesting documents" : `variant ${phase}: queries`;
}

function defaultOutDir(chain: string): string {
  const stamp = new Date().toISOString().slice(0, 19).replace(/:/g, "-");
  return path.join("eval-results", `${chain}-${stamp}`);
}

function commaList(value: string): string[] {
  const names = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) throw new InvalidArgumentError("expected variant names, e.g. default,strict");
  return names;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a whole number of 1 or more");
  return n;
}
