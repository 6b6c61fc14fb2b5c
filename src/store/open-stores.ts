// Opens the stores that settings name: everything in-process (persisted to DATA_DIR), or everything in Redis
// (vectors, lexical index, record manager, embedding cache, LLM cache, chat histories) so that many service
// processes share one knowledge base. The composition root calls this; nothing else knows which is in use.
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { LocalFileStore } from "@langchain/classic/storage/file_system";
import type { BaseCache } from "@langchain/core/caches";
import type { Embeddings } from "@langchain/core/embeddings";
import type { BaseStore } from "@langchain/core/stores";
import { createReportStore, type ReportStore } from "../agent/report-store.ts";
import { createRunStore, type RunStore } from "../chains/runs/run-store.ts";
import type { Settings } from "../config/settings.ts";
import type { PipelineRecordManager, PipelineVectorStore } from "../ingest/pipeline.ts";
import { cachedEmbeddings } from "../models/embeddings/cached.ts";
import type { LexicalSearch } from "../retrieval/types.ts";
import { type ChatHistoryFactory, chatHistoryFactory } from "./chat-history.ts";
import { FileRecordManager } from "./file-record-manager.ts";
import { llmCache } from "./llm-cache.ts";
import { LocalVectorStore } from "./local-vector-store.ts";
import { RedisByteStore } from "./redis-byte-store.ts";
import {
  connectRedis,
  createRedisClient,
  detectCapabilities,
  type RedisClient,
  redactUrl,
} from "./redis-client.ts";
import { RedisLexicalIndex } from "./redis-lexical-index.ts";
import { RedisRecordManager } from "./redis-record-manager.ts";
import { RedisVectorSetStore } from "./redis-vector-sets.ts";

export type StoreBackend = "local" | "redis-vectorset" | "redis-search";

export type CounselVectorStore = PipelineVectorStore & LexicalSearch & { countChunks(): Promise<number> };

export interface StoreCheck {
  ok: boolean;
  detail?: string;
  [extra: string]: unknown;
}

export interface Stores {
  backend: StoreBackend;
  vectorStore: CounselVectorStore;
  recordManager: PipelineRecordManager;
  /** The embedder to index and query with: cached by content in Redis when Redis is in use. */
  embeddings: Embeddings;
  /** What each source document was last indexed from (an S3 object's ETag), for skipping unchanged ones. */
  ledger: BaseStore<string, Uint8Array>;
  chatHistory: ChatHistoryFactory;
  /** The Redis client every Redis store uses, for the rate limiter; undefined in-process. */
  redis?: RedisClient;
  /** Reports the advisor wrote (GET /reports/:id). */
  reports: ReportStore;
  /** Answers of qa chains with their variant, latency and tokens; feedback on them; stats per variant. */
  runs: RunStore;
  llmCache: BaseCache;
  checks(): Promise<Record<string, StoreCheck>>;
  close(): Promise<void>;
}

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

/** The index a vector belongs to: tenant, collection, and the embedding model with its dimension. */
export interface IndexScope {
  tenant: string;
  collection: string;
  modelId: string;
}

export async function openStores(
  settings: Settings,
  embeddings: Embeddings & { modelId: string },
  scope: IndexScope,
  log: Logger,
): Promise<Stores> {
  if (settings.vectorStore === "local") return openLocal(settings, embeddings, scope);
  return openRedis(settings, embeddings, scope, log);
}

async function openLocal(settings: Settings, embeddings: Embeddings, scope: IndexScope): Promise<Stores> {
  // A folder per model and dimension: a change of embedding model starts a fresh index, never mixes vectors.
  const dir = path.join(settings.dataDir, "local", scope.tenant, scope.collection, scope.modelId);
  await mkdir(dir, { recursive: true });
  const vectorStore = await LocalVectorStore.load(embeddings, { path: path.join(dir, "vectors.bin") });
  const recordManager = new FileRecordManager({
    namespace: `local/${scope.tenant}/${scope.collection}/${scope.modelId}`,
    path: path.join(dir, "records.json"),
  });
  await recordManager.createSchema();
  const runs = createRunStore({
    prefix: "runs",
    dataDir: path.join(settings.dataDir, "local", scope.tenant),
  });
  return {
    backend: "local",
    vectorStore,
    recordManager,
    embeddings,
    ledger: await LocalFileStore.fromPath(path.join(dir, "ledger")),
    chatHistory: chatHistoryFactory({ prefix: "chat", ttlSeconds: settings.chatHistoryTtlSeconds }),
    reports: createReportStore({ prefix: "report" }),
    runs,
    llmCache: llmCache({ prefix: "llm" }),
    async checks() {
      return { store: { ok: true, backend: "local", chunks: await vectorStore.countChunks() } };
    },
    async close() {
      await vectorStore.flush();
      await recordManager.flush();
      await runs.close();
    },
  };
}

async function openRedis(
  settings: Settings,
  baseEmbeddings: Embeddings & { modelId: string },
  scope: IndexScope,
  log: Logger,
): Promise<Stores> {
  const redis = settings.redis;
  if (!redis) throw new Error(`VECTOR_STORE=${settings.vectorStore} needs REDIS_URL`);
  let down = false;
  const client: RedisClient = createRedisClient({
    url: redis.url,
    onError: (error) => {
      if (!down)
        log.warn(`Redis unreachable (${error.message}); reconnecting, requests answer 503 meanwhile`);
      down = true;
    },
    onReady: () => {
      if (down) log.info("Redis is back");
      down = false;
    },
  });
  await connectRedis(client, redis.url);

  const capabilities = await detectCapabilities(client);
  const backend = chooseBackend(settings.vectorStore, capabilities, redis.url);
  log.info(`Redis ${capabilities.version} at ${redactUrl(redis.url)}: vector store ${backend}`);

  const ns = `${redis.prefix}:${scope.tenant}:${scope.collection}:${scope.modelId}`;
  const embeddings = cachedEmbeddings(
    baseEmbeddings,
    new RedisByteStore({ client, prefix: `${redis.prefix}:embeddings` }),
  );
  const vectorStore = new RedisVectorSetStore(embeddings, {
    client,
    key: `${ns}:vectors`,
    quantization: redis.quantization,
    lexical: new RedisLexicalIndex({ client, prefix: `${ns}:lexical` }),
  });
  const recordManager = new RedisRecordManager({ client, namespace: ns }); // keys under `${ns}:records:`
  await recordManager.createSchema();

  return {
    backend,
    vectorStore,
    recordManager,
    embeddings,
    ledger: new RedisByteStore({ client, prefix: `${ns}:ledger` }),
    redis: client,
    chatHistory: chatHistoryFactory({
      client,
      prefix: `${redis.prefix}:${scope.tenant}:chat`,
      ttlSeconds: settings.chatHistoryTtlSeconds,
    }),
    llmCache: llmCache({ client, prefix: `${redis.prefix}:${scope.tenant}:llm` }),
    reports: createReportStore({ client, prefix: `${redis.prefix}:${scope.tenant}:report` }),
    runs: createRunStore({ client, prefix: `${redis.prefix}:${scope.tenant}:runs` }),
    async checks() {
      const checks: Record<string, StoreCheck> = {};
      try {
        const started = performance.now();
        await client.ping();
        checks.redis = { ok: true, version: capabilities.version, pingMs: performance.now() - started };
        checks.store = { ok: true, backend, chunks: await vectorStore.countChunks() };
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        checks.redis = { ok: false, detail };
        checks.store = { ok: false, backend, detail: "Redis is unreachable" };
      }
      return checks;
    },
    async close() {
      if (client.isOpen) await client.quit().catch(() => client.disconnect());
    },
  };
}

function chooseBackend(
  wanted: Settings["vectorStore"],
  capabilities: { search: boolean; vectorSets: boolean; version: string },
  url: string,
): StoreBackend {
  const where = `Redis ${capabilities.version} at ${redactUrl(url)}`;
  if (wanted === "redis-search") {
    // The Query Engine store (FT.* with HNSW) is not built yet: say so rather than fall back silently.
    throw new Error(
      `VECTOR_STORE=redis-search is not available in this version; use VECTOR_STORE=redis-vectorset (Redis 8)`,
    );
  }
  if (capabilities.vectorSets) return "redis-vectorset";
  throw new Error(
    `${where} has no vector sets (VADD/VSIM): use Redis 8 or later` +
      (capabilities.search ? " (its Query Engine is not supported by this version of Counsel yet)" : "") +
      ", or unset REDIS_URL to keep everything in-process.",
  );
}
