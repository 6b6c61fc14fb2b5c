// A turn's events (contracts/turn-events.ts) in the OpenAI chat completions shape: a `chat.completion`, or the
// `chat.completion.chunk`s of a stream. What OpenAI's shape has no field for (the sources an answer cites, its
// runId for feedback, the tools the advisor ran) rides in a `counsel` field, which OpenAI clients ignore. An
// answer the chain's guardrail blocked finishes as OpenAI's filtered ones do: finish_reason "content_filter".
import type { CitationCounts } from "../../../contracts/citations.ts";
import type {
  CodeCheck,
  TokenUsage,
  TurnDone,
  TurnEvent,
  TurnGuardrail,
  TurnSource,
} from "../../../contracts/turn-events.ts";

export interface CompletionMeta {
  /** chatcmpl-…, the same on every chunk of one completion. */
  id: string;
  /** Unix seconds. */
  created: number;
  /** The model as the client named it. */
  model: string;
}

/** Counsel's extension: in a completion, and in a stream's last choice chunk. */
export interface CounselExtension {
  sources: TurnSource[];
  /** qa chains: the source numbers the answer cites. */
  citations?: number[];
  /** qa chains that verify citations: how the answer's citations fared (docs/answers.md). */
  verification?: CitationCounts;
  /** qa chains: the run to score with POST /feedback. */
  runId?: string;
  chain?: string;
  variant?: string;
  /** The advisor's tool calls, in order. */
  tools: { id: string; name: string; input: unknown; summary?: string; url?: string; check?: CodeCheck }[];
  /** What the chain's guardrail blocked or masked. */
  guardrail?: TurnGuardrail;
}

interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** "content_filter" for an answer the guardrail blocked, as OpenAI finishes one its filters stopped. */
const finishOf = (done: TurnDone) =>
  done.guardrail?.action === "blocked" ? ("content_filter" as const) : ("stop" as const);

const usageOf = (usage: TokenUsage): OpenAIUsage => ({
  prompt_tokens: usage.inputTokens,
  completion_tokens: usage.outputTokens,
  total_tokens: usage.inputTokens + usage.outputTokens,
});

/** Gathers what the extension reports while the events go by. */
class Extension {
  private readonly value: CounselExtension = { sources: [], tools: [] };
  private readonly sourceNumbers = new Set<number>();

  see(event: TurnEvent): void {
    switch (event.event) {
      case "tool_start":
        this.value.tools.push({ id: event.data.id, name: event.data.name, input: event.data.input });
        break;
      case "tool_end": {
        const tool = this.value.tools.find((t) => t.id === event.data.id);
        const { summary, url, check } = event.data;
        if (tool) Object.assign(tool, { summary, url, ...(check ? { check } : {}) });
        break;
      }
      case "sources":
        for (const source of event.data.sources)
          if (!this.sourceNumbers.has(source.n)) {
            this.sourceNumbers.add(source.n);
            this.value.sources.push(source);
          }
        break;
      case "done": {
        const { runId, chain, variant, citations, verification, guardrail } = event.data;
        Object.assign(this.value, { runId, chain, variant, citations, verification, guardrail });
        break;
      }
    }
  }

  get(): CounselExtension {
    return this.value;
  }
}

/** The whole turn as one `chat.completion`. */
export async function completion(turn: AsyncIterable<TurnEvent>, meta: CompletionMeta) {
  const extension = new Extension();
  for await (const event of turn) {
    extension.see(event);
    if (event.event === "done")
      return {
        id: meta.id,
        object: "chat.completion" as const,
        created: meta.created,
        model: meta.model,
        choices: [
          {
            index: 0,
            message: { role: "assistant" as const, content: event.data.message, refusal: null },
            logprobs: null,
            finish_reason: finishOf(event.data),
          },
        ],
        usage: usageOf(event.data.usage),
        counsel: extension.get(),
      };
  }
  throw new Error("The turn ended without a reply.");
}

/**
 * The turn as `chat.completion.chunk`s: the assistant's role first, then its text as generated, then a chunk
 * with finish_reason "stop" ("content_filter" when the guardrail blocked the answer) and the extension, then, when asked (`stream_options.include_usage`), one with
 * no choices and the usage; every other chunk then carries `usage: null`, as OpenAI's do.
 */
export async function* completionChunks(
  turn: AsyncIterable<TurnEvent>,
  meta: CompletionMeta,
  options: { includeUsage: boolean },
) {
  const extension = new Extension();
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
    id: meta.id,
    object: "chat.completion.chunk" as const,
    created: meta.created,
    model: meta.model,
    choices,
    ...(options.includeUsage ? { usage: null } : {}),
    ...extra,
  });
  const choice = (delta: Record<string, unknown>, finish: "stop" | "content_filter" | null = null) => ({
    index: 0,
    delta,
    logprobs: null,
    finish_reason: finish,
  });

  yield chunk([choice({ role: "assistant", content: "" })]);
  for await (const event of turn) {
    extension.see(event);
    if (event.event === "token") yield chunk([choice({ content: event.data.text })]);
    if (event.event === "done") {
      yield chunk([choice({}, finishOf(event.data))], { counsel: extension.get() });
      if (options.includeUsage) yield chunk([], { usage: usageOf(event.data.usage) });
      return;
    }
  }
  throw new Error("The turn ended without a reply.");
}
