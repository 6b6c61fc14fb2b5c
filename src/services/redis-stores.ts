// The stores in Redis, for every service process alike: one connection (a server or a cluster), the vector store
// its capabilities allow, the embedding cache, and per tenant its set under its own hash tag. A part of the
// composition root, imported by stores.ts only when settings name Redis.
import type { Embeddings } from "@langchain/core/embeddings";
import type { Settings } from "../config/settings.ts";
import type { Logger, StoreCheck } from "../contracts/stores.ts";
import type { CacheMeter } from "../models/cache-meter.ts";
import { cachedEmbeddings } from "../models/embeddings/cached.ts";
import { RedisByteStore } from "../store/redis-byte-store.ts";
import { redisChatHistoryFactory } from "../store/redis-chat-history.ts";
import {
  escapeGlob,
  masterClients,
  type RedisCapabilities,
  redactUrl,
  scanKeys,
} from "../store/redis-client.ts";
import { RedisDocumentLock } from "../store/redis-document-lock.ts";
import { RedisDocumentStatusStore } from "../store/redis-document-status-store.ts";
import { moveToTaggedLayout, tenantKeyPrefix } from "../store/redis-key-layout.ts";
import { RedisLexicalIndex } from "../store/redis-lexical-index.ts";
import { redisLlmCache } from "../store/redis-llm-cache.ts";
import { RedisRecordManager } from "../store/redis-record-manager.ts";
import { createRedisRunStore } from "../store/redis-run-store.ts";
import { RedisSearchStore, type RedisSearchStoreOptions } from "../store/redis-search-store.ts";
import { RedisVectorSetStore } from "../store/redis-vector-sets.ts";
import { createReportStore } from "../store/report-store.ts";
import { openRedisConnection } from "./redis-connection.ts";
import {
  type IndexScope,
  openCatalog,
  type StoreBackend,
  type Stores,
  type TenantStores,
} from "./tenant-stores.ts";

export async function openRedisStores(
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
      chatHistory: redisChatHistoryFactory({
        client,
        prefix: `${tenantPrefix}:chat`,
        ttlSeconds: settings.chatHistoryTtlSeconds,
      }),
      llmCache: redisLlmCache({ client, prefix: `${tenantPrefix}:llm`, meter }),
      reports: createReportStore({ client, prefix: `${tenantPrefix}:report` }),
      runs: createRedisRunStore({ client, prefix: `${tenantPrefix}:runs` }),
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
