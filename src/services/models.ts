// The models settings name, built once for the service and for `counsel eval` alike: the embedder, a chat model
// per chain config (over one shared Bedrock client, or the OpenAI-compatible server), and a chain's guardrail,
// every call metered. A provider's SDK is imported when a model of that provider is first made, so that an
// offline deployment never loads the AWS or OpenAI clients.
import type { BedrockAgentRuntimeClient } from "@aws-sdk/client-bedrock-agent-runtime";
import type { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import type { BaseCache } from "@langchain/core/caches";
import type { Embeddings } from "@langchain/core/embeddings";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { ChainConfig, GuardrailSettings, RerankSettings } from "../chains/config.ts";
import type { Settings } from "../config/settings.ts";
import type { Guardrail } from "../contracts/guardrail.ts";
import type { Reranker } from "../contracts/search.ts";
import { LocalHashEmbeddings } from "../models/embeddings/local-hash.ts";
import { GuardrailMeter } from "../models/guardrail-meter.ts";
import { UsageMeter } from "../models/usage.ts";

export interface Models {
  /** Tokens of every model call (GET /usage, /metrics). */
  usage: UsageMeter;
  embeddings: Embeddings & { modelId: string };
  /** The generative model a chain config names (Bedrock or openai); answers from `cache` when given. */
  chatModel(config: ChainConfig, cache?: BaseCache): Promise<BaseChatModel>;
  /**
   * The service's own model (MODEL_PROVIDER, MODEL_ID) for work that is not a chain's, such as summaries at
   * ingestion: temperature 0; undefined when the provider is the offline extractive answerer.
   */
  serviceChatModel(cache?: BaseCache): Promise<BaseChatModel | undefined>;
  /** Every check of the chains' guardrails (GET /metrics). */
  guardrails: GuardrailMeter;
  /** The guardrail a chain's `guardrail` describes: Amazon Bedrock's over the shared client, or offline. */
  guardrail(settings: GuardrailSettings): Promise<Guardrail>;
  /** The model reranker a chain's `retrieval.rerank` names (bedrock), over one shared Agent Runtime client. */
  reranker(settings: RerankSettings): Promise<Reranker>;
}

export async function createModels(settings: Settings, usage = new UsageMeter()): Promise<Models> {
  const embeddings = await traced(await createEmbeddings(settings, usage), settings);
  // The default model is checked now, so that a wrong server or name stops the start. A chain that names another
  // meets the server's own 404 on its first call, a 502 naming the model.
  if (settings.model.provider === "openai" && settings.model.id) {
    const { checkServedModel } = await import("../models/openai-server.ts");
    await checkServedModel(settings.openai, settings.model.id);
  }
  // One Bedrock client for every chain and tenant: one connection pool, one adaptive-retry budget. Made on
  // first use, so that a deployment without Bedrock never needs a region or credentials.
  let bedrock: Promise<BedrockRuntimeClient> | undefined;
  const bedrockClient = () => {
    bedrock ??= import("../models/bedrock-client.ts").then((m) => m.createBedrockRuntimeClient());
    return bedrock;
  };
  let agentRuntime: Promise<BedrockAgentRuntimeClient> | undefined;
  const agentRuntimeClient = () => {
    agentRuntime ??= import("../models/bedrock-agent-client.ts").then((m) =>
      m.createBedrockAgentRuntimeClient(),
    );
    return agentRuntime;
  };
  const guardrails = new GuardrailMeter();
  // Imported once, with the provider's first model.
  let openAIChat: Promise<typeof import("../models/chat/openai.ts")> | undefined;
  let bedrockChat: Promise<typeof import("../models/chat/bedrock.ts")> | undefined;
  const build = async (
    provider: "bedrock" | "openai",
    spec: { id: string; temperature?: number; maxTokens?: number },
    cache?: BaseCache,
  ) => {
    let chat: BaseChatModel;
    if (provider === "openai") {
      openAIChat ??= import("../models/chat/openai.ts");
      const { createOpenAIChatModel } = await openAIChat;
      chat = createOpenAIChatModel(spec, settings.openai, { meter: usage });
    } else {
      bedrockChat ??= import("../models/chat/bedrock.ts");
      const { createBedrockChatModel } = await bedrockChat;
      chat = await createBedrockChatModel(spec, { client: await bedrockClient(), meter: usage });
    }
    if (cache) chat.cache = cache;
    return chat;
  };
  return {
    usage,
    embeddings,
    chatModel(config, cache) {
      const spec = {
        id: config.model.id as string, // the config schema requires an id for bedrock and openai
        temperature: config.model.temperature,
        maxTokens: config.model.maxTokens,
      };
      return build(config.model.provider === "openai" ? "openai" : "bedrock", spec, cache);
    },
    async serviceChatModel(cache) {
      const { provider, id } = settings.model;
      if (provider === "extractive" || !id) return undefined;
      return build(provider, { id, temperature: 0, maxTokens: 1024 }, cache);
    },
    guardrails,
    async guardrail(guardrail) {
      if (guardrail.kind === "offline-pii") {
        const { OfflinePiiGuardrail } = await import("../chains/guardrails/offline-pii.ts");
        return new OfflinePiiGuardrail({ types: guardrail.types, meter: guardrails });
      }
      const [client, { BedrockGuardrail }] = await Promise.all([
        bedrockClient(),
        import("../models/guardrails/bedrock.ts"),
      ]);
      // Checked at start, as a Bedrock chat model's is: without a region, no question could be answered.
      await client.config.region().catch((error: Error) => {
        throw new Error(
          `A Bedrock guardrail needs an AWS region (set AWS_REGION or an AWS profile): ${error.message}`,
        );
      });
      return new BedrockGuardrail({
        id: guardrail.id,
        version: guardrail.version,
        client,
        meter: guardrails,
      });
    },
    async reranker(rerank) {
      const [client, { BedrockReranker, DEFAULT_RERANK_MODEL }] = await Promise.all([
        agentRuntimeClient(),
        import("../models/rerank/bedrock.ts"),
      ]);
      // Checked when the chain is built, as a Bedrock chat model's region is.
      await client.config.region().catch((error: Error) => {
        throw new Error(
          `A Bedrock reranker needs an AWS region (set AWS_REGION or an AWS profile): ${error.message}`,
        );
      });
      return new BedrockReranker({ client, model: rerank.model ?? DEFAULT_RERANK_MODEL });
    },
  };
}

/** The embedder, each batch a span, when tracing is on. */
async function traced(
  embeddings: Embeddings & { modelId: string },
  settings: Settings,
): Promise<Embeddings & { modelId: string }> {
  if (!settings.tracing.enabled) return embeddings;
  const { TracedEmbeddings } = await import("../telemetry/traced-embeddings.ts");
  const provider = { bedrock: "aws.bedrock", openai: "openai", local: undefined }[
    settings.embeddings.provider
  ];
  return new TracedEmbeddings(embeddings, provider);
}

async function createEmbeddings(
  settings: Settings,
  usage: UsageMeter,
): Promise<Embeddings & { modelId: string }> {
  const { embeddings } = settings;
  const maxConcurrency = embeddings.concurrency;
  switch (embeddings.provider) {
    case "openai": {
      const { createOpenAIEmbeddings } = await import("../models/embeddings/openai.ts");
      return createOpenAIEmbeddings(
        { model: embeddings.model, dimensions: embeddings.dimensions, maxConcurrency },
        settings.openai,
        { meter: usage },
      );
    }
    case "bedrock": {
      const { createBedrockEmbeddings } = await import("../models/embeddings/bedrock.ts");
      return createBedrockEmbeddings(
        { model: embeddings.model, dimensions: embeddings.dimensions, maxConcurrency },
        { meter: usage },
      );
    }
    default:
      return new LocalHashEmbeddings({ dimensions: embeddings.dimensions });
  }
}
