// Opens the stores that settings name: everything in-process (persisted to DATA_DIR), or everything in Redis
// (vectors, lexical index, record manager, document statuses, embedding cache, LLM cache, chat histories,
// reports, runs) so that many service processes share one knowledge base. A part of the composition root:
// nothing else knows which backend is in use. Opening a tenant's set is done once per tenant by the tenant
// registry (services.ts).
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { LocalFileStore } from "@langchain/classic/storage/file_system";
import type { BaseCache } from "@langchain/core/caches";
import type { Embeddings } from "@langchain/core/embeddings";
import type { BaseStore } from "@langchain/core/stores";
import type { Settings } from "../config/settings.ts";
import { type DocumentLock, LocalDocumentLock } from "../contracts/document-lock.ts";
import type { DocumentCatalog } from "../contracts/documents.ts";
import type {
  CounselVectorStore,
  Logger,
  PipelineRecordManager,
  PipelineStatusStore,
  StoreCheck,
} from "../contracts/stores.ts";
import type { CacheMeter } from "../models/cache-meter.ts";
import { cachedEmbeddings } from "../models/embeddings/cached.ts";
import { type ChatHistoryFactory, chatHistoryFactory } from "../store/chat-history.ts";
import { RecordManagerCatalog } from "../store/document-catalog.ts";
import { FileDocumentStatusStore } from "../store/file-document-status-store.ts";
import { FileRecordManager } from "../store/file-record-manager.ts";
import { withInterruptions } from "../store/interrupted-statuses.ts";
import { llmCache } from "../store/llm-cache.ts";
import { LocalVectorStore } from "../store/local/local-vector-store.ts";
import { RedisByteStore } from "../store/redis-byte-store.ts";
import {
  escapeGlob,
  masterClients,
  type RedisCapabilities,
  type RedisClient,
  redactUrl,
  scanKeys,
} from "../store/redis-client.ts";
import { RedisDocumentLock } from "../store/redis-document-lock.ts";
import { RedisDocumentStatusStore } from "../store/redis-document-status-store.ts";
import { moveToTaggedLayout, tenantKeyPrefix } from "../store/redis-key-layout.ts";
import { RedisLexicalIndex } from "../store/redis-lexical-index.ts";
import { RedisRecordManager } from "../store/redis-record-manager.ts";
import { RedisSearchStore, type RedisSearchStoreOptions } from "../store/redis-search-store.ts";
import { RedisVectorSetStore } from "../store/redis-vector-sets.ts";
import { createReportStore, type ReportStore } from "../store/report-store.ts";
import { createRunStore, type RunStore } from "../store/run-store.ts";
import { openRedisConnection } from "./redis-connection.ts";

export type StoreBackend = "local" | "redis-vectorset" | "redis-search";

/**
 * Everything one tenant owns. A tenant's stores live under their own keys (Redis) or folder (DATA_DIR), so that
 * a question, an ingestion, a session or a feedback of one tenant can never reach another's: isolation comes
 * from which store a request is handed, not from a filter it could forget.
 */
export interface TenantStores {
  tenant: string;
  vectorStore: CounselVectorStore;
  recordManager: PipelineRecordManager;
  /**
   * Each document's ingestion under way or failed, beside the records of the same index (a change of
   * embedding model starts both afresh).
   */
  statuses: PipelineStatusStore;
  /** The documents the record manager holds and those the statuses name, with chunks from the vector store. */
  documents: DocumentCatalog;
  /** One writer per document: this process's in embedded mode, every process's on Redis. */
  documentLock: DocumentLock;
  /** What each source document was last indexed from (an S3 object's ETag), for skipping unchanged ones. */
  ledger: BaseStore<string, Uint8Array>;
  chatHistory: ChatHistoryFactory;
  /** Reports the advisor wrote (GET /reports/:id). */
  reports: ReportStore;
  /** Answers of qa chains with their variant, latency and tokens; feedback on them; stats per variant. */
  runs: RunStore;
  llmCache: BaseCache;
  /** Saves what is still pending (the in-process stores); the shared Redis client is closed by Stores. */
  close(): Promise<void>;
}

/** How many tenants are open and how many chunks they hold, for /readyz. */
export type OpenTenantsCount = () => Promise<{ tenants: number; chunks: number }>;

export interface Stores {
  backend: StoreBackend;
  /**
   * The embedder to index and query with: cached by content in Redis when Redis is in use. Shared by every
   * tenant: a cached vector is a function of the text alone, and says nothing about who embedded it.
   */
  embeddings: Embeddings;
  /** The Redis client every Redis store uses, for the rate limiter; undefined in-process. */
  redis?: RedisClient;
  /** Opens a tenant's stores (each call opens anew: the tenant registry calls it once per tenant). */
  openTenant(tenant: string): Promise<TenantStores>;
  checks(count: OpenTenantsCount): Promise<Record<string, StoreCheck>>;
  /** Closes what the tenants share (the Redis client); each tenant's own stores are closed by its registry. */
  close(): Promise<void>;
}

/** The index a vector belongs to: collection and the embedding model with its dimension (the tenant is apart). */
export interface IndexScope {
  collection: string;
  modelId: string;
}

export async function openStores(
  settings: Settings,
  embeddings: Embeddings & { modelId: string },
  scope: IndexScope,
  log: Logger,
  /** Counts cache hits and misses (embeddings, LLM) for /metrics. */
  meter?: CacheMeter,
): Promise<Stores> {
  if (settings.vectorStore === "local") return openLocal(settings, embeddings, scope, meter);
  return openRedis(settings, embeddings, scope, log, meter);
}

function openLocal(
  settings: Settings,
  embeddings: Embeddings,
  scope: IndexScope,
  meter?: CacheMeter,
): Stores {
  const openTenant = async (tenant: string): Promise<TenantStores> => {
    // A folder per model and dimension: a change of embedding model starts a fresh index, never mixes vectors.
    const dir = path.join(settings.dataDir, "local", tenant, scope.collection, scope.modelId);
    await mkdir(dir, { recursive: true });
    const vectorStore = await LocalVectorStore.load(embeddings, { path: path.join(dir, "vectors.bin") });
    const recordManager = new FileRecordManager({
      namespace: `local/${tenant}/${scope.collection}/${scope.modelId}`,
      path: path.join(dir, "records.json"),
    });
    await recordManager.createSchema();
    const statuses = new FileDocumentStatusStore({ path: path.join(dir, "statuses.json") });
    await statuses.open();
    const documentLock = new LocalDocumentLock();
    const documents = await openCatalog(recordManager, vectorStore, statuses, documentLock);
    const runs = createRunStore({ prefix: "runs", dataDir: path.join(settings.dataDir, "local", tenant) });
    return {
      tenant,
      vectorStore,
      recordManager,
      statuses,
      documents,
      documentLock,
      ledger: await LocalFileStore.fromPath(path.join(dir, "ledger")),
      chatHistory: chatHistoryFactory({ prefix: "chat", ttlSeconds: settings.chatHistoryTtlSeconds }),
      reports: createReportStore({ prefix: "report" }),
      runs,
      llmCache: llmCache({ prefix: "llm", meter }),
      async close() {
        await vectorStore.flush();
        await recordManager.flush();
        await statuses.close();
        await runs.close();
      },
    };
  };
  return {
    backend: "local",
    embeddings,
    openTenant,
    async checks(count) {
      return { store: { ok: true, backend: "local", ...(await count()) } };
    },
    async close() {},
  };
}

async function openRedis(
  settings: Settings,
  baseEmbeddings: Embeddings & { modelId: string },
  scope: IndexScope,
  log: Logger,
  meter?: CacheMeter,
): Promise<Stores> {
  const redis = settings.redis;
  if (!redis) throw new Error(`VECTOR_STORE=${settings.vectorStore} needs REDIS_URL`);
  const connection = await openRedisConnection(redis, log);
  const { client, capabilities, watchdog } = connection;
  const holdsVectorSets = async () => {
    // Any tenant's, in this layout or the untagged one of earlier versions.
    for await (const _ of scanKeys(client, `${escapeGlob(redis.prefix)}:*:vectors`, 1_000, "vectorset"))
      return true;
    return false;
  };
  const backend = await chooseBackend(settings.vectorStore, capabilities, redis.url, holdsVectorSets, log);
  log.info(
    `Redis ${capabilities.version}${redis.cluster ? " cluster" : ""} at ${redactUrl(redis.url)}: vector store ${backend}`,
  );

  const embeddings = cachedEmbeddings(
    baseEmbeddings,
    new RedisByteStore({ client, prefix: `${redis.prefix}:embeddings` }),
    { meter },
  );
  const openTenant = async (tenant: string): Promise<TenantStores> => {
    const moved = await moveToTaggedLayout(client, redis.prefix, tenant);
    if (moved > 0) log.info(`Redis: moved ${moved} keys of tenant ${tenant} under its hash tag`);
    const tenantPrefix = tenantKeyPrefix(redis.prefix, tenant);
    const ns = `${tenantPrefix}:${scope.collection}:${scope.modelId}`;
    const recordManager = new RedisRecordManager({ client, namespace: ns }); // keys under `${ns}:records:`
    await recordManager.createSchema();
    const lexical = new RedisLexicalIndex({ client, prefix: `${ns}:lexical` });
    const vectorStore =
      backend === "redis-search"
        ? await openSearchStore(
            embeddings,
            { client, prefix: `${ns}:search`, lexical },
            log,
            settings.embeddings.dimensions,
          )
        : new RedisVectorSetStore(embeddings, {
            client,
            key: `${ns}:vectors`,
            quantization: redis.quantization,
            lexical,
          });
    const statuses = new RedisDocumentStatusStore({ client, prefix: `${ns}:status` });
    const documentLock = new RedisDocumentLock({ client, prefix: ns });
    return {
      tenant,
      vectorStore,
      recordManager,
      statuses,
      documents: await openCatalog(recordManager, vectorStore, statuses, documentLock),
      documentLock,
      ledger: new RedisByteStore({ client, prefix: `${ns}:ledger` }),
      chatHistory: chatHistoryFactory({
        client,
        prefix: `${tenantPrefix}:chat`,
        ttlSeconds: settings.chatHistoryTtlSeconds,
      }),
      llmCache: llmCache({ client, prefix: `${tenantPrefix}:llm`, meter }),
      reports: createReportStore({ client, prefix: `${tenantPrefix}:report` }),
      runs: createRunStore({ client, prefix: `${tenantPrefix}:runs` }),
      close: async () => {},
    };
  };

  return {
    backend,
    embeddings,
    redis: client,
    openTenant,
    async checks(count) {
      const checks: Record<string, StoreCheck> = {};
      const health = watchdog.health();
      if (!health.up) {
        // The watchdog already knows: say why without sending a command that would wait for the deadline.
        const detail = `${health.reason} (since ${health.since.toISOString()})`;
        checks.redis = { ok: false, detail };
        checks.store = { ok: false, backend, detail: "Redis is not answering" };
        return checks;
      }
      try {
        const started = performance.now();
        await Promise.all(masterClients(client).map((node) => node.ping()));
        checks.redis = { ok: true, version: capabilities.version, pingMs: performance.now() - started };
        checks.store = { ok: true, backend, ...(await count()) };
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        checks.redis = { ok: false, detail };
        checks.store = { ok: false, backend, detail: "Redis is unreachable" };
      }
      return checks;
    },
    close: () => connection.close(),
  };
}

/** The Query Engine store of a tenant, checked (dimension, a re-index running) before it serves. */
async function openSearchStore(
  embeddings: Embeddings,
  options: RedisSearchStoreOptions,
  log: Logger,
  /** The embedder's dimension when settings name it: an index of another one stops the start. */
  dimensions?: number,
): Promise<RedisSearchStore> {
  const store = new RedisSearchStore(embeddings, { ...options, onProgress: (message) => log.info(message) });
  await store.open(dimensions);
  return store;
}

/**
 * A tenant's document catalog. Documents indexed before record managers kept a record per document (a store
 * from an older Counsel) are described from their chunks first, so that an upgrade never shows them bare.
 */
async function openCatalog(
  recordManager: PipelineRecordManager,
  vectorStore: CounselVectorStore,
  statuses: PipelineStatusStore,
  lock: DocumentLock,
): Promise<DocumentCatalog> {
  const catalog = new RecordManagerCatalog(recordManager, vectorStore, withInterruptions(statuses, lock));
  await catalog.backfill();
  return catalog;
}

/**
 * The Redis vector store: the one VECTOR_STORE names, else the Query Engine when the server has it (MemoryDB,
 * ElastiCache for Valkey, redis:8, Redis Stack), else vector sets (Redis 8) — except that a store already holding
 * vector sets keeps them, so that an upgrade never hides what was ingested.
 */
async function chooseBackend(
  wanted: Settings["vectorStore"],
  capabilities: RedisCapabilities,
  url: string,
  holdsVectorSets: () => Promise<boolean>,
  log: Logger,
): Promise<StoreBackend> {
  const where = `Redis ${capabilities.version} at ${redactUrl(url)}`;
  if (wanted === "redis-search") {
    if (capabilities.vectorSearch) return "redis-search";
    throw new Error(
      `VECTOR_STORE=redis-search needs the Redis Query Engine with vector search (FT.SEARCH), which ${where} ` +
        (capabilities.search ? "has without vector fields (RediSearch before 2.4)" : "does not have") +
        ": use Redis 8 with its search module (the redis:8 image), Redis Stack, Amazon MemoryDB or ElastiCache " +
        "for Valkey 8.2" +
        (capabilities.vectorSets ? ", or VECTOR_STORE=redis-vectorset for this server's vector sets." : "."),
    );
  }
  if (wanted === "redis-vectorset") {
    if (capabilities.vectorSets) return "redis-vectorset";
    throw new Error(
      `VECTOR_STORE=redis-vectorset needs vector sets (VADD/VSIM, Redis 8), which ${where} does not have` +
        (capabilities.vectorSearch ? ": unset VECTOR_STORE to use its Query Engine." : "."),
    );
  }
  if (capabilities.vectorSearch && capabilities.vectorSets && (await holdsVectorSets())) {
    log.info(
      `${where} has both vector stores and holds vector sets: keeping them (VECTOR_STORE=redis-search ` +
        "switches, after re-ingesting)",
    );
    return "redis-vectorset";
  }
  if (capabilities.vectorSearch) return "redis-search";
  if (capabilities.vectorSets) return "redis-vectorset";
  throw new Error(
    `${where} has neither the Query Engine's vector search (FT.SEARCH) nor vector sets (VADD/VSIM): use Redis 8, ` +
      "Redis Stack, Amazon MemoryDB or ElastiCache for Valkey 8.2, or unset REDIS_URL to keep everything in-process.",
  );
}
