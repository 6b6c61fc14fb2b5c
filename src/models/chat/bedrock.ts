// Chat models on Amazon Bedrock: LangChain's ChatBedrockConverse over a Bedrock Runtime client that takes region,
// credentials and endpoint from the AWS SDK's default chain (AWS_REGION, AWS_PROFILE, roles,
// AWS_ENDPOINT_URL_BEDROCK_RUNTIME for private endpoints and the test emulator), retrying throttling adaptively.
import type { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { ChatBedrockConverse } from "@langchain/aws";
import { createBedrockRuntimeClient } from "../bedrock-client.ts";
import { chatUsageCallback, type UsageMeter } from "../usage.ts";

export interface BedrockChatSpec {
  /** A Bedrock model or inference-profile id, e.g. us.amazon.nova-micro-v1:0. */
  id: string;
  temperature?: number;
  maxTokens?: number;
}

export async function createBedrockChatModel(
  spec: BedrockChatSpec,
  options: { client?: BedrockRuntimeClient; meter?: UsageMeter } = {},
): Promise<ChatBedrockConverse> {
  const client = options.client ?? createBedrockRuntimeClient();
  // ChatBedrockConverse wants the region even when handed a client: ask the client's own provider chain.
  const region = await client.config.region().catch((error: Error) => {
    throw new Error(`Bedrock needs an AWS region (set AWS_REGION or an AWS profile): ${error.message}`);
  });
  return new ChatBedrockConverse({
    client,
    region,
    model: spec.id,
    supportsToolChoiceValues: toolChoicesOf(spec.id),
    temperature: spec.temperature,
    maxTokens: spec.maxTokens,
    callbacks: options.meter ? [chatUsageCallback(options.meter, spec.id)] : undefined,
  });
}

/**
 * The tool choices a model accepts, so that withStructuredOutput forces its tool. @langchain/aws knows Claude's
 * and Mistral Large's; Amazon Nova takes auto, any and tool too (Amazon Nova user guide, "Choosing a tool").
 * Undefined leaves the library's own answer.
 */
export function toolChoicesOf(id: string): Array<"auto" | "any" | "tool"> | undefined {
  return /(^|[.:/])amazon\.nova-/.test(id) ? ["auto", "any", "tool"] : undefined;
}
