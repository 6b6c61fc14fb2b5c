// The composition root: the one place that turns settings into concrete implementations (models, stores,
// chains, tenants). Everything else receives its collaborators as arguments; tests build the same services
// with other settings.
import type { S3Client } from "@aws-sdk/client-s3";
import type { BaseCache } from "@langchain/core/caches";
import { type AdvisorChain, advisorsFromConfig, generatesCode } from "../agent/from-config.ts";
import { type KeyRing, openKeyRing } from "../auth/api-keys.ts";
import { ChainRegistry } from "../chains/chain-registry.ts";
import { buildQaHandle } from "../chains/qa-handle.ts";
import type { Settings } from "../config/settings.ts";
import type { Logger, StoreCheck } from "../contracts/stores.ts";
import { TurnQueue } from "../event-loop/turn-queue.ts";
import { IngestMeter } from "../ingest/ingest-meter.ts";
import type { IngestReport } from "../ingest/pipeline.ts";
import { loadRecipe } from "../ingest/recipe.ts";
import { filesystemSource } from "../ingest/sources/filesystem.ts";
import { textractRouting } from "../ingest/textract/routing.ts";
import { PiiMeter } from "../ingest/transform/pii/pii-meter.ts";
import { recipeRedactor } from "../ingest/transform/pii/redact.ts";
import { CacheMeter } from "../models/cache-meter.ts";
import type { AppServices } from "../server/app.ts";
import { TenantRegistry } from "../tenants/registry.ts";
import type { Tenant } from "../tenants/tenant.ts";
import { DEFAULT_TENANT } from "../tenants/tenant-id.ts";
import { openDataFiles } from "./data-files.ts";
import { type JobServices, openJobs } from "./jobs.ts";
import { createModels } from "./models.ts";
import { openStores } from "./stores.ts";
import { openTenant } from "./tenant.ts";
import type { Stores } from "./tenant-stores.ts";

export interface Services extends AppServices {
  settings: Settings;
  stores: Stores;
  turns: TurnQueue;
  chains: ChainRegistry<AdvisorChain>;
  /** The API keys; undefined when the service runs open (no keys file). */
  keys?: KeyRing;
  /** Ingestion jobs: their queue, and this process's worker when started (serve, `counsel worker`). */
  jobs: JobServices;
  /** Indexes examples/docs into the default tenant (idempotent: unchanged examples are skipped). */
  loadExamples(): Promise<IngestReport>;
  /**
   * Loads now what the first request of some kind would otherwise wait for (the TypeScript checker, when an
   * advisor generates code): for the server to call once it listens, so that it starts no later for it.
   */
  warmUp(): Promise<void>;
  close(): Promise<void>;
}

const INDEX = { collection: "default" };

const consoleLogger: Logger = {
  info: (message) => console.error(message),
  warn: (message) => console.error(message),
};

export async function createServices(settings: Settings, log: Logger = consoleLogger): Promise<Services> {
  const keys = await openKeyRing(settings.auth, log);
  // One queue of event-loop turns per process: requests starting (fair turns) and agents' model and tool calls.
  const turns = new TurnQueue();
  const models = await createModels(settings);
  const cacheMeter = new CacheMeter();
  const piiMeter = new PiiMeter();
  // Before any store: sealed files need DATA_DIR's key (and a DATA_DIR written plain is sealed first).
  const files = await openDataFiles(settings, log);
  const stores = await openStores(
    settings,
    models.embeddings,
    { ...INDEX, modelId: models.embeddings.modelId },
    log,
    cacheMeter,
    files,
  );
  const recipe = await loadRecipe(settings.loadersDir, settings.recipe, settings);

  const registry = await ChainRegistry.open({
    chainsDir: settings.chainsDir,
    promptsDir: settings.promptsDir,
    defaults: settings.model,
    log,
    buildQa: (config) =>
      buildQaHandle(config, {
        promptsDir: settings.promptsDir,
        chatModelFor: models.chatModel,
        guardrailFor: models.guardrail,
        rerankerFor: models.reranker,
        onRecordError: (error) => log.warn(`run not recorded: ${(error as Error).message}`),
      }),
    buildAdvisors: (configs) =>
      advisorsFromConfig(configs, {
        promptsDir: settings.promptsDir,
        // No LLM cache for the agent: a conversation's prompts are never repeated whole.
        chatModelFor: (config) => models.chatModel(config),
        guardrailFor: models.guardrail,
        turns,
      }),
  });
  if (settings.watchConfig) registry.watch();

  let s3Client: Promise<S3Client> | undefined;
  const tenantDeps = {
    settings,
    stores,
    recipe,
    textract: textractRouting(settings, recipe),
    redactor: recipeRedactor(recipe, { hashKey: settings.piiHashKey, meter: piiMeter }),
    chatModel: (cache?: BaseCache) => models.serviceChatModel(cache),
    s3Client: () => {
      s3Client ??= import("../ingest/sources/s3.ts").then(({ createS3Client }) =>
        createS3Client({ forcePathStyle: settings.s3.forcePathStyle }),
      );
      return s3Client;
    },
  };
  const tenants = new TenantRegistry<Tenant>({
    open: (id) => openTenant(id, tenantDeps),
    close: (tenant) => tenant.close(),
  });

  const ingestMeter = new IngestMeter();
  const jobs = await openJobs(settings, stores, (id) => tenants.get(id), log, ingestMeter, files);

  return {
    settings,
    stores,
    jobs,
    turns,
    chains: registry,
    recipe,
    tenant: (id) => tenants.get(id),
    keys,
    qaChain: (name) => registry.qaChain(name),
    advisor: (name) => registry.advisor(name),
    async readiness() {
      const checks: Record<string, StoreCheck> = await stores.checks(async () => {
        const opened = await tenants.all();
        const counts = await Promise.all(opened.map((t) => t.index.countChunks()));
        return { tenants: opened.length, chunks: counts.reduce((a, b) => a + b, 0) };
      });
      checks.chains = { ok: true, names: [...registry.configs.keys()] };
      return checks;
    },
    usage: () => models.usage.totals(),
    onUsage: (listener) => models.usage.onRecord(listener),
    onCache: (listener) => cacheMeter.onRecord(listener),
    onIngested: (listener) => ingestMeter.onRecord(listener),
    onPii: (listener) => piiMeter.onRecord(listener),
    onGuardrail: (listener) => models.guardrails.onRecord(listener),
    loadExamples: async () =>
      (await tenants.get(DEFAULT_TENANT)).pipeline.ingest(filesystemSource(settings.examplesDir)),
    async warmUp() {
      if (!generatesCode(registry.configs.values())) return;
      const { preloadTypeScriptLibs } = await import("../agent/code-check.ts");
      await preloadTypeScriptLibs();
    },
    async close() {
      keys?.close();
      registry.close();
      // Jobs first: a running one finishes (or goes back to the queue) while its tenant is still open.
      await jobs.close();
      await tenants.close();
      await stores.close();
    },
  };
}
