// Experiment variants of a chain: each overrides part of the chain (prompt, model, retrieval) and gets a share
// of traffic by its weight. A request names its variant, or a stable key (a session or user id) is hashed onto
// the weights so that one caller always meets the same variant; without either, the choice is random.
import { createHash, randomInt } from "node:crypto";
import type { ChainConfig } from "./config.ts";

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
