import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { jsonLines, readQrels } from "../src/chains/eval/dataset.ts";
import { loadSummaryPrompts } from "../src/chains/prompts.ts";
import { IngestPipeline, type TextDocument } from "../src/ingest/pipeline.ts";
import { loadRecipe } from "../src/ingest/recipe.ts";
import { recipeSummarizer } from "../src/ingest/transform/summary/summarizer.ts";
import { LocalHashEmbeddings } from "../src/models/embeddings/local-hash.ts";
import {
  DEFAULT_CANDIDATES,
  DEFAULT_FUSION,
  DEFAULT_FUSION_WEIGHTS,
  HybridSearcher,
  type SearchMode,
} from "../src/retrieval/hybrid-search.ts";
import { dedupe, mrrAtK, ndcgAtK, recallAtK } from "../src/retrieval/metrics.ts";
import { DEFAULT_BM25_B, DEFAULT_BM25_K1 } from "../src/store/bm25-index.ts";
import { FileRecordManager } from "../src/store/file-record-manager.ts";
import { LocalVectorStore, type VectorIndexMode } from "../src/store/local/local-vector-store.ts";
import { RedisLexicalIndex } from "../src/store/redis-lexical-index.ts";
import { RedisRecordManager } from "../src/store/redis-record-manager.ts";
import { RedisSearchStore } from "../src/store/redis-search-store.ts";
import { RedisVectorSetStore } from "../src/store/redis-vector-sets.ts";
import { openBenchRedis } from "./redis.ts";

const K = 10;
const BATCH = 512;
/** Chunks retrieved per query: a document split into several chunks can fill more than one of the top 10. */
const CHUNKS_PER_QUERY = 30;
const MODES: SearchMode[] = ["hybrid", "vector", "lexical"];

interface Row {
  mode: string;
  ndcg: number;
  recall: number;
  mrr: number;
  ingest: number;
  p50: number;
  p95: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function mean(values: number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}

function printTable(rows: Row[]): void {
  const head = ["mode", "nDCG@10", "recall@10", "MRR@10", "ingest chunks/s", "p50 ms", "p95 ms"];
  const body = rows.map((r) => [
    r.mode,
    r.ndcg.toFixed(4),
    r.recall.toFixed(4),
    r.mrr.toFixed(4),
    r.ingest.toFixed(0),
    r.p50.toFixed(2),
    r.p95.toFixed(2),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ")} |`;
  console.log(line(head));
  console.log(`|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`);
  for (const row of body) console.log(line(row));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dataset: { type: "string" },
      split: { type: "string", default: "test" },
      mode: { type: "string", default: "all" },
      limit: { type: "string" },
      store: { type: "string", default: "local" },
      // The local store's nearest-vector search: auto, exact or hnsw (LOCAL_VECTOR_INDEX).
      "vector-index": { type: "string", default: "auto" },
      "redis-url": { type: "string" },
      // Embed each chunk with its document's title (and section path): recipe splitter.contextHeaders.
      "context-headers": { type: "boolean", default: false },
      // Extractive summaries as one more chunk per document (recipe summarize), and with --context-headers the
      // summary's first sentence in every chunk's header (splitter.contextSummary).
      summaries: { type: "boolean", default: false },
    },
  });
  if (!values.dataset) {
    console.error(
      "usage: npm run bench:retrieval -- --dataset <BEIR folder> [--split test] [--mode all] [--limit N] " +
        "[--store local|redis-vectorset|redis-search] [--redis-url redis://…] [--vector-index auto|exact|hnsw] " +
        "[--context-headers] [--summaries]",
    );
    process.exitCode = 2;
    return;
  }
  const dataset = path.resolve(values.dataset);
  const modes = values.mode === "all" ? MODES : [values.mode as SearchMode];
  for (const mode of modes) {
    if (!MODES.includes(mode))
      throw new Error(`--mode must be one of ${MODES.join(", ")} or all, got ${mode}`);
  }
  const limit = values.limit ? Number(values.limit) : Number.POSITIVE_INFINITY;

  const embeddings = new LocalHashEmbeddings();
  const backend = await openBackend(
    values.store ?? "local",
    values["redis-url"],
    embeddings,
    values["vector-index"] as VectorIndexMode,
  );
  const store = backend.store;
  const recipe = await loadRecipe(path.resolve("loaders"), "default");
  recipe.splitter.contextHeaders = values["context-headers"] ?? false;
  const summaries = values.summaries ?? false;
  recipe.summarize.enabled = summaries;
  recipe.splitter.contextSummary = summaries && recipe.splitter.contextHeaders;
  const pipeline = new IngestPipeline({
    vectorStore: store,
    recordManager: backend.recordManager,
    recipe,
    summarizer: await recipeSummarizer(recipe, {
      prompts: () => loadSummaryPrompts(path.resolve("prompts")),
    }),
  });
  let batch: TextDocument[] = [];
  let documents = 0;
  let ingestMs = 0;
  const flushBatch = async () => {
    const started = performance.now();
    const report = await pipeline.ingestTexts(batch);
    ingestMs += performance.now() - started;
    if (report.failed.length > 0) throw new Error(`ingest failed: ${JSON.stringify(report.failed[0])}`);
    documents += batch.length;
    batch = [];
  };
  for await (const doc of corpusOf(dataset)) {
    const text = [doc.title, doc.text].filter(Boolean).join("\n");
    batch.push({ text, metadata: { doc_id: doc._id, ...(doc.title ? { title: doc.title } : {}) } });
    if (batch.length >= BATCH) await flushBatch();
  }
  if (batch.length > 0) await flushBatch();
  // The Query Engine indexes vectors on worker threads, behind the writes: measure once it has caught up.
  if (store instanceof RedisSearchStore) await store.open();
  // The local store's HNSW graph is built from the first search, in the background: measure once it is whole.
  if (store instanceof LocalVectorStore) {
    await store.similaritySearch("warm up", 1);
    await store.whenIndexed();
  }
  const chunks = await store.countChunks();
  const ingestRate = chunks / (ingestMs / 1000);

  const qrels = await readQrels(path.join(dataset, "qrels", `${values.split}.tsv`));
  const queries: { id: string; text: string }[] = [];
  for await (const q of jsonLines<{ _id: string; text: string }>(path.join(dataset, "queries.jsonl"))) {
    if (qrels.has(q._id)) queries.push({ id: q._id, text: q.text });
    if (queries.length >= limit) break;
  }
  console.log(
    `${path.basename(dataset)} (${values.split}): ${documents} documents, ${chunks} chunks ingested in ` +
      `${(ingestMs / 1000).toFixed(2)} s (${(documents / (ingestMs / 1000)).toFixed(0)} documents/s), ` +
      `${queries.length} queries, embeddings ${embeddings.modelId}, store ${values.store}` +
      `${recipe.splitter.contextHeaders ? ", contextual chunk headers" : ""}`,
  );
  console.log(
    `BM25 k1=${DEFAULT_BM25_K1} b=${DEFAULT_BM25_B}; hybrid: ${DEFAULT_FUSION} fusion, weights ` +
      `vector ${DEFAULT_FUSION_WEIGHTS.vector} / lexical ${DEFAULT_FUSION_WEIGHTS.lexical}, ` +
      `${DEFAULT_CANDIDATES} candidates per side`,
  );

  const rows: Row[] = [];
  for (const mode of modes) {
    const searcher = new HybridSearcher({ store, mode });
    const ndcg: number[] = [];
    const recall: number[] = [];
    const mrr: number[] = [];
    const latencies: number[] = [];
    for (const query of queries) {
      const started = performance.now();
      const hits = await searcher.search(query.text, { k: CHUNKS_PER_QUERY });
      latencies.push(performance.now() - started);
      const ranked = dedupe(hits.map((h) => String(h.document.metadata.doc_id)));
      const relevant = qrels.get(query.id) ?? new Map<string, number>();
      ndcg.push(ndcgAtK(ranked, relevant, K));
      recall.push(recallAtK(ranked, relevant, K));
      mrr.push(mrrAtK(ranked, relevant, K));
    }
    latencies.sort((a, b) => a - b);
    rows.push({
      mode,
      ndcg: mean(ndcg),
      recall: mean(recall),
      mrr: mean(mrr),
      ingest: ingestRate,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
    });
  }
  printTable(rows);
  await backend.close();
}

type CorpusDocument = { _id: string; title?: string; text?: string };

/**
 * A BEIR folder's corpus.jsonl, or, for a set of ours whose documents are another project's files
 * (bench/datasets/fastify-reference), the Markdown files of the folder its `corpus.source` names: one document per
 * file, its first heading as its title.
 */
async function* corpusOf(dataset: string): AsyncGenerator<CorpusDocument> {
  const source = path.join(dataset, "corpus.source");
  if (!existsSync(source)) {
    yield* jsonLines<CorpusDocument>(path.join(dataset, "corpus.jsonl"));
    return;
  }
  const folder = path.resolve((await readFile(source, "utf8")).trim());
  for (const name of (await readdir(folder)).filter((n) => n.endsWith(".md")).sort()) {
    const text = await readFile(path.join(folder, name), "utf8");
    const title = text.match(/^#{1,6}\s+(.+)$/m)?.[1]?.trim();
    yield { _id: name, ...(title ? { title } : {}), text };
  }
}

/**
 * The store to measure: in-process; Redis vector sets; or the Redis Query Engine (--redis-url, else
 * REDIS_SEARCH_URL), each with the Redis BM25 index. Vector sets start a private Redis 8 if no URL is given.
 */
async function openBackend(
  kind: string,
  url: string | undefined,
  embeddings: LocalHashEmbeddings,
  vectorIndex: VectorIndexMode,
) {
  if (kind === "local") {
    return {
      store: new LocalVectorStore(embeddings, { vectorIndex }),
      recordManager: new FileRecordManager({ namespace: "bench" }),
      close: async () => undefined,
    };
  }
  if (kind !== "redis-vectorset" && kind !== "redis-search")
    throw new Error(`--store must be local, redis-vectorset or redis-search, got ${kind}`);
  if (kind === "redis-search") url ??= process.env.REDIS_SEARCH_URL;
  if (kind === "redis-search" && !url)
    throw new Error(
      "--store redis-search needs --redis-url or REDIS_SEARCH_URL: a Redis with the Query Engine",
    );
  const prefix = `bench:{${Date.now()}}`;
  const redis = await openBenchRedis(url, prefix);
  const client = redis.client;
  const lexical = new RedisLexicalIndex({ client, prefix: `${prefix}:lexical` });
  const store =
    kind === "redis-search"
      ? new RedisSearchStore(embeddings, { client, prefix, lexical })
      : new RedisVectorSetStore(embeddings, { client, key: `${prefix}:vectors`, lexical });
  return {
    store,
    recordManager: new RedisRecordManager({ client, namespace: prefix }),
    async close() {
      if (store instanceof RedisSearchStore)
        await client.sendCommand(["FT.DROPINDEX", store.indexName]).catch(() => undefined);
      await redis.close();
    },
  };
}

await main();
