// The composition root: the one place that turns settings into concrete implementations (embedder, store,
// record manager, chains, pipeline). Everything else receives its collaborators as arguments.
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { type ChainConfig, loadChainConfigs } from "./chains/config.ts";
import { loadPrompt } from "./chains/prompts.ts";
import { buildQaChain, type QaInput, type QaResult } from "./chains/qa.ts";
import type { Settings } from "./config/settings.ts";
import { BadRequestError, NotFoundError } from "./errors.ts";
import { IngestPipeline } from "./ingest/pipeline.ts";
import { loadRecipe, type Recipe } from "./ingest/recipe.ts";
import { filesystemSource } from "./ingest/sources/filesystem.ts";
import { ExtractiveAnswerer } from "./models/chat/extractive.ts";
import { LocalHashEmbeddings } from "./models/embeddings/local-hash.ts";
import { HybridSearcher } from "./retrieval/hybrid-search.ts";
import type { AppServices, QaChainHandle, ReadinessCheck } from "./server/app.ts";
import { FileRecordManager } from "./store/file-record-manager.ts";
import { LocalVectorStore } from "./store/local-vector-store.ts";

export interface Services extends AppServices {
  settings: Settings;
  store: LocalVectorStore;
  recordManager: FileRecordManager;
  chains: Map<string, ChainConfig>;
  /** Indexes examples/ (idempotent: unchanged examples are skipped). */
  loadExamples(): Promise<Awaited<ReturnType<IngestPipeline["ingest"]>>>;
  close(): Promise<void>;
}

const COLLECTION = "default";

export async function createServices(settings: Settings): Promise<Services> {
  const embeddings = new LocalHashEmbeddings({ dimensions: settings.embeddings.dimensions });
  // Vectors and records live in a folder named for the embedding model and dimension, so a change of model
  // starts a fresh index instead of mixing vectors from two models.
  const indexDir = path.join(settings.dataDir, "local", COLLECTION, embeddings.modelId);
  await mkdir(indexDir, { recursive: true });
  const store = await LocalVectorStore.load(embeddings, { path: path.join(indexDir, "vectors.bin") });
  const recordManager = new FileRecordManager({
    namespace: `local/${COLLECTION}/${embeddings.modelId}`,
    path: path.join(indexDir, "records.json"),
  });
  await recordManager.createSchema();

  const recipe: Recipe = await loadRecipe(settings.loadersDir, settings.recipe);
  const pipeline = new IngestPipeline({ vectorStore: store, recordManager, recipe });

  const chains = await loadChainConfigs(settings.chainsDir);
  const handles = new Map<string, QaChainHandle>();
  for (const config of chains.values()) {
    if (config.type !== "qa") continue;
    handles.set(config.name, await qaHandle(config, settings, store));
  }
  if (!handles.has("qa"))
    throw new Error(`${settings.chainsDir} has no qa chain named "qa" (chains/qa.yaml)`);

  return {
    settings,
    store,
    recordManager,
    chains,
    pipeline,
    recipe,
    qaChain(name) {
      const handle = handles.get(name);
      if (handle) return handle;
      if (chains.has(name)) throw new BadRequestError(`Chain "${name}" is not a qa chain.`);
      throw new NotFoundError(`No chain named "${name}". Chains: ${[...handles.keys()].join(", ")}.`);
    },
    async readiness() {
      const checks: Record<string, ReadinessCheck> = {
        store: { ok: true, backend: "local", chunks: store.count() },
        chains: { ok: handles.size > 0, names: [...handles.keys()] },
      };
      return checks;
    },
    loadExamples: () => pipeline.ingest(filesystemSource(settings.examplesDir)),
    async close() {
      await pipeline.flush();
    },
  };
}

async function qaHandle(
  config: ChainConfig,
  settings: Settings,
  store: LocalVectorStore,
): Promise<QaChainHandle> {
  const searcher = new HybridSearcher({ store, mode: searchMode(config.retrieval.search) });
  const prompt = await loadPrompt(settings.promptsDir, config.prompt);
  const answerer = new ExtractiveAnswerer({ minRelevance: config.model.minRelevance });
  const chain = buildQaChain({ config, searcher, answerer, prompt });
  return {
    name: config.name,
    description: config.description,
    invoke: (input: QaInput, options) =>
      chain.invoke(input, { signal: options?.signal }) as Promise<QaResult>,
  };
}

function searchMode(search: ChainConfig["retrieval"]["search"]): "hybrid" | "vector" | "lexical" {
  if (search === "similarity" || search === "mmr") return "vector";
  return search;
}
