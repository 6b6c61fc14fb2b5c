// The composition root: the one place that turns settings into concrete implementations (embedder, stores,
// chains, pipeline). Everything else receives its collaborators as arguments.

import { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import type { S3Client } from "@aws-sdk/client-s3";
import type { BaseCache } from "@langchain/core/caches";
import { type AdvisorChain, advisorsFromConfig } from "./agent/from-config.ts";
import { DEFAULT_TENANT, type KeyRing, openKeyRing } from "./auth/api-keys.ts";
import { ChainRegistry } from "./chains/chain-registry.ts";
import type { ChainConfig } from "./chains/config.ts";
import { buildQaHandle } from "./chains/qa-handle.ts";
import { chainSearcher } from "./chains/searcher.ts";
import type { Settings } from "./config/settings.ts";
import { IngestPipeline, type IngestReport } from "./ingest/pipeline.ts";
import { loadRecipe, type Recipe } from "./ingest/recipe.ts";
import { ingestS3 } from "./ingest/s3-ingest.ts";
import { filesystemSource } from "./ingest/sources/filesystem.ts";
import { createS3Client } from "./ingest/sources/s3.ts";
import { textractRouting } from "./ingest/textract/routing.ts";
import { ingestUrls } from "./ingest/url-ingest.ts";
import { createBedrockChatModel } from "./models/chat/bedrock.ts";
import { createBedrockEmbeddings } from "./models/embeddings/bedrock.ts";
import { LocalHashEmbeddings } from "./models/embeddings/local-hash.ts";
import { UsageMeter } from "./models/usage.ts";
import type { AppServices, ReadinessCheck, TenantServices } from "./server/app.ts";
import { CacheMeter } from "./store/cache-meter.ts";
import { type Logger, openStores, type Stores } from "./store/open-stores.ts";

export interface Services extends AppServices {
  settings: Settings;
  stores: Stores;
  chains: ChainRegistry<AdvisorChain>;
  /** A tenant's pipeline, stores and ingestion, opened on first use. */
  tenant(id: string): Promise<TenantServices>;
  /** The API keys; undefined when the service runs open (no keys file). */
  keys?: KeyRing;
  /** Indexes examples/docs into the default tenant (idempotent: unchanged examples are skipped). */
  loadExamples(): Promise<IngestReport>;
  close(): Promise<void>;
}

/**
 * Documents prepared and indexed at once. A document of a few chunks makes a few embedding calls, so the pipeline
 * must hold enough documents in flight to keep EMBEDDINGS_CONCURRENCY calls busy; parsing overlaps them too.
 */
export function pipelineConcurrency(embeddingCalls: number): number {
  return Math.max(4, embeddingCalls);
}

const INDEX = { collection: "default" };

const consoleLogger: Logger = {
  info: (message) => console.error(message),
  warn: (message) => console.error(message),
};

export async function createServices(settings: Settings, log: Logger = consoleLogger): Promise<Services> {
  const keys = await openKeyRing(settings.auth, log);
  const usage = new UsageMeter();
  const { provider, model, dimensions, concurrency } = settings.embeddings;
  const embedder =
    provider === "bedrock"
      ? await createBedrockEmbeddings({ model, dimensions, maxConcurrency: concurrency }, { meter: usage })
      : new LocalHashEmbeddings({ dimensions });
  const cacheMeter = new CacheMeter();
  const stores = await openStores(
    settings,
    embedder,
    { ...INDEX, modelId: embedder.modelId },
    log,
    cacheMeter,
  );
  const recipe: Recipe = await loadRecipe(settings.loadersDir, settings.recipe);
  const textract = textractRouting(settings, recipe);
  // One Bedrock client for every chain and tenant: one connection pool, one adaptive-retry budget.
  let bedrock: BedrockRuntimeClient | undefined;
  const chatModel = async (config: ChainConfig, cache?: BaseCache) => {
    bedrock ??= new BedrockRuntimeClient({ retryMode: "adaptive", maxAttempts: 5 });
    const model = await createBedrockChatModel(
      {
        id: config.model.id as string, // the config schema requires an id for bedrock
        temperature: config.model.temperature,
        maxTokens: config.model.maxTokens,
      },
      { client: bedrock, meter: usage },
    );
    if (cache && config.cache.llm) model.cache = cache;
    return model;
  };

  const registry = await ChainRegistry.open({
    chainsDir: settings.chainsDir,
    promptsDir: settings.promptsDir,
    defaults: settings.model,
    log,
    buildQa: (config) =>
      buildQaHandle(config, {
        promptsDir: settings.promptsDir,
        searcherFor: (c, tenant) => chainSearcher(c, tenant.vectorStore),
        chatModelFor: (c, tenant) => chatModel(c, tenant.llmCache),
        onRecordError: (error) => log.warn(`run not recorded: ${(error as Error).message}`),
      }),
    buildAdvisors: (configs) =>
      advisorsFromConfig(configs, {
        promptsDir: settings.promptsDir,
        searcherFor: (config, tenant) => chainSearcher(config, tenant.vectorStore),
        // No LLM cache for the agent: a conversation's prompts are never repeated whole.
        chatModelFor: (config) => chatModel(config),
      }),
  });
  if (settings.watchConfig) registry.watch();

  let s3Client: S3Client | undefined;
  const openTenant = async (id: string): Promise<TenantServices> => {
    const tenantStores = await stores.forTenant(id);
    const pipeline = new IngestPipeline({
      vectorStore: tenantStores.vectorStore,
      recordManager: tenantStores.recordManager,
      recipe,
      concurrency: pipelineConcurrency(concurrency),
      textract,
    });
    return {
      id,
      stores: tenantStores,
      pipeline,
      runs: tenantStores.runs,
      reports: tenantStores.reports,
      sessions: {
        async get(sessionId) {
          const messages = await tenantStores.chatHistory(sessionId).getMessages();
          return messages.map((m) => ({
            role: m.getType() === "human" ? ("user" as const) : ("assistant" as const),
            content: typeof m.content === "string" ? m.content : JSON.stringify(m.content),
          }));
        },
        delete: (sessionId) => tenantStores.chatHistory.delete(sessionId),
      },
      ingestS3(url, options = {}) {
        // Made on first use: a deployment without S3 never needs its region or credentials.
        s3Client ??= createS3Client({ forcePathStyle: settings.s3.forcePathStyle });
        return ingestS3(url, {
          ...options,
          pipeline,
          client: s3Client,
          ledger: tenantStores.ledger,
          recipe,
          maxBytes: settings.limits.uploadBytes,
        });
      },
      ingestUrls: (urls, options = {}) =>
        ingestUrls(urls, {
          pipeline,
          maxBytes: settings.limits.uploadBytes,
          allow: settings.urls.allow,
          signal: options.signal,
        }),
    };
  };
  const tenants = new Map<string, Promise<TenantServices>>();
  const tenant = (id: string) => {
    let opened = tenants.get(id);
    if (!opened) {
      opened = openTenant(id);
      tenants.set(id, opened);
      opened.catch(() => tenants.delete(id));
    }
    return opened;
  };

  return {
    settings,
    stores,
    chains: registry,
    recipe,
    tenant,
    keys,
    qaChain: (name) => registry.qaChain(name),
    advisor: (name) => registry.advisor(name),
    async readiness() {
      const checks: Record<string, ReadinessCheck> = await stores.checks();
      checks.chains = { ok: true, names: [...registry.configs.keys()] };
      return checks;
    },
    usage: () => usage.totals(),
    onUsage: (listener) => usage.onRecord(listener),
    onCache: (listener) => cacheMeter.onRecord(listener),
    loadExamples: async () =>
      (await tenant(DEFAULT_TENANT)).pipeline.ingest(filesystemSource(settings.examplesDir)),
    async close() {
      keys?.close();
      registry.close();
      for (const t of tenants.values()) await (await t.catch(() => undefined))?.pipeline.flush();
      await stores.close();
    },
  };
}
