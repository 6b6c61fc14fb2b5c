// A qa chain as the service runs it: one runnable per experiment variant, the variant chosen per request
// (asked for by name, or by the caller's stable key hashed onto the weights), and every answer recorded as a
// run with its variant, config and prompt hashes, latency and tokens, so that feedback and stats can compare
// variants. The reply carries the run's id for feedback. A tenant's runnables are built on its first question
// over its own knowledge base: a tenant's question can only ever search that tenant's chunks. A chain's guardrail
// is made once for all of them; `invoke`, whose answer nobody watches stream, has it check the answer whole.

import type { BaseCache } from "@langchain/core/caches";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { Runnable } from "@langchain/core/runnables";
import type { VectorStore } from "@langchain/core/vectorstores";
import type { Guardrail } from "../contracts/guardrail.ts";
import type { LexicalSearch, Reranker } from "../contracts/search.ts";
import { extractiveAnswerer } from "../models/chat/extractive.ts";
import { ModelUsageHandler } from "../models/usage.ts";
import { SentenceWindowReranker } from "../retrieval/rerank/sentence-window.ts";
import { newRunId, type RunStore } from "../store/run-store.ts";
import type { ChainConfig, GuardrailSettings, RerankSettings } from "./config.ts";
import { chainDecomposer } from "./decomposer.ts";
import { chainGuardrail } from "./guardrails/chain-guardrail.ts";
import { buildQaChain, GUARDRAIL_WINDOW_CHARS, type QaInput, type QaResult, streamQa } from "./qa.ts";
import { chainSearcher } from "./searcher.ts";
import {
  chooseVariant,
  DEFAULT_VARIANT,
  type LoadedVariant,
  loadVariant,
  variantWeights,
} from "./variants.ts";

/** What a qa chain needs of a tenant: the chunks to search, where its runs go, and its LLM cache. */
export interface QaTenant {
  index: VectorStore & LexicalSearch;
  runs: Pick<RunStore, "record">;
  /** Used by variants with `cache.llm`. */
  llmCache?: BaseCache;
}

export interface QaRunOptions {
  /** Whose knowledge base answers, and whose runs record the answer. */
  tenant: QaTenant;
  signal?: AbortSignal;
  /** The variant asked for by name. */
  variant?: string;
  /** The caller's stable id (session or user): the same key always meets the same variant. */
  key?: string;
}

export type QaReply = QaResult & {
  runId: string;
  /** Model tokens of this answer (none with the extractive answerer). */
  usage: { inputTokens: number; outputTokens: number };
};

/**
 * What `stream` yields: pieces of the answer's text as they are generated (`{ answer }`), then one last chunk
 * with everything else, the recorded run's id and tokens among it.
 */
export type QaReplyChunk = { answer: string } | (Omit<QaReply, "answer"> & { answer?: undefined });

export interface QaChainHandle {
  name: string;
  description?: string;
  variants: { name: string; weight: number; description?: string; configHash: string }[];
  /** The whole answer at once (`stream`, gathered). */
  invoke(input: QaInput, options: QaRunOptions): Promise<QaReply>;
  stream(input: QaInput, options: QaRunOptions): AsyncGenerator<QaReplyChunk>;
}

export interface QaHandleDeps {
  promptsDir: string;
  /** A variant's generative model; `cache` is given when the variant asks for the LLM cache. */
  chatModelFor(config: ChainConfig, cache?: BaseCache): Promise<BaseChatModel>;
  /** The guardrail a chain's `guardrail` describes; required for a chain that has one. */
  guardrailFor?(settings: GuardrailSettings): Promise<Guardrail>;
  /** A model reranker a variant's `retrieval.rerank` names (bedrock); required for a variant that has one. */
  rerankerFor?(settings: RerankSettings): Promise<Reranker>;
  /** A run that could not be recorded is logged, never fails the answer. */
  onRecordError?(error: unknown): void;
}

type Arms = Map<string, Runnable<QaInput, QaResult>>;

export async function buildQaHandle(config: ChainConfig, deps: QaHandleDeps): Promise<QaChainHandle> {
  // Prompts are read now, so that a broken prompt file fails the chain at load, not at a tenant's first question.
  const variants = new Map<string, LoadedVariant>();
  const guardrail = await chainGuardrail(config, deps.guardrailFor?.bind(deps));
  for (const name of new Set([DEFAULT_VARIANT, ...variantWeights(config).map(([name]) => name)]))
    variants.set(name, await loadVariant(config, name, deps.promptsDir));

  // Keyed by the tenant object itself: its runnables live exactly as long as the registry keeps it open.
  const armsByTenant = new WeakMap<QaTenant, Promise<Arms>>();
  const armsFor = (tenant: QaTenant): Promise<Arms> => {
    let arms = armsByTenant.get(tenant);
    if (!arms) {
      arms = buildArms(variants, tenant, deps, guardrail);
      armsByTenant.set(tenant, arms);
      arms.catch(() => armsByTenant.delete(tenant)); // the next question tries again
    }
    return arms;
  };

  const handle: QaChainHandle = {
    name: config.name,
    description: config.description,
    variants: variantWeights(config).map(([name, weight]) => ({
      name,
      weight,
      description: config.variants?.[name]?.description,
      configHash: (variants.get(name) as LoadedVariant).configHash,
    })),
    stream: (input, options) => run(input, options),
    async invoke(input, options) {
      let answer = "";
      // Nobody watches this answer stream: a guardrail checks it once, whole.
      for await (const chunk of run(input, options, Number.POSITIVE_INFINITY)) {
        if (chunk.answer !== undefined) answer += chunk.answer;
        else return { ...chunk, answer };
      }
      throw new Error(`Chain "${config.name}" ended without a reply.`);
    },
  };

  async function* run(
    input: QaInput,
    options: QaRunOptions,
    guardrailWindowChars?: number,
  ): AsyncGenerator<QaReplyChunk> {
    const variant = chooseVariant(config, { explicit: options.variant, key: options.key });
    const arm = (await armsFor(options.tenant)).get(variant) as Runnable<QaInput, QaResult>;
    const { configHash, promptHash } = variants.get(variant) as LoadedVariant;
    const tokens = { input: 0, output: 0 };
    let result: Partial<QaResult> = {};
    for await (const chunk of streamQa(arm, input, {
      signal: options.signal,
      callbacks: [countTokens(tokens)],
      ...(guardrailWindowChars !== undefined
        ? { configurable: { [GUARDRAIL_WINDOW_CHARS]: guardrailWindowChars } }
        : {}),
    })) {
      const { answer, ...rest } = chunk;
      if (answer) yield { answer };
      if (Object.keys(rest).length) result = { ...result, ...rest };
    }
    const { answer: _whole, ...done } = result as QaResult;
    const runId = newRunId();
    options.tenant.runs
      .record({
        runId,
        chain: config.name,
        variant,
        configHash,
        promptHash,
        model: done.model,
        latencyMs: done.timings.totalMs,
        inputTokens: tokens.input,
        outputTokens: tokens.output,
        at: new Date().toISOString(),
      })
      .catch((error: unknown) => deps.onRecordError?.(error));
    yield { ...done, variant, runId, usage: { inputTokens: tokens.input, outputTokens: tokens.output } };
  }
  return handle;
}

/** Every variant's runnable over one tenant's index, built before any of them answers. */
async function buildArms(
  variants: Map<string, LoadedVariant>,
  tenant: QaTenant,
  deps: QaHandleDeps,
  guardrail: Guardrail | undefined,
) {
  const arms: Arms = new Map();
  for (const [name, variant] of variants) {
    const cache = variant.config.cache.llm ? tenant.llmCache : undefined;
    arms.set(
      name,
      await buildVariantChain(
        variant,
        tenant.index,
        { chatModel: (config) => deps.chatModelFor(config, cache), reranker: deps.rerankerFor?.bind(deps) },
        guardrail,
      ),
    );
  }
  return arms;
}

/**
 * A variant's runnable over an index: the one way both the service and the evaluation runner build it, so
 * that an evaluated variant retrieves and answers exactly as it would serve. The evaluation runner gives no
 * guardrail: it compares retrieval and answers, offline.
 */
export async function buildVariantChain(
  { config, prompt, decomposePrompt }: LoadedVariant,
  index: VectorStore & LexicalSearch,
  models: VariantModels,
  guardrail?: Guardrail,
): Promise<Runnable<QaInput, QaResult>> {
  const searcher = chainSearcher(config, index);
  const reranker = await variantReranker(config, models);
  const decompose = config.retrieval.decompose;
  if (config.model.provider === "extractive") {
    const answerer = extractiveAnswerer(config.model);
    const decomposer = decompose ? chainDecomposer() : undefined;
    return buildQaChain({ config, searcher, prompt, answerer, guardrail, reranker, decomposer });
  }
  const chatModel = await models.chatModel(config);
  const decomposer =
    decompose && decomposePrompt ? chainDecomposer({ prompt: decomposePrompt, chatModel }) : undefined;
  return buildQaChain({ config, searcher, prompt, chatModel, guardrail, reranker, decomposer });
}

/** The models a variant may need, made by the composition root (services/models.ts). */
export interface VariantModels {
  chatModel(config: ChainConfig): Promise<BaseChatModel>;
  /** A model reranker (bedrock); the offline one needs none. */
  reranker?(settings: RerankSettings): Promise<Reranker>;
}

async function variantReranker(config: ChainConfig, models: VariantModels): Promise<Reranker | undefined> {
  const rerank = config.retrieval.rerank;
  if (!rerank) return undefined;
  if (rerank.provider === "offline") return new SentenceWindowReranker(rerank.weight);
  if (!models.reranker)
    throw new Error(
      `Chain "${config.name}" reranks with ${rerank.provider}, and no reranker factory was given.`,
    );
  return models.reranker(rerank);
}

/** A LangChain callback adding up the tokens of every model call in one run. */
export function countTokens(tokens: { input: number; output: number }): ModelUsageHandler {
  return new ModelUsageHandler((usage) => {
    tokens.input += usage.input_tokens;
    tokens.output += usage.output_tokens;
  });
}
