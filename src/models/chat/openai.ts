// Chat models on the OpenAI API or any OpenAI-compatible server (Ollama, vLLM, LM Studio): LangChain's
// ChatOpenAICompletions, the Chat Completions half of ChatOpenAI. Chat Completions is what every compatible
// server speaks; ChatOpenAI would switch some model names (codex, *-pro) to the Responses API, which many do not.
// Streams ask for the usage chunk (stream_options.include_usage), so streamed replies are metered too.
import { ChatOpenAICompletions } from "@langchain/openai";
import { type OpenAIEndpoint, openAIClientOptions } from "../openai-server.ts";
import { chatUsageCallback, type UsageMeter } from "../usage.ts";

export interface OpenAIChatSpec {
  /** The server's name for the model, e.g. llama3.2 (Ollama) or gpt-4o-mini (the OpenAI API). */
  id: string;
  temperature?: number;
  maxTokens?: number;
}

/**
 * @example
 * const model = createOpenAIChatModel({ id: "llama3.2" }, { baseURL: "http://localhost:11434/v1" });
 * for await (const chunk of await model.stream("Hello")) process.stdout.write(chunk.text);
 */
export function createOpenAIChatModel(
  spec: OpenAIChatSpec,
  endpoint: OpenAIEndpoint,
  options: { meter?: UsageMeter } = {},
): ChatOpenAICompletions {
  return new ChatOpenAICompletions({
    model: spec.id,
    temperature: spec.temperature,
    maxTokens: spec.maxTokens,
    streamUsage: true,
    configuration: openAIClientOptions(endpoint),
    // The openai client retries 429 and 5xx itself (configuration.maxRetries), as the server's retry-after says;
    // LangChain's own retries would wait their own backoff on top and multiply the attempts.
    maxRetries: 0,
    callbacks: options.meter ? [chatUsageCallback(options.meter, spec.id)] : undefined,
  });
}
