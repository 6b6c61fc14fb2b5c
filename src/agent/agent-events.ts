// What happens in one run of the agent, as it happens, read from LangChain callbacks: the reply's tokens, the
// start of each call of the reply's model, the end of every model call, each tool call's start and end. The
// stream closes when the run ends.
//
// Why not agent.streamEvents: it routes every callback of every run through a log-stream tracer and a queue, and
// at 50 concurrent streams that was most of the service's CPU per token (bench:sse; 233-chunk reply: 28.7 ms of
// CPU down to 17.4 ms with this and the awaited usage meter). An awaited handler that keeps only what a turn
// needs costs a fraction of it. The events go through a web ReadableStream, so that the turn reads them at its
// own pace, and a reader that stops (a client gone) cancels the stream, which aborts the run.
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import type { AIMessage, BaseMessage } from "@langchain/core/messages";
import type { LLMResult } from "@langchain/core/outputs";
import type { AdvisorAgent } from "./agent.ts";

/** The model node of createAgent's graph: text from any other node (a tool's own model calls) is not the reply. */
const MODEL_NODE = "model_request";

export type AgentEvent =
  /** A piece of the reply's text, as the model streams it (or all of it, from a model that does not stream). */
  | { type: "token"; text: string }
  /** A call of the reply's model begins, with the messages it is sent (redacted where the agent redacts). */
  | { type: "model_start"; messages: BaseMessage[] }
  /** Any model call ended, the reply's or a tool's own. */
  | { type: "model_end"; output: AIMessage | undefined }
  | { type: "tool_start"; id: string; name: string; input: unknown }
  | { type: "tool_end"; id: string; name: string; output: unknown };

export interface AgentRunOptions {
  signal?: AbortSignal;
  configurable?: Record<string, unknown>;
}

export function agentEvents(
  agent: AdvisorAgent,
  messages: BaseMessage[],
  options: AgentRunOptions = {},
): ReadableStream<AgentEvent> {
  const cancelled = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, cancelled.signal]) : cancelled.signal;
  return new ReadableStream<AgentEvent>({
    start(controller) {
      const handler = new TurnEventsHandler((event) => {
        if (!cancelled.signal.aborted) controller.enqueue(event);
      });
      agent
        .invoke({ messages }, { signal, callbacks: [handler], configurable: options.configurable })
        .then(
          () => controller.close(),
          (error) => controller.error(error),
        )
        // A reader that cancelled has closed the stream already: what the run did after is nobody's.
        .catch(() => {});
    },
    cancel(reason) {
      cancelled.abort(reason);
    },
  });
}

class TurnEventsHandler extends BaseCallbackHandler {
  name = "counsel-turn-events";
  /** Chat models stream their reply to a handler that asks for it, even when called with invoke. */
  lc_prefer_streaming = true;
  private readonly replyRuns = new Set<string>();
  private readonly streamedRuns = new Set<string>();
  private readonly toolNames = new Map<string, string>();

  constructor(private readonly emit: (event: AgentEvent) => void) {
    // Awaited: a queued handler would cost a queue job per token, and could emit after the run has ended.
    super({ _awaitHandler: true });
  }

  override handleChatModelStart(
    _llm: unknown,
    messages: BaseMessage[][],
    runId: string,
    _parentRunId?: string,
    _extra?: unknown,
    _tags?: string[],
    metadata?: Record<string, unknown>,
  ): void {
    if (metadata?.langgraph_node !== MODEL_NODE) return;
    this.replyRuns.add(runId);
    this.emit({ type: "model_start", messages: messages[0] ?? [] });
  }

  override handleLLMNewToken(token: string, _idx: unknown, runId: string): void {
    if (!token || !this.replyRuns.has(runId)) return;
    this.streamedRuns.add(runId);
    this.emit({ type: "token", text: token });
  }

  override handleLLMEnd(output: LLMResult, runId: string): void {
    const message = (output.generations?.[0]?.[0] as { message?: AIMessage } | undefined)?.message;
    // A model that does not stream still gets its text to the client, as one token.
    if (this.replyRuns.has(runId) && !this.streamedRuns.has(runId)) {
      const whole = message?.text;
      if (whole) this.emit({ type: "token", text: whole });
    }
    this.replyRuns.delete(runId);
    this.streamedRuns.delete(runId);
    this.emit({ type: "model_end", output: message });
  }

  override handleLLMError(_error: unknown, runId: string): void {
    this.replyRuns.delete(runId);
    this.streamedRuns.delete(runId);
  }

  override handleToolStart(
    _tool: unknown,
    input: string,
    runId: string,
    _parentRunId?: string,
    _tags?: string[],
    _metadata?: Record<string, unknown>,
    runName?: string,
  ): void {
    const name = runName ?? "tool";
    this.toolNames.set(runId, name);
    this.emit({ type: "tool_start", id: runId, name, input: parsed(input) });
  }

  override handleToolEnd(output: unknown, runId: string): void {
    const name = this.toolNames.get(runId) ?? "tool";
    this.toolNames.delete(runId);
    this.emit({ type: "tool_end", id: runId, name, output });
  }

  override handleToolError(_error: unknown, runId: string): void {
    this.toolNames.delete(runId);
  }
}

/** LangChain hands a handler a tool's input as JSON text; the turn's events carry the arguments as given. */
function parsed(input: string): unknown {
  try {
    return JSON.parse(input);
  } catch {
    return input;
  }
}
