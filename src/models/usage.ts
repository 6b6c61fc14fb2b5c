// Token usage per model: every Bedrock call is metered from the token counts that Bedrock returns with it, so
// that a deployment can see what ingestion and answering cost. Totals live in the process (GET /usage); each
// call is also handed to listeners.
import type { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import type { AIMessage, UsageMetadata } from "@langchain/core/messages";
import type { LLMResult } from "@langchain/core/outputs";

export interface UsageRecord {
  model: string;
  /** The SDK command, e.g. InvokeModelCommand or ConverseCommand. */
  operation: string;
  inputTokens: number;
  outputTokens: number;
}

export interface UsageTotals {
  requests: number;
  inputTokens: number;
  outputTokens: number;
}

export class UsageMeter {
  private readonly byModel = new Map<string, UsageTotals>();
  private readonly listeners: ((record: UsageRecord) => void)[] = [];

  record(record: UsageRecord): void {
    const totals = this.byModel.get(record.model) ?? { requests: 0, inputTokens: 0, outputTokens: 0 };
    totals.requests += 1;
    totals.inputTokens += record.inputTokens;
    totals.outputTokens += record.outputTokens;
    this.byModel.set(record.model, totals);
    for (const listener of this.listeners) listener(record);
  }

  onRecord(listener: (record: UsageRecord) => void): void {
    this.listeners.push(listener);
  }

  totals(): Record<string, UsageTotals> {
    return Object.fromEntries([...this.byModel].map(([model, t]) => [model, { ...t }]));
  }
}

const INPUT_HEADER = "x-amzn-bedrock-input-token-count";
const OUTPUT_HEADER = "x-amzn-bedrock-output-token-count";

/**
 * Meters a client's InvokeModel calls (embeddings) from the token-count headers Bedrock puts on every response:
 * Cohere's bodies carry no count. A middleware rather than code around each call, so that LangChain's classes,
 * which own their calls, are metered too.
 */
export function meterBedrockClient(client: BedrockRuntimeClient, meter: UsageMeter): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const headers = (result.response as { headers?: Record<string, string> }).headers ?? {};
      if (headers[INPUT_HEADER] !== undefined) {
        meter.record({
          model: String((args.input as { modelId?: string }).modelId ?? "unknown"),
          operation: context.commandName ?? "unknown",
          inputTokens: Number(headers[INPUT_HEADER]) || 0,
          outputTokens: Number(headers[OUTPUT_HEADER]) || 0,
        });
      }
      return result;
    },
    { step: "build", name: "counselTokenUsage", override: true },
  );
}

/**
 * A LangChain callback that hands on the token usage of every model call it sees (the usage on the reply, which
 * a streamed reply carries in its last event, after any SDK middleware has returned). Awaited, not queued:
 * LangChain queues one job per streamed token for every handler that is not awaited, even one with no token
 * method, and that queue was a measurable share of a streaming turn's CPU.
 */
export class ModelUsageHandler extends BaseCallbackHandler {
  name = "counsel-model-usage";

  constructor(private readonly onUsage: (usage: UsageMetadata) => void) {
    super({ _awaitHandler: true });
  }

  override handleLLMEnd(output: LLMResult): void {
    const usage = (output.generations?.[0]?.[0] as { message?: AIMessage } | undefined)?.message
      ?.usage_metadata;
    if (usage) this.onUsage(usage);
  }
}

/** Meters a chat model's calls. */
export function chatUsageCallback(meter: UsageMeter, model: string): ModelUsageHandler {
  return new ModelUsageHandler((usage) =>
    meter.record({
      model,
      operation: "chat",
      inputTokens: usage.input_tokens,
      outputTokens: usage.output_tokens,
    }),
  );
}
