// Experiment variants of a chain: each overrides part of the chain (prompt, model, retrieval) and gets a share
// of traffic by its weight. A request names its variant, or a stable key (a session or user id) is hashed onto
// the weights so that one caller always meets the same variant; without either, the choice is random. A loaded
// variant carries the hashes that identify it in online runs and offline reports alike, so that the two join.
import { createHash, randomInt } from "node:crypto";
import type { PromptTemplate } from "@langchain/core/prompts";
import type { ChainConfig } from "./config.ts";
import { loadPrompt, loadStepPrompt } from "./prompts.ts";

/** The name of the chain's own settings among its variants. */
export const DEFAULT_VARIANT = "default";

/**
 * The variants that share a chain's traffic, with their weights: its `variants:` (a variant without overrides
 * runs the chain as written), or `default` alone when it has none.
 */
export function variantWeights(config: ChainConfig): [string, number][] {
  const variants = Object.entries(config.variants ?? {});
  if (variants.length === 0) return [[DEFAULT_VARIANT, 1]];
  return variants.map(([name, v]) => [name, v.weight]);
}

/** The chain as a variant runs it: the variant's fields over the chain's, section by section. */
export function resolveVariant(config: ChainConfig, variant: string): ChainConfig {
  if (variant === DEFAULT_VARIANT) return config;
  const v = config.variants?.[variant];
  if (!v) throw new Error(`Chain "${config.name}" has no variant "${variant}".`);
  return {
    ...config,
    prompt: v.prompt ?? config.prompt,
    model: { ...config.model, ...v.model },
    retrieval: { ...config.retrieval, ...v.retrieval },
    cache: { ...config.cache, ...v.cache },
    citations: { ...config.citations, ...v.citations },
  };
}

export interface VariantRequest {
  /** The variant the caller asked for (body `variant` or the x-counsel-variant header). */
  explicit?: string;
  /** A stable id of the caller (session or user): the same key always gets the same variant. */
  key?: string;
}

/**
 * The variant that serves a request. A key is hashed (SHA-256 of chain name and key) to a point in [0, 1) and
 * the weights are laid out along it; a change of weights moves as few keys as the new shares require.
 */
export function chooseVariant(config: ChainConfig, request: VariantRequest = {}): string {
  const weights = variantWeights(config);
  if (request.explicit !== undefined) {
    // The chain's own settings can always be asked for by name, whether or not they take traffic.
    if (request.explicit !== DEFAULT_VARIANT && !weights.some(([name]) => name === request.explicit)) {
      throw new UnknownVariantError(
        config.name,
        request.explicit,
        weights.map(([name]) => name),
      );
    }
    return request.explicit;
  }
  const total = weights.reduce((sum, [, w]) => sum + w, 0);
  const point =
    request.key === undefined ? randomInt(2 ** 32) / 2 ** 32 : hashPoint(`${config.name}\0${request.key}`);
  let edge = 0;
  for (const [name, weight] of weights) {
    edge += weight / total;
    if (point < edge) return name;
  }
  // Rounding at the very end of the line: the last variant with any weight.
  return weights.filter(([, w]) => w > 0).at(-1)?.[0] ?? DEFAULT_VARIANT;
}

export class UnknownVariantError extends Error {
  constructor(
    readonly chain: string,
    readonly variant: string,
    readonly known: string[],
  ) {
    super(`Chain "${chain}" has no variant "${variant}". Variants: ${known.join(", ")}.`);
    this.name = "UnknownVariantError";
  }
}

/** A key's place in [0, 1): the first 48 bits of its SHA-256. */
function hashPoint(key: string): number {
  const digest = createHash("sha256").update(key).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

export interface LoadedVariant {
  name: string;
  /** The chain as this variant runs it (its overrides applied). */
  config: ChainConfig;
  prompt: PromptTemplate;
  /** prompts/decompose.md, for a variant that splits questions with a generative model. */
  decomposePrompt?: PromptTemplate;
  /** Identifies everything the variant runs: its settings and its prompt's text (12 hex digits). */
  configHash: string;
  /** Identifies the prompt's text alone (12 hex digits). */
  promptHash: string;
}

/**
 * Resolves a variant of a chain and reads its prompt: a missing prompt fails here, when the chain loads.
 * @example
 * const v = await loadVariant(chains.get("qa"), "balanced", "prompts");
 * v.config.retrieval.k; // the variant's k
 */
/** The prompt a generative model splits questions with (prompts/decompose.md). */
export const DECOMPOSE_PROMPT = "decompose";

export async function loadVariant(
  chain: ChainConfig,
  name: string,
  promptsDir: string,
): Promise<LoadedVariant> {
  const config = resolveVariant(chain, name);
  const prompt = await loadPrompt(promptsDir, config.prompt, chain.type);
  const template = String(prompt.template);
  // A generative model splits questions with its own prompt; the rules need none.
  const decomposePrompt =
    config.retrieval.decompose && config.model.provider !== "extractive"
      ? await loadStepPrompt(promptsDir, DECOMPOSE_PROMPT, ["question"], "query decomposition")
      : undefined;
  const texts = decomposePrompt ? `${template}\n${String(decomposePrompt.template)}` : template;
  return {
    name,
    config,
    prompt,
    ...(decomposePrompt ? { decomposePrompt } : {}),
    configHash: configHash(config, texts),
    promptHash: hash(template),
  };
}

/** The variant's resolved config (the other variants and the description left out) and its prompt's text. */
export function configHash(config: ChainConfig, promptText: string): string {
  const { variants: _variants, description: _description, ...settings } = config;
  return hash(stableJson({ config: settings, prompt: promptText }));
}

function hash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 12);
}

/** JSON with keys sorted and undefined left out, so that the same settings always hash the same. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value && typeof value === "object")
    return `{${Object.keys(value)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${stableJson((value as Record<string, unknown>)[key])}`)
      .join(",")}}`;
  return JSON.stringify(value) ?? "null";
}
