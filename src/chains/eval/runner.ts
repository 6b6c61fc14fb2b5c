// The evaluation runner: ingests a BEIR dataset's corpus into a collection of its own (kept, and reused while the
// corpus, the splitter and the embedder stay the same), runs the judged queries through each variant of a qa
// chain as the service builds it (loadVariant, buildVariantChain), and scores retrieval (documents ranked by their
// best chunk) and answers.
import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { EmbeddingsInterface } from "@langchain/core/embeddings";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { BaseTracer, type Run } from "@langchain/core/tracers/base";
import pMap from "p-map";
import { RETRIEVE_STEP } from "../../contracts/run-names.ts";
import type { Reranker, ScoredDocument } from "../../contracts/search.ts";
import { BadRequestError, NotFoundError } from "../../errors.ts";
import { IngestPipeline, type TextDocument } from "../../ingest/pipeline.ts";
import { defineRecipe, type Recipe } from "../../ingest/recipe.ts";
import { LocalHashEmbeddings } from "../../models/embeddings/local-hash.ts";
import { dedupe, mrrAtK, ndcgAtK, recallAtK } from "../../retrieval/metrics.ts";
import type { DataFiles } from "../../store/at-rest/data-files.ts";
import { plainFiles } from "../../store/at-rest/plain-files.ts";
import { FileRecordManager } from "../../store/file-record-manager.ts";
import { LocalVectorStore } from "../../store/local/local-vector-store.ts";
import { type CitationJudgement, CitationVerifier, judgeCitations } from "../citation-check.ts";
import { type ChainConfig, DEFAULT_MIN_SUPPORT, type RerankSettings } from "../config.ts";
import { loadStepPrompt } from "../prompts.ts";
import type { QaResult } from "../qa.ts";
import { buildVariantChain, countTokens } from "../qa-handle.ts";
import { DEFAULT_VARIANT, loadVariant, variantWeights } from "../variants.ts";
import { bestOver, citesRelevant, containsAnswer, exactMatch, tokenF1 } from "./answer-metrics.ts";
import { type PairedDifference, pairedBootstrap } from "./bootstrap.ts";
import { corpusText, type EvalDataset, fileSha256, openDataset, readCorpus } from "./dataset.ts";
import { DEFAULT_CONCURRENCY } from "./defaults.ts";
import { AnswerJudge, type Grades, JUDGE_PROMPT, JUDGE_VARIABLES } from "./judge.ts";

/** Ranking metrics are reported at 10, as BEIR does; recall at the variant's own k. */
export const RANK_CUTOFF = 10;
const INGEST_BATCH = 512;
// Bumped when the way a corpus becomes a collection changes, so that old collections are not reused.
const COLLECTION_FORMAT = 1;

export interface EvaluationOptions {
  chains: Map<string, ChainConfig>;
  chain: string;
  /** Default: every variant of the chain, or "default" when it has none. */
  variants?: string[];
  /** A BEIR folder. */
  dataset: string;
  /** The qrels file, qrels/<split>.tsv. Default "test". */
  split?: string;
  /** The first N judged queries. */
  limit?: number;
  promptsDir: string;
  /** The collection lives in <dataDir>/eval/<dataset>-<hash of corpus, splitter and embedder>. */
  dataDir: string;
  /** How the collection's files are kept: sealed when DATA_DIR is encrypted (DATA_KMS_KEY_ID). Default plain. */
  files?: DataFiles;
  /** How the corpus is split (its splitter). Default: the built-in default recipe. */
  recipe?: Recipe;
  /** Default: the offline LocalHashEmbeddings. */
  embeddings?: EmbeddingsInterface;
  /** Builds the chat model of a variant whose provider is not extractive (the CLI passes the service's own). */
  chatModelFor?: (config: ChainConfig) => Promise<BaseChatModel>;
  /** Builds the model reranker (bedrock) of a variant that has one (the CLI passes the service's own). */
  rerankerFor?: (settings: RerankSettings) => Promise<Reranker>;
  /**
   * An LLM judge grading each answer's faithfulness to its chunks and correctness against the references
   * (prompts/judge.md); the CLI's --judge passes the service's own model.
   */
  judge?: BaseChatModel;
  /** Queries in flight at once, per variant. Default 4. */
  concurrency?: number;
  /** After each query: `done` of `total` across all variants. */
  onProgress?: (done: number, total: number, variant: string) => void;
  /** While the corpus is ingested (not called when the collection is reused). */
  onIngestProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface VariantSettings {
  prompt: string;
  /** "extractive", or "<provider>:<model id>". */
  model: string;
  search: ChainConfig["retrieval"]["search"];
  k: number;
  weights?: { lexical: number; vector: number };
  scoreThreshold?: number;
  minRelevance?: number;
}

export interface QueryOutcome {
  id: string;
  /** Document ids in rank order (each at its best chunk's rank), as retrieved by the chain. */
  ranked: string[];
  recall: number;
  mrr: number;
  ndcg: number;
  /** Token F1 against the closest reference answer; null when the query has none. */
  f1: number | null;
  /** Exact match with a reference answer; null when the query has none. */
  exactMatch: boolean | null;
  /** The dataset marks the query unanswerable from its corpus. */
  unanswerable: boolean;
  /** A reference answer occurs in the retrieved chunks' text; null when the query has none. */
  answerRetrieved: boolean | null;
  citesRelevant: boolean;
  /** The answer's citations judged against the retrieved chunks (citation-check.ts, the default support). */
  citations: CitationJudgement;
  /** The LLM judge's grades (0..1); absent without a judge, null where it gave none (or the query abstained). */
  judged?: Grades;
  abstained: boolean;
  latencyMs: number;
  tokens: { input: number; output: number };
}

export interface VariantMetrics {
  /** recall@k at the variant's k. */
  recall: number;
  mrr: number;
  ndcg: number;
  /** Mean token F1 over the queries with reference answers; null when none has any. */
  answerF1: number | null;
  /** Share of the queries with reference answers answered with one exactly; null when none has any. */
  exactMatch: number | null;
  /**
   * Share of the answerable queries whose reference answer was retrieved that were answered (not abstained):
   * the answerer's own misses, apart from retrieval's. Null when no query's answer was retrieved.
   */
  answeredWhenRetrieved: number | null;
  /**
   * Abstention against the dataset's unanswerable queries: precision, the abstentions that were on one;
   * recall, the unanswerable queries abstained on. Null when the dataset marks none unanswerable.
   */
  abstention: { precision: number; recall: number } | null;
  /** Of the answers' checkable citations, the share whose source supports their sentence; null: none cited. */
  citationPrecision: number | null;
  /** Of the answers' sentences (abstentions aside), the share with a supporting citation; null: no sentence. */
  citationCoverage: number | null;
  /** With a judge: mean faithfulness and correctness over the graded answers; null when none was graded. */
  judge?: { faithfulness: number | null; correctness: number | null; graded: number };
  /** Share of queries whose answer cites at least one relevant document (abstentions count as misses). */
  citationsInGold: number;
  /** Share of queries answered with "I couldn't find…". */
  abstained: number;
}

export interface VariantResult {
  name: string;
  /** Identifies the resolved config and its prompt's text, as the service records it with every run. */
  configHash: string;
  /** Identifies the prompt's text alone, as the service records it. */
  promptHash: string;
  settings: VariantSettings;
  k: number;
  metrics: VariantMetrics;
  latencyMs: { p50: number; p95: number };
  tokens: { input: number; output: number; total: number };
  queries: QueryOutcome[];
}

export interface EvaluationResult {
  chain: string;
  /** When the run started, ISO 8601. */
  date: string;
  dataset: {
    name: string;
    dir: string;
    split: string;
    queries: number;
    /** Queries with reference answers. */
    withAnswers: number;
    /** Queries marked unanswerable. */
    unanswerable: number;
    documents: number;
    chunks: number;
  };
  collection: { dir: string; reused: boolean; chunksAdded: number; embeddings: string };
  cutoff: number;
  concurrency: number;
  durationMs: number;
  variants: VariantResult[];
  /** Each variant after the first against the first, query by query (paired bootstrap). */
  comparisons: Comparison[];
}

/** Per metric, the paired difference (variant − baseline) over the queries both scored. */
export interface Comparison {
  baseline: string;
  variant: string;
  metrics: Partial<Record<ComparedMetric, PairedDifference>>;
}

/** Per-query scores compared between variants; `decision`: answered an answerable query, or abstained on an unanswerable one. */
export type ComparedMetric = "ndcg" | "answerF1" | "exactMatch" | "decision" | "faithfulness";

const PER_QUERY: Record<ComparedMetric, (o: QueryOutcome) => number | null> = {
  ndcg: (o) => o.ndcg,
  answerF1: (o) => o.f1,
  exactMatch: (o) => (o.exactMatch === null ? null : o.exactMatch ? 1 : 0),
  decision: (o) => (o.abstained === o.unanswerable ? 1 : 0),
  faithfulness: (o) => o.judged?.faithfulness ?? null,
};

export async function runEvaluation(options: EvaluationOptions): Promise<EvaluationResult> {
  const started = performance.now();
  const date = new Date().toISOString();
  const base = options.chains.get(options.chain);
  if (!base)
    throw new NotFoundError(
      `No chain named "${options.chain}". Chains: ${[...options.chains.keys()].join(", ")}.`,
    );
  if (base.type !== "qa")
    throw new BadRequestError(
      `Chain "${base.name}" is of type ${base.type}; only qa chains can be evaluated.`,
    );
  const names = options.variants?.length ? options.variants : variantWeights(base).map(([name]) => name);
  const known = [DEFAULT_VARIANT, ...Object.keys(base.variants ?? {})];
  for (const name of names)
    if (!known.includes(name))
      throw new BadRequestError(
        `Chain "${base.name}" has no variant "${name}". Variants: ${known.join(", ")}.`,
      );
  if (new Set(names).size !== names.length) throw new BadRequestError("A variant is named twice.");

  const dataset = await openDataset(options.dataset, { split: options.split, limit: options.limit });
  const judge = options.judge
    ? new AnswerJudge(
        await loadStepPrompt(options.promptsDir, JUDGE_PROMPT, JUDGE_VARIABLES, "the evaluation's judge"),
        options.judge,
      )
    : undefined;
  const embeddings = options.embeddings ?? new LocalHashEmbeddings();
  const collection = await openCollection(dataset, {
    dataDir: options.dataDir,
    files: options.files,
    recipe: options.recipe ?? defineRecipe({ name: "default" }),
    embeddings,
    onProgress: options.onIngestProgress,
    signal: options.signal,
  });

  // Every variant is built before any query runs, so that a broken prompt or model fails the run at once.
  const arms = [];
  for (const name of names) {
    const variant = await loadVariant(base, name, options.promptsDir);
    const chain = await buildVariantChain(variant, collection.store, {
      chatModel: (config) => {
        if (!options.chatModelFor)
          throw new BadRequestError(
            `Variant "${name}" of chain "${base.name}" needs a ${config.model.provider} chat model, and no model factory was given.`,
          );
        return options.chatModelFor(config);
      },
      ...(options.rerankerFor ? { reranker: options.rerankerFor } : {}),
    });
    arms.push({ ...variant, chain });
  }

  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const total = dataset.queries.length * arms.length;
  let done = 0;
  const variants: VariantResult[] = [];
  for (const arm of arms) {
    const k = arm.config.retrieval.k;
    const outcomes = await pMap(
      dataset.queries,
      async (query): Promise<QueryOutcome> => {
        const observer = new RetrievalObserver();
        const tokens = { input: 0, output: 0 };
        const result = (await arm.chain.invoke(
          { question: query.text },
          { callbacks: [observer, countTokens(tokens)], signal: options.signal },
        )) as QaResult;
        if (!observer.retrieved) throw new Error(`Chain "${base.name}" ran no retrieval step.`);
        const ranked = dedupe(observer.retrieved.map((s) => docIdOf(s.document.metadata, s.document.id)));
        const relevant = dataset.qrels.get(query.id) ?? new Map<string, number>();
        const sourceDocs = result.sources.map((s) => docIdOf(s.metadata, s.id));
        const { answers } = query;
        // An abstention offers no answer: its words ("I couldn't find…") are not scored against the reference.
        const scored = (score: (reference: string) => number) =>
          answers === undefined ? null : result.abstained ? 0 : bestOver(answers, score);
        // An abstention has nothing to grade; the judge sees the chunks the answer's [n] number.
        const judged = !judge
          ? undefined
          : result.abstained
            ? { faithfulness: null, correctness: null }
            : await judge.judge(
                {
                  question: query.text,
                  sources: observer.retrieved,
                  answer: result.answer,
                  references: answers,
                },
                options.signal,
              );
        done += 1;
        options.onProgress?.(done, total, arm.name);
        return {
          id: query.id,
          ranked,
          recall: recallAtK(ranked, relevant, k),
          mrr: mrrAtK(ranked, relevant, RANK_CUTOFF),
          ndcg: ndcgAtK(ranked, relevant, RANK_CUTOFF),
          f1: scored((reference) => tokenF1(result.answer, reference)),
          exactMatch:
            answers === undefined ? null : scored((r) => (exactMatch(result.answer, r) ? 1 : 0)) === 1,
          unanswerable: query.unanswerable === true,
          answerRetrieved:
            answers === undefined
              ? null
              : containsAnswer(
                  observer.retrieved.map((s) => s.document.pageContent),
                  answers,
                ),
          citesRelevant: citesRelevant(result.citations, sourceDocs, relevant),
          // An abstention cites nothing: no verifier is built for it.
          citations: result.abstained
            ? NO_CITATIONS
            : judgeCitations(result.answer, new CitationVerifier(observer.retrieved, DEFAULT_MIN_SUPPORT)),
          ...(judged ? { judged } : {}),
          abstained: result.abstained,
          latencyMs: result.timings.totalMs,
          tokens,
        };
      },
      { concurrency, signal: options.signal },
    );
    variants.push(summarise(arm, outcomes));
  }

  return {
    chain: base.name,
    date,
    dataset: {
      name: dataset.name,
      dir: dataset.dir,
      split: dataset.split,
      queries: dataset.queries.length,
      withAnswers: dataset.queries.filter((q) => q.answers !== undefined).length,
      unanswerable: dataset.queries.filter((q) => q.unanswerable).length,
      documents: collection.documents,
      chunks: collection.store.count(),
    },
    collection: {
      dir: collection.dir,
      reused: collection.reused,
      chunksAdded: collection.chunksAdded,
      embeddings: collection.embeddings,
    },
    cutoff: RANK_CUTOFF,
    concurrency,
    durationMs: Math.round(performance.now() - started),
    variants,
    comparisons: compare(
      variants,
      dataset.queries.some((q) => q.unanswerable),
    ),
  };
}

function compare(variants: VariantResult[], hasUnanswerable: boolean): Comparison[] {
  const [baseline, ...others] = variants;
  return others.map((variant) => {
    const metrics: Comparison["metrics"] = {};
    for (const [metric, score] of Object.entries(PER_QUERY) as [
      ComparedMetric,
      (o: QueryOutcome) => number | null,
    ][]) {
      if (metric === "decision" && !hasUnanswerable) continue;
      const a: number[] = [];
      const b: number[] = [];
      variant.queries.forEach((outcome, i) => {
        const x = score(baseline.queries[i]);
        const y = score(outcome);
        if (x === null || y === null) return;
        a.push(x);
        b.push(y);
      });
      if (a.length > 0) metrics[metric] = pairedBootstrap(a, b);
    }
    return { baseline: baseline.name, variant: variant.name, metrics };
  });
}

function summarise(
  arm: { name: string; config: ChainConfig; configHash: string; promptHash: string },
  outcomes: QueryOutcome[],
): VariantResult {
  const { config } = arm;
  const f1s = outcomes.flatMap((o) => (o.f1 === null ? [] : [o.f1]));
  const matches = outcomes.flatMap((o) => (o.exactMatch === null ? [] : [o.exactMatch ? 1 : 0]));
  const retrieved = outcomes.filter((o) => o.answerRetrieved === true);
  const unanswerable = outcomes.filter((o) => o.unanswerable);
  const abstentions = outcomes.filter((o) => o.abstained);
  const judged = (key: keyof CitationJudgement, of: keyof CitationJudgement) => {
    const total = sum(outcomes.map((o) => o.citations[of]));
    return total === 0 ? null : sum(outcomes.map((o) => o.citations[key])) / total;
  };
  const latencies = outcomes.map((o) => o.latencyMs).sort((a, b) => a - b);
  const input = sum(outcomes.map((o) => o.tokens.input));
  const output = sum(outcomes.map((o) => o.tokens.output));
  const { retrieval, model } = config;
  return {
    name: arm.name,
    configHash: arm.configHash,
    promptHash: arm.promptHash,
    settings: {
      prompt: config.prompt,
      model: model.provider === "extractive" ? "extractive" : `${model.provider}:${model.id}`,
      search: retrieval.search,
      k: retrieval.k,
      ...(retrieval.weights ? { weights: retrieval.weights } : {}),
      ...(retrieval.scoreThreshold !== undefined ? { scoreThreshold: retrieval.scoreThreshold } : {}),
      ...(model.provider === "extractive" && model.minRelevance !== undefined
        ? { minRelevance: model.minRelevance }
        : {}),
    },
    k: retrieval.k,
    metrics: {
      recall: mean(outcomes.map((o) => o.recall)),
      mrr: mean(outcomes.map((o) => o.mrr)),
      ndcg: mean(outcomes.map((o) => o.ndcg)),
      answerF1: f1s.length ? mean(f1s) : null,
      exactMatch: matches.length ? mean(matches) : null,
      answeredWhenRetrieved: retrieved.length ? mean(retrieved.map((o) => (o.abstained ? 0 : 1))) : null,
      abstention: unanswerable.length
        ? {
            precision: abstentions.length
              ? abstentions.filter((o) => o.unanswerable).length / abstentions.length
              : 0,
            recall: mean(unanswerable.map((o) => (o.abstained ? 1 : 0))),
          }
        : null,
      citationPrecision: judged("supported", "citations"),
      citationCoverage: judged("covered", "sentences"),
      ...(outcomes.some((o) => o.judged) ? { judge: judgeMeans(outcomes) } : {}),
      citationsInGold: mean(outcomes.map((o) => (o.citesRelevant ? 1 : 0))),
      abstained: mean(outcomes.map((o) => (o.abstained ? 1 : 0))),
    },
    latencyMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95) },
    tokens: { input, output, total: input + output },
    queries: outcomes,
  };
}

/**
 * Watches one chain run for the chunks its retrieve step returned: the answer step empties `sources` when it
 * abstains, and retrieval must be scored either way. A tracer, because it names each run reliably
 * (@langchain/core 1.4 passes a plain handler's handleChainStart arguments in another order than its types
 * declare); awaited, so that all is recorded by the time `invoke` resolves.
 */
class RetrievalObserver extends BaseTracer {
  name = "counsel_eval_retrieval";
  retrieved?: ScoredDocument[];

  constructor() {
    super({ _awaitHandler: true });
  }

  protected async persistRun(_run: Run): Promise<void> {}

  override onChainEnd(run: Run): void {
    if (run.name === RETRIEVE_STEP)
      this.retrieved = (run.outputs as { sources?: ScoredDocument[] }).sources ?? [];
  }
}

/** A dataset's corpus as an isolated local collection (reused while corpus, splitter and embedder are the same). */
export interface Collection {
  dir: string;
  store: LocalVectorStore;
  reused: boolean;
  documents: number;
  chunksAdded: number;
  embeddings: string;
}

/** What says a finished collection may be reused; written last, so an interrupted ingest is resumed instead. */
interface Manifest {
  format: number;
  dataset: string;
  corpusSha256: string;
  splitter: Recipe["splitter"];
  embeddings: string;
  documents: number;
  chunks: number;
  createdAt: string;
}

export async function openCollection(
  dataset: EvalDataset,
  options: {
    dataDir: string;
    /** Default plain. */
    files?: DataFiles;
    recipe: Recipe;
    embeddings: EmbeddingsInterface;
    onProgress?: (done: number, total: number) => void;
    signal?: AbortSignal;
  },
): Promise<Collection> {
  const { recipe, embeddings } = options;
  const modelId = embeddingsId(embeddings);
  const corpusSha256 = await fileSha256(dataset.corpusFile);
  // Only what changes the chunks or their vectors: a text corpus goes through the splitter alone.
  const key = sha256(
    JSON.stringify({
      format: COLLECTION_FORMAT,
      corpusSha256,
      splitter: recipe.splitter,
      embeddings: modelId,
    }),
  ).slice(0, 12);
  const dir = path.join(options.dataDir, "eval", `${dataset.name.replace(/[^A-Za-z0-9_.-]/g, "_")}-${key}`);
  await mkdir(dir, { recursive: true });
  const files = options.files ?? plainFiles;
  const store = await LocalVectorStore.load(embeddings, { path: path.join(dir, "vectors.bin"), files });
  const manifestFile = path.join(dir, "collection.json");
  const manifest = await readManifest(manifestFile, files);
  if (manifest) {
    if (store.count() !== manifest.chunks)
      throw new Error(
        `${dir}: the collection holds ${store.count()} chunks, its manifest ${manifest.chunks}; delete the folder to rebuild it.`,
      );
    return { dir, store, reused: true, documents: manifest.documents, chunksAdded: 0, embeddings: modelId };
  }

  const recordManager = new FileRecordManager({
    namespace: `eval:${key}`,
    path: path.join(dir, "records.json"),
    files,
  });
  await recordManager.createSchema();
  const pipeline = new IngestPipeline({ vectorStore: store, recordManager, recipe });
  let total = 0;
  for await (const _ of readCorpus(dataset.corpusFile)) total += 1;
  let documents = 0;
  let chunksAdded = 0;
  let batch: TextDocument[] = [];
  const flush = async () => {
    const report = await pipeline.ingestTexts(batch, { signal: options.signal });
    if (report.failed.length > 0)
      throw new Error(
        `Ingesting ${dataset.name} failed: ${report.failed[0].name}: ${report.failed[0].error}`,
      );
    documents += batch.length;
    chunksAdded += report.chunks.added;
    batch = [];
    options.onProgress?.(documents, total);
  };
  for await (const doc of readCorpus(dataset.corpusFile)) {
    batch.push({ text: corpusText(doc), metadata: { doc_id: doc.id } });
    if (batch.length >= INGEST_BATCH) await flush();
  }
  if (batch.length > 0) await flush();
  await pipeline.flush();
  const written: Manifest = {
    format: COLLECTION_FORMAT,
    dataset: dataset.name,
    corpusSha256,
    splitter: recipe.splitter,
    embeddings: modelId,
    documents,
    chunks: store.count(),
    createdAt: new Date().toISOString(),
  };
  await files.writeFileAtomic(manifestFile, `${JSON.stringify(written, null, 2)}\n`);
  return { dir, store, reused: false, documents, chunksAdded, embeddings: modelId };
}

async function readManifest(file: string, files: DataFiles): Promise<Manifest | undefined> {
  try {
    const manifest = JSON.parse((await files.readFile(file)).toString("utf8")) as Manifest;
    return manifest.format === COLLECTION_FORMAT ? manifest : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** The embedder's model id where it names one (ours do), else its class: part of the collection's identity. */
function embeddingsId(embeddings: EmbeddingsInterface): string {
  const described = embeddings as EmbeddingsInterface & { modelId?: unknown; model?: unknown };
  if (typeof described.modelId === "string") return described.modelId;
  if (typeof described.model === "string") return described.model;
  return embeddings.constructor.name;
}

function judgeMeans(outcomes: QueryOutcome[]): NonNullable<VariantMetrics["judge"]> {
  const grades = (key: keyof Grades) =>
    outcomes.flatMap((o) => (typeof o.judged?.[key] === "number" ? [o.judged[key] as number] : []));
  const faithfulness = grades("faithfulness");
  const correctness = grades("correctness");
  return {
    faithfulness: faithfulness.length ? mean(faithfulness) : null,
    correctness: correctness.length ? mean(correctness) : null,
    graded: faithfulness.length,
  };
}

const NO_CITATIONS: CitationJudgement = { sentences: 0, covered: 0, citations: 0, supported: 0 };

function docIdOf(metadata: Record<string, unknown>, fallback: string | undefined): string {
  const id = metadata.doc_id;
  return typeof id === "string" || typeof id === "number" ? String(id) : String(fallback);
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Nearest-rank percentile of ascending values. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function mean(values: number[]): number {
  return values.length === 0 ? 0 : sum(values) / values.length;
}
