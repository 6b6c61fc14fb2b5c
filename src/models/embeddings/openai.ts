// Embeddings on the OpenAI API or any OpenAI-compatible server (Ollama, vLLM, LM Studio): LangChain's
// OpenAIEmbeddings, many texts a call, calls in flight up to a limit, every call's tokens metered and every
// vector's length checked. One embedding at start reads the model's dimension (or checks the one asked for), so
// that a wrong server, model or dimension stops the start rather than an ingestion halfway.
import type { Embeddings } from "@langchain/core/embeddings";
import { OpenAIClient, OpenAIEmbeddings } from "@langchain/openai";
import { SettingsError } from "../../config/settings.ts";
import { CounselError } from "../../errors.ts";
import { withoutTroubleshooting } from "../errors.ts";
import {
  describeEndpoint,
  explainStartFailure,
  type OpenAIEndpoint,
  openAIClientOptions,
} from "../openai-server.ts";
import type { UsageMeter } from "../usage.ts";

export interface OpenAIEmbeddingsSpec {
  /** The server's name for the model, e.g. nomic-embed-text (Ollama) or text-embedding-3-small. */
  model: string;
  /**
   * Asked of the model as `dimensions` (OpenAI's text-embedding-3 shorten their vectors to it) and checked on
   * every vector; unset: the model's own size.
   */
  dimensions?: number;
  /** Calls in flight at once. */
  maxConcurrency: number;
  /** Texts per call (LangChain's default: 512). */
  batchSize?: number;
}

type Request = OpenAIClient.EmbeddingCreateParams;

/**
 * OpenAIEmbeddings with three changes. Its client is made here, so that the openai client's own retries (which
 * honour retry-after) run instead of LangChain's, which this class cannot hand a retry count. `dimensions` is what
 * the vectors are (the stores read it), sent only when asked for: a model that cannot shorten (vLLM's, OpenAI's
 * ada-002) refuses it. And each reply is metered and its vectors' length checked.
 */
class CheckedOpenAIEmbeddings extends OpenAIEmbeddings {
  /** What `dimensions` the requests carry; undefined: none. */
  private readonly asked?: number;
  private readonly meter?: UsageMeter;

  constructor(
    spec: OpenAIEmbeddingsSpec,
    endpoint: OpenAIEndpoint,
    options: { meter?: UsageMeter; encodingFormat?: "float" },
  ) {
    super({
      model: spec.model,
      dimensions: spec.dimensions,
      maxConcurrency: spec.maxConcurrency,
      batchSize: spec.batchSize,
      encodingFormat: options.encodingFormat,
      maxRetries: 0,
    });
    this.asked = spec.dimensions;
    this.meter = options.meter;
    this.client = new OpenAIClient(openAIClientOptions(endpoint));
  }

  protected override async embeddingWithRetry(request: Request) {
    const { dimensions: _described, ...rest } = request;
    const sent: Request = this.asked === undefined ? rest : { ...rest, dimensions: this.asked };
    const response = await super.embeddingWithRetry(sent);
    this.meter?.record({
      model: this.model,
      operation: "embeddings",
      inputTokens: response.usage?.prompt_tokens ?? 0,
      outputTokens: 0,
    });
    const expected = this.dimensions;
    const wrong = response.data.find((d) => d.embedding.length !== expected);
    if (expected !== undefined && wrong)
      throw new DimensionError(this.model, wrong.embedding.length, expected);
    return response;
  }
}

/** A vector of another length than the index holds (or EMBEDDINGS_DIMENSIONS asked for): 502, never stored. */
class DimensionError extends CounselError {
  constructor(
    model: string,
    readonly got: number,
    readonly expected: number,
  ) {
    super(
      "model_error",
      502,
      `Embedding model ${model} returned a ${got}-dimensional vector where ${expected} dimensions were expected.`,
    );
  }
}

/**
 * The embedder, after one embedding that proves the server, the key and the model, and reads the dimension
 * (a SettingsError naming what to fix otherwise).
 * Vectors come as floats from a compatible server (one that ignored `encoding_format: base64` would have its
 * floats misread as base64 bytes) and as base64, the openai client's compact default, from the OpenAI API.
 */
export async function createOpenAIEmbeddings(
  spec: OpenAIEmbeddingsSpec,
  endpoint: OpenAIEndpoint,
  options: { meter?: UsageMeter } = {},
): Promise<Embeddings & { modelId: string; dimensions: number }> {
  const embeddings = new CheckedOpenAIEmbeddings(spec, endpoint, {
    meter: options.meter,
    // Left unset, the client asks for base64 and decodes it; asked for by name, it would hand back the text.
    encodingFormat: endpoint.baseURL ? "float" : undefined,
  });
  let probe: number[];
  try {
    probe = await embeddings.embedQuery("Counsel checks its embedding model.");
  } catch (error) {
    throw new SettingsError([explainProbeFailure(spec, endpoint, error)], { cause: error });
  }
  if (spec.dimensions === undefined) embeddings.dimensions = probe.length;
  const dimensions = embeddings.dimensions as number;
  // Indexes are keyed by model and dimension, so that vectors of two models never mix.
  const modelId = `${spec.model}-${dimensions}`.replace(/[^A-Za-z0-9._-]/g, "_");
  return Object.assign(embeddings, { modelId, dimensions });
}

function explainProbeFailure(spec: OpenAIEmbeddingsSpec, endpoint: OpenAIEndpoint, error: unknown): string {
  const where = describeEndpoint(endpoint);
  if (error instanceof DimensionError) {
    return (
      `EMBEDDINGS_DIMENSIONS=${spec.dimensions}: ${spec.model} on ${where} makes ${error.got}-dimensional ` +
      `vectors and did not shorten them; leave EMBEDDINGS_DIMENSIONS unset (or set it to ${error.got})`
    );
  }
  if (error instanceof OpenAIClient.APIError && error.status === 404) {
    return (
      `EMBEDDINGS_MODEL=${spec.model}: ${where} answered 404 (${withoutTroubleshooting(error)}); check the name, ` +
      `or with Ollama pull it first: ollama pull ${spec.model}`
    );
  }
  if (error instanceof OpenAIClient.APIError && error.status === 400 && spec.dimensions !== undefined) {
    return (
      `EMBEDDINGS_DIMENSIONS=${spec.dimensions}: ${where} refused it for ${spec.model} ` +
      `(${withoutTroubleshooting(error)}); leave EMBEDDINGS_DIMENSIONS unset to use the model's own size`
    );
  }
  return explainStartFailure(endpoint, error, "POST /embeddings");
}
