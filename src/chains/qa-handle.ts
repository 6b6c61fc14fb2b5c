// A qa chain as the service runs it: one runnable per experiment variant, the variant chosen per request
// (asked for by name, or by the caller's stable key hashed onto the weights), and every answer recorded as a
// run with its variant, config and prompt hashes, latency and tokens, so that feedback and stats can compare
// variants. The reply carries the run's id for feedback. Each tenant gets its own runnables, built on its first
// question over its own stores: a tenant's question can only ever search that tenant's chunks.
import { createHash } from "node:crypto";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { AIMessage } from "@langchain/core/messages";
import type { LLMResult } from "@langchain/core/outputs";
import type { PromptTemplate } from "@langchain/core/prompts";
import { ExtractiveAnswerer } from "../models/chat/extractive.ts";
import type { Searcher } from "../retrieval/types.ts";
import type { TenantStores } from "../store/open-stores.ts";
import type { ChainConfig } from "./config.ts";
import { loadPrompt } from "./prompts.ts";
import { buildQaChain, type QaInput, type QaResult } from "./qa.ts";
import { newRunId } from "./runs/run-store.ts";
import { chooseVariant, DEFAULT_VARIANT, resolveVariant, variantWeights } from "./variants.ts";

export interface QaRunOptions {
  /** Whose knowledge base answers, and whose runs record the answer. */
  tenant: TenantStores;
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

export interface QaChainHandle {
  name: string;
  description?: string;
  variants: { name: string; weight: number; description?: string; configHash: string }[];
  invoke(input: QaInput, options: QaRunOptions): Promise<QaReply>;
}

export interface QaHandleDeps {
  promptsDir: string;
  searcherFor(config: ChainConfig, tenant: TenantStores): Searcher;
  chatModelFor(config: ChainConfig, tenant: TenantStores): Promise<BaseChatModel>;
  /** A run that could not be recorded is logged, never fails the answer. */
  onRecordError?(error: unknown): void;
}

/** A variant as loaded: its settings, its prompt, and the hashes its runs are recorded with. */
interface Variant {
  config: ChainConfig;
  prompt: PromptTemplate;
  configHash: string;
  promptHash: string;
}

/** A variant's runnable over one tenant's stores. */
interface Arm {
  invoke(input: QaInput, options: { signal?: AbortSignal; callbacks: unknown[] }): Promise<QaResult>;
}

export async function buildQaHandle(config: ChainConfig, deps: QaHandleDeps): Promise<QaChainHandle> {
  // Prompts are read now, so that a broken prompt file fails the chain at load, not at a tenant's first question.
  const variants = new Map<string, Variant>();
  for (const name of new Set([DEFAULT_VARIANT, ...variantWeights(config).map(([name]) => name)])) {
    const resolved = resolveVariant(config, name);
    const prompt = await loadPrompt(deps.promptsDir, resolved.prompt);
    variants.set(name, {
      config: resolved,
      prompt,
      configHash: hash(
        stableJson({ prompt: resolved.prompt, model: resolved.model, retrieval: resolved.retrieval }),
      ),
      promptHash: hash(prompt.template as string),
    });
  }
  const armsByTenant = new Map<string, Promise<Map<string, Arm>>>();
  const armsFor = (tenant: TenantStores): Promise<Map<string, Arm>> => {
    let arms = armsByTenant.get(tenant.tenant);
    if (!arms) {
      arms = (async () => {
        const built = new Map<string, Arm>();
        for (const [name, variant] of variants) built.set(name, await buildArm(variant, tenant, deps));
        return built;
      })();
      armsByTenant.set(tenant.tenant, arms);
      arms.catch(() => armsByTenant.delete(tenant.tenant)); // the next question tries again
    }
    return arms;
  };

  return {
    name: config.name,
    description: config.description,
    variants: variantWeights(config).map(([name, weight]) => ({
      name,
      weight,
      description: config.variants?.[name]?.description,
      configHash: (variants.get(name) as Variant).configHash,
    })),
    async invoke(input, options) {
      const variant = chooseVariant(config, { explicit: options.variant, key: options.key });
      const arm = (await armsFor(options.tenant)).get(variant) as Arm;
      const { configHash, promptHash } = variants.get(variant) as Variant;
      const tokens = { input: 0, output: 0 };
      const result = await arm.invoke(input, { signal: options.signal, callbacks: [countTokens(tokens)] });
      const runId = newRunId();
      options.tenant.runs
        .record({
          runId,
          chain: config.name,
          variant,
          configHash,
          promptHash,
          model: result.model,
          latencyMs: result.timings.totalMs,
          inputTokens: tokens.input,
          outputTokens: tokens.output,
          at: new Date().toISOString(),
        })
        .catch((error: unknown) => deps.onRecordError?.(error));
      return { ...result, variant, runId, usage: { inputTokens: tokens.input, outputTokens: tokens.output } };
    },
  };
}

async function buildArm({ config, prompt }: Variant, tenant: TenantStores, deps: QaHandleDeps): Promise<Arm> {
  const searcher = deps.searcherFor(config, tenant);
  const chain =
    config.model.provider === "extractive"
      ? buildQaChain({
          config,
          searcher,
          prompt,
          answerer: new ExtractiveAnswerer({ minRelevance: config.model.minRelevance }),
        })
      : buildQaChain({ config, searcher, prompt, chatModel: await deps.chatModelFor(config, tenant) });
  return {
    invoke: (input, options) => chain.invoke(input, options as never) as Promise<QaResult>,
  };
}

/** A LangChain callback adding up the tokens of every model call in one run. */
function countTokens(tokens: { input: number; output: number }) {
  return {
    handleLLMEnd(output: LLMResult) {
      const usage = (output.generations?.[0]?.[0] as { message?: AIMessage } | undefined)?.message
        ?.usage_metadata;
      tokens.input += usage?.input_tokens ?? 0;
      tokens.output += usage?.output_tokens ?? 0;
    },
  };
}

function hash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 12);
}

/** JSON with keys sorted, so that the same settings always hash the same. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}
