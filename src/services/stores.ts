// Opens the stores that settings name: everything in-process (persisted to DATA_DIR), or everything in Redis
// (vectors, lexical index, record manager, document statuses, embedding cache, LLM cache, chat histories,
// reports, runs) so that many service processes share one knowledge base. A part of the composition root:
// nothing else knows which backend is in use. Opening a tenant's set is done once per tenant by the tenant
// registry (services.ts). The Redis backend is imported only when settings name it.
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { LocalFileStore } from "@langchain/classic/storage/file_system";
import type { Embeddings } from "@langchain/core/embeddings";
import type { Settings } from "../config/settings.ts";
import { LocalDocumentLock } from "../contracts/document-lock.ts";
import type { Logger } from "../contracts/stores.ts";
import type { CacheMeter } from "../models/cache-meter.ts";
import type { DataFiles } from "../store/at-rest/data-files.ts";
import { plainFiles } from "../store/at-rest/plain-files.ts";
import { sealedByteStore } from "../store/at-rest/sealed-byte-store.ts";
import { chatHistoryFactory } from "../store/chat-history.ts";
import { FileDocumentStatusStore } from "../store/file-document-status-store.ts";
import { FileRecordManager } from "../store/file-record-manager.ts";
import { llmCache } from "../store/llm-cache.ts";
import { LocalVectorStore } from "../store/local/local-vector-store.ts";
import { createReportStore } from "../store/report-store.ts";
import { createRunStore } from "../store/run-store.ts";
import { type IndexScope, openCatalog, type Stores, type TenantStores } from "./tenant-stores.ts";

export async function openStores(
  settings: Settings,
  embeddings: Embeddings & { modelId: string },
  scope: IndexScope,
  log: Logger,
  /** Counts cache hits and misses (embeddings, LLM) for /metrics. */
  meter?: CacheMeter,
  /** How the in-process stores keep their files under DATA_DIR: sealed when it is encrypted. */
  files: DataFiles = plainFiles,
): Promise<Stores> {
  if (settings.vectorStore === "local") return openLocal(settings, embeddings, scope, files, meter);
  const { openRedisStores } = await import("./redis-stores.ts");
  return openRedisStores(settings, embeddings, scope, log, meter);
}

function openLocal(
  settings: Settings,
  embeddings: Embeddings,
  scope: IndexScope,
  files: DataFiles,
  meter?: CacheMeter,
): Stores {
  const openTenant = async (tenant: string): Promise<TenantStores> => {
    // A folder per model and dimension: a change of embedding model starts a fresh index, never mixes vectors.
    const dir = path.join(settings.dataDir, "local", tenant, scope.collection, scope.modelId);
    await mkdir(dir, { recursive: true });
    const vectorStore = await LocalVectorStore.load(embeddings, {
      path: path.join(dir, "vectors.bin"),
      files,
      vectorIndex: settings.localVectorIndex.mode,
      annMinChunks: settings.localVectorIndex.from,
      vectorsOnDiskFrom: settings.localVectorsOnDiskFrom,
    });
    const recordManager = new FileRecordManager({
      namespace: `local/${tenant}/${scope.collection}/${scope.modelId}`,
      path: path.join(dir, "records.json"),
      files,
    });
    await recordManager.createSchema();
    const statuses = new FileDocumentStatusStore({ path: path.join(dir, "statuses.json"), files });
    await statuses.open();
    const documentLock = new LocalDocumentLock();
    const documents = await openCatalog(recordManager, vectorStore, statuses, documentLock);
    const runs = createRunStore({
      prefix: "runs",
      dataDir: path.join(settings.dataDir, "local", tenant),
      files,
    });
    return {
      tenant,
      vectorStore,
      recordManager,
      statuses,
      documents,
      documentLock,
      ledger: sealedByteStore(await LocalFileStore.fromPath(path.join(dir, "ledger")), files),
      chatHistory: chatHistoryFactory({ prefix: "chat", ttlSeconds: settings.chatHistoryTtlSeconds }),
      reports: createReportStore({ prefix: "report" }),
      runs,
      llmCache: llmCache({ prefix: "llm", meter }),
      async close() {
        await vectorStore.close();
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
