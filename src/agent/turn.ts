// One advisor turn: the session's recent history and the user's message go through the agent, and what happens
// comes out as events, as it happens: the model's text as it is generated, tool calls as they start and end,
// the documents drawn on, then the whole message with token usage and timings. The route sends these as
// Server-Sent Events, or gathers them into one JSON reply.
import type { BaseChatMessageHistory } from "@langchain/core/chat_history";
import { AIMessage, type BaseMessage, HumanMessage, trimMessages } from "@langchain/core/messages";
import { countTokensApproximately } from "langchain";
import type { CodeDiagnostic, TokenUsage, TurnEvent, TurnSource } from "../contracts/turn-events.ts";
import type { AdvisorAgent } from "./agent.ts";
import { agentEvents } from "./agent-events.ts";
import { SourceRegistry } from "./sources.ts";
import { asSent, stoppedAnswer } from "./stopped.ts";

export interface TurnOptions {
  agent: AdvisorAgent;
  history: BaseChatMessageHistory;
  message: string;
  /** Most (approximate) tokens of history sent with the message; the oldest turns go first. */
  memoryTokens: number;
  signal?: AbortSignal;
  /** The request's origin (`https://host`), for the absolute links tools give (a report's). */
  baseUrl?: string;
}

const SUMMARY_CHARS = 200;

export async function* runTurn(options: TurnOptions): AsyncGenerator<TurnEvent> {
  const { agent, history, message, signal } = options;
  const started = performance.now();
  const past = (await history.getMessages()).map(asSent);
  const recent = await trimMessages(past, {
    maxTokens: options.memoryTokens,
    strategy: "last",
    tokenCounter: (messages: BaseMessage[]) => countTokensApproximately(messages),
    // A conversation sent to a model starts with the user's turn, never halfway through an exchange.
    startOn: "human",
    allowPartial: false,
  });

  const registry = new SourceRegistry();
  const usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
  let text = "";
  let firstTokenMs: number | null = null;
  /** The user's message as the model was sent it (redacted where the agent redacts): what the session keeps. */
  let asked: BaseMessage | undefined;
  let kept = false;

  const events = agentEvents(agent, [...recent, new HumanMessage(message)], {
    signal,
    configurable: { sources: registry, ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}) },
  });
  try {
    for await (const ev of events) {
      switch (ev.type) {
        case "model_start":
          asked ??= ev.messages.findLast((m) => HumanMessage.isInstance(m));
          break;
        case "token":
          firstTokenMs ??= performance.now() - started;
          text += ev.text;
          yield { event: "token", data: { text: ev.text } };
          break;
        case "model_end":
          usage.inputTokens += ev.output?.usage_metadata?.input_tokens ?? 0;
          usage.outputTokens += ev.output?.usage_metadata?.output_tokens ?? 0;
          break;
        case "tool_start":
          yield { event: "tool_start", data: { id: ev.id, name: ev.name, input: ev.input } };
          break;
        case "tool_end": {
          const output = ev.output as { content?: unknown; artifact?: ToolArtifact } | undefined;
          const artifact = output?.artifact;
          const diagnostics = artifact ? diagnosticsOf(artifact) : [];
          yield {
            event: "tool_end",
            data: {
              id: ev.id,
              name: ev.name,
              // A tool's own summary for people where it gives one: its text for the model may carry instructions.
              summary:
                typeof artifact?.summary === "string"
                  ? artifact.summary
                  : summarize(textOf(output?.content) ?? ""),
              ...(typeof artifact?.url === "string" ? { url: artifact.url } : {}),
              ...(typeof artifact?.language === "string"
                ? {
                    check: {
                      language: artifact.language,
                      checked: artifact.checked === true,
                      repaired: artifact.repaired === true,
                      problems: diagnostics.length,
                      code: typeof artifact.code === "string" ? artifact.code : "",
                      diagnostics,
                    },
                  }
                : {}),
            },
          };
          // Every tool numbers its sources in the turn's registry (a report's [n] inside it are the report's own).
          if (Array.isArray(artifact?.sources) && artifact.sources.length) {
            yield { event: "sources", data: { sources: artifact.sources as TurnSource[] } };
          }
          break;
        }
      }
    }
    signal?.throwIfAborted();

    // Remembered as the model saw it: the user's message after redaction, and the whole reply of the turn.
    await history.addMessages([asked ?? new HumanMessage(message), new AIMessage(text)]);
    kept = true;
    yield {
      event: "done",
      data: { message: text, usage, timings: { firstTokenMs, totalMs: performance.now() - started } },
    };
  } finally {
    // Stopped by the client (or a shutdown): what was said so far is kept, marked stopped. A turn stopped before
    // the model was sent the message keeps nothing: only then is the message known as redacted.
    if (!kept && signal?.aborted && asked) await history.addMessages([asked, stoppedAnswer(text)]);
  }
}

interface ToolArtifact {
  summary?: unknown;
  url?: unknown;
  sources?: unknown;
  language?: unknown;
  checked?: unknown;
  repaired?: unknown;
  code?: unknown;
  diagnostics?: unknown;
}

/** The compiler's findings a tool returned, each with only the fields the events promise. */
function diagnosticsOf(artifact: ToolArtifact): CodeDiagnostic[] {
  if (!Array.isArray(artifact.diagnostics)) return [];
  return artifact.diagnostics.map(({ line, column, message, code }: CodeDiagnostic) => ({
    line,
    column,
    message,
    code,
  }));
}

/** The text of message content: a string, or the text parts of a list of content blocks. */
function textOf(content: unknown): string | undefined {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return undefined;
  const parts = content
    .filter((block): block is { type: string; text: string } => block?.type === "text")
    .map((block) => block.text);
  return parts.length > 0 ? parts.join("") : undefined;
}

function summarize(text: string): string {
  const flat = text
    .replace(/<\/?documents>/g, "")
    .replace(/\s+/g, " ")
    .trim();
  return flat.length > SUMMARY_CHARS ? `${flat.slice(0, SUMMARY_CHARS - 1)}…` : flat;
}
