// Opens one tenant: its stores (from the backend settings chose), its ingestion pipeline over them, and S3 and
// URL ingestion into it. The tenant registry calls this once per tenant.
import type { S3Client } from "@aws-sdk/client-s3";
import type { BaseCache } from "@langchain/core/caches";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { isStopped } from "../agent/stopped.ts";
import type { Settings } from "../config/settings.ts";
import { IngestPipeline } from "../ingest/pipeline.ts";
import type { Recipe } from "../ingest/recipe.ts";
import type { TextractRouting } from "../ingest/textract/routing.ts";
import type { Redactor } from "../ingest/transform/pii/redact.ts";
import { ingestUrls } from "../ingest/url-ingest.ts";
import type { Tenant } from "../tenants/tenant.ts";
import { modelSteps } from "./model-steps.ts";
import type { Stores } from "./tenant-stores.ts";

export interface TenantDeps {
  settings: Settings;
  stores: Stores;
  recipe: Recipe;
  textract?: TextractRouting;
  /** The recipe's PII redaction, shared by every tenant; undefined when it redacts nothing. */
  redactor?: Redactor;
  /** The service's chat model (for summaries at ingestion), answering from `cache`; none offline. */
  chatModel?(cache?: BaseCache): Promise<BaseChatModel | undefined>;
  /**
   * S3 client shared by every tenant, made (and its SDK imported) on first use: a deployment without S3 never
   * needs its region.
   */
  s3Client(): Promise<S3Client>;
}

/**
 * Documents prepared and indexed at once. A document of a few chunks makes a few embedding calls, so the pipeline
 * must hold enough documents in flight to keep EMBEDDINGS_CONCURRENCY calls busy; parsing overlaps them too.
 */
export function pipelineConcurrency(embeddingCalls: number): number {
  return Math.max(4, embeddingCalls);
}

export async function openTenant(id: string, deps: TenantDeps): Promise<Tenant> {
  const { settings, recipe } = deps;
  const stores = await deps.stores.openTenant(id);
  const pipeline = new IngestPipeline({
    vectorStore: stores.vectorStore,
    recordManager: stores.recordManager,
    statuses: stores.statuses,
    documentLock: stores.documentLock,
    recipe,
    concurrency: pipelineConcurrency(settings.embeddings.concurrency),
    textract: deps.textract,
    redactor: deps.redactor,
    // Per tenant: its summaries are answered from its own LLM cache.
    ...(await modelSteps(recipe, {
      promptsDir: settings.promptsDir,
      chatModel: deps.chatModel,
      cache: stores.llmCache,
    })),
  });
  return {
    id,
    index: stores.vectorStore,
    documents: stores.documents,
    statuses: stores.statuses,
    pipeline,
    runs: stores.runs,
    reports: stores.reports,
    history: stores.chatHistory,
    llmCache: stores.llmCache,
    sessions: {
      async get(sessionId) {
        const messages = await stores.chatHistory(sessionId).getMessages();
        return messages.map((m) => ({
          role: m.getType() === "human" ? ("user" as const) : ("assistant" as const),
          content: typeof m.content === "string" ? m.content : JSON.stringify(m.content),
          ...(isStopped(m) ? { stopped: true as const } : {}),
        }));
      },
      delete: (sessionId) => stores.chatHistory.delete(sessionId),
      list: (limit) => stores.chatHistory.list(limit),
    },
    ingestS3: async (url, options = {}) => {
      const { ingestS3 } = await import("../ingest/s3-ingest.ts");
      return ingestS3(url, {
        ...options,
        pipeline,
        client: await deps.s3Client(),
        ledger: stores.ledger,
        recipe,
        maxBytes: settings.limits.uploadBytes,
      });
    },
    ingestUrls: (urls, options = {}) =>
      ingestUrls(urls, {
        ...options,
        pipeline,
        maxBytes: settings.limits.uploadBytes,
        allow: settings.urls.allow,
      }),
    async close() {
      await pipeline.flush();
      await stores.close();
    },
  };
}
