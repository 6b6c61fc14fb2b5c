// Embeddings on Amazon Bedrock: Titan Text Embeddings v2 through LangChain's BedrockEmbeddings, normalised, with
// the dimension chosen (256, 512 or 1024), calls run concurrently up to a limit, and throttling retried by the
// SDK's adaptive retry. Region, credentials and endpoint come from the AWS SDK's default chain.
import { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { BedrockEmbeddings } from "@langchain/aws";

export interface BedrockEmbeddingsSpec {
  model: string;
  dimensions: number;
  /** InvokeModel calls in flight at once: hides per-call latency without tripping throttling. */
  maxConcurrency: number;
}

const TITAN_V2_DIMENSIONS = [256, 512, 1024];

/**
 * BedrockEmbeddings.embedQuery takes a concurrency slot and its _embedText then waits for a second one: with
 * `maxConcurrency` questions embedded at once, every slot is held by a call waiting for another and embedding
 * deadlocks for good (found in @langchain/aws 1.4.5). Here a query takes its one slot, in _embedText.
 */
class SingleSlotBedrockEmbeddings extends BedrockEmbeddings {
  override embedQuery(document: string): Promise<number[]> {
    return this._embedText(document);
  }
}

export async function createBedrockEmbeddings(
  spec: BedrockEmbeddingsSpec,
  options: { client?: BedrockRuntimeClient } = {},
): Promise<BedrockEmbeddings & { modelId: string }> {
  if (!spec.model.startsWith("amazon.titan-embed-text-v2")) {
    throw new Error(`EMBEDDINGS_MODEL=${spec.model}: only Titan Text Embeddings v2 is supported so far`);
  }
  if (!TITAN_V2_DIMENSIONS.includes(spec.dimensions)) {
    throw new Error(`EMBEDDINGS_DIMENSIONS=${spec.dimensions}: Titan v2 makes 256, 512 or 1024 dimensions`);
  }
  const client = options.client ?? new BedrockRuntimeClient({ retryMode: "adaptive", maxAttempts: 5 });
  const region = await client.config.region().catch((error: Error) => {
    throw new Error(`Bedrock needs an AWS region (set AWS_REGION or an AWS profile): ${error.message}`);
  });
  const embeddings = new SingleSlotBedrockEmbeddings({
    client,
    region,
    model: spec.model,
    dimensions: spec.dimensions,
    modelParameters: { normalize: true },
    maxConcurrency: spec.maxConcurrency,
    // The SDK already retries throttling and 5xx (adaptively); a second layer would multiply the attempts.
    maxRetries: 0,
  });
  // Indexes are keyed by model and dimension, so that vectors of two models never mix.
  const modelId = `${spec.model}-${spec.dimensions}`.replace(/[^A-Za-z0-9._-]/g, "_");
  return Object.assign(embeddings, { modelId });
}
