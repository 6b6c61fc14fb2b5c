// The advisor agent: LangChain's createAgent over the chain's chat model and tools, with langchain's middleware
// for what every production agent needs: model retries, a cap on tool calls per turn (ours: see
// tool-call-limit.ts), and redaction of personal data in the user's messages where the chain config asks for it;
// and ours that has each model and tool call wait for its turn on the event loop (loop-turns.ts).
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { StructuredToolInterface } from "@langchain/core/tools";
import { createAgent, modelRetryMiddleware, piiMiddleware } from "langchain";
import type { AdvisorSettings } from "../chains/config.ts";
import { ADVISOR_AGENT } from "../contracts/run-names.ts";
import type { TurnQueue } from "../event-loop/turn-queue.ts";
import { loopTurns } from "./loop-turns.ts";
import { toolCallLimit } from "./tool-call-limit.ts";

export interface AdvisorAgentOptions {
  model: BaseChatModel;
  tools: StructuredToolInterface[];
  systemPrompt: string;
  settings: AdvisorSettings;
  /** The process's event-loop turns, which every model and tool call waits for. */
  turns: TurnQueue;
}

export function buildAdvisorAgent({ model, tools, systemPrompt, settings, turns }: AdvisorAgentOptions) {
  return createAgent({
    // The agent graph's run name: its turns are `invoke_agent advisor` spans (telemetry/genai-spans.ts).
    name: ADVISOR_AGENT,
    model,
    tools,
    systemPrompt,
    middleware: [
      modelRetryMiddleware({
        maxRetries: settings.modelRetries,
        retryOn: failedBeforeStreaming,
        // Past the retries the turn fails (an `error` event), rather than answering with the error's text.
        onFailure: "error",
      }),
      // Past the limit a tool call is not run: the model is told so, and answers with what it has.
      toolCallLimit(settings.maxToolCalls),
      ...settings.redactPii.map((type) => piiMiddleware(type, { strategy: "redact", applyToInput: true })),
      // Innermost: the turn is taken just before the call itself, after the other middleware's work.
      loopTurns(turns),
    ],
  });
}

export type AdvisorAgent = ReturnType<typeof buildAdvisorAgent>;

/**
 * Whether a failed model call may be retried: only when it failed before its reply began (an HTTP error
 * response, which carries the SDK's $metadata, or a connection that failed). A stream that broke midway has
 * already sent tokens to the client; a second attempt would send a second, different beginning.
 */
function failedBeforeStreaming(error: Error): boolean {
  if ((error as { $metadata?: unknown }).$metadata !== undefined) return true;
  return /ECONNRESET|ECONNREFUSED|ETIMEDOUT|socket hang up/i.test(`${error.name} ${error.message}`);
}
