// A turn's events as the Vercel AI SDK's UI message stream (protocol v1, what `useChat` reads): text parts,
// a tool part per tool call, source parts for the documents cited, data parts for what has no standard part.
// Pure translation: it runs no model and no search, and reads nothing but the events it is given.
import path from "node:path";
import type { UIMessage, UIMessageChunk } from "ai";
import type {
  CodeCheck,
  TokenUsage,
  TurnDone,
  TurnEvent,
  TurnGuardrail,
  TurnSource,
} from "../../../contracts/turn-events.ts";
import { type DocType, typeFromName } from "../../../ingest/loaders/sniff.ts";

/** What a tool part's output holds: the tool's result shortened for display, and its link or check. */
export interface CounselToolOutput {
  summary: string;
  /** write_report: where the report is served. */
  url?: string;
  /** generate_code: what the TypeScript checker found. */
  check?: CodeCheck;
}

/** The data parts (`data-<name>`) of an answer, for what the protocol has no part of its own. */
export type CounselDataParts = {
  /** write_report's report, beside its tool part. */
  report: { toolCallId: string; url: string };
  /** generate_code's check, beside its tool part. */
  "code-check": { toolCallId: string } & CodeCheck;
  /** The recorded run (qa chains), for POST /feedback. */
  run: { runId: string; chain?: string; variant?: string };
};

/** An answer's metadata (`message.metadata`), sent with `finish`. */
export type CounselMessageMetadata = {
  usage: TokenUsage;
  timings: TurnDone["timings"];
  /** What the chain's guardrail blocked or masked. */
  guardrail?: TurnGuardrail;
};

/** The tools the advisor may call, as the AI SDK types tool parts (`tool-<name>`). */
export type CounselTools = Record<
  "search_knowledge_base" | "write_report" | "generate_code",
  { input: Record<string, unknown>; output: CounselToolOutput }
>;

/** A Counsel answer as a `useChat` client holds it. */
export type CounselUIMessage = UIMessage<CounselMessageMetadata, CounselDataParts, CounselTools>;
export type CounselUIChunk = UIMessageChunk<CounselMessageMetadata, CounselDataParts>;

/** How a turn that failed ends: an `error` (its text shown to the user) or, when it was stopped, an `abort`. */
export type TurnFailure = { type: "error"; errorText: string } | { type: "abort"; reason?: string };

export interface UIMessageStreamOptions {
  /** The answer's message id (`start`). */
  messageId: string;
  /** Makes a tool's relative link (a report's `/reports/<id>`) absolute, for a client served elsewhere. */
  baseUrl?: string;
  /** The chunk that ends a turn that threw; it must not leak what the caller may not see. */
  failure(error: unknown): TurnFailure;
}

/**
 * The UI message chunks of one turn, in the order the AI SDK's client assembles them: `start`, then per model
 * step `start-step`, its text (`text-start`, `text-delta`s, `text-end`) and tool calls (`tool-input-available`,
 * `tool-output-available`), the sources they found, `finish-step`; finally `finish` with the usage as message
 * metadata. A turn that throws ends with the chunk `failure` gives (after closing its open text part).
 *
 * @example
 * const chunks = toUIMessageChunks(advisor.chat(input, { tenant, signal }), {
 *   messageId: crypto.randomUUID(),
 *   failure: () => ({ type: "error", errorText: "The advisor failed." }),
 * });
 * return createUIMessageStreamResponse({ stream: ReadableStream.from(chunks) });
 */
export async function* toUIMessageChunks(
  turn: AsyncIterable<TurnEvent>,
  options: UIMessageStreamOptions,
): AsyncGenerator<CounselUIChunk> {
  const absolute = (url: string) => (options.baseUrl ? new URL(url, options.baseUrl).href : url);
  let textId: string | undefined;
  let texts = 0;
  let inStep = false;
  const running = new Set<string>();
  /** A tool has ended and none is running: the model's next output is the next step. */
  let toolsDone = false;
  const sent = new Set<number>();

  function* endText(): Generator<CounselUIChunk> {
    if (textId === undefined) return;
    yield { type: "text-end", id: textId };
    textId = undefined;
  }
  function* endStep(): Generator<CounselUIChunk> {
    yield* endText();
    if (inStep) yield { type: "finish-step" };
    inStep = false;
  }
  /** Before the model's output: a new step when the previous one ended with its tools. */
  function* modelOutput(): Generator<CounselUIChunk> {
    if (toolsDone) yield* endStep();
    toolsDone = false;
    if (!inStep) yield { type: "start-step" };
    inStep = true;
  }

  yield { type: "start", messageId: options.messageId };
  try {
    for await (const event of turn) {
      switch (event.event) {
        case "token":
          yield* modelOutput();
          if (textId === undefined) {
            textId = `text-${++texts}`;
            yield { type: "text-start", id: textId };
          }
          yield { type: "text-delta", id: textId, delta: event.data.text };
          break;
        case "tool_start":
          yield* modelOutput();
          yield* endText(); // text after the call is a new part, so that the call shows where it happened
          running.add(event.data.id);
          yield {
            type: "tool-input-available",
            toolCallId: event.data.id,
            toolName: event.data.name,
            input: event.data.input,
          };
          break;
        case "tool_end": {
          const { id, summary, url, check } = event.data;
          const output: CounselToolOutput = {
            summary,
            ...(url !== undefined ? { url: absolute(url) } : {}),
            ...(check ? { check } : {}),
          };
          yield { type: "tool-output-available", toolCallId: id, output };
          if (url !== undefined) yield { type: "data-report", data: { toolCallId: id, url: absolute(url) } };
          if (check) yield { type: "data-code-check", data: { toolCallId: id, ...check } };
          running.delete(id);
          toolsDone = running.size === 0;
          break;
        }
        case "sources":
          // A chunk found again by a later search keeps its number: it is sent once.
          for (const source of event.data.sources) {
            if (sent.has(source.n)) continue;
            sent.add(source.n);
            yield sourceChunk(source);
          }
          break;
        case "done": {
          const { usage, timings, runId, chain, variant, guardrail } = event.data;
          yield* endStep();
          if (runId)
            yield {
              type: "data-run",
              data: { runId, ...(chain ? { chain } : {}), ...(variant ? { variant } : {}) },
            };
          // An answer the chain's guardrail blocked finishes as the SDK's filtered ones do.
          const finishReason = guardrail?.action === "blocked" ? "content-filter" : "stop";
          yield {
            type: "finish",
            finishReason,
            messageMetadata: { usage, timings, ...(guardrail ? { guardrail } : {}) },
          };
          break;
        }
      }
    }
  } catch (error) {
    yield* endText();
    yield options.failure(error);
  }
}

/** The media type a document's name suggests; unknown (an extensionless key, a bare name) is octet-stream. */
const MEDIA_TYPES: Record<DocType, string> = {
  pdf: "application/pdf",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  html: "text/html",
  markdown: "text/markdown",
  text: "text/plain",
  csv: "text/csv",
  json: "application/json",
  png: "image/png",
  jpeg: "image/jpeg",
  tiff: "image/tiff",
};

/**
 * A source as the AI SDK's source part: `source-url` for a web page, `source-document` otherwise. Its id is the
 * number the answer cites it by ([n]); the chunk's own id, snippet and score ride in `providerMetadata.counsel`.
 */
export function sourceChunk(source: TurnSource): CounselUIChunk {
  const { n, id, page, snippet, quote, score } = source;
  const name = /^https?:\/\//i.test(source.source) ? source.source : path.posix.basename(source.source);
  const title = page === undefined ? name : `${name}, page ${page}`;
  const providerMetadata = {
    counsel: {
      chunkId: id,
      source: source.source,
      ...(page !== undefined ? { page } : {}),
      snippet,
      // A plain object: provider metadata is JSON, which an interface type does not promise to be.
      ...(quote ? { quote: { text: quote.text, start: quote.start, end: quote.end } } : {}),
      score,
    },
  };
  if (/^https?:\/\//i.test(source.source)) {
    return { type: "source-url", sourceId: String(n), url: source.source, title, providerMetadata };
  }
  const type = typeFromName(name);
  return {
    type: "source-document",
    sourceId: String(n),
    mediaType: type ? MEDIA_TYPES[type] : "application/octet-stream",
    title,
    filename: name,
    providerMetadata,
  };
}
