// Embeddings on Amazon Bedrock: Titan Text Embeddings v2 through LangChain's BedrockEmbeddings (normalised, 256,
// 512 or 1024 dimensions, one text a call) or Cohere Embed v3/v4 (96 texts a call, document and query sides).
// Calls run concurrently up to a limit, throttling and 5xx are retried by the SDK's adaptive retry, and every
// call's tokens are metered. Region, credentials and endpoint come from the AWS SDK's default chain.
import type { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { BedrockEmbeddings } from "@langchain/aws";
import type { Embeddings } from "@langchain/core/embeddings";
import { createBedrockRuntimeClient } from "../bedrock-client.ts";
import { meterBedrockClient, type UsageMeter } from "../usage.ts";
import { CohereBedrockEmbeddings } from "./bedrock-cohere.ts";
import { invokeJson } from "./invoke-json.ts";

export interface BedrockEmbeddingsSpec {
  model: string;
  dimensions: number;
  /** InvokeModel calls in flight at once: hides per-call latency without tripping throttling. */
  maxConcurrency: number;
}

/**
 * Two fixes to LangChain's BedrockEmbeddings (@langchain/aws 1.4.5). embedQuery takes a concurrency slot and its
 * _embedText then waits for a second one: with `maxConcurrency` questions embedded at once, every slot is held
 * by a call waiting for another and embedding deadlocks for good; here a query takes its one slot. And
 * _embedText logs every failure with console.error and rethrows it as a plain Error, losing the SDK's error type
 * (throttling or not) that the service maps to 503 or 502; here the SDK's error goes up as it is.
 */
class TitanEmbeddings extends BedrockEmbeddings {
  override embedQuery(document: string): Promise<number[]> {
    return this._embedText(document);
  }

  override _embedText(text: string): Promise<number[]> {
    return this.caller.call(async () => {
      const body = {
        ...this.modelParameters,
        inputText: text.replace(/\n/g, " "),
        dimensions: this.dimensions,
      };
      const reply = await invokeJson<{ embedding: number[] }>(this.client, this.model, body);
      return reply.embedding;
    });
  }
}

type Family = "titan-v2" | "cohere-v3" | "cohere-v4";

/** The dimensions each model family can make; the family comes from the model id (inference profiles too). */
const FAMILIES: { family: Family; test: RegExp; dimensions: number[] }[] = [
  { family: "titan-v2", test: /amazon\.titan-embed-text-v2/, dimensions: [256, 512, 1024] },
  { family: "cohere-v3", test: /cohere\.embed-(english|multilingual)-v3/, dimensions: [1024] },
  { family: "cohere-v4", test: /cohere\.embed-v4/, dimensions: [256, 512, 1024, 1536] },
];

export async function createBedrockEmbeddings(
  spec: BedrockEmbeddingsSpec,
  options: { client?: BedrockRuntimeClient; meter?: UsageMeter } = {},
): Promise<Embeddings & { modelId: string; dimensions: number }> {
  const known = FAMILIES.find((f) => f.test.test(spec.model));
  if (!known) {
    throw new Error(
      `EMBEDDINGS_MODEL=${spec.model}: supported are Titan Text Embeddings v2 (amazon.titan-embed-text-v2:0) ` +
        "and Cohere Embed (cohere.embed-english-v3, cohere.embed-multilingual-v3, cohere.embed-v4:0)",
    );
  }
  if (!known.dimensions.includes(spec.dimensions)) {
    throw new Error(
      `EMBEDDINGS_DIMENSIONS=${spec.dimensions}: ${spec.model} makes ${listed(known.dimensions)} dimensions`,
    );
  }
  const client = options.client ?? createBedrockRuntimeClient();
  const region = await client.config.region().catch((error: Error) => {
    throw new Error(`Bedrock needs an AWS region (set AWS_REGION or an AWS profile): ${error.message}`);
  });
  if (options.meter) meterBedrockClient(client, options.meter);
  const embeddings =
    known.family === "titan-v2"
      ? new TitanEmbeddings({
          client,
          region,
          model: spec.model,
          dimensions: spec.dimensions,
          modelParameters: { normalize: true },
          maxConcurrency: spec.maxConcurrency,
          // The SDK already retries throttling and 5xx (adaptively); a second layer would multiply the attempts.
          maxRetries: 0,
        })
      : new CohereBedrockEmbeddings({
          client,
          model: spec.model,
          dimensions: known.family === "cohere-v4" ? spec.dimensions : undefined,
          maxConcurrency: spec.maxConcurrency,
        });
  // Indexes are keyed by model and dimension, so that vectors of two models never mix.
  const modelId = `${spec.model}-${spec.dimensions}`.replace(/[^A-Za-z0-9._-]/g, "_");
  return Object.assign(embeddings, { modelId, dimensions: spec.dimensions });
}

function listed(values: number[]): string {
  return values.length === 1 ? String(values[0]) : `${values.slice(0, -1).join(", ")} or ${values.at(-1)}`;
}
