// Chain configs: one YAML file per chain in chains/, validated at start-up so that a typo fails loudly
// with the file, the field and what was expected, instead of at the first request.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod/v4";
import { describeIssue, displayPath, parseConfigYaml } from "../config/describe-issues.ts";
/** A chain, prompt or variant name: also used in URLs (/chain/:name) and file names. */
import { NAME } from "../contracts/names.ts";
import { PII_TYPES as OFFLINE_PII_TYPES } from "../ingest/transform/pii/pii-types.ts";

const name = (what: string) =>
  z.string({ error: `expected ${what}` }).regex(NAME, { error: `expected ${what} (a-z, 0-9, - and _)` });

function between(min: number, max: number, options: { int?: boolean } = {}) {
  const expected = `expected a number between ${min} and ${max}`;
  const n = z.number({ error: expected });
  return (options.int ? n.int({ error: `expected a whole number between ${min} and ${max}` }) : n)
    .min(min, { error: expected })
    .max(max, { error: expected });
}

const modelFields = {
  provider: z.enum(["extractive", "bedrock", "openai"]),
  /** Model id for generative providers: a Bedrock model or inference profile id, or an OpenAI-compatible model name. */
  id: z.string({ error: "expected a model id" }).min(1, { error: "expected a model id" }),
  temperature: between(0, 1),
  maxTokens: between(1, 200_000, { int: true }),
  /** Extractive answerer: abstain below this relevance (0..1), with abstention: relevance. */
  minRelevance: between(0, 1),
  /** Extractive answerer: how it decides to abstain (answerability.ts). */
  abstention: z.enum(["relevance", "calibrated"]),
  /** Extractive answerer: abstain below this confidence (0..1), with abstention: calibrated. */
  minConfidence: between(0, 1),
};

const filterSchema = z.record(
  z.string(),
  z.union([z.string(), z.number(), z.boolean()], { error: "expected a string, number or boolean" }),
  { error: "expected a mapping of metadata field to value" },
);

const retrievalFields = {
  k: between(1, 50, { int: true }),
  search: z.enum(["hybrid", "similarity", "lexical", "mmr"]),
  /** Drop retrieved chunks scoring below this; scores are comparable only within one search mode. */
  scoreThreshold: z.number({ error: "expected a number" }),
  filter: filterSchema,
  /** Hybrid search only: how much the keyword (BM25) and the vector side count in the fused score. */
  weights: z.strictObject({ lexical: between(0, 1), vector: between(0, 1) }),
  /** MMR search only: candidates fetched by similarity, and relevance (1) against diversity (0). */
  mmr: z.strictObject({
    fetchK: between(1, 1000, { int: true }).optional(),
    lambda: between(0, 1).optional(),
  }),
  /**
   * Questions that ask several things are split into sub-queries, each retrieved on its own and merged in turns:
   * by the chain's model (prompts/decompose.md) when it is generative, by rules offline (retrieval/decompose.ts).
   */
  decompose: z.boolean({ error: "expected true or false" }),
  /**
   * A reranker between retrieval and answering: `candidates` chunks are retrieved, reordered, and the best k
   * kept. offline: the sentence-window reranker (retrieval/rerank/sentence-window.ts), `weight` its share.
   * bedrock: Amazon Bedrock's Rerank API with `model` (an id, default amazon.rerank-v1:0, or a model ARN).
   */
  rerank: z
    .strictObject({
      provider: z.enum(["offline", "bedrock"]),
      candidates: between(1, 100, { int: true }).default(20),
      weight: between(0, 1).optional(),
      model: z
        .string({ error: "expected a reranking model id or ARN" })
        .regex(/^(?:[a-z0-9-]+\.[a-z0-9-]+(?:-v\d+(?:-\d+)?)?:\d+|arn:aws(?:-[a-z-]+)?:bedrock:\S+)$/, {
          error: "expected a reranking model id (amazon.rerank-v1:0, cohere.rerank-v3-5:0) or its ARN",
        })
        .optional(),
    })
    .refine((r) => r.provider === "bedrock" || r.model === undefined, {
      ...betweenFields("model"),
      message: "only with provider: bedrock",
    })
    .refine((r) => r.provider === "offline" || r.weight === undefined, {
      ...betweenFields("weight"),
      message: "only with provider: offline (a Bedrock model scores by itself)",
    }),
};

/** A chain's `retrieval.rerank`, defaults filled. */
export type RerankSettings = z.output<typeof retrievalFields.rerank>;

const modelSchema = z.strictObject({
  provider: modelFields.provider,
  id: modelFields.id.optional(),
  temperature: modelFields.temperature.optional(),
  maxTokens: modelFields.maxTokens.optional(),
  minRelevance: modelFields.minRelevance.optional(),
  abstention: modelFields.abstention.optional(),
  minConfidence: modelFields.minConfidence.optional(),
});

const retrievalSchema = z.strictObject({
  k: retrievalFields.k.default(5),
  search: retrievalFields.search.default("hybrid"),
  scoreThreshold: retrievalFields.scoreThreshold.optional(),
  filter: retrievalFields.filter.optional(),
  weights: retrievalFields.weights.optional(),
  mmr: retrievalFields.mmr.optional(),
  rerank: retrievalFields.rerank.optional(),
  decompose: retrievalFields.decompose.default(false),
});

/** Answer sentences are checked against the sources they cite (citation-check.ts). */
const citationFields = {
  /** Check every [n]: an unsupported citation is re-pointed to a source that supports its sentence, or removed. */
  verify: z.boolean({ error: "expected true or false" }),
  /** The share (0..1) of a sentence's IDF-weighted content terms a span of the source must contain. */
  minSupport: between(0, 1),
};

/** The default support: half of a sentence's weighted content terms found in one or two sentences of its source. */
export const DEFAULT_MIN_SUPPORT = 0.5;

const citationsSchema = z.strictObject({
  verify: citationFields.verify.default(true),
  minSupport: citationFields.minSupport.default(DEFAULT_MIN_SUPPORT),
});

/** An experiment arm: overrides part of the chain; `weight` is its share of traffic (relative to the others). */
const variantSchema = z.strictObject({
  weight: z
    .number({ error: "expected a weight of 0 or more" })
    .min(0, { error: "expected a weight of 0 or more" }),
  description: z.string().optional(),
  prompt: name("a prompt name").optional(),
  model: z.strictObject(modelSchema.shape).partial().optional(),
  retrieval: z.strictObject(retrievalFields).partial().optional(),
  cache: z.strictObject({ llm: z.boolean({ error: "expected true or false" }) }).optional(),
  citations: z.strictObject(citationFields).partial().optional(),
});

const ADVISOR_TOOLS = ["search_knowledge_base", "write_report", "generate_code"] as const;
const PII_TYPES = ["email", "credit_card", "ip", "mac_address", "url"] as const;

/** The advisor agent's own settings (type: advisor). */
const advisorSchema = z.strictObject({
  /** The tools the agent may call. */
  tools: z
    .array(z.enum(ADVISOR_TOOLS), { error: `expected a list of ${ADVISOR_TOOLS.join(", ")}` })
    .default(() => [...ADVISOR_TOOLS]),
  /** Tool calls allowed in one turn; past it further calls are refused and the turn ends. */
  maxToolCalls: between(1, 50, { int: true }).default(8),
  /** Retries of a failed model call (besides the SDK's own retries of throttling). */
  modelRetries: between(0, 5, { int: true }).default(2),
  /** Conversation history kept for the model, in (approximate) tokens; older turns are dropped first. */
  memoryTokens: between(500, 200_000, { int: true }).default(8000),
  /** Personal data redacted from the user's messages before the model sees them. */
  redactPii: z
    .array(z.enum(PII_TYPES), { error: `expected a list of ${PII_TYPES.join(", ")}` })
    .default(() => []),
});

export type AdvisorSettings = z.output<typeof advisorSchema>;

/** A rule between fields, at `field`, checked only when every field is valid on its own. */
function betweenFields(field: string) {
  return {
    path: [field],
    when: (payload: { issues: { code?: string }[] }) => payload.issues.every((i) => i.code === "custom"),
  };
}

/** ApplyGuardrail's own patterns (the Bedrock Runtime service model): an id or ARN, and a version or DRAFT. */
const GUARDRAIL_ID =
  /^(?:[a-z0-9]+|arn:aws(?:-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail\/[a-z0-9]+)$/;
const GUARDRAIL_VERSION = /^(?:[1-9][0-9]{0,7}|DRAFT)$/;
const GUARDRAIL_CHECKS = ["input", "output"] as const;
/** Characters per streamed window checked by Amazon Bedrock (each window is a call, billed a text unit at least). */
const BEDROCK_WINDOW_CHARS = 300;

/**
 * A guardrail on the chain's questions and answers: an Amazon Bedrock guardrail (`id`, `version`), applied with
 * ApplyGuardrail to the question before retrieval and to the answer before it is shown; or `offline: pii`,
 * masking personal data in answers with the offline recognisers. Normalised to {@link GuardrailSettings}.
 */
const guardrailSchema = z
  .strictObject({
    id: z
      .string({ error: "expected a guardrail id or ARN" })
      .max(2048, { error: "expected a guardrail id or ARN (2048 characters at most)" })
      .regex(GUARDRAIL_ID, {
        error:
          "expected a guardrail id (lower-case letters and digits, as the Bedrock console shows it) or its ARN",
      })
      .optional(),
    // YAML reads `version: 1` as a number.
    version: z
      .preprocess(
        (value) => (typeof value === "number" ? String(value) : value),
        z
          .string({ error: "expected a version number (1, 2, …) or DRAFT" })
          .regex(GUARDRAIL_VERSION, { error: "expected a version number (1, 2, …) or DRAFT" }),
      )
      .optional(),
    offline: z.enum(["pii"]).optional(),
    /** offline only: what to mask (default: every type the recognisers know). */
    types: z
      .array(z.enum(OFFLINE_PII_TYPES), { error: `expected a list of ${OFFLINE_PII_TYPES.join(", ")}` })
      .min(1, { error: `expected a list of ${OFFLINE_PII_TYPES.join(", ")}` })
      .optional(),
    /** What a Bedrock guardrail checks: the question (input), the answer (output), or both (the default). */
    checks: z
      .array(z.enum(GUARDRAIL_CHECKS), { error: "expected a list of input, output" })
      .min(1, { error: "expected a list of input, output" })
      .optional(),
    /** A streamed answer is checked a window at a time: the first sentence end at or after this many characters. */
    windowChars: between(0, 10_000, { int: true }).optional(),
  })
  // Between fields, and only once each field is valid on its own: a bad id is not also reported missing.
  .refine((g) => g.id === undefined || g.offline === undefined, {
    ...betweenFields("offline"),
    message: "either id (an Amazon Bedrock guardrail) or offline, not both",
  })
  .refine((g) => g.id !== undefined || g.offline !== undefined, {
    ...betweenFields("id"),
    message: "required: an Amazon Bedrock guardrail's id (with version), or offline: pii",
  })
  .refine((g) => g.id === undefined || g.version !== undefined, {
    ...betweenFields("version"),
    message: "required with id: the guardrail's version number, or DRAFT",
  })
  .refine((g) => g.id !== undefined || g.offline === undefined || g.version === undefined, {
    ...betweenFields("version"),
    message: "only with id (an Amazon Bedrock guardrail)",
  })
  .refine((g) => g.offline !== undefined || g.types === undefined, {
    ...betweenFields("types"),
    message: "only with offline: pii (an Amazon Bedrock guardrail's policies are its own)",
  })
  .refine((g) => g.offline === undefined || !g.checks?.includes("input"), {
    ...betweenFields("checks"),
    message: "offline: pii masks answers only (checks: [output])",
  })
  .transform((g): GuardrailSettings => {
    if (g.offline)
      return {
        kind: "offline-pii",
        types: g.types ?? [...OFFLINE_PII_TYPES],
        checks: ["output"],
        // Masking costs nothing: sentence by sentence.
        windowChars: g.windowChars ?? 0,
      };
    return {
      kind: "bedrock",
      id: g.id as string,
      version: g.version as string,
      checks: g.checks ?? [...GUARDRAIL_CHECKS],
      windowChars: g.windowChars ?? BEDROCK_WINDOW_CHARS,
    };
  });

/** A chain's guardrail, as chains/<name>.yaml `guardrail` describes it, defaults filled. */
export type GuardrailSettings = {
  checks: ("input" | "output")[];
  /** A streamed answer's windows end at the first sentence end at or after this many characters. */
  windowChars: number;
} & (
  | { kind: "bedrock"; id: string; version: string }
  | { kind: "offline-pii"; types: (typeof OFFLINE_PII_TYPES)[number][] }
);

const chainSchema = z
  .strictObject({
    name: name("a chain name"),
    type: z.enum(["qa", "advisor"]),
    description: z.string().optional(),
    /** A file in prompts/, without .md. */
    prompt: name("a prompt name"),
    model: modelSchema,
    retrieval: retrievalSchema.prefault({}),
    /** Response caching: `llm: true` answers a repeated prompt from the LLM cache (Redis when configured). */
    cache: z
      .strictObject({ llm: z.boolean({ error: "expected true or false" }).default(false) })
      .prefault({}),
    /** type qa: whether and how strictly the answer's citations are checked against their sources. */
    citations: citationsSchema.prefault({}),
    variants: z
      .record(name("a variant name"), variantSchema)
      .refine((v) => !("default" in v), { error: '"default" names the chain itself; choose another name' })
      .optional(),
    /** type advisor only: tools, limits, memory and redaction of the agent. */
    advisor: advisorSchema.optional(),
    /** Checks questions and answers (an Amazon Bedrock guardrail), or masks PII in answers offline. */
    guardrail: guardrailSchema.optional(),
  })
  .superRefine((config, ctx) => {
    const refuse = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: "custom", path, message });
    if (config.advisor && config.type !== "advisor") refuse(["advisor"], "only for type advisor");
    // What the advisor does not use would otherwise be accepted and silently do nothing.
    if (config.type === "advisor") {
      if (config.variants) refuse(["variants"], "only for type qa (the advisor runs no experiments)");
      if (config.cache.llm) refuse(["cache", "llm"], "only for type qa (the advisor uses no LLM cache)");
      if (config.retrieval.scoreThreshold !== undefined)
        refuse(
          ["retrieval", "scoreThreshold"],
          "only for type qa (the advisor's search keeps every chunk it retrieves)",
        );
    }
    // Options of a search mode that the chain (or the variant that sets them) does not run.
    const modeOptions = (retrieval: { weights?: unknown; mmr?: unknown }, search: Search, at: string[]) => {
      if (retrieval.weights && search !== "hybrid")
        refuse([...at, "weights"], `only for search: hybrid (this one is ${search})`);
      if (retrieval.mmr && search !== "mmr")
        refuse([...at, "mmr"], `only for search: mmr (this one is ${search})`);
    };
    modeOptions(config.retrieval, config.retrieval.search, ["retrieval"]);
    const generativeNeedsId = (model: Partial<ChainModel>, at: (string | number)[]) => {
      if ((model.provider === "bedrock" || model.provider === "openai") && !model.id)
        refuse(
          [...at, "id"],
          `required when model.provider is ${model.provider} (set it here, or MODEL_ID for every chain)`,
        );
    };
    generativeNeedsId(config.model, ["model"]);
    const variants = Object.entries(config.variants ?? {});
    for (const [variant, v] of variants) {
      generativeNeedsId({ ...config.model, ...v.model }, ["variants", variant, "model"]);
      const search = v.retrieval?.search ?? config.retrieval.search;
      modeOptions(v.retrieval ?? {}, search, ["variants", variant, "retrieval"]);
    }
    if (variants.length > 0 && variants.every(([, v]) => v.weight === 0))
      refuse(["variants"], "expected at least one variant with a weight above 0");
  });

type ChainModel = z.output<typeof modelSchema>;
type Search = z.output<typeof retrievalFields.search>;

export type ChainConfig = z.output<typeof chainSchema>;
export type ChainType = ChainConfig["type"];
export type ChainVariant = NonNullable<ChainConfig["variants"]>[string];

/** A chain or prompt file that cannot be used; names the file and every problem in it. */
export class ChainConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(problems.map((p) => `${file}: ${p}`).join("\n"));
    this.name = "ChainConfigError";
  }
}

/**
 * What a chain's `model` falls back to for the fields it leaves out: MODEL_PROVIDER and MODEL_ID, so that one
 * setting moves every chain that does not name its own model to Bedrock or an OpenAI-compatible server.
 */
export interface ModelDefaults {
  provider: ChainModel["provider"];
  id?: string;
}

const OFFLINE: ModelDefaults = { provider: "extractive" };

/** Reads every chains/*.yaml (and .yml) in `dir`, keyed by chain name. */
export async function loadChainConfigs(
  dir: string,
  defaults: ModelDefaults = OFFLINE,
): Promise<Map<string, ChainConfig>> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    throw new ChainConfigError(displayPath(dir), [
      `cannot read the chains folder (${(error as Error).message})`,
    ]);
  }
  const configs = new Map<string, ChainConfig>();
  for (const entry of entries.filter((e) => /\.ya?ml$/.test(e)).sort()) {
    const file = path.join(dir, entry);
    const config = parseChainConfig(await readFile(file, "utf8"), file, defaults);
    configs.set(config.name, config);
  }
  return configs;
}

/** Validates one chain file's text; `file` names it in errors, and its base name must equal the chain name. */
export function parseChainConfig(text: string, file: string, defaults: ModelDefaults = OFFLINE): ChainConfig {
  const shown = displayPath(file);
  const data = parseConfigYaml(text, (problem) => {
    throw new ChainConfigError(shown, [problem]);
  });
  if (data === null || typeof data !== "object" || Array.isArray(data))
    throw new ChainConfigError(shown, [
      `expected a mapping of fields (name, type, prompt, model, retrieval)`,
    ]);

  const parsed = chainSchema.safeParse(withModelDefaults(data, defaults), { reportInput: true });
  if (!parsed.success) throw new ChainConfigError(shown, parsed.error.issues.flatMap(describeIssue));
  const base = path.basename(file).replace(/\.ya?ml$/, "");
  if (parsed.data.name !== base)
    throw new ChainConfigError(shown, [
      `name: expected "${base}" (the file name, so each chain is found by its file), got "${parsed.data.name}"`,
    ]);
  const config = parsed.data;
  // An advisor chain always has its settings, defaulted when the file leaves them out.
  if (config.type === "advisor" && !config.advisor) config.advisor = advisorSchema.parse({});
  return config;
}

/** The chain's own model fields win; a chain with no `model` block gets the defaults whole. */
function withModelDefaults(data: object, defaults: ModelDefaults): object {
  const model = (data as { model?: unknown }).model ?? {};
  if (typeof model !== "object" || model === null || Array.isArray(model)) return data;
  const fallback = { provider: defaults.provider, ...(defaults.id ? { id: defaults.id } : {}) };
  // An id set for a generative model means nothing to the extractive answerer, which takes none.
  const filled = { ...fallback, ...model } as { provider?: unknown; id?: unknown };
  if (filled.provider === "extractive" && !("id" in model)) delete filled.id;
  return { ...data, model: filled };
}
