// A qa chain as the service runs it: one runnable per experiment variant, the variant chosen per request
// (asked for by name, or by the caller's stable key hashed onto the weights), and every answer recorded as a
// run with its variant, config and prompt hashes, latency and tokens, so that feedback and stats can compare
// variants. The reply carries the run's id for feedback.
import { createHash } from "node:crypto";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { AIMessage } from "@langchain/core/messages";
import type { LLMResult } from "@langchain/core/outputs";
import { ExtractiveAnswerer } from "../models/chat/extractive.ts";
import type { Searcher } from "../retrieval/types.ts";
import type { ChainConfig } from "./config.ts";
import { loadPrompt } from "./prompts.ts";
import { buildQaChain, type QaInput, type QaResult } from "./qa.ts";
import { newRunId, type RunStore } from "./runs/run-store.ts";
import { chooseVariant, DEFAULT_VARIANT, resolveVariant, variantWeights } from "./variants.ts";

export interface QaRunOptions {
  signal?: AbortSignal;
  /** The variant asked for by name. */
  variant?: string;
  /** The caller's stable id (session or user): the same key always meets the same variant. */
  key?: string;
}

export type QaReply = QaResult & { runId: string };

export interface QaChainHandle {
  name: string;
  description?: string;
  variants: { name: string; weight: number; description?: string; configHash: string }[];
  invoke(input: QaInput, options?: QaRunOptions): Promise<QaReply>;
}

export interface QaHandleDeps {
  promptsDir: string;
  searcherFor(config: ChainConfig): Searcher;
  chatModelFor(config: ChainConfig): Promise<BaseChatModel>;
  runs: RunStore;
  /** A run that could not be recorded is logged, never fails the answer. */
  onRecordError?(error: unknown): void;
}

interface Arm {
  config: ChainConfig;
  configHash: string;
  promptHash: string;
  invoke(input: QaInput, options: { signal?: AbortSignal; callbacks: unknown[] }): Promise<QaResult>;
}

export async function buildQaHandle(config: ChainConfig, deps: QaHandleDeps): Promise<QaChainHandle> {
  const arms = new Map<string, Arm>();
  const names = new Set([DEFAULT_VARIANT, ...variantWeights(config).map(([name]) => name)]);
  for (const name of names) arms.set(name, await buildArm(resolveVariant(config, name), deps));

  return {
    name: config.name,
    description: config.description,
    variants: variantWeights(config).map(([name, weight]) => ({
      name,
      weight,
      description: config.variants?.[name]?.description,
      configHash: (arms.get(name) as Arm).configHash,
    })),
    async invoke(input, options = {}) {
      const variant = chooseVariant(config, { explicit: options.variant, key: options.key });
      const arm = arms.get(variant) as Arm;
      const tokens = { input: 0, output: 0 };
      const result = await arm.invoke(input, { signal: options.signal, callbacks: [countTokens(tokens)] });
      const runId = newRunId();
      deps.runs
        .record({
          runId,
          chain: config.name,
          variant,
          configHash: arm.configHash,
          promptHash: arm.promptHash,
          model: result.model,
          latencyMs: result.timings.totalMs,
          inputTokens: tokens.input,
          outputTokens: tokens.output,
          at: new Date().toISOString(),
        })
        .catch((error: unknown) => deps.onRecordError?.(error));
      return { ...result, variant, runId };
    },
  };
}

async function buildArm(config: ChainConfig, deps: QaHandleDeps): Promise<Arm> {
  const prompt = await loadPrompt(deps.promptsDir, config.prompt);
  const searcher = deps.searcherFor(config);
  const chain =
    config.model.provider === "extractive"
      ? buildQaChain({
          config,
          searcher,
          prompt,
          answerer: new ExtractiveAnswerer({ minRelevance: config.model.minRelevance }),
        })
      : buildQaChain({ config, searcher, prompt, chatModel: await deps.chatModelFor(config) });
  return {
    config,
    configHash: hash(stableJson({ prompt: config.prompt, model: config.model, retrieval: config.retrieval })),
    promptHash: hash(prompt.template as string),
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
