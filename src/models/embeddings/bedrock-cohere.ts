// Cohere Embed (v3 English or multilingual, v4) on Amazon Bedrock, through InvokeModel. LangChain's
// BedrockEmbeddings speaks Titan's and Nova's request shapes only, so this class speaks Cohere's: up to 96 texts
// a call, chunks embedded as `search_document` and questions as `search_query` (Cohere trains the two sides
// apart, and mixing them costs recall), batches in flight at once up to the concurrency limit.
//
// The pipeline indexes one document per batch, and most documents have a few chunks: embedded one document at a
// time, a call would carry three texts where it could carry 96. DataLoader gathers the chunks that documents
// being ingested at the same moment ask for, within a few milliseconds, into shared calls.
import type { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { Embeddings } from "@langchain/core/embeddings";
import DataLoader from "dataloader";
import { invokeJson } from "./invoke-json.ts";

/** Cohere on Bedrock takes at most 96 texts per call. */
export const COHERE_MAX_BATCH = 96;

export interface CohereBedrockEmbeddingsOptions {
  client: BedrockRuntimeClient;
  /** e.g. cohere.embed-english-v3, cohere.embed-multilingual-v3, cohere.embed-v4:0 (or an inference profile). */
  model: string;
  /** v4 only: 256, 512, 1024 or 1536; v3 always makes 1024. */
  dimensions?: number;
  /** Calls in flight at once. */
  maxConcurrency: number;
  /** Texts per call, at most 96. */
  batchSize?: number;
  /** How long texts wait for others to share their call, in ms; 0 gathers only what is asked in one tick. */
  gatherMs?: number;
}

/** Long enough for concurrently ingested documents to meet, short beside a model call's tens of milliseconds. */
const DEFAULT_GATHER_MS = 5;

type InputType = "search_document" | "search_query";

interface CohereResponse {
  /** v3 without embedding_types: the float vectors; otherwise (and always for v4) keyed by type. */
  embeddings: number[][] | { float?: number[][] };
}

export function isCohereV4(model: string): boolean {
  return /cohere\.embed-v4/.test(model);
}

export class CohereBedrockEmbeddings extends Embeddings {
  readonly model: string;
  private readonly client: BedrockRuntimeClient;
  private readonly dimensions?: number;
  private readonly batchSize: number;
  private readonly documents: DataLoader<string, number[]>;

  constructor(options: CohereBedrockEmbeddingsOptions) {
    // The SDK retries throttling and 5xx itself (adaptively); a second layer would multiply the attempts.
    super({ maxConcurrency: options.maxConcurrency, maxRetries: 0 });
    this.client = options.client;
    this.model = options.model;
    this.dimensions = options.dimensions;
    this.batchSize = Math.min(Math.max(1, options.batchSize ?? COHERE_MAX_BATCH), COHERE_MAX_BATCH);
    const gatherMs = options.gatherMs ?? DEFAULT_GATHER_MS;
    this.documents = new DataLoader(
      (texts) => this.caller.call(() => this.invoke([...texts], "search_document")),
      {
        maxBatchSize: this.batchSize,
        // Not a cache: the same text asked twice is embedded twice (the embedding cache is a layer above).
        cache: false,
        batchScheduleFn: gatherMs > 0 ? (run) => setTimeout(run, gatherMs) : undefined,
      },
    );
  }

  async embedDocuments(texts: string[]): Promise<number[][]> {
    const results = await this.documents.loadMany(texts);
    // A failed call fails every text in it; the document's ingest reports the first error.
    const failed = results.find((r): r is Error => r instanceof Error);
    if (failed) throw failed;
    return results as number[][];
  }

  async embedQuery(text: string): Promise<number[]> {
    const [vector] = await this.caller.call(() => this.invoke([text], "search_query"));
    return vector;
  }

  private async invoke(texts: string[], inputType: InputType): Promise<number[][]> {
    if (texts.length === 0) return [];
    const body: Record<string, unknown> = {
      // Cohere refuses empty strings; a chunk is never empty, a question may be whitespace after trimming.
      texts: texts.map((t) => (t.trim() === "" ? " " : t)),
      input_type: inputType,
      // A chunk longer than the model's window loses its tail rather than failing the whole document.
      truncate: "END",
      embedding_types: ["float"],
    };
    if (isCohereV4(this.model) && this.dimensions !== undefined) body.output_dimension = this.dimensions;
    const parsed = await invokeJson<CohereResponse>(this.client, this.model, body);
    const vectors = Array.isArray(parsed.embeddings) ? parsed.embeddings : parsed.embeddings?.float;
    if (!Array.isArray(vectors) || vectors.length !== texts.length) {
      throw new Error(
        `Bedrock ${this.model} returned ${Array.isArray(vectors) ? vectors.length : "no"} float embeddings for ` +
          `${texts.length} texts`,
      );
    }
    return vectors;
  }
}
