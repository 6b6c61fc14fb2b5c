// The composition root: the one place that turns settings into concrete implementations (embedder, stores,
// chains, pipeline). Everything else receives its collaborators as arguments.
import type { S3Client } from "@aws-sdk/client-s3";
import type { AdvisorHandle } from "./agent/advisor.ts";
import { advisorsFromConfig } from "./agent/from-config.ts";
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
import type { AppServices, ReadinessCheck } from "./server/app.ts";
import { type CounselVectorStore, type Logger, openStores, type Stores } from "./store/open-stores.ts";

export interface Services extends AppServices {
  settings: Settings;
  stores: Stores;
  store: CounselVectorStore;
  chains: ChainRegistry<AdvisorHandle>;
  /** Indexes every object under an s3:// URL; unchanged objects (same ETag, same recipe) are not downloaded. */
  ingestS3(url: string, options?: { cleanup?: boolean; signal?: AbortSignal }): Promise<IngestReport>;
  /** Fetches and indexes web pages and files; private addresses are refused unless URL_ALLOW_ADDRESSES opens them. */
  ingestUrls(urls: string[], options?: { signal?: AbortSignal }): Promise<IngestReport>;
  /** Indexes examples/docs (idempotent: unchanged examples are skipped). */
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

const SCOPE = { tenant: "default", collection: "default" };

const consoleLogger: Logger = {
  info: (message) => console.error(message),
  warn: (message) => console.error(message),
};

export async function createServices(settings: Settings, log: Logger = consoleLogger): Promise<Services> {
  const usage = new UsageMeter();
  const { provider, model, dimensions, concurrency } = settings.embeddings;
  const embedder =
    provider === "bedrock"
      ? await createBedrockEmbeddings({ model, dimensions, maxConcurrency: concurrency }, { meter: usage })
      : new LocalHashEmbeddings({ dimensions });
  const stores = await openStores(settings, embedder, { ...SCOPE, modelId: embedder.modelId }, log);
  const store = stores.vectorStore;

  const recipe: Recipe = await loadRecipe(settings.loadersDir, settings.recipe);
  const pipeline = new IngestPipeline({
    vectorStore: store,
    recordManager: stores.recordManager,
    recipe,
    concurrency: pipelineConcurrency(concurrency),
    textract: textractRouting(settings, recipe),
  });

  let s3Client: S3Client | undefined;
  const registry = await ChainRegistry.open({
    chainsDir: settings.chainsDir,
    promptsDir: settings.promptsDir,
    defaults: settings.model,
    log,
    buildQa: (config) =>
      buildQaHandle(config, {
        promptsDir: settings.promptsDir,
        searcherFor: (c) => searcherFor(c, stores),
        chatModelFor: (c) => chatModel(c, stores, usage),
        runs: stores.runs,
        onRecordError: (error) => log.warn(`run not recorded: ${(error as Error).message}`),
      }),
    buildAdvisors: (configs) =>
      advisorsFromConfig(configs, {
        promptsDir: settings.promptsDir,
        stores,
        searcherFor: (config) => searcherFor(config, stores),
        // No LLM cache for the agent: a conversation's prompts are never repeated whole.
        chatModelFor: (config) => chatModel({ ...config, cache: { llm: false } }, stores, usage),
      }),
  });
  if (settings.watchConfig) registry.watch();

  return {
    settings,
    stores,
    store,
    chains: registry,
    pipeline,
    recipe,
    qaChain: (name) => registry.qaChain(name),
    advisor: (name) => registry.advisor(name),
    runs: stores.runs,
    sessions: {
      async get(sessionId) {
        const messages = await stores.chatHistory(sessionId).getMessages();
        return messages.map((m) => ({
          role: m.getType() === "human" ? ("user" as const) : ("assistant" as const),
          content: typeof m.content === "string" ? m.content : JSON.stringify(m.content),
        }));
      },
      delete: (sessionId) => stores.chatHistory.delete(sessionId),
    },
    reports: stores.reports,
    async readiness() {
      const checks: Record<string, ReadinessCheck> = await stores.checks();
      checks.chains = { ok: true, names: [...registry.configs.keys()] };
      return checks;
    },
    usage: () => usage.totals(),
    onUsage: (listener) => usage.onRecord(listener),
    ingestS3(url, options = {}) {
      // Made on first use: a deployment without S3 never needs its region or credentials.
      s3Client ??= createS3Client({ forcePathStyle: settings.s3.forcePathStyle });
      return ingestS3(url, {
        ...options,
        pipeline,
        client: s3Client,
        ledger: stores.ledger,
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
    loadExamples: () => pipeline.ingest(filesystemSource(settings.examplesDir)),
    async close() {
      registry.close();
      await pipeline.flush();
      await stores.close();
    },
  };
}

/** The generative model a chain names, with the LLM response cache when the chain asks for it. */
async function chatModel(config: ChainConfig, stores: Stores, usage: UsageMeter) {
  const model = await createBedrockChatModel(
    {
      id: config.model.id as string, // the config schema requires an id for bedrock
      temperature: config.model.temperature,
      maxTokens: config.model.maxTokens,
    },
    { meter: usage },
  );
  if (config.cache.llm) model.cache = stores.llmCache;
  return model;
}

function searcherFor(config: ChainConfig, stores: Stores) {
  return chainSearcher(config, stores.vectorStore);
}
