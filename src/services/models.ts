// The models settings name, built once for the service and for `counsel eval` alike: the embedder, and a chat
// model per chain config over one shared Bedrock client, every call metered.
import { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import type { BaseCache } from "@langchain/core/caches";
import type { Embeddings } from "@langchain/core/embeddings";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { ChainConfig } from "../chains/config.ts";
import type { Settings } from "../config/settings.ts";
import { createBedrockChatModel } from "../models/chat/bedrock.ts";
import { createBedrockEmbeddings } from "../models/embeddings/bedrock.ts";
import { LocalHashEmbeddings } from "../models/embeddings/local-hash.ts";
import { UsageMeter } from "../models/usage.ts";

export interface Models {
  /** Tokens of every model call (GET /usage, /metrics). */
  usage: UsageMeter;
  embeddings: Embeddings & { modelId: string };
  /** The generative model a chain config names (Bedrock); answers from `cache` when given. */
  chatModel(config: ChainConfig, cache?: BaseCache): Promise<BaseChatModel>;
}

export async function createModels(settings: Settings, usage = new UsageMeter()): Promise<Models> {
  const { provider, model, dimensions, concurrency } = settings.embeddings;
  const embeddings =
    provider === "bedrock"
      ? await createBedrockEmbeddings({ model, dimensions, maxConcurrency: concurrency }, { meter: usage })
      : new LocalHashEmbeddings({ dimensions });
  // One Bedrock client for every chain and tenant: one connection pool, one adaptive-retry budget. Made on
  // first use, so that a deployment without Bedrock never needs a region or credentials.
  let bedrock: BedrockRuntimeClient | undefined;
  return {
    usage,
    embeddings,
    async chatModel(config, cache) {
      bedrock ??= new BedrockRuntimeClient({ retryMode: "adaptive", maxAttempts: 5 });
      const chat = await createBedrockChatModel(
        {
          id: config.model.id as string, // the config schema requires an id for bedrock
          temperature: config.model.temperature,
          maxTokens: config.model.maxTokens,
        },
        { client: bedrock, meter: usage },
      );
      if (cache) chat.cache = cache;
      return chat;
    },
  };
}
