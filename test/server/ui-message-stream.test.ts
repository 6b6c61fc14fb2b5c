// POST /advisor/ui end to end, driven by the AI SDK's own client: its Chat (the engine under useChat) over
// DefaultChatTransport, which parses every chunk with the SDK's schema and assembles the message, and which
// validates the data parts and metadata with the schemas given below. The advisor runs on the real services
// (the memo ingested, real search and report tools) with LangChain's scripted fake models.
import { readFile } from "node:fs/promises";
import { connect } from "node:net";
import path from "node:path";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, type BaseMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { FakeStreamingChatModel } from "@langchain/core/utils/testing";
import {
  AbstractChat,
  type ChatInit,
  type ChatState,
  type ChatStatus,
  DefaultChatTransport,
  UI_MESSAGE_STREAM_HEADERS,
  type UIMessageChunk,
} from "ai";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod/v4";
import { type AdvisorToolName, createAdvisor } from "../../src/agent/advisor.ts";
import type { AdvisorChain } from "../../src/agent/from-config.ts";
import { createSearchTool } from "../../src/agent/tools/search-knowledge-base.ts";
import { loadWriteReportPrompts } from "../../src/agent/tools/write-report/prompts.ts";
import { createWriteReportTool } from "../../src/agent/tools/write-report/tool.ts";
import type { ChainConfig } from "../../src/chains/config.ts";
import { TurnQueue } from "../../src/event-loop/turn-queue.ts";
import { HybridSearcher } from "../../src/retrieval/hybrid-search.ts";
import { appOptions, buildApp } from "../../src/server/app.ts";
import type { CounselUIMessage } from "../../src/server/protocols/ai-sdk/ui-message-stream.ts";
import { createServices, type Services } from "../../src/services/services.ts";
import { useBedrockEmulator } from "../helpers/bedrock.ts";
import { bearer, writeKeys } from "../helpers/keys.ts";
import { MEMO_REPORT } from "../helpers/memo-report.ts";
import {
  defaultTenant,
  FIXTURES,
  quiet,
  ROOT,
  tempDataDir,
  testSettings,
  useService,
} from "../helpers/services.ts";

/** useChat's state, kept in arrays as @ai-sdk/react keeps it in React state: the rest is the SDK's Chat. */
class ArrayChatState<M extends CounselUIMessage> implements ChatState<M> {
  status: ChatStatus = "ready";
  error: Error | undefined = undefined;
  messages: M[] = [];
  pushMessage = (message: M) => {
    this.messages = [...this.messages, this.snapshot(message)];
  };
  popMessage = () => {
    this.messages = this.messages.slice(0, -1);
  };
  replaceMessage = (index: number, message: M) => {
    this.messages = this.messages.with(index, this.snapshot(message));
  };
  snapshot = <T>(thing: T): T => structuredClone(thing);
}

/** The SDK validates Counsel's data parts and metadata with these (strict: an unknown field fails). */
const CHECK = z
  .object({
    language: z.string(),
    checked: z.boolean(),
    repaired: z.boolean(),
    problems: z.number(),
    code: z.string(),
    diagnostics: z.array(
      z.object({ line: z.number(), column: z.number(), message: z.string(), code: z.number() }).strict(),
    ),
  })
  .strict();
const dataPartSchemas = {
  report: z.object({ toolCallId: z.string(), url: z.url() }).strict(),
  "code-check": CHECK.extend({ toolCallId: z.string() }).strict(),
  run: z.object({ runId: z.string(), chain: z.string().optional(), variant: z.string().optional() }).strict(),
};
const messageMetadataSchema = z
  .object({
    usage: z.object({ inputTokens: z.number(), outputTokens: z.number() }).strict(),
    timings: z.object({ firstTokenMs: z.number().nullable(), totalMs: z.number() }).strict(),
  })
  .strict();

class Chat extends AbstractChat<CounselUIMessage> {
  constructor(init: ChatInit<CounselUIMessage>) {
    super({ ...init, dataPartSchemas, messageMetadataSchema, state: new ArrayChatState() });
  }
}

function chatWith(url: string, options: { chain?: string; headers?: Record<string, string> } = {}) {
  const transport = new DefaultChatTransport<CounselUIMessage>({
    api: `${url}/advisor/ui`,
    headers: options.headers,
    body: options.chain ? { chain: options.chain } : undefined,
  });
  return { chat: new Chat({ transport }), transport };
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}/advisor/ui`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

const userMessage = (text: string) => ({ id: "u1", role: "user", parts: [{ type: "text", text }] });

const ANSWER = "200 laptops were delivered [1]. The report is at the link above.";
const LONG = "The shipment of January 2023 held water, blankets and laptops. ".repeat(8);

/** A model's tool call without text, as a tool-calling model sends it. */
const callTool = (name: string, args: Record<string, unknown>) =>
  new AIMessage({ content: "", tool_calls: [{ name, args, id: `call_${name}`, type: "tool_call" }] });

function withTools(config: ChainConfig, tools: AdvisorToolName[]): ChainConfig {
  return { ...config, advisor: { ...(config.advisor as NonNullable<ChainConfig["advisor"]>), tools } };
}

describe("the advisor over the AI SDK's UI message stream", () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let services: Services;
  let app: FastifyInstance;
  let url: string;
  const settings = () => testSettings(data.dir, { SSE_HEARTBEAT_MS: "0" });
  /** The signal each turn ran with, newest last. */
  const signals: AbortSignal[] = [];
  /** The model of the newest "echo" turn, to read what it was sent. */
  let echo: ReturnType<typeof fakeModel>;
  let chains: Record<string, () => AdvisorChain>;

  beforeAll(async () => {
    data = await tempDataDir();
    services = await createServices(settings(), quiet);
    const tenant = await defaultTenant(services);
    const memo = await readFile(path.join(FIXTURES, "fake-memo.pdf"));
    await tenant.pipeline.ingest([{ name: "fake-memo.pdf", source: "memo", data: memo }]);
    const searcher = new HybridSearcher({ store: tenant.index });
    const prompts = await loadWriteReportPrompts(path.join(ROOT, "prompts"));
    const base = services.chains.configs.get("advisor") as ChainConfig;

    // A fresh advisor per turn, so that each turn meets its model's script from the start.
    const chainOf = (model: BaseChatModel, tools: AdvisorToolName[]): AdvisorChain => {
      const advisor = createAdvisor({
        config: withTools(base, tools),
        model,
        systemPrompt: "You advise.",
        history: tenant.history,
        turns: new TurnQueue(),
        tools: {
          search_knowledge_base: createSearchTool({ searcher, k: 3 }),
          write_report: createWriteReportTool({ searcher, model, reports: tenant.reports, prompts }),
        },
      });
      return {
        ...advisor,
        tools: () => {
          throw new Error("this test calls no tool directly");
        },
        chat(input, options) {
          if (options.signal) signals.push(options.signal);
          return advisor.chat(input, options);
        },
      };
    };
    chains = {
      // Searches, writes a report (its queries through structured output, then its draft), and answers.
      advisor: () =>
        chainOf(
          fakeModel()
            .respond(callTool("search_knowledge_base", { query: "laptops delivered" }))
            .respond(callTool("write_report", { topic: "the January relief shipment" }))
            .respond(new AIMessage(MEMO_REPORT))
            .respond(new AIMessage(ANSWER))
            .structuredResponse({ queries: ["laptops delivered January", "blankets and water"] }),
          ["search_knowledge_base", "write_report"],
        ),
      // Searches, then fails: what failed must not reach the client.
      failing: () =>
        chainOf(
          fakeModel()
            .respond(callTool("search_knowledge_base", { query: "laptops" }))
            .respond(new Error("upstream refused the call at 10.0.0.7 with key sk-123")),
          ["search_knowledge_base"],
        ),
      // Answers slowly, a character at a time, and stops when its signal aborts.
      slow: () => chainOf(new FakeStreamingChatModel({ responses: [new AIMessage(LONG)], sleep: 15 }), []),
      // Says how many messages it was sent.
      echo: () => {
        echo = fakeModel().respond(
          (messages: BaseMessage[]) => new AIMessage(`I read ${messages.length} messages.`),
        );
        return chainOf(echo, []);
      },
    };
    app = await buildApp(
      { ...services, advisor: (name) => chains[name]?.() ?? services.advisor(name) },
      appOptions(settings(), services),
    );
    await app.listen({ port: 0, host: "127.0.0.1" });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await app?.close();
    await services?.close();
    await data?.remove();
  });

  it("streams a turn that searches, writes a report and answers; useChat assembles text, tool, source and data parts", async () => {
    const { chat } = chatWith(url);
    await chat.sendMessage({ text: "How many laptops arrived? Write me a report." });
    expect(chat.error).toBeUndefined();
    expect(chat.status).toBe("ready");
    const answer = chat.messages[1];
    expect(answer.role).toBe("assistant");

    const types = answer.parts.map((p) => p.type).filter((t) => t !== "source-document");
    expect(types).toEqual([
      "step-start",
      "tool-search_knowledge_base",
      "step-start",
      "tool-write_report",
      "data-report",
      "step-start",
      "text",
    ]);
    const search = answer.parts.find((p) => p.type === "tool-search_knowledge_base");
    expect(search).toMatchObject({
      state: "output-available",
      input: { query: "laptops delivered" },
      output: { summary: expect.stringContaining("laptops") },
    });
    const sources = answer.parts.filter((p) => p.type === "source-document");
    expect(sources[0]).toMatchObject({
      sourceId: "1",
      title: "memo, page 1",
      mediaType: "application/octet-stream",
      providerMetadata: { counsel: { source: "memo", page: 1, snippet: expect.any(String) } },
    });
    // The sources sit in the search's step, before the next one starts.
    expect(answer.parts.findIndex((p) => p.type === "source-document")).toBeLessThan(
      answer.parts.findIndex((p) => p.type === "tool-write_report"),
    );

    const report = answer.parts.find((p) => p.type === "tool-write_report");
    expect(report).toMatchObject({
      state: "output-available",
      input: { topic: "the January relief shipment" },
      output: { url: expect.stringMatching(new RegExp(`^${url}/reports/[0-9a-f-]{36}$`)) },
    });
    const link = answer.parts.find((p) => p.type === "data-report");
    expect(link).toMatchObject({ data: { toolCallId: (report as { toolCallId: string }).toolCallId } });
    const markdown = await (await fetch((link as { data: { url: string } }).data.url)).text();
    expect(markdown).toMatch(/^# Relief shipment of January 2023/);

    expect(answer.parts.at(-1)).toMatchObject({ type: "text", text: ANSWER, state: "done" });
    expect(answer.metadata).toMatchObject({ usage: { inputTokens: 0, outputTokens: 0 } });
  });

  it("sends the protocol's header and chunks that the SDK's transport parses, in the protocol's order", async () => {
    const res = await post(url, {
      id: "c1",
      messages: [userMessage("How many laptops?")],
      trigger: "submit-message",
    });
    expect(res.status).toBe(200);
    for (const [name, value] of Object.entries(UI_MESSAGE_STREAM_HEADERS))
      expect(res.headers.get(name)).toBe(value);
    // Without heartbeats (SSE_HEARTBEAT_MS=0) the stream is the chunks alone, then the end marker.
    const body = await res.text();
    expect(body.startsWith('data: {"type":"start"')).toBe(true);
    expect(body.endsWith("data: [DONE]\n\n")).toBe(true);

    const { transport } = chatWith(url);
    const stream = await transport.sendMessages({
      chatId: "c2",
      messages: [{ id: "u1", role: "user", parts: [{ type: "text", text: "How many laptops?" }] }],
      abortSignal: undefined,
      trigger: "submit-message",
      messageId: undefined,
    });
    const chunks: UIMessageChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const types = chunks.map((c) => c.type).filter((t) => t !== "source-document" && t !== "text-delta");
    expect(types).toEqual([
      "start",
      "start-step",
      "tool-input-available",
      "tool-output-available",
      "finish-step",
      "start-step",
      "tool-input-available",
      "tool-output-available",
      "data-report",
      "finish-step",
      "start-step",
      "text-start",
      "text-end",
      "finish-step",
      "finish",
    ]);
    // Exactly the protocol's fields, nothing more.
    expect(chunks[0]).toEqual({ type: "start", messageId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(chunks[2]).toEqual({
      type: "tool-input-available",
      toolCallId: expect.any(String),
      toolName: "search_knowledge_base",
      input: { query: "laptops delivered" },
    });
    expect(chunks.find((c) => c.type === "source-document")).toEqual({
      type: "source-document",
      sourceId: "1",
      mediaType: "application/octet-stream",
      title: "memo, page 1",
      filename: "memo",
      providerMetadata: {
        counsel: {
          chunkId: expect.any(String),
          source: "memo",
          page: 1,
          snippet: expect.any(String),
          score: expect.any(Number),
        },
      },
    });
    expect(chunks.at(-1)).toEqual({
      type: "finish",
      finishReason: "stop",
      messageMetadata: { usage: expect.any(Object), timings: expect.any(Object) },
    });
  });

  it("sends the model the conversation's earlier text as history, stores nothing, and regenerates an answer", async () => {
    const { chat } = chatWith(url, { chain: "echo" });
    await chat.sendMessage({ text: "First question?" });
    expect(chat.messages[1].parts.at(-1)).toMatchObject({ type: "text", text: "I read 2 messages." });
    await chat.sendMessage({ text: "Second question?" });
    expect(chat.error).toBeUndefined();
    const sent = echo.calls[0].messages.map((m) => [m.type, m.text]);
    expect(sent).toEqual([
      ["system", "You advise."],
      ["human", "First question?"],
      ["ai", "I read 2 messages."],
      ["human", "Second question?"],
    ]);
    expect((await fetch(`${url}/advisor/sessions/${chat.id}`)).status).toBe(404);

    // Regenerating the last answer sends the conversation without it (trigger regenerate-message).
    await chat.regenerate();
    expect(chat.error).toBeUndefined();
    expect(chat.messages).toHaveLength(4);
    expect(echo.calls[0].messages.map((m) => m.text)).toEqual(sent.map(([, text]) => text));
  });

  it("ends a turn whose model fails with an error useChat shows, without what failed", async () => {
    const errors: Error[] = [];
    const transport = new DefaultChatTransport<CounselUIMessage>({
      api: `${url}/advisor/ui`,
      body: { chain: "failing" },
    });
    const chat = new Chat({ transport, onError: (error) => errors.push(error) });
    await chat.sendMessage({ text: "How many laptops?" });
    expect(chat.status).toBe("error");
    expect(chat.error?.message).toBe("An unexpected error occurred; it has been logged.");
    expect(errors).toHaveLength(1);
    // What streamed before the failure stays.
    expect(chat.messages[1].parts.find((p) => p.type === "tool-search_knowledge_base")).toMatchObject({
      state: "output-available",
    });
    expect(JSON.stringify(chat.messages)).not.toMatch(/10\.0\.0\.7|sk-123/);
  });

  it("aborts the turn on the server when the client stops, and frees its stream", async () => {
    const { chat } = chatWith(url, { chain: "slow" });
    const sending = chat.sendMessage({ text: "Tell me everything." });
    await expect
      .poll(() => chat.messages[1]?.parts.some((p) => p.type === "text"), { timeout: 5000 })
      .toBe(true);
    const turnSignal = signals.at(-1) as AbortSignal;
    expect(turnSignal.aborted).toBe(false);
    await chat.stop();
    await sending;
    await expect.poll(() => turnSignal.aborted, { timeout: 5000 }).toBe(true);
    expect(turnSignal.reason).toMatchObject({ code: "client_closed" });
    await expect.poll(() => app.openStreams.size, { timeout: 5000 }).toBe(0);
    expect(chat.status).toBe("ready");
    const text = chat.messages[1].parts.find((p) => p.type === "text") as { text: string };
    expect(text.text.length).toBeGreaterThan(0);
    expect(text.text.length).toBeLessThan(LONG.length);
  });

  it("ends open turns with an error saying to send again when the service shuts down", async () => {
    const closing = await buildApp(
      { ...services, advisor: (name) => chains[name]?.() ?? services.advisor(name) },
      appOptions(settings(), services),
    );
    await closing.listen({ port: 0, host: "127.0.0.1" });
    const { chat } = chatWith(`http://127.0.0.1:${(closing.server.address() as { port: number }).port}`, {
      chain: "slow",
    });
    const sending = chat.sendMessage({ text: "Tell me everything." });
    await expect
      .poll(() => chat.messages[1]?.parts.some((p) => p.type === "text"), { timeout: 5000 })
      .toBe(true);
    await closing.close();
    await sending;
    expect(chat.status).toBe("error");
    expect(chat.error?.message).toBe("The service is restarting; send the message again.");
  });

  it("refuses a stream past MAX_STREAMS_PER_CLIENT with 429, which useChat shows as its error", async () => {
    const limited = await buildApp(
      { ...services, advisor: (name) => chains[name]?.() ?? services.advisor(name) },
      appOptions(testSettings(data.dir, { SSE_HEARTBEAT_MS: "0", MAX_STREAMS_PER_CLIENT: "1" }), services),
    );
    await limited.listen({ port: 0, host: "127.0.0.1" });
    try {
      const base = `http://127.0.0.1:${(limited.server.address() as { port: number }).port}`;
      const first = chatWith(base, { chain: "slow" }).chat;
      const sending = first.sendMessage({ text: "Tell me everything." });
      await expect
        .poll(() => first.messages[1]?.parts.some((p) => p.type === "text"), { timeout: 5000 })
        .toBe(true);
      const second = chatWith(base, { chain: "slow" }).chat;
      await second.sendMessage({ text: "And again." });
      expect(second.status).toBe("error");
      expect(JSON.parse(second.error?.message ?? "{}")).toMatchObject({
        status: 429,
        code: "too_many_streams",
      });
      await first.stop();
      await sending;
    } finally {
      await limited.close();
    }
  });

  it("answers the SDK's resume request with 204: there is no stream to resume", async () => {
    const res = await fetch(`${url}/advisor/ui/c1/stream`);
    expect(res.status).toBe(204);
    const { chat } = chatWith(url);
    await chat.resumeStream();
    expect(chat.status).toBe("ready");
    expect(chat.error).toBeUndefined();
  });

  const hello = [userMessage("Hello?")];
  it.each<[string, number, unknown, RegExp]>([
    ["a body that is not JSON", 400, "{", /JSON/],
    ["a body without messages", 400, { id: "c" }, /messages/],
    ["no messages", 400, { id: "c", messages: [] }, /messages/],
    ["a field the protocol does not have", 400, { id: "c", messages: hello, temperature: 1 }, /temperature/],
    [
      "a message in another shape",
      400,
      { id: "c", messages: [{ id: "m", role: "user", content: "Hi" }] },
      /content|parts/,
    ],
    ["an unknown role", 400, { id: "c", messages: [{ id: "m", role: "tool", parts: [] }] }, /role/],
    [
      "a system message",
      400,
      { id: "c", messages: [{ ...hello[0], role: "system" }, ...hello] },
      /system message/,
    ],
    [
      "a last message that is the assistant's",
      400,
      { id: "c", messages: [...hello, { ...hello[0], role: "assistant" }] },
      /user's/,
    ],
    [
      "a file",
      400,
      { id: "c", messages: [{ id: "m", role: "user", parts: [{ type: "file", url: "data:," }] }] },
      /file/,
    ],
    ["a chain name that cannot be one", 400, { id: "c", messages: hello, chain: "../qa" }, /chain/],
    ["a chain that does not exist", 404, { id: "c", messages: hello, chain: "nope" }, /nope/],
    ["a chain that is not an advisor", 400, { id: "c", messages: hello, chain: "qa" }, /advisor/],
  ])("refuses %s with %i problem+json before streaming", async (_name, status, body, detail) => {
    const res = await post(url, body);
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    const problem = (await res.json()) as { status: number; detail: string; errors?: unknown };
    expect(problem.status).toBe(status);
    expect(`${problem.detail} ${JSON.stringify(problem.errors ?? "")}`).toMatch(detail);
  });

  it("shows useChat a refusal as the chat's error, with the problem's detail", async () => {
    const { chat } = chatWith(url, { chain: "nope" });
    await chat.sendMessage({ text: "Hello?" });
    expect(chat.status).toBe("error");
    expect(JSON.parse(chat.error?.message ?? "{}")).toMatchObject({ status: 404, code: "not_found" });
  });
});

describe("the UI message stream with API keys", () => {
  let keys: Record<"chat" | "reader", string>;
  let dir: Awaited<ReturnType<typeof tempDataDir>> | undefined;
  /** Filled in before the service starts, which reads it then. */
  const env: Record<string, string> = {};
  beforeAll(async () => {
    dir = await tempDataDir();
    const written = await writeKeys(dir.dir, {
      chat: { tenant: "acme", scopes: ["chat"] },
      reader: { tenant: "acme", scopes: ["query"] },
    });
    keys = written.keys;
    env.API_KEYS_FILE = written.file;
  });
  afterAll(async () => dir?.remove());
  const service = useService(env);

  it("refuses a request without a key (401) and a key without the chat scope (403)", async () => {
    const body = { id: "c", messages: [userMessage("Hello?")] };
    const anonymous = await post(service.url, body);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Bearer/);
    const reader = await post(service.url, body, bearer(keys.reader));
    expect(reader.status).toBe(403);
    expect(await reader.json()).toMatchObject({
      code: "forbidden",
      detail: expect.stringMatching(/scope chat/),
    });
    expect((await fetch(`${service.url}/advisor/ui/c/stream`)).status).toBe(401);
  });

  it("lets a chat key through to the advisor, which says how to configure a model that can call tools", async () => {
    const { chat } = chatWith(service.url, { headers: bearer(keys.chat) });
    await chat.sendMessage({ text: "Hello?" });
    expect(chat.status).toBe("error");
    expect(JSON.parse(chat.error?.message ?? "{}")).toMatchObject({
      status: 503,
      detail: expect.stringMatching(/MODEL_PROVIDER=bedrock/),
    });
  });
});

describe("the service's advisor on Bedrock over the UI message stream", () => {
  const BEDROCK = {
    MODEL_PROVIDER: "bedrock",
    MODEL_ID: "us.amazon.nova-micro-v1:0",
    SSE_HEARTBEAT_MS: "20",
  };

  describe("a recorded turn", () => {
    useBedrockEmulator({ frameDelayMs: 5 });
    const service = useService(BEDROCK);

    it("reaches useChat as the recorded reply, with its token usage as the message's metadata", async () => {
      const { chat } = chatWith(service.url);
      await chat.sendMessage({ text: "What is the temperature of the capital of France?" });
      expect(chat.error).toBeUndefined();
      const answer = chat.messages[1];
      const text = answer.parts
        .filter((p) => p.type === "text")
        .map((p) => p.text)
        .join("");
      expect(text).toContain("The current temperature in Paris, the capital of France, is 30°C.");
      // Both recorded model calls: 471 + 577 tokens in, 91 + 18 out.
      expect(answer.metadata?.usage).toEqual({ inputTokens: 1048, outputTokens: 109 });
    });

    it("sends comment heartbeats between the chunks with SSE_HEARTBEAT_MS, as POST /advisor/chat does", async () => {
      const res = await post(service.url, { id: "c", messages: [userMessage("Weather in Paris?")] });
      expect(res.headers.get("x-vercel-ai-ui-message-stream")).toBe("v1");
      const body = await res.text();
      const events = body.split("\n\n").filter(Boolean);
      // The model streams for about 100 ms (a frame every 5 ms): several 20 ms heartbeats among the chunks.
      expect(events.filter((e) => e.startsWith(":")).length).toBeGreaterThan(1);
      expect(events.filter((e) => !e.startsWith(":")).every((e) => e.startsWith("data: "))).toBe(true);
      expect(body.endsWith("data: [DONE]\n\n")).toBe(true);
    });
  });

  describe("a client that stops reading", () => {
    // A reply of 2,000 deltas of 12 KB (24 MB) at a model's pace: it goes on long after the reader's buffers fill.
    const emulator = useBedrockEmulator({ longReply: { frames: 2000, bytes: 12_000 }, frameDelayMs: 5 });
    const service = useService({ ...BEDROCK, SSE_STALL_TIMEOUT_MS: "300" });

    it("is dropped and its turn aborted once the socket stays full, instead of being buffered for", async () => {
      const { port } = new URL(service.url);
      const socket = connect(Number(port), "127.0.0.1");
      const body = JSON.stringify({ id: "c", messages: [userMessage("Tell me everything, at length.")] });
      socket.write(
        `POST /advisor/ui HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n` +
          `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      socket.pause(); // reads nothing: the kernel's buffers fill, then the server's
      const closed = new Promise((resolve) => socket.once("close", resolve));
      await expect.poll(() => emulator.requests.at(-1)?.aborted, { timeout: 20_000 }).toBe(true);
      socket.resume(); // drain what the kernel holds, so that the server's close reaches us
      await closed;
    }, 30_000);
  });
});
