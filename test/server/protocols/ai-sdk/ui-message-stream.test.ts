// The translation of turn events into the AI SDK's UI message chunks, checked chunk by chunk and as the SDK's
// own reader (readUIMessageStream) assembles them into a message.
import { readUIMessageStream } from "ai";
import { describe, expect, it } from "vitest";
import type { TurnEvent, TurnSource } from "../../../../src/contracts/turn-events.ts";
import {
  type CounselUIChunk,
  type CounselUIMessage,
  sourceChunk,
  toUIMessageChunks,
} from "../../../../src/server/protocols/ai-sdk/ui-message-stream.ts";

const DONE: TurnEvent = {
  event: "done",
  data: {
    message: "…",
    usage: { inputTokens: 10, outputTokens: 5 },
    timings: { firstTokenMs: 1, totalMs: 2 },
  },
};
const token = (text: string): TurnEvent => ({ event: "token", data: { text } });
const source = (n: number, name: string, page?: number): TurnSource => ({
  n,
  id: `chunk-${n}`,
  source: name,
  ...(page === undefined ? {} : { page }),
  snippet: `snippet ${n}`,
  score: 0.5,
});

async function* events(list: TurnEvent[], error?: Error): AsyncGenerator<TurnEvent> {
  yield* list;
  if (error) throw error;
}

const OPTIONS = {
  messageId: "m1",
  baseUrl: "http://counsel.test:3000",
  failure: (error: unknown) => ({ type: "error" as const, errorText: `failed: ${(error as Error).message}` }),
};

async function chunksOf(list: TurnEvent[], error?: Error): Promise<CounselUIChunk[]> {
  const chunks: CounselUIChunk[] = [];
  for await (const chunk of toUIMessageChunks(events(list, error), OPTIONS)) chunks.push(chunk);
  return chunks;
}

/** The message the SDK's reader builds from the chunks, as a client shows it at the end. */
async function assembled(chunks: CounselUIChunk[]): Promise<CounselUIMessage | undefined> {
  let last: CounselUIMessage | undefined;
  const stream = ReadableStream.from(chunks);
  for await (const message of readUIMessageStream<CounselUIMessage>({ stream, terminateOnError: true }))
    last = message;
  return last;
}

describe("toUIMessageChunks", () => {
  it("frames an answer's text in one text part within one step, and ends with finish and the usage", async () => {
    const chunks = await chunksOf([token("Two "), token("hundred."), DONE]);
    expect(chunks).toEqual([
      { type: "start", messageId: "m1" },
      { type: "start-step" },
      { type: "text-start", id: "text-1" },
      { type: "text-delta", id: "text-1", delta: "Two " },
      { type: "text-delta", id: "text-1", delta: "hundred." },
      { type: "text-end", id: "text-1" },
      { type: "finish-step" },
      {
        type: "finish",
        finishReason: "stop",
        messageMetadata: {
          usage: { inputTokens: 10, outputTokens: 5 },
          timings: { firstTokenMs: 1, totalMs: 2 },
        },
      },
    ]);
    const message = await assembled(chunks);
    expect(message).toMatchObject({
      id: "m1",
      role: "assistant",
      metadata: { usage: { inputTokens: 10, outputTokens: 5 } },
      parts: [{ type: "step-start" }, { type: "text", text: "Two hundred.", state: "done" }],
    });
  });

  it("finishes an answer the chain's guardrail blocked as content-filter, saying why in the metadata", async () => {
    const guardrail = { action: "blocked" as const, source: "output" as const, message: "Sorry." };
    const chunks = await chunksOf([
      token("Paris is the capital."),
      token("\n\nSorry."),
      { ...DONE, data: { ...(DONE.data as object), guardrail } } as TurnEvent,
    ]);
    expect(chunks.at(-1)).toEqual({
      type: "finish",
      finishReason: "content-filter",
      messageMetadata: {
        usage: { inputTokens: 10, outputTokens: 5 },
        timings: { firstTokenMs: 1, totalMs: 2 },
        guardrail,
      },
    });
    const message = await assembled(chunks);
    expect(message?.metadata?.guardrail).toEqual(guardrail);
    expect(message?.parts.at(-1)).toMatchObject({ type: "text", text: "Paris is the capital.\n\nSorry." });
  });

  it("shows a tool call as a tool part between two steps, its sources after it, and the answer in a new text part", async () => {
    const chunks = await chunksOf([
      token("Let me look."),
      {
        event: "tool_start",
        data: { id: "call-1", name: "search_knowledge_base", input: { query: "laptops" } },
      },
      {
        event: "tool_end",
        data: { id: "call-1", name: "search_knowledge_base", summary: "[1] memo: 200 laptops" },
      },
      { event: "sources", data: { sources: [source(1, "/docs/fake-memo.pdf", 1)] } },
      token("200 laptops [1]."),
      DONE,
    ]);
    expect(chunks.map((c) => c.type)).toEqual([
      "start",
      "start-step",
      "text-start",
      "text-delta",
      "text-end",
      "tool-input-available",
      "tool-output-available",
      "source-document",
      "finish-step",
      "start-step",
      "text-start",
      "text-delta",
      "text-end",
      "finish-step",
      "finish",
    ]);
    expect(chunks.find((c) => c.type === "tool-input-available")).toEqual({
      type: "tool-input-available",
      toolCallId: "call-1",
      toolName: "search_knowledge_base",
      input: { query: "laptops" },
    });
    const message = await assembled(chunks);
    expect(message?.parts).toEqual([
      { type: "step-start" },
      expect.objectContaining({ type: "text", text: "Let me look." }),
      expect.objectContaining({
        type: "tool-search_knowledge_base",
        toolCallId: "call-1",
        state: "output-available",
        input: { query: "laptops" },
        output: { summary: "[1] memo: 200 laptops" },
      }),
      expect.objectContaining({ type: "source-document", sourceId: "1", title: "fake-memo.pdf, page 1" }),
      { type: "step-start" },
      expect.objectContaining({ type: "text", text: "200 laptops [1]." }),
    ]);
  });

  const CHECK = {
    language: "typescript",
    checked: true,
    repaired: false,
    problems: 1,
    code: 'const n: number = "one";\nexport default n;',
    diagnostics: [
      { line: 1, column: 7, message: "Type 'string' is not assignable to type 'number'.", code: 2322 },
    ],
  };

  it("keeps calls made together in one step, and gives a report's link and a code check their data parts", async () => {
    const chunks = await chunksOf([
      { event: "tool_start", data: { id: "a", name: "write_report", input: { topic: "laptops" } } },
      { event: "tool_start", data: { id: "b", name: "generate_code", input: { task: "sum" } } },
      { event: "tool_end", data: { id: "a", name: "write_report", summary: "Written.", url: "/reports/r1" } },
      {
        event: "tool_end",
        data: {
          id: "b",
          name: "generate_code",
          summary: "Checked with the TypeScript compiler: 1 problem remains.",
          check: CHECK,
        },
      },
      DONE,
    ]);
    expect(chunks.filter((c) => c.type === "start-step")).toHaveLength(1);
    expect(chunks).toContainEqual({
      type: "tool-output-available",
      toolCallId: "a",
      output: { summary: "Written.", url: "http://counsel.test:3000/reports/r1" },
    });
    expect(chunks).toContainEqual({
      type: "data-report",
      data: { toolCallId: "a", url: "http://counsel.test:3000/reports/r1" },
    });
    expect(chunks).toContainEqual({
      type: "data-code-check",
      data: { toolCallId: "b", ...CHECK },
    });
    // The code whole and each finding, in the tool's output too.
    expect(chunks).toContainEqual({
      type: "tool-output-available",
      toolCallId: "b",
      output: { summary: "Checked with the TypeScript compiler: 1 problem remains.", check: CHECK },
    });
    const message = await assembled(chunks);
    expect(message?.parts.map((p) => p.type)).toEqual([
      "step-start",
      "tool-write_report",
      "tool-generate_code",
      "data-report",
      "data-code-check",
    ]);
  });

  it("sends a source found again by a later search once", async () => {
    const chunks = await chunksOf([
      { event: "sources", data: { sources: [source(1, "a.md"), source(2, "b.md")] } },
      { event: "sources", data: { sources: [source(2, "b.md"), source(3, "c.md")] } },
      DONE,
    ]);
    const ids = chunks.filter((c) => c.type === "source-document").map((c) => c.sourceId);
    expect(ids).toEqual(["1", "2", "3"]);
  });

  it("adds the recorded run as a data part when the turn has one (qa chains)", async () => {
    const done = {
      ...DONE,
      data: { ...DONE.data, runId: "run-1", chain: "qa", variant: "balanced" },
    } as TurnEvent;
    const chunks = await chunksOf([token("x"), done]);
    expect(chunks.at(-2)).toEqual({
      type: "data-run",
      data: { runId: "run-1", chain: "qa", variant: "balanced" },
    });
  });

  it("ends a turn that throws with the failure's chunk, after closing its text, and never finishes it", async () => {
    const chunks = await chunksOf([token("Half")], new Error("model down"));
    expect(chunks.slice(-2)).toEqual([
      { type: "text-end", id: "text-1" },
      { type: "error", errorText: "failed: model down" },
    ]);
    expect(chunks.some((c) => c.type === "finish")).toBe(false);
    await expect(assembled(chunks)).rejects.toThrow("failed: model down");
  });
});

describe("sourceChunk", () => {
  it("carries a verified citation's quote, with its offsets into the chunk", () => {
    const quote = { text: "200 laptops delivered", start: 40, end: 61 };
    const chunk = sourceChunk({ ...source(1, "memo", 1), quote });
    expect(chunk).toMatchObject({ providerMetadata: { counsel: { quote } } });
  });

  it.each([
    [
      "a PDF with a page",
      source(1, "/data/fake-memo.pdf", 2),
      {
        type: "source-document",
        mediaType: "application/pdf",
        title: "fake-memo.pdf, page 2",
        filename: "fake-memo.pdf",
      },
    ],
    [
      "a Word document in S3",
      source(2, "s3://bucket/hr/handbook.docx"),
      {
        type: "source-document",
        mediaType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        title: "handbook.docx",
      },
    ],
    [
      "a name without an extension",
      source(3, "memo", 1),
      {
        type: "source-document",
        mediaType: "application/octet-stream",
        title: "memo, page 1",
        filename: "memo",
      },
    ],
    [
      "a web page",
      source(4, "https://example.com/guide"),
      { type: "source-url", url: "https://example.com/guide", title: "https://example.com/guide" },
    ],
  ])("describes %s", (_name, turnSource, expected) => {
    const chunk = sourceChunk(turnSource);
    expect(chunk).toMatchObject({ ...expected, sourceId: String(turnSource.n) });
    expect(chunk).toMatchObject({
      providerMetadata: {
        counsel: {
          chunkId: turnSource.id,
          source: turnSource.source,
          snippet: turnSource.snippet,
          score: 0.5,
        },
      },
    });
  });
});
