// What the stores of either backend are to the rest of the service: a tenant's set and the Stores that open them,
// and the document catalog over a set. Apart from stores.ts so that the Redis backend (redis-stores.ts, imported
// only when settings name Redis) shares them without a cycle.
import type { BaseCache } from "@langchain/core/caches";
import type { Embeddings } from "@langchain/core/embeddings";
import type { BaseStore } from "@langchain/core/stores";
import type { DocumentLock } from "../contracts/document-lock.ts";
import type { DocumentCatalog } from "../contracts/documents.ts";
import type {
  CounselVectorStore,
  PipelineRecordManager,
  PipelineStatusStore,
  StoreCheck,
} from "../contracts/stores.ts";
import type { ChatHistoryFactory } from "../store/chat-history.ts";
import { RecordManagerCatalog } from "../store/document-catalog.ts";
import { withInterruptions } from "../store/interrupted-statuses.ts";
import type { RedisClient } from "../store/redis-client.ts";
import type { ReportStore } from "../store/report-store.ts";
import type { RunStore } from "../store/run-store.ts";

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

/**
 * A tenant's document catalog. Documents indexed before record managers kept a record per document (a store
 * from an older Counsel) are described from their chunks first, so that an upgrade never shows them bare.
 */
export async function openCatalog(
  recordManager: PipelineRecordManager,
  vectorStore: CounselVectorStore,
  statuses: PipelineStatusStore,
  lock: DocumentLock,
): Promise<DocumentCatalog> {
  const catalog = new RecordManagerCatalog(recordManager, vectorStore, withInterruptions(statuses, lock));
  await catalog.backfill();
  return catalog;
}
