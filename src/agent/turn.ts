// One advisor turn: the session's recent history and the user's message go through the agent, and what happens
// comes out as events, as it happens: the model's text as it is generated, tool calls as they start and end,
// the documents drawn on, then the whole message with token usage and timings. The route sends these as
// Server-Sent Events, or gathers them into one JSON reply. A chain's guardrail checks the message before the
// agent runs, and the reply's text is released window by window as the guardrail passes it (the stream's events
// are the one place that sees the text before the client does: the model streams its tokens to callbacks, past
// any middleware, which sees a reply only once it has been sent).
import type { BaseChatMessageHistory } from "@langchain/core/chat_history";
import { AIMessage, type BaseMessage, HumanMessage, trimMessages } from "@langchain/core/messages";
import { countTokensApproximately } from "langchain";
import type { GuardrailSettings } from "../chains/config.ts";
import { checkedWindows, type Piece, type Released } from "../chains/guardrails/checked-windows.ts";
import type { Guardrail } from "../contracts/guardrail.ts";
import type {
  CodeDiagnostic,
  TokenUsage,
  TurnEvent,
  TurnGuardrail,
  TurnSource,
} from "../contracts/turn-events.ts";
import type { AdvisorAgent } from "./agent.ts";
import { type AgentEvent, agentEvents } from "./agent-events.ts";
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
  /** The chain's guardrail, and what its config asks it to check. */
  guardrail?: { guardrail: Guardrail; settings: GuardrailSettings };
}

const SUMMARY_CHARS = 200;

export async function* runTurn(options: TurnOptions): AsyncGenerator<TurnEvent> {
  const { agent, history, signal, guardrail } = options;
  let { message } = options;
  const started = performance.now();
  /** What the guardrail did, once it has done anything. */
  let checked: TurnGuardrail | undefined;
  if (guardrail?.settings.checks.includes("input")) {
    const verdict = await guardrail.guardrail.check(message, "input", signal);
    if (verdict.action === "blocked") {
      // A blocked turn keeps nothing: the session's next turn would send the question to the model.
      const totalMs = performance.now() - started;
      yield { event: "token", data: { text: verdict.message } };
      yield {
        event: "done",
        data: {
          message: verdict.message,
          usage: { inputTokens: 0, outputTokens: 0 },
          timings: { firstTokenMs: totalMs, totalMs },
          guardrail: { action: "blocked", source: "input", message: verdict.message },
        },
      };
      return;
    }
    if (verdict.action === "masked") {
      message = verdict.text;
      checked = { action: "masked", source: "input" };
    }
  }
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

  const checksOutput = guardrail?.settings.checks.includes("output");
  // With an output check, its own signal too: a reply the guardrail stopped stops being generated (and paid for).
  const stop = checksOutput ? new AbortController() : undefined;
  const events = agentEvents(agent, [...recent, new HumanMessage(message)], {
    signal: stop ? (signal ? AbortSignal.any([signal, stop.signal]) : stop.signal) : signal,
    configurable: { sources: registry, ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}) },
  });
  // Without an output check, the agent's events as they come, with no layer in between.
  const released: AsyncIterable<Released<AgentEvent> | AgentEvent> =
    guardrail && checksOutput
      ? checkedWindows(pieces(events), {
          guardrail: guardrail.guardrail,
          windowChars: guardrail.settings.windowChars,
          signal,
        })
      : events;
  try {
    for await (const item of released) {
      const out = "type" in item ? unchecked(item) : item;
      if ("blocked" in out) {
        stop?.abort();
        const said = `${text ? "\n\n" : ""}${out.blocked}`;
        firstTokenMs ??= performance.now() - started;
        text += said;
        checked = { action: "blocked", source: "output", message: out.blocked };
        yield { event: "token", data: { text: said } };
        break;
      }
      if ("text" in out) {
        firstTokenMs ??= performance.now() - started;
        text += out.text;
        if (out.masked) checked ??= { action: "masked", source: "output" };
        yield { event: "token", data: { text: out.text } };
        continue;
      }
      const ev = out.other;
      switch (ev.type) {
        case "model_start":
          asked ??= ev.messages.findLast((m) => HumanMessage.isInstance(m));
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
      data: {
        message: text,
        usage,
        timings: { firstTokenMs, totalMs: performance.now() - started },
        ...(checked ? { guardrail: checked } : {}),
      },
    };
  } finally {
    // Stopped by the client (or a shutdown): what was said so far is kept, marked stopped. A turn stopped before
    // the model was sent the message keeps nothing: only then is the message known as redacted.
    if (!kept && signal?.aborted && asked) await history.addMessages([asked, stoppedAnswer(text)]);
  }
}

/** The agent's events as pieces of checked windows: the reply's text, and the rest in its place. */
async function* pieces(events: AsyncIterable<AgentEvent>): AsyncGenerator<Piece<AgentEvent>> {
  for await (const ev of events) yield ev.type === "token" ? { text: ev.text } : { other: ev };
}

/** An agent's event as released with no output check. */
function unchecked(ev: AgentEvent): Released<AgentEvent> {
  return ev.type === "token" ? { text: ev.text, masked: false } : { other: ev };
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
