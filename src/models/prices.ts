// What a model call costs, so that run stats can show an estimated cost per experiment variant. Estimates only:
// Bedrock bills from its own meter, with discounts (batch, provisioned throughput, prompt caching) not modelled.
// Unknown models have no price (null), so that a cost is never made up.

/** USD per 1,000 tokens. */
export interface ModelPrice {
  inputPer1k: number;
  outputPer1k: number;
}

/** Keyed by base model id: no inference-profile prefix (`us.`), no version suffix (`-v1:0`). */
export type PriceTable = Readonly<Record<string, ModelPrice>>;

/**
 * On-demand list prices in us-east-1, as known in late 2025 (check https://aws.amazon.com/bedrock/pricing/).
 * To be overridden from PRICES_FILE; until then a deployment passes its own table (`{ ...PRICES, ...mine }`).
 * Cohere Embed v4 is its text price (images cost more); Claude Sonnet 4.5 is its price up to 200K input tokens.
 */
export const PRICES: PriceTable = {
  // Embeddings: input only.
  "amazon.titan-embed-text-v2": { inputPer1k: 0.00002, outputPer1k: 0 },
  "cohere.embed-english-v3": { inputPer1k: 0.0001, outputPer1k: 0 },
  "cohere.embed-multilingual-v3": { inputPer1k: 0.0001, outputPer1k: 0 },
  "cohere.embed-v4": { inputPer1k: 0.00012, outputPer1k: 0 },
  // Chat.
  "amazon.nova-micro": { inputPer1k: 0.000035, outputPer1k: 0.00014 },
  "amazon.nova-lite": { inputPer1k: 0.00006, outputPer1k: 0.00024 },
  "amazon.nova-pro": { inputPer1k: 0.0008, outputPer1k: 0.0032 },
  "anthropic.claude-sonnet-4": { inputPer1k: 0.003, outputPer1k: 0.015 },
  "anthropic.claude-sonnet-4-5": { inputPer1k: 0.003, outputPer1k: 0.015 },
  "anthropic.claude-haiku-4-5": { inputPer1k: 0.001, outputPer1k: 0.005 },
  "anthropic.claude-3-5-haiku": { inputPer1k: 0.0008, outputPer1k: 0.004 },
  "anthropic.claude-3-haiku": { inputPer1k: 0.00025, outputPer1k: 0.00125 },
};

// Models that run in this process (the extractive answerer, the local hashed embedder) or on a local server.
const FREE = /^(extractive|local)([-:]|$)/;
const FREE_PRICE: ModelPrice = Object.freeze({ inputPer1k: 0, outputPer1k: 0 });

// Cross-region inference profiles put a geography before the model id: us.amazon.nova-micro-v1:0.
const PROFILE_PREFIX = /^(us|us-gov|eu|apac|jp|au|ca|global)\./;
// What may follow a base id: a release date, a version, then `:n` revisions or context sizes (`:0:300k`). Strict,
// so that `anthropic.claude-sonnet-4` never prices `anthropic.claude-sonnet-4-5-…` by accident.
const VERSION_SUFFIX = /^(-\d{8})?(-v\d+)?(:\d+k?)*$/;

/**
 * The base id of a model as chains and meters name it: `bedrock:us.anthropic.claude-sonnet-4-20250514-v1:0` and
 * an inference-profile ARN both become `anthropic.claude-sonnet-4-20250514-v1:0`.
 */
export function normalizeModelId(modelId: string): string {
  let id = modelId
    .trim()
    .toLowerCase()
    .replace(/^bedrock[:/]/, "");
  if (id.startsWith("arn:")) id = id.slice(id.lastIndexOf("/") + 1);
  return id.replace(PROFILE_PREFIX, "");
}

/** The price of a model id, matched loosely (profile prefix, version suffix); null when unknown. */
export function priceFor(modelId: string, table: PriceTable = PRICES): ModelPrice | null {
  const id = normalizeModelId(modelId);
  if (FREE.test(id)) return FREE_PRICE;
  for (const [base, price] of Object.entries(table)) {
    const key = base.toLowerCase();
    if (id === key || (id.startsWith(key) && VERSION_SUFFIX.test(id.slice(key.length)))) return price;
  }
  return null;
}

/** USD for these tokens on this model; null when the model has no price. */
export function costFor(
  modelId: string,
  inputTokens: number,
  outputTokens: number,
  table: PriceTable = PRICES,
): number | null {
  const price = priceFor(modelId, table);
  if (!price) return null;
  return (inputTokens / 1000) * price.inputPer1k + (outputTokens / 1000) * price.outputPer1k;
}
